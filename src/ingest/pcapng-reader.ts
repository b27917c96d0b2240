import type { AnomalyCounter } from '../anomalies.js';
import { rd16, rd32, rd32s } from './bytes.js';
import type { FrameSink } from './frame.js';
import { MAX_RECORD_BYTES } from './record-stream.js';
import { RecordStream } from './record-stream.js';
import { TimestampConverter } from './pcapng-timestamp.js';

/** Block types (pcapng specification and its registry of additional blocks). */
export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 0x00000001;
export const BLOCK_PB = 0x00000002;
export const BLOCK_SPB = 0x00000003;
export const BLOCK_NRB = 0x00000004;
export const BLOCK_ISB = 0x00000005;
export const BLOCK_EPB = 0x00000006;
export const BLOCK_IRIG_TS = 0x00000007;
export const BLOCK_ARINC_429 = 0x00000008;
export const BLOCK_SYSTEMD_JOURNAL = 0x00000009;
export const BLOCK_DSB = 0x0000000a;
export const BLOCK_CUSTOM = 0x00000bad;
export const BLOCK_CUSTOM_NOCOPY = 0x40000bad;
/** Apple's process information block, written by macOS tcpdump. */
export const BLOCK_DARWIN_PROCESS = 0x80000001;

/** Byte-order magic of a Section Header Block as read little-endian. */
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BYTE_ORDER_MAGIC_SWAPPED = 0x4d3c2b1a;

/** IDB options this reader uses. */
const OPT_ENDOFOPT = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
/** Default if_tsresol: 10^-6. */
const DEFAULT_TSRESOL = 6;

/** Secrets type of a TLS key log in a Decryption Secrets Block ("TLSK"). */
export const SECRETS_TLS_KEY_LOG = 0x544c534b;

/** Smallest possible block: type, length, trailing length. */
const MIN_BLOCK_BYTES = 12;
/** Largest block stepped over without being parsed; beyond that the length is taken as damage. */
export const MAX_SKIP_BLOCK_BYTES = 64 * 1024 * 1024;
/** Largest Decryption Secrets Block buffered (a key log of tens of thousands of sessions). */
export const MAX_SECRETS_BLOCK_BYTES = 16 * 1024 * 1024;
/** Total secrets kept per capture; more is skipped and counted. */
export const MAX_SECRETS_BYTES = 64 * 1024 * 1024;
/** Interfaces kept per section; packets on interfaces past this are skipped and counted. */
export const MAX_INTERFACES = 4096;

/** One interface of the current section. Allocated per IDB, not per packet. */
class Interface {
  constructor(
    readonly linkType: number,
    readonly snaplen: number,
    readonly tsresol: number,
    readonly tsoffset: number,
  ) {}
}

/** Contents of one Decryption Secrets Block; `data` is a copy the caller may keep. */
export interface CaptureSecret {
  type: number;
  data: Uint8Array;
}

export type SecretsHandler = (secret: CaptureSecret) => void;

/**
 * Streaming pcapng reader: several sections (byte order set per section), several interfaces each with
 * its own link type, snaplen, `if_tsresol` and `if_tsoffset`; EPB, SPB and the obsolete PB deliver
 * frames; Decryption Secrets Blocks are copied and handed to `onSecrets`; every other block is stepped
 * over without buffering (unknown types are counted as `capture.unknown_block`).
 */
export class PcapngReader extends RecordStream {
  /** Every Decryption Secrets Block read, in order. */
  readonly secrets: CaptureSecret[] = [];
  /** Concatenated TLS key log text from the DSBs. */
  keyLog = '';
  /** Sections seen (Section Header Blocks). */
  sections = 0;
  private littleEndian = true;
  private interfaces: Interface[] = [];
  private secretsBytes = 0;
  private readonly ts = new TimestampConverter();
  private readonly decoder = new TextDecoder('utf-8');

  constructor(
    file: string,
    sink: FrameSink,
    anomalies?: AnomalyCounter,
    private readonly onSecrets: SecretsHandler | null = null,
  ) {
    super(file, sink, anomalies);
  }

  protected get headerDone(): boolean {
    return this.sections > 0;
  }

  protected measure(b: Uint8Array, off: number, avail: number, abs: number): number {
    if (avail < MIN_BLOCK_BYTES) return MIN_BLOCK_BYTES;
    // The SHB type reads the same in both byte orders; its byte-order magic decides the section's.
    const type0 = rd32(b, off, true);
    if (type0 === BLOCK_SHB) {
      const bom = rd32(b, off + 8, true);
      if (bom === BYTE_ORDER_MAGIC) this.littleEndian = true;
      else if (bom === BYTE_ORDER_MAGIC_SWAPPED) this.littleEndian = false;
      else {
        this.fail('capture.bad_magic', abs + 8, `section header with unknown byte-order magic ${hex(bom)}`);
        return 0;
      }
    } else if (this.sections === 0) {
      this.fail('capture.bad_magic', abs, `not a pcapng file (first block type ${hex(type0)})`);
      return 0;
    }
    const le = this.littleEndian;
    const type = rd32(b, off, le);
    const len = rd32(b, off + 4, le);
    if (len < MIN_BLOCK_BYTES || (len & 3) !== 0) {
      this.fail('capture.bad_block_length', abs, `impossible block length ${len} (block type ${hex(type)})`);
      return 0;
    }
    let cap = MAX_RECORD_BYTES;
    switch (type) {
      case BLOCK_SHB:
      case BLOCK_IDB:
      case BLOCK_EPB:
      case BLOCK_SPB:
      case BLOCK_PB:
        break;
      case BLOCK_DSB:
        cap = MAX_SECRETS_BLOCK_BYTES;
        if (len > cap) {
          this.skipRecord = true;
          this.skipAnomaly = 'capture.secrets_too_large';
          cap = MAX_SKIP_BLOCK_BYTES;
        }
        break;
      case BLOCK_NRB:
      case BLOCK_ISB:
      case BLOCK_IRIG_TS:
      case BLOCK_ARINC_429:
      case BLOCK_SYSTEMD_JOURNAL:
      case BLOCK_CUSTOM:
      case BLOCK_CUSTOM_NOCOPY:
      case BLOCK_DARWIN_PROCESS:
        this.skipRecord = true;
        cap = MAX_SKIP_BLOCK_BYTES;
        break;
      default:
        this.skipRecord = true;
        this.skipAnomaly = 'capture.unknown_block';
        cap = MAX_SKIP_BLOCK_BYTES;
    }
    if (len > cap) {
      this.skipRecord = false;
      this.skipAnomaly = null;
      this.fail('capture.bad_block_length', abs, `block length ${len} exceeds ${cap} (block type ${hex(type)})`);
      return 0;
    }
    return len;
  }

  protected consume(b: Uint8Array, off: number, size: number, abs: number): void {
    const le = this.littleEndian;
    const type = rd32(b, off, le);
    const trailer = rd32(b, off + size - 4, le);
    if (trailer !== size) {
      this.fail('capture.bad_block_length', abs, `block length ${size} but trailing length ${trailer}`);
      return;
    }
    switch (type) {
      case BLOCK_EPB:
        this.readEnhancedPacket(b, off, size, abs);
        break;
      case BLOCK_SPB:
        this.readSimplePacket(b, off, size, abs);
        break;
      case BLOCK_PB:
        this.readObsoletePacket(b, off, size, abs);
        break;
      case BLOCK_IDB:
        this.readInterface(b, off, size);
        break;
      case BLOCK_SHB:
        this.readSection(b, off, size, abs);
        break;
      case BLOCK_DSB:
        this.readSecrets(b, off, size);
        break;
    }
  }

  private readSection(b: Uint8Array, off: number, size: number, abs: number): void {
    const major = size >= 16 ? rd16(b, off + 12, this.littleEndian) : 0;
    if (major !== 1) {
      this.fail('capture.unsupported_version', abs, `pcapng section version ${major} is not 1`);
      return;
    }
    this.sections++;
    this.interfaces = [];
  }

  private readInterface(b: Uint8Array, off: number, size: number): void {
    if (size < 20) {
      this.anomalies.add('capture.bad_block_content');
      return;
    }
    if (this.interfaces.length >= MAX_INTERFACES) {
      this.anomalies.add('capture.too_many_interfaces');
      return;
    }
    const le = this.littleEndian;
    const linkType = rd16(b, off + 8, le);
    const snaplen = rd32(b, off + 12, le);
    let tsresol = DEFAULT_TSRESOL;
    let tsoffset = 0;
    let o = off + 16;
    const end = off + size - 4;
    while (o + 4 <= end) {
      const code = rd16(b, o, le);
      const olen = rd16(b, o + 2, le);
      if (code === OPT_ENDOFOPT) break;
      if (o + 4 + olen > end) {
        this.anomalies.add('capture.bad_option');
        break;
      }
      if (code === OPT_IF_TSRESOL && olen >= 1) {
        tsresol = b[o + 4]!;
      } else if (code === OPT_IF_TSOFFSET && olen >= 8) {
        // Signed 64-bit seconds, in the section's byte order.
        const hi = le ? rd32s(b, o + 8, le) : rd32s(b, o + 4, le);
        const lo = le ? rd32(b, o + 4, le) : rd32(b, o + 8, le);
        tsoffset = hi * 2 ** 32 + lo;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    this.interfaces.push(new Interface(linkType, snaplen, tsresol, tsoffset));
    this.noteLinkType(linkType);
  }

  private readEnhancedPacket(b: Uint8Array, off: number, size: number, abs: number): void {
    const le = this.littleEndian;
    if (size < 32) {
      this.anomalies.add('capture.bad_block_content');
      return;
    }
    const ifId = rd32(b, off + 8, le);
    const caplen = rd32(b, off + 20, le);
    if (28 + caplen + 4 > size) {
      this.anomalies.add('capture.bad_block_content');
      return;
    }
    const iface = this.interfaces[ifId];
    if (iface === undefined) {
      this.anomalies.add('capture.unknown_interface');
      return;
    }
    this.deliver(b, off + 28, caplen, rd32(b, off + 24, le), iface, ifId, abs, rd32(b, off + 12, le), rd32(b, off + 16, le));
  }

  private readObsoletePacket(b: Uint8Array, off: number, size: number, abs: number): void {
    const le = this.littleEndian;
    if (size < 32) {
      this.anomalies.add('capture.bad_block_content');
      return;
    }
    const ifId = rd16(b, off + 8, le);
    const caplen = rd32(b, off + 20, le);
    if (28 + caplen + 4 > size) {
      this.anomalies.add('capture.bad_block_content');
      return;
    }
    const iface = this.interfaces[ifId];
    if (iface === undefined) {
      this.anomalies.add('capture.unknown_interface');
      return;
    }
    this.deliver(b, off + 28, caplen, rd32(b, off + 24, le), iface, ifId, abs, rd32(b, off + 12, le), rd32(b, off + 16, le));
  }

  private readSimplePacket(b: Uint8Array, off: number, size: number, abs: number): void {
    if (size < 16) {
      this.anomalies.add('capture.bad_block_content');
      return;
    }
    const iface = this.interfaces[0];
    if (iface === undefined) {
      this.anomalies.add('capture.unknown_interface');
      return;
    }
    const origLen = rd32(b, off + 8, this.littleEndian);
    // The SPB has no captured length: it is the original length cut by interface 0's snaplen.
    let caplen = origLen;
    if (iface.snaplen !== 0 && caplen > iface.snaplen) caplen = iface.snaplen;
    if (caplen > size - 16) caplen = size - 16;
    const f = this.frame;
    f.buf = b;
    f.start = off + 12;
    f.end = off + 12 + caplen;
    f.origLen = origLen;
    f.tsSec = 0;
    f.tsNsec = 0;
    f.linkType = iface.linkType;
    f.interfaceId = 0;
    f.offset = abs;
    this.emit(false);
  }

  private deliver(
    b: Uint8Array,
    dataOff: number,
    caplen: number,
    origLen: number,
    iface: Interface,
    ifId: number,
    abs: number,
    tsHi: number,
    tsLo: number,
  ): void {
    const f = this.frame;
    this.ts.convert(tsHi, tsLo, iface.tsresol, iface.tsoffset);
    f.tsSec = this.ts.sec;
    f.tsNsec = this.ts.nsec;
    f.buf = b;
    f.start = dataOff;
    f.end = dataOff + caplen;
    f.origLen = origLen;
    f.linkType = iface.linkType;
    f.interfaceId = ifId;
    f.offset = abs;
    this.emit(true);
  }

  private readSecrets(b: Uint8Array, off: number, size: number): void {
    const le = this.littleEndian;
    if (size < 20) {
      this.anomalies.add('capture.bad_block_content');
      return;
    }
    const type = rd32(b, off + 8, le);
    const len = rd32(b, off + 12, le);
    if (16 + len + 4 > size) {
      this.anomalies.add('capture.bad_block_content');
      return;
    }
    if (this.secretsBytes + len > MAX_SECRETS_BYTES) {
      this.anomalies.add('capture.secrets_too_large');
      return;
    }
    this.secretsBytes += len;
    const secret: CaptureSecret = { type, data: b.slice(off + 16, off + 16 + len) };
    this.secrets.push(secret);
    if (type === SECRETS_TLS_KEY_LOG) {
      const text = this.decoder.decode(secret.data);
      if (this.keyLog.length > 0 && !this.keyLog.endsWith('\n')) this.keyLog += '\n';
      this.keyLog += text;
    }
    if (this.onSecrets !== null) this.onSecrets(secret);
  }
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}
