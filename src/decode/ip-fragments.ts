import type { AnomalyCounter } from '../anomalies';

/** Datagrams under reassembly at once; the oldest is dropped to make room. */
export const MAX_FRAGMENT_DATAGRAMS = 1024;
/** Largest datagram rebuilt: IPv4 total length / IPv6 payload length can say no more. */
export const MAX_DATAGRAM_BYTES = 65535;
/** Fragments accepted for one datagram (bounds the work a flood of tiny fragments can cause). */
export const MAX_FRAGMENTS_PER_DATAGRAM = 64;
/** Bytes held by all datagrams under reassembly together. */
export const MAX_FRAGMENT_BUFFER_BYTES = 16 * 1024 * 1024;
/** Capture-time seconds after the first fragment before an incomplete datagram is dropped (Linux: 30). */
export const FRAGMENT_TIMEOUT_S = 30;

export interface FragmentLimits {
  maxDatagrams: number;
  maxDatagramBytes: number;
  maxFragmentsPerDatagram: number;
  maxBufferBytes: number;
  timeoutSeconds: number;
}

export const DEFAULT_FRAGMENT_LIMITS: FragmentLimits = {
  maxDatagrams: MAX_FRAGMENT_DATAGRAMS,
  maxDatagramBytes: MAX_DATAGRAM_BYTES,
  maxFragmentsPerDatagram: MAX_FRAGMENTS_PER_DATAGRAM,
  maxBufferBytes: MAX_FRAGMENT_BUFFER_BYTES,
  timeoutSeconds: FRAGMENT_TIMEOUT_S,
};

export const FragmentResult = { HELD: 0, COMPLETE: 1, DROPPED: 2 } as const;

/** Room kept in front of the payload so the rebuilt IP header is written without another copy. */
const HEADER_ROOM = 40;
const INITIAL_CAPACITY = 2048;
const EMPTY = new Uint8Array(0);

class PendingDatagram {
  /** Source address in bytes 0..15, destination in 16..31. */
  readonly key = new Uint8Array(32);
  version = 0;
  id = 0;
  protocol = 0;
  ttl = 0;
  hash = 0;
  firstTs = 0;
  /** Payload length, known once the last fragment (MF = 0) arrived; -1 before. */
  totalLength = -1;
  buffer: Uint8Array;
  /** Sorted, disjoint, non-adjacent [start, end) ranges of payload received. */
  readonly ranges: Int32Array;
  rangeCount = 0;
  fragments = 0;
  older: PendingDatagram | null = null;
  newer: PendingDatagram | null = null;
  nextInBucket: PendingDatagram | null = null;

  constructor(maxFragments: number) {
    // Allocated on the first byte stored, so that the global byte cap governs every allocation.
    this.buffer = EMPTY;
    this.ranges = new Int32Array(maxFragments * 2 + 2);
  }
}

/**
 * Bounded IPv4 and IPv6 fragment reassembly. Overlapping bytes keep the first copy received
 * (first-wins, as most end hosts do) and the overlap is counted. A completed datagram is returned
 * with a fresh, unfragmented IP header in front so it decodes like any other packet.
 */
export class FragmentReassembler {
  /** The rebuilt datagram (IP header + payload) after `add` returned COMPLETE. */
  datagram: Uint8Array = new Uint8Array(0);
  private readonly limits: FragmentLimits;
  private readonly table = new Map<number, PendingDatagram>();
  private oldest: PendingDatagram | null = null;
  private newest: PendingDatagram | null = null;
  private count = 0;
  private bufferBytes = 0;

  constructor(private readonly anomalies: AnomalyCounter, limits?: Partial<FragmentLimits>) {
    this.limits = { ...DEFAULT_FRAGMENT_LIMITS, ...limits };
  }

  /**
   * Hash of the datagram (addresses, id, protocol) the last fragment added belongs to: what tells,
   * for a packet just reassembled, which held fragments were its (packet extraction asks it).
   */
  lastKey = 0;

  /** Datagrams currently waiting for fragments. */
  get pending(): number {
    return this.count;
  }

  /** Bytes currently held. */
  get heldBytes(): number {
    return this.bufferBytes;
  }

  /**
   * Adds one fragment. Addresses are read from `buf` at `srcOff`/`dstOff` (4 bytes for IPv4, 16 for
   * IPv6); `offset` is the fragment offset in bytes; the payload is buf[payOff, payOff + payLen).
   */
  add(version: number, buf: Uint8Array, srcOff: number, dstOff: number, id: number, protocol: number, ttl: number,
      offset: number, more: boolean, payOff: number, payLen: number, ts: number): number {
    const addrLen = version === 4 ? 4 : 16;
    const hash = this.hashKey(version, buf, srcOff, dstOff, addrLen, id, protocol);
    this.lastKey = hash;
    let d = this.find(hash, version, buf, srcOff, dstOff, addrLen, id, protocol);
    const end = offset + payLen;
    const maxPayload = version === 4 ? this.limits.maxDatagramBytes - 20 : this.limits.maxDatagramBytes;
    if (end > maxPayload || (d !== null && d.fragments >= this.limits.maxFragmentsPerDatagram)) {
      if (d !== null) this.remove(d);
      this.anomalies.add('ip.fragment_limit');
      return FragmentResult.DROPPED;
    }
    if (d === null) {
      d = this.create(hash, version, buf, srcOff, dstOff, addrLen, id, protocol, ts);
    }
    d.fragments++;
    if (offset === 0) {
      // The first fragment's header is the one that counts (the IPv6 next header lives there).
      d.protocol = protocol;
      d.ttl = ttl;
    }
    let stop = end;
    if (!more) {
      if (d.totalLength >= 0 && d.totalLength !== end) {
        this.anomalies.add('ip.fragment_overlap'); // two different "last" fragments: first wins
        stop = Math.min(end, d.totalLength);
      } else {
        d.totalLength = end;
      }
    } else if (d.totalLength >= 0 && end > d.totalLength) {
      this.anomalies.add('ip.fragment_overlap');
      stop = d.totalLength;
    }
    if (stop > offset) {
      if (!this.ensureCapacity(d, HEADER_ROOM + stop)) {
        this.remove(d);
        this.anomalies.add('ip.fragment_limit');
        return FragmentResult.DROPPED;
      }
      if (this.copyNew(d, buf, payOff, offset, stop)) this.anomalies.add('ip.fragment_overlap');
      this.addRange(d, offset, stop);
    }
    if (d.totalLength >= 0 && d.rangeCount === 1 && d.ranges[0] === 0 && d.ranges[1] === d.totalLength) {
      this.complete(d);
      return FragmentResult.COMPLETE;
    }
    return FragmentResult.HELD;
  }

  /** Some datagram is waiting for fragments (expire() has work to do). */
  get holding(): boolean {
    return this.oldest !== null;
  }

  /** Drops datagrams whose first fragment is older than the timeout. Cheap when nothing is pending. */
  expire(ts: number): void {
    const timeout = this.limits.timeoutSeconds;
    while (this.oldest !== null && this.oldest.firstTs + timeout < ts) {
      this.remove(this.oldest);
      this.anomalies.add('ip.fragment_timeout');
    }
  }

  /** End of capture: whatever is still incomplete never will be. */
  flush(): void {
    while (this.oldest !== null) {
      this.remove(this.oldest);
      this.anomalies.add('ip.fragment_timeout');
    }
  }

  private hashKey(version: number, buf: Uint8Array, srcOff: number, dstOff: number, addrLen: number,
      id: number, protocol: number): number {
    let h = Math.imul(0x811c9dc5 ^ version, 0x01000193);
    for (let i = 0; i < addrLen; i++) h = Math.imul(h ^ buf[srcOff + i], 0x01000193);
    for (let i = 0; i < addrLen; i++) h = Math.imul(h ^ buf[dstOff + i], 0x01000193);
    h = Math.imul(h ^ id, 0x01000193);
    // IPv4 keys include the protocol (RFC 791); IPv6 keys do not (RFC 8200).
    if (version === 4) h = Math.imul(h ^ protocol, 0x01000193);
    return h | 0;
  }

  private find(hash: number, version: number, buf: Uint8Array, srcOff: number, dstOff: number, addrLen: number,
      id: number, protocol: number): PendingDatagram | null {
    let d = this.table.get(hash) ?? null;
    while (d !== null) {
      if (d.version === version && d.id === id && (version !== 4 || d.protocol === protocol) &&
          sameBytes(d.key, 0, buf, srcOff, addrLen) && sameBytes(d.key, 16, buf, dstOff, addrLen)) return d;
      d = d.nextInBucket;
    }
    return null;
  }

  private create(hash: number, version: number, buf: Uint8Array, srcOff: number, dstOff: number, addrLen: number,
      id: number, protocol: number, ts: number): PendingDatagram {
    if (this.count >= this.limits.maxDatagrams && this.oldest !== null) {
      this.remove(this.oldest);
      this.anomalies.add('ip.fragment_limit');
    }
    const d = new PendingDatagram(this.limits.maxFragmentsPerDatagram);
    d.version = version;
    d.id = id;
    d.protocol = protocol;
    d.hash = hash;
    d.firstTs = ts;
    for (let i = 0; i < addrLen; i++) {
      d.key[i] = buf[srcOff + i];
      d.key[16 + i] = buf[dstOff + i];
    }
    d.nextInBucket = this.table.get(hash) ?? null;
    this.table.set(hash, d);
    d.older = this.newest;
    if (this.newest !== null) this.newest.newer = d;
    this.newest = d;
    if (this.oldest === null) this.oldest = d;
    this.count++;
    this.bufferBytes += d.buffer.length;
    return d;
  }

  private remove(d: PendingDatagram): void {
    let head = this.table.get(d.hash) ?? null;
    if (head === d) {
      if (d.nextInBucket === null) this.table.delete(d.hash);
      else this.table.set(d.hash, d.nextInBucket);
    } else {
      while (head !== null && head.nextInBucket !== d) head = head.nextInBucket;
      if (head !== null) head.nextInBucket = d.nextInBucket;
    }
    if (d.older !== null) d.older.newer = d.newer;
    else this.oldest = d.newer;
    if (d.newer !== null) d.newer.older = d.older;
    else this.newest = d.older;
    d.older = d.newer = d.nextInBucket = null;
    this.count--;
    this.bufferBytes -= d.buffer.length;
  }

  /** Grows the datagram's buffer, evicting the oldest other datagrams if the global cap requires. */
  private ensureCapacity(d: PendingDatagram, need: number): boolean {
    const cap = d.buffer.length;
    if (need <= cap) return true;
    const newCap = Math.min(Math.max(need, cap * 2, INITIAL_CAPACITY), HEADER_ROOM + this.limits.maxDatagramBytes);
    const grow = newCap - cap;
    while (this.bufferBytes + grow > this.limits.maxBufferBytes && this.oldest !== null && this.oldest !== d) {
      this.remove(this.oldest);
      this.anomalies.add('ip.fragment_limit');
    }
    if (this.bufferBytes + grow > this.limits.maxBufferBytes) return false;
    const next = new Uint8Array(newCap);
    next.set(d.buffer);
    d.buffer = next;
    this.bufferBytes += grow;
    return true;
  }

  /** Copies the parts of [start, stop) not yet received; returns true when some part already was. */
  private copyNew(d: PendingDatagram, buf: Uint8Array, payOff: number, start: number, stop: number): boolean {
    const r = d.ranges;
    let cur = start;
    let overlap = false;
    for (let i = 0; i < d.rangeCount && cur < stop; i++) {
      const a = r[2 * i];
      const b = r[2 * i + 1];
      if (b <= cur) continue;
      if (a >= stop) break;
      overlap = true;
      if (a > cur) copyBytes(d.buffer, HEADER_ROOM + cur, buf, payOff + (cur - start), a - cur);
      cur = b;
    }
    if (cur < stop) copyBytes(d.buffer, HEADER_ROOM + cur, buf, payOff + (cur - start), stop - cur);
    return overlap;
  }

  /** Inserts [start, stop) and merges overlapping or touching ranges, keeping the list sorted. */
  private addRange(d: PendingDatagram, start: number, stop: number): void {
    const r = d.ranges;
    let n = d.rangeCount;
    let i = 0;
    while (i < n && r[2 * i + 1] < start) i++;
    // Ranges i..j-1 touch or overlap the new one and collapse into it.
    let j = i;
    let s = start;
    let e = stop;
    while (j < n && r[2 * j] <= stop) {
      if (r[2 * j] < s) s = r[2 * j];
      if (r[2 * j + 1] > e) e = r[2 * j + 1];
      j++;
    }
    const removed = j - i;
    if (removed === 0) {
      r.copyWithin(2 * i + 2, 2 * i, 2 * n);
      n++;
    } else if (removed > 1) {
      r.copyWithin(2 * i + 2, 2 * j, 2 * n);
      n -= removed - 1;
    }
    r[2 * i] = s;
    r[2 * i + 1] = e;
    d.rangeCount = n;
  }

  private complete(d: PendingDatagram): void {
    this.remove(d);
    const total = d.totalLength;
    const b = d.buffer;
    if (d.version === 4) {
      const o = HEADER_ROOM - 20;
      b.fill(0, o, HEADER_ROOM);
      b[o] = 0x45;
      const len = 20 + total;
      b[o + 2] = len >> 8;
      b[o + 3] = len & 0xff;
      b[o + 4] = d.id >> 8;
      b[o + 5] = d.id & 0xff;
      b[o + 8] = d.ttl;
      b[o + 9] = d.protocol;
      for (let i = 0; i < 4; i++) {
        b[o + 12 + i] = d.key[i];
        b[o + 16 + i] = d.key[16 + i];
      }
      let sum = 0;
      for (let i = 0; i < 20; i += 2) sum += (b[o + i] << 8) | b[o + i + 1];
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      const ck = ~sum & 0xffff;
      b[o + 10] = ck >> 8;
      b[o + 11] = ck & 0xff;
      this.datagram = b.subarray(o, HEADER_ROOM + total);
    } else {
      const o = HEADER_ROOM - 40;
      b.fill(0, o, HEADER_ROOM);
      b[o] = 0x60;
      b[o + 4] = total >> 8;
      b[o + 5] = total & 0xff;
      b[o + 6] = d.protocol;
      b[o + 7] = d.ttl;
      for (let i = 0; i < 16; i++) {
        b[o + 8 + i] = d.key[i];
        b[o + 24 + i] = d.key[16 + i];
      }
      this.datagram = b.subarray(o, HEADER_ROOM + total);
    }
  }
}

function sameBytes(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i];
}
