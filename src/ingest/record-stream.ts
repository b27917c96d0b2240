import { AnomalyCounter, type AnomalyCode } from '../anomalies.js';
import { CaptureError } from './capture-error.js';
import { Frame, type FrameSink } from './frame.js';

/**
 * Largest captured packet a reader accepts (Wireshark's standard maximum, also tcpdump's default
 * snaplen). A record claiming more is treated as damage, because in a pcap file nothing else can tell a
 * corrupt length from a real one.
 */
export const MAX_CAPLEN = 262_144;

/**
 * Largest record that is ever copied into the carry buffer: a packet of MAX_CAPLEN plus the largest
 * record header and some room for pcapng options. The carry grows only up to the largest record seen.
 */
export const MAX_RECORD_BYTES = MAX_CAPLEN + 64 * 1024;

/** Initial carry size; enough for typical Ethernet frames, grows on demand up to the record cap. */
const INITIAL_CARRY_BYTES = 4096;

/**
 * A push parser for a sequence of length-prefixed records (pcap records, pcapng blocks).
 *
 * The input may arrive split anywhere. Complete records are parsed in place in the caller's chunk;
 * only a record that straddles two chunks is copied, into a carry buffer that is reused. Records the
 * format says to skip are stepped over by counting, never buffered. The byte offset of every record in
 * the whole stream is tracked so errors can name it.
 *
 * Subclasses implement `measure` (how long is the record starting here) and `consume` (parse a complete
 * record). They set frame fields and call `emit`, which keeps the capture statistics.
 */
export abstract class RecordStream {
  /** The one Frame handed to the sink, overwritten for every record. */
  readonly frame = new Frame();
  /** First damage found; once set, further input is ignored. */
  error: CaptureError | null = null;
  /** Frames delivered. */
  packets = 0;
  /** Sum of captured lengths of delivered frames. */
  bytes = 0;
  /** Frames whose captured length is below their original length. */
  truncatedFrames = 0;
  /** Earliest and latest frame timestamp in seconds; NaN before the first timestamped frame. */
  firstTs = Number.NaN;
  lastTs = Number.NaN;
  /** Distinct link types, in the order they were first described. */
  readonly linkTypes: number[] = [];

  /** Absolute stream offset of chunk[0] of the chunk being pushed; after push, bytes consumed. */
  protected base = 0;
  /** Bytes left to step over of a record being skipped. */
  private skipLeft = 0;
  /** Start offset of the record being skipped or carried, for error messages. */
  private pendingStart = 0;
  private carry: Uint8Array = new Uint8Array(INITIAL_CARRY_BYTES);
  private carryLen = 0;
  private ended = false;
  /** Set by `measure` when the record is to be stepped over instead of parsed. */
  protected skipRecord = false;
  /** Anomaly to count once when a skipped record starts being skipped (null for none). */
  protected skipAnomaly: AnomalyCode | null = null;

  constructor(
    readonly file: string,
    protected readonly sink: FrameSink,
    readonly anomalies: AnomalyCounter = new AnomalyCounter(),
  ) {}

  /** Bytes of the stream consumed so far. */
  get offset(): number {
    return this.base;
  }

  /**
   * Length in bytes of the record at `b[off]`, given `avail` bytes there (at least 1). When fewer bytes
   * are available than its header needs, returns the header length. Returns 0 after `fail` on damage.
   * May set `skipRecord` / `skipAnomaly`. Must give the same answer when called again on more bytes.
   */
  protected abstract measure(b: Uint8Array, off: number, avail: number, abs: number): number;

  /** Parses the complete record `b[off .. off+size)` found at stream offset `abs`. */
  protected abstract consume(b: Uint8Array, off: number, size: number, abs: number): void;

  /** True once the file header has been parsed (a cut before that is a truncated header). */
  protected abstract get headerDone(): boolean;

  /** Feeds the next piece of the stream. Any split of the stream gives the same frames. */
  push(chunk: Uint8Array): void {
    if (this.error !== null || this.ended) return;
    const len = chunk.length;
    let pos = 0;
    if (this.skipLeft > 0) {
      pos = this.skipLeft < len ? this.skipLeft : len;
      this.skipLeft -= pos;
    }
    if (this.carryLen > 0 && pos < len) pos = this.completeCarry(chunk, pos);
    while (pos < len && this.error === null) {
      const avail = len - pos;
      const abs = this.base + pos;
      this.skipRecord = false;
      const need = this.measure(chunk, pos, avail, abs);
      if (need === 0) break;
      if (this.skipRecord) {
        this.startSkip(abs);
        if (need <= avail) {
          pos += need;
        } else {
          this.skipLeft = need - avail;
          pos = len;
        }
        continue;
      }
      if (need > avail) {
        this.pendingStart = abs;
        this.growCarry(avail);
        this.carry.set(chunk.subarray(pos), 0);
        this.carryLen = avail;
        break;
      }
      this.consume(chunk, pos, need, abs);
      pos += need;
    }
    this.base += len;
  }

  /**
   * Declares the end of the stream. A record left incomplete is reported as a cut-off last record
   * (or a truncated header when the file header itself was cut). Returns the first error, if any.
   */
  end(): CaptureError | null {
    if (this.ended) return this.error;
    this.ended = true;
    if (this.error === null) {
      if (!this.headerDone) {
        this.fail('capture.truncated_header', 0, `file header cut off after ${this.base} bytes`);
      } else if (this.carryLen > 0 || this.skipLeft > 0) {
        const have = this.base - this.pendingStart;
        this.fail('capture.truncated_record', this.pendingStart, `last record cut off after ${have} bytes`);
      }
    }
    if (this.truncatedFrames > 0) this.anomalies.add('capture.snaplen_truncated', this.truncatedFrames);
    return this.error;
  }

  /** Records damage: sets `error` (first one wins) and counts it. Reading stops. */
  fail(code: AnomalyCode, offset: number, detail: string): void {
    if (this.error !== null) return;
    this.error = new CaptureError(this.file, offset, code, detail);
    this.anomalies.add(code);
  }

  /** Delivers `frame` (fields already set by the subclass) and updates the statistics. */
  protected emit(hasTs: boolean): void {
    const f = this.frame;
    f.number = ++this.packets;
    const caplen = f.end - f.start;
    this.bytes += caplen;
    if (caplen < f.origLen) this.truncatedFrames++;
    if (hasTs) {
      const ts = f.tsSec + f.tsNsec / 1e9;
      // NaN compares false, so the first timestamp always lands in both.
      if (!(ts >= this.firstTs)) this.firstTs = ts;
      if (!(ts <= this.lastTs)) this.lastTs = ts;
    }
    this.sink(f);
  }

  /** Adds a link type to the distinct list (called per interface description, not per frame). */
  protected noteLinkType(linkType: number): void {
    if (!this.linkTypes.includes(linkType)) this.linkTypes.push(linkType);
  }

  /** Completes the record held in the carry from `chunk[pos..]`; returns the new position. */
  private completeCarry(chunk: Uint8Array, pos: number): number {
    const len = chunk.length;
    for (;;) {
      this.skipRecord = false;
      const need = this.measure(this.carry, 0, this.carryLen, this.pendingStart);
      if (need === 0) return len;
      if (this.skipRecord) {
        this.startSkip(this.pendingStart);
        const rest = need - this.carryLen;
        this.carryLen = 0;
        const n = rest < len - pos ? rest : len - pos;
        this.skipLeft = rest - n;
        return pos + n;
      }
      if (need <= this.carryLen) {
        this.carryLen = 0;
        this.consume(this.carry, 0, need, this.pendingStart);
        return this.error === null ? pos : len;
      }
      if (pos >= len) return len;
      this.growCarry(need);
      const take = need - this.carryLen < len - pos ? need - this.carryLen : len - pos;
      this.carry.set(chunk.subarray(pos, pos + take), this.carryLen);
      this.carryLen += take;
      pos += take;
    }
  }

  private startSkip(abs: number): void {
    this.pendingStart = abs;
    if (this.skipAnomaly !== null) {
      this.anomalies.add(this.skipAnomaly);
      this.skipAnomaly = null;
    }
  }

  /** Makes the carry hold at least `n` bytes, keeping its contents. `measure` has capped `n`. */
  private growCarry(n: number): void {
    if (this.carry.length >= n) return;
    // Double to avoid regrowing for every slightly larger record, but never past the record cap
    // unless this one record (a large secrets block) needs it.
    let size = this.carry.length * 2;
    if (size > MAX_RECORD_BYTES) size = MAX_RECORD_BYTES;
    if (size < n) size = n;
    const next = new Uint8Array(size);
    next.set(this.carry.subarray(0, this.carryLen), 0);
    this.carry = next;
  }
}
