import type { AnomalyCode } from '../anomalies';
import type { ByteBudget } from '../byte-budget';
import { TcpFlag } from '../decode/packet';
import type { Direction } from './direction';
import type { PacketStamp } from './packet-stamp';
import { seqAdd, seqDiff } from './seq';
import type { StreamHandler } from './stream-handler';

/** Out-of-order bytes kept per direction before the oldest hole is given up as a gap. */
export const MAX_OOO_BYTES_PER_DIRECTION = 1 << 20;
/** Out-of-order segments kept per direction (bounds the sorted-insert cost too). */
export const MAX_OOO_SEGMENTS = 256;
/** Out-of-order bytes kept across all flows of one engine. */
export const MAX_OOO_BYTES_GLOBAL = 64 << 20;

/** Where reassembly counts what it sees (the flow counts per flow and per capture). */
export interface AnomalyTarget {
  add(code: AnomalyCode, n?: number): void;
}


export interface ReassemblyLimits {
  maxBytesPerDirection: number;
  maxSegments: number;
}

const DEFAULT_LIMITS: ReassemblyLimits = {
  maxBytesPerDirection: MAX_OOO_BYTES_PER_DIRECTION,
  maxSegments: MAX_OOO_SEGMENTS,
};

/**
 * A buffered out-of-order piece: copied bytes followed by `missing` bytes known to be absent
 * (a segment the snaplen cut keeps its place in sequence space).
 */
class OooSegment implements PacketStamp {
  // Initial values: a number field declared without one starts undefined, is tracked as tagged and
  // would box its double on every segment.
  readonly ts: number = 0;
  readonly frame: number = 0;

  constructor(
    readonly seq: number,
    readonly bytes: Uint8Array,
    readonly missing: number,
    at: PacketStamp,
  ) {
    this.ts = at.ts;
    this.frame = at.frame;
  }

  get total(): number {
    return this.bytes.length + this.missing;
  }
}

class HalfStream {
  started = false;
  ended = false;
  /** Next sequence number expected in order (32 bits, held as a signed integer: see seqAdd). */
  nextSeq = 0;
  /** Sorted by sequence, non-overlapping, every one starting after nextSeq. */
  readonly segs: OooSegment[] = [];
  bufferedBytes = 0;
}

/**
 * TCP reassembly for one connection, both directions (gopacket-style): in-order data goes straight
 * to the handler as a view of the packet, out-of-order data is copied into a bounded buffer and
 * delivered when the hole fills; overlaps are resolved first-wins; holes that cannot be filled are
 * reported as gaps with their size.
 */
export class TcpReassembler {
  // Two fields rather than an array: one load less on every segment.
  private readonly half0 = new HalfStream();
  private readonly half1 = new HalfStream();

  constructor(
    private readonly handler: StreamHandler,
    private readonly anomalies: AnomalyTarget,
    /** Shared across the reassemblers of one engine: the global out-of-order cap. */
    private readonly budget: ByteBudget,
    private readonly limits: ReassemblyLimits = DEFAULT_LIMITS,
  ) {}

  /**
   * One TCP segment from `dir`. Its payload is `data[off, off+len)`; `missingTail` more payload
   * bytes were on the wire but not captured (snaplen); `at` is its packet's time and frame. `seq` may
   * be given signed (`seq | 0`: a small integer, passed without allocating) or unsigned. Never throws.
   */
  segment(
    dir: Direction,
    seq: number,
    flags: number,
    data: Uint8Array,
    off: number,
    len: number,
    missingTail: number,
    at: PacketStamp,
  ): void {
    const h = (dir === 0 ? this.half0 : this.half1);
    const total = len + missingTail;
    if (h.ended) {
      if (total > 0) {
        const rel = seqDiff(seq, h.nextSeq);
        this.anomalies.add(rel + total <= 0 ? 'tcp.retransmission' : 'tcp.data_after_close');
      }
      return;
    }
    if ((flags & TcpFlag.RST) !== 0) {
      // Payload on a RST is diagnostic text at best; the direction ends here.
      this.endDirection(dir, false, 0);
      return;
    }
    let dataSeq = seq | 0;
    if ((flags & TcpFlag.SYN) !== 0) {
      dataSeq = seqAdd(seq, 1);
      if (!h.started) {
        h.started = true;
        h.nextSeq = dataSeq;
      }
    } else if (!h.started) {
      // Midstream pickup: the first segment seen defines the stream's start.
      h.started = true;
      h.nextSeq = dataSeq;
    }
    if (total > 0) this.ingest(h, dir, dataSeq, data, off, len, missingTail, at);
    if ((flags & TcpFlag.FIN) !== 0) this.endDirection(dir, true, seqAdd(dataSeq, total));
  }

  /** Ends both directions (RST, idle, eviction, end of capture): pending holes become gaps. */
  close(): void {
    this.endDirection(0, false, 0);
    this.endDirection(1, false, 0);
  }

  isEnded(dir: Direction): boolean {
    return (dir === 0 ? this.half0 : this.half1).ended;
  }

  /** Bytes currently buffered out of order in `dir` (for tests and stats). */
  buffered(dir: Direction): number {
    return (dir === 0 ? this.half0 : this.half1).bufferedBytes;
  }

  /** Delivers what is pending (gaps first), then ends `dir`; `endSeq` is the FIN's place. */
  private endDirection(dir: Direction, hasEnd: boolean, endSeq: number): void {
    const h = (dir === 0 ? this.half0 : this.half1);
    if (h.ended) return;
    while (h.segs.length > 0) this.skipToFirstBuffered(h, dir);
    if (hasEnd && h.started) {
      const d = seqDiff(endSeq, h.nextSeq);
      if (d > 0) {
        this.gap(dir, d);
        h.nextSeq = endSeq;
      }
    }
    h.ended = true;
    this.handler.onEnd(dir);
  }

  private ingest(
    h: HalfStream,
    dir: Direction,
    seq: number,
    data: Uint8Array,
    off: number,
    len: number,
    missing: number,
    at: PacketStamp,
  ): void {
    const total = len + missing;
    const rel = seqDiff(seq, h.nextSeq);
    if (rel + total <= 0) {
      this.anomalies.add('tcp.retransmission');
      return;
    }
    if (rel > 0) {
      this.bufferOutOfOrder(h, dir, rel, seq, data, off, len, missing, at);
      return;
    }
    let pos = 0;
    if (rel < 0) {
      // Starts inside bytes already delivered: those came first and win.
      this.anomalies.add('tcp.overlap');
      pos = -rel;
    }
    while (pos < total) {
      let limit = total - pos;
      if (h.segs.length > 0) {
        const d = seqDiff(h.segs[0]!.seq, h.nextSeq);
        if (d < limit) limit = d > 0 ? d : 0;
      }
      if (limit > 0) {
        this.emit(dir, data, off, len, pos, pos + limit, at);
        h.nextSeq = seqAdd(h.nextSeq, limit);
        pos += limit;
      }
      if (pos >= total) break;
      // Buffered bytes at nextSeq arrived earlier than this segment's copy of them: first wins.
      this.anomalies.add('tcp.overlap');
      const before = h.nextSeq;
      this.drain(h, dir);
      pos += seqDiff(h.nextSeq, before);
    }
    this.drain(h, dir);
  }

  /** Delivers buffered segments that are now contiguous with nextSeq. */
  private drain(h: HalfStream, dir: Direction): void {
    while (h.segs.length > 0) {
      const s = h.segs[0]!;
      const d = seqDiff(s.seq, h.nextSeq);
      if (d > 0) return;
      h.segs.shift();
      this.release(h, s.bytes.length);
      const stotal = s.total;
      if (d + stotal > 0) {
        this.emit(dir, s.bytes, 0, s.bytes.length, -d, stotal, s);
        h.nextSeq = seqAdd(h.nextSeq, stotal + d);
      }
    }
  }

  /** Gives up the hole before the first buffered segment: report it as a gap and deliver on. */
  private skipToFirstBuffered(h: HalfStream, dir: Direction): void {
    const s = h.segs[0]!;
    const d = seqDiff(s.seq, h.nextSeq);
    if (d > 0) {
      this.gap(dir, d);
      h.nextSeq = s.seq;
    }
    this.drain(h, dir);
  }

  private bufferOutOfOrder(
    h: HalfStream,
    dir: Direction,
    rel: number,
    seq: number,
    data: Uint8Array,
    off: number,
    len: number,
    missing: number,
    at: PacketStamp,
  ): void {
    if (
      h.segs.length >= this.limits.maxSegments ||
      h.bufferedBytes + len > this.limits.maxBytesPerDirection ||
      this.budget.used + len > this.budget.max
    ) {
      // Over a cap: the oldest hole will not be filled in time. Skip it and try again.
      this.anomalies.add('tcp.reassembly_overflow');
      if (h.segs.length > 0) this.skipToFirstBuffered(h, dir);
      else {
        this.gap(dir, rel);
        h.nextSeq = seq;
      }
      this.ingest(h, dir, seq, data, off, len, missing, at);
      return;
    }
    this.anomalies.add('tcp.out_of_order');
    const segs = h.segs;
    let a = rel;
    const b = rel + len + missing;
    let i = 0;
    let overlapped = false;
    while (i < segs.length && a < b) {
      const s = segs[i]!;
      const rs = seqDiff(s.seq, h.nextSeq);
      const re = rs + s.total;
      if (re <= a) {
        i++;
        continue;
      }
      if (rs >= b) break;
      if (rs > a) {
        segs.splice(i, 0, this.piece(h, rel, a, rs, data, off, len, at));
        i++;
      }
      overlapped = true;
      if (re > a) a = re;
      i++;
    }
    if (a < b) segs.splice(i, 0, this.piece(h, rel, a, b, data, off, len, at));
    if (overlapped) this.anomalies.add('tcp.overlap');
    // A segment spanning several buffered ones adds several pieces: keep the count within its cap.
    while (segs.length > this.limits.maxSegments) {
      this.anomalies.add('tcp.reassembly_overflow');
      this.skipToFirstBuffered(h, dir);
    }
  }

  /** Copies segment range [a, b) (relative to nextSeq; the segment starts at `rel`) into a piece. */
  private piece(
    h: HalfStream,
    rel: number,
    a: number,
    b: number,
    data: Uint8Array,
    off: number,
    len: number,
    at: PacketStamp,
  ): OooSegment {
    const from = a - rel;
    const to = b - rel;
    const byteEnd = to < len ? to : len;
    const bytes = from < byteEnd ? data.slice(off + from, off + byteEnd) : new Uint8Array(0);
    const missing = to > len ? to - (from > len ? from : len) : 0;
    h.bufferedBytes += bytes.length;
    this.budget.used += bytes.length;
    return new OooSegment(seqAdd(h.nextSeq, a), bytes, missing, at);
  }

  private release(h: HalfStream, n: number): void {
    h.bufferedBytes -= n;
    this.budget.used -= n;
  }

  /** Hands segment range [from, to) to the handler: captured bytes as data, the rest as a gap. */
  private emit(
    dir: Direction,
    data: Uint8Array,
    off: number,
    len: number,
    from: number,
    to: number,
    at: PacketStamp,
  ): void {
    if (from < len) this.handler.onData(dir, data, off + from, off + (to < len ? to : len), at);
    if (to > len) this.gap(dir, to - (from > len ? from : len));
  }

  private gap(dir: Direction, bytes: number): void {
    this.anomalies.add('tcp.gap');
    this.handler.onGap(dir, bytes);
  }
}
