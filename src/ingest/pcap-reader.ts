import type { AnomalyCounter } from '../anomalies.js';
import { rd16, rd32 } from './bytes.js';
import type { FrameSink } from './frame.js';
import { MAX_CAPLEN, RecordStream } from './record-stream.js';

/** Classic pcap file header length. */
export const PCAP_FILE_HEADER_BYTES = 24;
/** Classic pcap per-record header length. */
export const PCAP_RECORD_HEADER_BYTES = 16;

/** Magic numbers as read big-endian from the first four bytes. */
export const PCAP_MAGIC_USEC_BE = 0xa1b2c3d4;
export const PCAP_MAGIC_USEC_LE = 0xd4c3b2a1;
export const PCAP_MAGIC_NSEC_BE = 0xa1b23c4d;
export const PCAP_MAGIC_NSEC_LE = 0x4d3cb2a1;

/** The link-type field also carries FCS flags in its top bits; the link type is the rest. */
const LINKTYPE_MASK = 0x03ff_ffff;

/**
 * Streaming reader for classic pcap (libpcap 2.4): either byte order, microsecond or nanosecond
 * timestamps, any snaplen. Frames cut by the snaplen keep their original length (Frame.truncated).
 */
export class PcapReader extends RecordStream {
  /** Byte order of the file. */
  littleEndian = true;
  /** True for the nanosecond-resolution magic. */
  nanoseconds = false;
  /** Snapshot length from the file header (informational; records are not checked against it). */
  snaplen = 0;
  linkType = 1;
  majorVersion = 0;
  minorVersion = 0;
  private fileHeaderDone = false;

  constructor(file: string, sink: FrameSink, anomalies?: AnomalyCounter) {
    super(file, sink, anomalies);
  }

  protected get headerDone(): boolean {
    return this.fileHeaderDone;
  }

  protected measure(b: Uint8Array, off: number, avail: number, abs: number): number {
    if (!this.fileHeaderDone) return PCAP_FILE_HEADER_BYTES;
    if (avail < PCAP_RECORD_HEADER_BYTES) return PCAP_RECORD_HEADER_BYTES;
    const caplen = rd32(b, off + 8, this.littleEndian);
    if (caplen > MAX_CAPLEN) {
      this.fail(
        'capture.bad_record_length',
        abs,
        `impossible captured length ${caplen} (larger than ${MAX_CAPLEN}) in record ${this.packets + 1}`,
      );
      return 0;
    }
    return PCAP_RECORD_HEADER_BYTES + caplen;
  }

  protected consume(b: Uint8Array, off: number, size: number, abs: number): void {
    if (!this.fileHeaderDone) {
      this.parseFileHeader(b, off);
      return;
    }
    const le = this.littleEndian;
    const f = this.frame;
    let sec = rd32(b, off, le);
    let frac = rd32(b, off + 4, le);
    const unitsPerSec = this.nanoseconds ? 1e9 : 1e6;
    if (frac >= unitsPerSec) {
      // Some writers overflow the fraction; carry it into the seconds rather than reject the record.
      sec += Math.floor(frac / unitsPerSec);
      frac %= unitsPerSec;
    }
    f.tsSec = sec;
    f.tsNsec = this.nanoseconds ? frac : frac * 1000;
    f.origLen = rd32(b, off + 12, le);
    f.buf = b;
    f.start = off + PCAP_RECORD_HEADER_BYTES;
    f.end = off + size;
    f.offset = abs;
    this.emit(true);
  }

  private parseFileHeader(b: Uint8Array, off: number): void {
    const magic = rd32(b, off, false);
    switch (magic) {
      case PCAP_MAGIC_USEC_BE:
        this.littleEndian = false;
        break;
      case PCAP_MAGIC_USEC_LE:
        break;
      case PCAP_MAGIC_NSEC_BE:
        this.littleEndian = false;
        this.nanoseconds = true;
        break;
      case PCAP_MAGIC_NSEC_LE:
        this.nanoseconds = true;
        break;
      default:
        this.fail('capture.bad_magic', 0, `not a pcap file (magic ${magic.toString(16).padStart(8, '0')})`);
        return;
    }
    const le = this.littleEndian;
    this.majorVersion = rd16(b, off + 4, le);
    this.minorVersion = rd16(b, off + 6, le);
    this.snaplen = rd32(b, off + 16, le);
    this.linkType = rd32(b, off + 20, le) & LINKTYPE_MASK;
    this.frame.linkType = this.linkType;
    this.frame.interfaceId = 0;
    this.noteLinkType(this.linkType);
    this.fileHeaderDone = true;
  }
}
