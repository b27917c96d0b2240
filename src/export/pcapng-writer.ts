/**
 * Streaming pcapng writer: one Section Header Block, any number of Interface Description Blocks
 * (each with its own link type and timestamp resolution), Enhanced Packet Blocks, and Decryption
 * Secrets Blocks carrying TLS key logs. Little-endian.
 * Format: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html
 */
import type { ByteSink } from './byte-sink.js';
import { ChunkBuffer } from './chunk-buffer.js';

export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 0x00000001;
export const BLOCK_EPB = 0x00000006;
export const BLOCK_DSB = 0x0000000a;
/** Secrets type of a DSB holding an NSS key log ("TLSK"). */
export const SECRETS_TLS_KEY_LOG = 0x544c534b;

/** Snapshot length announced per interface. */
export const MAX_PCAPNG_SNAPLEN = 262_144;
/** Largest option value we accept (interface names, comments). */
export const MAX_OPTION_BYTES = 1024;

const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const SHB_USERAPPL = 4;

export interface InterfaceOptions {
  name?: string;
  /** Decimal digits of the timestamp unit: 6 = microseconds (default), 9 = nanoseconds. 0..9. */
  tsresolDigits?: number;
  snaplen?: number;
}

const pad4 = (n: number): number => (n + 3) & ~3;
/** Buffer's copy, which takes any Uint8Array as its source and makes no view of it. */
const copyBytes = Buffer.prototype.copy as (this: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number) => number;

export class PcapngWriter {
  private readonly out: ChunkBuffer;
  private readonly resolution: number[] = [];
  private readonly divisor: number[] = [];
  private readonly snaplens: number[] = [];
  packets = 0;

  constructor(sink: ByteSink, application = 'planewatch') {
    this.out = new ChunkBuffer(sink);
    const appl = Buffer.from(application.slice(0, MAX_OPTION_BYTES));
    // Block header (8), byte-order magic and version (8), section length (8), the application option
    // (4 + its padded value), end of options (4), trailing length (4): every byte is written.
    const len = 24 + 4 + pad4(appl.length) + 4 + 4;
    const p = this.begin(BLOCK_SHB, len);
    const v = this.out.view;
    v.setUint32(p + 8, 0x1a2b3c4d, true);
    v.setUint16(p + 12, 1, true);
    v.setUint16(p + 14, 0, true);
    v.setInt32(p + 16, -1, true); // section length unknown (streaming)
    v.setInt32(p + 20, -1, true);
    let o = this.option(p + 24, SHB_USERAPPL, appl);
    o = this.option(o, OPT_ENDOFOPT, null);
    this.end(p, len);
  }

  get bytesWritten(): number {
    return this.out.written;
  }

  /** Describe an interface; returns its id for `writePacket`. */
  addInterface(linkType: number, opts: InterfaceOptions = {}): number {
    const digits = Math.max(0, Math.min(9, opts.tsresolDigits ?? 6));
    const snaplen = Math.min(opts.snaplen ?? MAX_PCAPNG_SNAPLEN, MAX_PCAPNG_SNAPLEN);
    const name = opts.name ? Buffer.from(opts.name.slice(0, MAX_OPTION_BYTES)) : null;
    const len = 16 + (name ? 4 + pad4(name.length) : 0) + 4 + 4 + 4 + 4;
    const p = this.begin(BLOCK_IDB, len);
    const v = this.out.view;
    v.setUint16(p + 8, linkType, true);
    v.setUint16(p + 10, 0, true);
    v.setUint32(p + 12, snaplen, true);
    let o = p + 16;
    if (name) o = this.option(o, IF_NAME, name);
    o = this.option(o, IF_TSRESOL, Buffer.of(digits));
    o = this.option(o, OPT_ENDOFOPT, null);
    this.end(p, len);
    this.resolution.push(10 ** digits);
    this.divisor.push(10 ** (9 - digits));
    this.snaplens.push(snaplen);
    return this.resolution.length - 1;
  }

  /** Append one Enhanced Packet Block. `tsNsec` is 0..999999999 and is scaled to the interface's unit. */
  writePacket(interfaceId: number, tsSec: number, tsNsec: number, data: Uint8Array, origLen = data.length, comment?: string): void {
    const snaplen = this.snaplens[interfaceId] ?? MAX_PCAPNG_SNAPLEN;
    const cap = data.length > snaplen ? snaplen : data.length;
    const c = comment ? Buffer.from(comment.slice(0, MAX_OPTION_BYTES)) : null;
    const len = 28 + pad4(cap) + (c ? 4 + pad4(c.length) + 4 : 0) + 4;
    const p = this.beginPacketBlock(interfaceId, tsSec, tsNsec, cap, origLen, len);
    const o = this.out;
    o.buf.set(cap === data.length ? data : data.subarray(0, cap), p + 28);
    let q = p + 28 + cap;
    while (q < p + 28 + pad4(cap)) o.buf[q++] = 0;
    if (c) {
      q = this.option(q, OPT_COMMENT, c);
      this.option(q, OPT_ENDOFOPT, null);
    }
    this.end(p, len);
    this.packets++;
  }

  /**
   * `writePacket` for the bytes `buf[start..end)`, copied without making a view of them: for writers
   * on the per-packet path (a live capture written as it is analysed).
   */
  writePacketRange(interfaceId: number, tsSec: number, tsNsec: number, buf: Uint8Array, start: number, end: number, origLen: number): void {
    const snaplen = this.snaplens[interfaceId] ?? MAX_PCAPNG_SNAPLEN;
    const cap = end - start > snaplen ? snaplen : end - start;
    const len = 28 + pad4(cap) + 4;
    const p = this.beginPacketBlock(interfaceId, tsSec, tsNsec, cap, origLen, len);
    const o = this.out;
    copyBytes.call(buf, o.buf, p + 28, start, start + cap);
    for (let q = p + 28 + cap; q < p + 28 + pad4(cap); q++) o.buf[q] = 0;
    this.end(p, len);
    this.packets++;
  }

  /** Append a Decryption Secrets Block with an NSS key log (SSLKEYLOGFILE format). */
  writeTlsKeyLog(keyLog: string | Uint8Array): void {
    const data = typeof keyLog === 'string' ? Buffer.from(keyLog) : keyLog;
    const len = 16 + pad4(data.length) + 4;
    const o = this.out;
    if (!o.reserve(len)) {
      // Larger than a chunk: write header, data and trailer through.
      const head = Buffer.alloc(16);
      head.writeUInt32LE(BLOCK_DSB, 0);
      head.writeUInt32LE(len, 4);
      head.writeUInt32LE(SECRETS_TLS_KEY_LOG, 8);
      head.writeUInt32LE(data.length, 12);
      o.put(head);
      o.put(data);
      const tail = Buffer.alloc(pad4(data.length) - data.length + 4);
      tail.writeUInt32LE(len, tail.length - 4);
      o.put(tail);
      return;
    }
    const p = this.begin(BLOCK_DSB, len);
    o.view.setUint32(p + 8, SECRETS_TLS_KEY_LOG, true);
    o.view.setUint32(p + 12, data.length, true);
    o.buf.set(data, p + 16);
    o.buf.fill(0, p + 16 + data.length, p + 16 + pad4(data.length));
    this.end(p, len);
  }

  flush(): void {
    this.out.flush();
  }

  close(): void {
    this.out.close();
  }

  /** Writes the EPB header for a frame of `cap` bytes and returns the block offset (data at +28). */
  private beginPacketBlock(ifId: number, tsSec: number, tsNsec: number, cap: number, origLen: number, len: number): number {
    const p = this.begin(BLOCK_EPB, len);
    const v = this.out.view;
    const res = this.resolution[ifId] ?? 1e6;
    const div = this.divisor[ifId] ?? 1e3;
    // units = tsSec*res + tsNsec/div, split into 32-bit halves without exceeding 2^53 or using BigInt.
    const sub = Math.floor(tsNsec / div);
    const aHi = Math.floor(tsSec / 65536);
    const aLo = tsSec % 65536;
    const y = aLo * res + sub;
    const y2 = aHi * res + Math.floor(y / 65536);
    const hi = Math.floor(y2 / 65536);
    const lo = (y2 % 65536) * 65536 + (y % 65536);
    v.setUint32(p + 8, ifId, true);
    v.setUint32(p + 12, hi >>> 0, true);
    v.setUint32(p + 16, lo >>> 0, true);
    v.setUint32(p + 20, cap, true);
    v.setUint32(p + 24, origLen, true);
    return p;
  }

  private begin(type: number, len: number): number {
    const o = this.out;
    o.reserve(len);
    const p = o.pos;
    o.view.setUint32(p, type, true);
    o.view.setUint32(p + 4, len, true);
    return p;
  }

  private end(p: number, len: number): void {
    this.out.view.setUint32(p + len - 4, len, true);
    this.out.advance(len);
  }

  private option(at: number, code: number, value: Uint8Array | null): number {
    const v = this.out.view;
    v.setUint16(at, code, true);
    v.setUint16(at + 2, value ? value.length : 0, true);
    if (!value) return at + 4;
    this.out.buf.set(value, at + 4);
    this.out.buf.fill(0, at + 4 + value.length, at + 4 + pad4(value.length));
    return at + 4 + pad4(value.length);
  }
}
