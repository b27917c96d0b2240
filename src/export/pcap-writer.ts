/**
 * Streaming classic pcap writer (little-endian, microsecond timestamps, magic a1b2c3d4).
 * Format: https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-00.html
 */
import type { ByteSink } from './byte-sink.js';
import { ChunkBuffer } from './chunk-buffer.js';

/** Snapshot length announced in the file header; longer frames are cut to it. */
export const MAX_PCAP_SNAPLEN = 262_144;

const PCAP_RECORD_HEADER = 16;

export class PcapWriter {
  private readonly out: ChunkBuffer;
  private readonly snaplen: number;
  /** Number of records written. */
  packets = 0;

  constructor(sink: ByteSink, linkType: number, snaplen = MAX_PCAP_SNAPLEN) {
    this.out = new ChunkBuffer(sink);
    this.snaplen = Math.min(snaplen, MAX_PCAP_SNAPLEN);
    const o = this.out;
    o.reserve(24);
    const v = o.view;
    const p = o.pos;
    v.setUint32(p, 0xa1b2c3d4, true);
    v.setUint16(p + 4, 2, true);
    v.setUint16(p + 6, 4, true);
    v.setInt32(p + 8, 0, true); // thiszone
    v.setUint32(p + 12, 0, true); // sigfigs
    v.setUint32(p + 16, this.snaplen, true);
    v.setUint32(p + 20, linkType >>> 0, true);
    o.advance(24);
  }

  /** Total bytes produced so far (header included). */
  get bytesWritten(): number {
    return this.out.written;
  }

  /**
   * Append one record. `data` is copied at once; `origLen` defaults to data.length.
   * `tsUsec` must be 0..999999.
   */
  writePacket(tsSec: number, tsUsec: number, data: Uint8Array, origLen = data.length): void {
    const cap = data.length > this.snaplen ? this.snaplen : data.length;
    const o = this.out;
    this.writeRecordHeader(tsSec, tsUsec, cap, origLen);
    if (o.reserve(cap)) {
      o.buf.set(cap === data.length ? data : data.subarray(0, cap), o.pos);
      o.advance(cap);
    } else {
      o.put(data.subarray(0, cap));
    }
    this.packets++;
  }

  /**
   * Reserve room for a record of `len` bytes and return the offset in `buffer` where the caller
   * writes the frame itself (zero-copy path for generators). Call `commitPacket()` afterwards.
   */
  beginPacket(tsSec: number, tsUsec: number, len: number): number {
    const o = this.out;
    o.reserve(PCAP_RECORD_HEADER + len);
    this.writeRecordHeader(tsSec, tsUsec, len, len);
    return o.pos;
  }

  commitPacket(len: number): void {
    this.out.advance(len);
    this.packets++;
  }

  /** The chunk buffer `beginPacket` offsets point into. */
  get buffer(): Buffer {
    return this.out.buf;
  }

  flush(): void {
    this.out.flush();
  }

  close(): void {
    this.out.close();
  }

  private writeRecordHeader(tsSec: number, tsUsec: number, capLen: number, origLen: number): void {
    const o = this.out;
    o.reserve(PCAP_RECORD_HEADER);
    const v = o.view;
    const p = o.pos;
    v.setUint32(p, tsSec >>> 0, true);
    v.setUint32(p + 4, tsUsec >>> 0, true);
    v.setUint32(p + 8, capLen, true);
    v.setUint32(p + 12, origLen, true);
    o.advance(PCAP_RECORD_HEADER);
  }
}
