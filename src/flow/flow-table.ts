import type { AnomalyCounter } from '../anomalies';
import { TcpFlag, type DecodedPacket } from '../decode/packet';
import type { Direction } from './direction';
import { Flow } from './flow';
import { OuterTunnel } from './outer-tunnel';
import type { PacketStamp } from './packet-stamp';
import { srcLooksLikeServer } from './server-ports';
import { EndpointState, HistoryLetter } from './tcp-state';
import { seqAdd, seqDiff } from './seq';

/** Seconds (capture time) between idle sweeps: expiry is checked in batches, not per packet. */
export const SWEEP_INTERVAL = 1;
/** Seconds a closed flow lingers so its trailing ACKs/RSTs do not start a new flow (Zeek: 5 s). */
export const CLOSED_LINGER = 5;
/**
 * Seconds a connection whose FINs were both seen waits for their ACKs, which belong to it (Zeek and
 * Wireshark count them), before it ends without (they were not captured).
 */
export const FINAL_ACK_WAIT = 5;
/**
 * Closed flows lingering at most, as a share of the table's flows: a flood of refused connections
 * closes tens of thousands a second, and each would otherwise hold its place for CLOSED_LINGER.
 * Beyond it the earliest closed goes first (a trailing packet of it then starts a new flow).
 */
export const MAX_CLOSED_SHARE = 1 / 8;
/**
 * Seconds an unanswered connection attempt (SYNs, nothing back) is kept before it ends as idle, as
 * Zeek's tcp_attempt_delay: a scan or a SYN flood would otherwise hold its flows for the idle
 * timeout. A SYN retransmitted later starts a new flow, as it does in Zeek.
 */
export const ATTEMPT_TIMEOUT = 5;
/**
 * Connections begun by a SYN in the last ATTEMPT_TIMEOUT followed at most, as a share of the table's
 * flows. Beyond it (a flood: tens of thousands of SYNs a second), the earliest still unanswered ends
 * at once as Suricata's emergency mode shortens its timeouts: the flood's attempts then hold little
 * memory and never fill the table (which would evict established connections), and the connections
 * answered meanwhile are untouched.
 */
export const MAX_ATTEMPT_SHARE = 1 / 8;
/**
 * Attempts followed at least, whatever the share gives (up to the table's size): a small table
 * (`--max-flows 500`) must not cut short a burst of connections opened together.
 */
export const MIN_ATTEMPTS_FOLLOWED = 1024;
/**
 * A packet of a flow moved to the tail of the activity list less than LRU_SLACK_PACKETS packets and
 * LRU_SLACK_SECONDS ago leaves it where it is: moving it costs a write to each of its neighbours, which
 * are seldom in cache, and it is near the tail anyway. The list is then in order of activity to within
 * that many packets and that much time: an idle flow ends at most that much later, and eviction takes a
 * flow at most that much more recent than the least recent. The packet slack is also at most 1/16 of the
 * table, so small tables stay exact.
 */
export const LRU_SLACK_PACKETS = 8192;
export const LRU_SLACK_SECONDS = 1;

/** Largest hash bucket array (entries); the table stops growing there and chains get longer. */
export const MAX_BUCKETS = 1 << 22;
const INITIAL_BUCKETS = 1024;

const PROTO_TCP = 6;

/** Told when the table ends a flow on its own (idle timeout, eviction) or at the end of input. */
export interface FlowExpiry {
  expire(flow: Flow, reason: 'idle' | 'evicted'): void;
}

export interface FlowTableOptions {
  /** Seconds of capture time without packets after which a flow ends. */
  idleTimeout: number;
  /** Open plus lingering flows kept at most; the least recently active is evicted beyond. */
  maxFlows: number;
}

/**
 * Hash of one endpoint from its lookup key (see FlowTable.hashOf); two of them are added, so the sum
 * is symmetric in the endpoints.
 */
function endpointHash(key: number, portKey: number): number {
  const h = Math.imul(portKey + 1, 0x9e3779b1);
  return Math.imul((h << 13) | (h >>> 19), 0x85ebca6b) ^ Math.imul(key, 0xcc9e2d51);
}

function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A connection attempt nothing answered yet: SYNs from the client, nothing from the server. */
function unanswered(f: Flow): boolean {
  return f.state1 === EndpointState.INACTIVE && (f.state0 === EndpointState.SYN_SENT || f.state0 === EndpointState.SYN_ACK_SENT);
}

/** Largest value of a lookup key or hash: 30 bits, so V8 keeps it as a small integer in place. */
const KEY_MASK = 0x3fffffff;

/** 30-bit digest of a 16-byte IPv6 address (a lookup key; matches are confirmed on the bytes). */
export function ipv6Key(a: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 16; i += 4) {
    const w = (a[i]! << 24) | (a[i + 1]! << 16) | (a[i + 2]! << 8) | a[i + 3]!;
    h = Math.imul(h ^ w, 0x85ebca6b);
    h = (h << 13) | (h >>> 19);
  }
  return fmix32(h) & KEY_MASK;
}

/** `a[at..at+16)` equals the 16-byte address `b`. */
function sameBytesAt(a: Uint8Array, at: number, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[at + i] !== b[i]) return false;
  return true;
}

/**
 * Bidirectional flows keyed by the inner 5-tuple (addresses, ports, protocol).
 *
 * VLAN and tunnel ids are not part of the key: mirrored traffic often shows one connection under
 * several tags or encapsulations, Kubernetes pod and node addresses are unique within a cluster,
 * and Community ID (which users pivot on) leaves them out too. Both are kept on the flow as seen
 * first. Lookup is a numeric symmetric hash into chained buckets. Each endpoint also has a numeric
 * key kept on the flow, so the common comparison reads small integers of the flow object itself rather
 * than its address arrays, which sit elsewhere in memory: an IPv4 endpoint's key pair is exact, an
 * IPv6 endpoint's key is a digest of its address and a match is confirmed byte by byte.
 */
export class FlowTable {
  /** Direction of the last packet given to process(). */
  dir: Direction = 0;
  /** The last process() created the flow. */
  isNew = false;

  private buckets: (Flow | null)[] = new Array<Flow | null>(INITIAL_BUCKETS).fill(null);
  private mask = INITIAL_BUCKETS - 1;
  private count = 0;
  private openCount = 0;
  // Open flows, least recently active first; closed flows in the order they closed.
  private lruHead: Flow | null = null;
  private lruTail: Flow | null = null;
  private closedHead: Flow | null = null;
  private closedTail: Flow | null = null;
  private closedCount = 0;
  private readonly maxClosed: number;
  /**
   * Flows begun by a SYN, in the order they began, until ATTEMPT_TIMEOUT tells whether they were
   * answered. A flow removed meanwhile leaves a null (its `attemptSlot` finds it), and so does one
   * taken off the front, so the queue never keeps a flow alive that the table has let go;
   * `attemptBase` is the position of `attempts[0]` counted from the first flow ever queued.
   */
  private attempts: (Flow | null)[] = [];
  private attemptBase = 0;
  private attemptHead = 0;
  private readonly maxAttempts: number;
  /**
   * Flows waiting for the ACKs of their FINs (markClosing), in the order they began to wait, from
   * `closingHead` on (entries before it are null); an entry whose flow ended meanwhile is passed over.
   */
  private closing: (Flow | null)[] = [];
  private closingHead = 0;
  private nextSweepTs = -Infinity;
  private flowCounter = 0;
  /** Packets given to process(); stamps a flow's move to the tail of the activity list. */
  private packetCount = 0;
  private readonly lruSlackPackets: number;
  // Lookup keys of the packet being processed (set by hashOf): source and destination endpoint.
  private srcKey = 0;
  private srcPortKey = 0;
  private dstKey = 0;
  private dstPortKey = 0;

  constructor(
    private readonly opts: FlowTableOptions,
    private readonly expiry: FlowExpiry,
    private readonly anomalies: AnomalyCounter,
  ) {
    this.lruSlackPackets = Math.min(LRU_SLACK_PACKETS, Math.floor(opts.maxFlows / 16));
    this.maxClosed = Math.max(1, Math.floor(opts.maxFlows * MAX_CLOSED_SHARE));
    this.maxAttempts = Math.max(1, Math.floor(opts.maxFlows * MAX_ATTEMPT_SHARE), Math.min(opts.maxFlows, MIN_ATTEMPTS_FOLLOWED));
  }

  /** Flows held (open and lingering closed). */
  get size(): number {
    return this.count;
  }

  get activeFlows(): number {
    return this.openCount;
  }

  /** Hash bucket count (grows with the table, bounded by MAX_BUCKETS). */
  get bucketCount(): number {
    return this.buckets.length;
  }

  /**
   * Finds or creates the flow of a TCP/UDP packet and accounts the packet to it (counters, TCP
   * state, history). Sets `dir` and `isNew`. A closed flow is returned as is (not accounted);
   * a SYN on the tuple of a closed flow starts a new one. `at`: the packet's time and frame number.
   */
  process(pkt: DecodedPacket, at: PacketStamp): Flow {
    // `at.ts` is read where it is used rather than kept in a local: a number passed to a call is
    // boxed, and a local passed in two branches would be boxed for every packet ahead of both.
    if (at.ts >= this.nextSweepTs) {
      this.sweep(at.ts);
      this.nextSweepTs = at.ts + SWEEP_INTERVAL;
    }
    this.packetCount++;
    const h = this.hashOf(pkt);
    let flow = this.find(h, pkt);
    const tcp = pkt.protocol === PROTO_TCP;
    if (flow !== null && flow.closed) {
      if (tcp && (pkt.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) {
        this.remove(flow);
        flow = null;
      } else {
        this.isNew = false;
        return flow;
      }
    }
    if (flow !== null && tcp && (pkt.tcpFlags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN) {
      // A fresh SYN from a side that was past its handshake: the tuple was reused for a new
      // connection whose predecessor's end we did not see. End the old one (as idle) first.
      const st = this.dir === 0 ? flow.state0 : flow.state1;
      if (st !== EndpointState.INACTIVE && st !== EndpointState.SYN_SENT) {
        this.expiry.expire(flow, 'idle');
        this.remove(flow);
        flow = null;
      }
    }
    if (flow === null) {
      flow = this.create(h, pkt, at);
      this.isNew = true;
    } else {
      this.isNew = false;
      this.touch(flow, at);
    }
    this.account(flow, this.dir, pkt, at);
    return flow;
  }

  /**
   * Marks a flow reported (FINs both ways acknowledged, or RST): it lingers for trailing packets,
   * then goes.
   */
  markClosed(flow: Flow): void {
    if (flow.closed) return;
    flow.closed = true;
    this.unlink(flow);
    this.openCount--;
    flow.listPrev = this.closedTail;
    flow.listNext = null;
    if (this.closedTail !== null) this.closedTail.listNext = flow;
    else this.closedHead = flow;
    this.closedTail = flow;
    if (++this.closedCount > this.maxClosed) this.remove(this.closedHead!);
  }

  /**
   * Both FINs seen, not both acknowledged: the flow stays open for the ACKs, which belong to it (its
   * owner ends it with the last), and is ended by the sweep FINAL_ACK_WAIT after this if they never
   * come.
   */
  markClosing(flow: Flow, at: PacketStamp): void {
    flow.awaitingFinAcks = true;
    flow.closingSince = at.ts;
    this.closing.push(flow);
  }

  /** Open flows, least recently active first (a copy: callers may end them while iterating). */
  openFlows(): Flow[] {
    const out: Flow[] = [];
    for (let f = this.lruHead; f !== null; f = f.listNext) out.push(f);
    return out;
  }

  /** Removes a flow (open or closed) from the table. */
  remove(flow: Flow): void {
    const idx = flow.hash & this.mask;
    let prev: Flow | null = null;
    for (let f: Flow | null = this.buckets[idx]!; f !== null; f = f.bucketNext) {
      if (f === flow) {
        if (prev === null) this.buckets[idx] = f.bucketNext;
        else prev.bucketNext = f.bucketNext;
        break;
      }
      prev = f;
    }
    flow.bucketNext = null;
    this.unlink(flow);
    if (!flow.closed) this.openCount--;
    else this.closedCount--;
    this.count--;
    if (flow.attemptSlot >= 0) {
      this.attempts[flow.attemptSlot - this.attemptBase] = null;
      flow.attemptSlot = -1;
    }
  }

  /**
   * A packet this table does not account (another shard's) was captured at `at`: the idle sweep runs
   * when it would have for it.
   */
  tick(at: PacketStamp): void {
    if (at.ts >= this.nextSweepTs) {
      this.sweep(at.ts);
      this.nextSweepTs = at.ts + SWEEP_INTERVAL;
    }
  }

  /**
   * Ends flows idle for `idleTimeout` and connection attempts unanswered for ATTEMPT_TIMEOUT, and
   * drops closed flows past their linger time.
   */
  sweep(now: number): void {
    this.endUnansweredAttempts(now - ATTEMPT_TIMEOUT);
    this.endClosingUnacknowledged(now - FINAL_ACK_WAIT);
    const idleBefore = now - this.opts.idleTimeout;
    while (this.lruHead !== null && this.lruHead.lastTs <= idleBefore) {
      const f = this.lruHead;
      this.expiry.expire(f, 'idle');
      this.remove(f);
    }
    const lingerBefore = now - CLOSED_LINGER;
    while (this.closedHead !== null && this.closedHead.lastTs <= lingerBefore) this.remove(this.closedHead);
  }

  /** Ends the flows that began waiting for the ACKs of their FINs by `before` and still wait. */
  private endClosingUnacknowledged(before: number): void {
    const q = this.closing;
    let i = this.closingHead;
    for (; i < q.length; i++) {
      const f = q[i]!;
      if (f.awaitingFinAcks && f.closingSince > before) break;
      // Passed entries are cleared: the consumed front is dropped only now and then, and would
      // otherwise keep the flows it names alive after the table has let them go.
      q[i] = null;
      if (!f.awaitingFinAcks) continue; // ended meanwhile (the ACKs came, or it was evicted)
      this.expiry.expire(f, 'idle');
      this.remove(f);
    }
    if (i >= 1024 && i * 2 >= q.length) {
      this.closing = q.slice(i);
      i = 0;
    }
    this.closingHead = i;
  }

  /** Ends the attempts begun by `before` that nothing answered (Zeek's state S0). */
  private endUnansweredAttempts(before: number): void {
    const q = this.attempts;
    const end = this.attemptBase + q.length;
    while (this.attemptHead < end) {
      const f = q[this.attemptHead - this.attemptBase] ?? null;
      if (f !== null) {
        if (f.firstTs > before) break;
        q[this.attemptHead - this.attemptBase] = null;
        this.settleAttempt(f);
      }
      this.attemptHead++;
    }
    this.compactAttempts();
  }

  /**
   * As many connections were begun in the last ATTEMPT_TIMEOUT as maxAttempts: the earliest leaves
   * the queue, ended if still unanswered (`flow.attempt_cut_short`), unless passing over those the
   * table removed meanwhile (evicted, or closed and gone) made room.
   */
  private cutOldestAttempt(): void {
    const q = this.attempts;
    const end = this.attemptBase + q.length;
    while (this.attemptHead < end) {
      const f = q[this.attemptHead - this.attemptBase] ?? null;
      if (f === null) {
        this.attemptHead++;
        continue;
      }
      if (end - this.attemptHead < this.maxAttempts) break;
      q[this.attemptHead - this.attemptBase] = null;
      this.attemptHead++;
      if (unanswered(f)) f.add('flow.attempt_cut_short');
      this.settleAttempt(f);
      break;
    }
    this.compactAttempts();
  }

  /** Takes a flow off the attempts queue, ending it if nothing answered it. */
  private settleAttempt(f: Flow): void {
    f.attemptSlot = -1;
    if (unanswered(f)) {
      this.expiry.expire(f, 'idle');
      this.remove(f);
    }
  }

  private compactAttempts(): void {
    const q = this.attempts;
    // Drop the consumed front once it is most of the array (each entry is moved at most once more).
    const consumed = this.attemptHead - this.attemptBase;
    if (consumed >= 1024 && consumed * 2 >= q.length) {
      this.attempts = q.slice(consumed);
      this.attemptBase = this.attemptHead;
    }
  }

  /** Sets the packet's endpoint keys and returns the flow hash (symmetric in the endpoints). */
  private hashOf(pkt: DecodedPacket): number {
    if (pkt.ipVersion === 4) {
      const s = pkt.src;
      const d = pkt.dst;
      const sw = (s[0]! << 24) | (s[1]! << 16) | (s[2]! << 8) | s[3]!;
      const dw = (d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!;
      // 30 high bits of the address; its 2 low bits go above the 16-bit port.
      this.srcKey = sw >>> 2;
      this.srcPortKey = pkt.srcPort | ((sw & 3) << 16);
      this.dstKey = dw >>> 2;
      this.dstPortKey = pkt.dstPort | ((dw & 3) << 16);
    } else {
      this.srcKey = ipv6Key(pkt.src);
      this.srcPortKey = pkt.srcPort;
      this.dstKey = ipv6Key(pkt.dst);
      this.dstPortKey = pkt.dstPort;
    }
    const sum = (endpointHash(this.srcKey, this.srcPortKey) + endpointHash(this.dstKey, this.dstPortKey)) | 0;
    return fmix32(sum ^ Math.imul(pkt.protocol | (pkt.ipVersion << 8), 0x01000193)) & KEY_MASK;
  }

  private find(h: number, pkt: DecodedPacket): Flow | null {
    const sk = this.srcKey;
    const sp = this.srcPortKey;
    const dk = this.dstKey;
    const dp = this.dstPortKey;
    for (let f: Flow | null = this.buckets[h & this.mask]!; f !== null; f = f.bucketNext) {
      if (f.hash !== h || f.protocol !== pkt.protocol || f.ipVersion !== pkt.ipVersion) continue;
      const a6 = f.addr6;
      if (
        f.clientKey === sk && f.clientPortKey === sp && f.serverKey === dk && f.serverPortKey === dp &&
        (a6 === null || (sameBytesAt(a6, 0, pkt.src) && sameBytesAt(a6, 16, pkt.dst)))
      ) {
        this.dir = 0;
        return f;
      }
      if (
        f.clientKey === dk && f.clientPortKey === dp && f.serverKey === sk && f.serverPortKey === sp &&
        (a6 === null || (sameBytesAt(a6, 0, pkt.dst) && sameBytesAt(a6, 16, pkt.src)))
      ) {
        this.dir = 1;
        return f;
      }
    }
    return null;
  }

  private create(h: number, pkt: DecodedPacket, at: PacketStamp): Flow {
    const ts = at.ts;
    while (this.count >= this.opts.maxFlows && this.count > 0) this.makeRoom();
    const flow = new Flow(this.anomalies);
    flow.n = ++this.flowCounter;
    flow.hash = h;
    flow.ipVersion = pkt.ipVersion === 6 ? 6 : 4;
    flow.protocol = pkt.protocol;
    // Client: the SYN's sender; the receiver of a SYN-ACK; else decided by ports (see srcLooksLikeServer).
    let srcIsClient: boolean;
    if (pkt.protocol === PROTO_TCP && (pkt.tcpFlags & TcpFlag.SYN) !== 0) {
      srcIsClient = (pkt.tcpFlags & TcpFlag.ACK) === 0;
      if (srcIsClient) {
        if (this.attemptBase + this.attempts.length - this.attemptHead >= this.maxAttempts) this.cutOldestAttempt();
        flow.attemptSlot = this.attemptBase + this.attempts.length;
        this.attempts.push(flow);
      }
    } else {
      srcIsClient = !srcLooksLikeServer(pkt.srcPort, pkt.dstPort, pkt.protocol === PROTO_TCP);
      if (pkt.protocol === PROTO_TCP) {
        flow.midstream = true;
        flow.add('flow.midstream');
      }
    }
    const a6 = flow.ipVersion === 6 ? (flow.addr6 = new Uint8Array(32)) : null;
    if (srcIsClient) {
      if (a6 !== null) {
        a6.set(pkt.src, 0);
        a6.set(pkt.dst, 16);
      }
      flow.clientPort = pkt.srcPort;
      flow.serverPort = pkt.dstPort;
      flow.clientKey = this.srcKey;
      flow.clientPortKey = this.srcPortKey;
      flow.serverKey = this.dstKey;
      flow.serverPortKey = this.dstPortKey;
      this.dir = 0;
    } else {
      if (a6 !== null) {
        a6.set(pkt.dst, 0);
        a6.set(pkt.src, 16);
      }
      flow.clientPort = pkt.dstPort;
      flow.serverPort = pkt.srcPort;
      flow.clientKey = this.dstKey;
      flow.clientPortKey = this.dstPortKey;
      flow.serverKey = this.srcKey;
      flow.serverPortKey = this.srcPortKey;
      this.dir = 1;
    }
    // Picked up midstream: the first packet's sequence and acknowledgement numbers stand in for the
    // initial ones (each view of a connection across a NAT sees that same packet first).
    if (flow.midstream && (pkt.tcpFlags & TcpFlag.ACK) !== 0) {
      const seq = pkt.seq >>> 0;
      const ack = pkt.ack >>> 0;
      flow.clientIsn = srcIsClient ? seq : ack;
      flow.serverIsn = srcIsClient ? ack : seq;
    }
    flow.firstTs = ts;
    flow.lastTs = ts;
    flow.firstFrame = at.frame;
    flow.vlan = pkt.vlan;
    if (pkt.tunnelDepth > 0) {
      flow.tunnel = OuterTunnel.of(pkt);
      flow.tunnelDir = this.dir;
      flow.otherTunnelPending = true;
    }
    const idx = h & this.mask;
    flow.bucketNext = this.buckets[idx]!;
    this.buckets[idx] = flow;
    this.count++;
    this.openCount++;
    this.appendLru(flow, ts);
    if (this.count > this.buckets.length && this.buckets.length < MAX_BUCKETS) this.grow();
    return flow;
  }

  /** Frees one slot: a lingering closed flow if any, else the least recently active open flow. */
  private makeRoom(): void {
    if (this.closedHead !== null) {
      this.remove(this.closedHead);
      return;
    }
    const victim = this.lruHead!;
    victim.add('flow.evicted');
    this.expiry.expire(victim, 'evicted');
    this.remove(victim);
  }

  private account(flow: Flow, dir: Direction, pkt: DecodedPacket, at: PacketStamp): void {
    const payload = pkt.payloadLength + pkt.truncatedBytes;
    const ipBytes = pkt.ipLength > 0 ? pkt.ipLength : payload + (pkt.ipVersion === 4 ? 20 : 40) + (pkt.protocol === PROTO_TCP ? 20 : 8);
    if (dir === 0) {
      flow.packets0++;
      flow.bytes0 += ipBytes;
      flow.payload0 += payload;
    } else {
      flow.packets1++;
      flow.bytes1 += ipBytes;
      flow.payload1 += payload;
    }
    if (at.ts > flow.lastTs) flow.lastTs = at.ts;
    flow.lastFrame = at.frame;
    if (pkt.protocol === PROTO_TCP) {
      const flags = pkt.tcpFlags;
      if ((flags & TcpFlag.SYN) !== 0) {
        if (dir === 0 && (flags & TcpFlag.ACK) === 0) flow.clientIsn = pkt.seq >>> 0;
        else if (dir === 1 && (flags & TcpFlag.ACK) !== 0) flow.serverIsn = pkt.seq >>> 0;
      }
      this.updateTcp(flow, dir, flags, payload);
      if ((flags & TcpFlag.FIN) !== 0 || flow.finSeen !== 0) trackFins(flow, dir, flags, pkt.seq | 0, payload, pkt.ack | 0);
    } else if (payload > 0) flow.addHistory(dir, HistoryLetter.DATA);
  }

  /** Zeek-like endpoint state machine and history letters. */
  private updateTcp(flow: Flow, dir: Direction, flags: number, payload: number): void {
    const E = EndpointState;
    const syn = (flags & TcpFlag.SYN) !== 0;
    const ack = (flags & TcpFlag.ACK) !== 0;
    const fin = (flags & TcpFlag.FIN) !== 0;
    const rst = (flags & TcpFlag.RST) !== 0;
    let e = dir === 0 ? flow.state0 : flow.state1;
    let p = dir === 0 ? flow.state1 : flow.state0;

    if (syn) flow.addHistory(dir, ack ? HistoryLetter.SYN_ACK : HistoryLetter.SYN);
    if (fin) flow.addHistory(dir, HistoryLetter.FIN);
    if (rst) flow.addHistory(dir, HistoryLetter.RST);
    if (ack && !syn && !fin && !rst && payload === 0) flow.addHistory(dir, HistoryLetter.ACK);
    if (payload > 0) flow.addHistory(dir, HistoryLetter.DATA);

    if (rst) {
      e = E.RESET;
    } else {
      if (syn) {
        if (ack) {
          if (e === E.INACTIVE || e === E.SYN_SENT) e = E.SYN_ACK_SENT;
          if (p === E.SYN_SENT) p = E.ESTABLISHED;
        } else if (e === E.INACTIVE) {
          e = E.SYN_SENT;
        }
      } else if (e === E.INACTIVE) {
        e = E.PARTIAL;
      } else if (ack && (e === E.SYN_SENT || e === E.SYN_ACK_SENT)) {
        e = E.ESTABLISHED;
      }
      // The originator's ACK of a SYN-ACK establishes the responder as well.
      if (!syn && ack && p === E.SYN_ACK_SENT && e === E.ESTABLISHED) p = E.ESTABLISHED;
      if (fin && e !== E.RESET) e = E.CLOSED;
    }
    if (dir === 0) {
      flow.state0 = e;
      flow.state1 = p;
    } else {
      flow.state1 = e;
      flow.state0 = p;
    }
  }

  private touch(flow: Flow, at: PacketStamp): void {
    if (flow === this.lruTail) return;
    if (this.packetCount - flow.listStamp < this.lruSlackPackets && at.ts - flow.listTs < LRU_SLACK_SECONDS) return;
    this.unlink(flow);
    this.appendLru(flow, at.ts);
  }

  private appendLru(flow: Flow, ts: number): void {
    flow.listStamp = this.packetCount;
    flow.listTs = ts;
    flow.listPrev = this.lruTail;
    flow.listNext = null;
    if (this.lruTail !== null) this.lruTail.listNext = flow;
    else this.lruHead = flow;
    this.lruTail = flow;
  }

  /** Takes a flow out of whichever list (open LRU or closed linger) holds it. */
  private unlink(flow: Flow): void {
    const prev = flow.listPrev;
    const next = flow.listNext;
    if (prev !== null) prev.listNext = next;
    else if (this.lruHead === flow) this.lruHead = next;
    else if (this.closedHead === flow) this.closedHead = next;
    if (next !== null) next.listPrev = prev;
    else if (this.lruTail === flow) this.lruTail = prev;
    else if (this.closedTail === flow) this.closedTail = prev;
    flow.listPrev = null;
    flow.listNext = null;
  }

  private grow(): void {
    const old = this.buckets;
    const size = old.length * 2;
    const next = new Array<Flow | null>(size).fill(null);
    const mask = size - 1;
    for (let i = 0; i < old.length; i++) {
      let f: Flow | null = old[i]!;
      while (f !== null) {
        const after: Flow | null = f.bucketNext;
        const idx = f.hash & mask;
        f.bucketNext = next[idx]!;
        next[idx] = f;
        f = after;
      }
    }
    this.buckets = next;
    this.mask = mask;
  }
}

/** Notes a side's first FIN, and the other side's acknowledgement of it (see Flow.finSeen). */
function trackFins(flow: Flow, dir: Direction, flags: number, seq: number, payload: number, ack: number): void {
  const own = 1 << dir;
  const other = own ^ 3;
  if ((flags & TcpFlag.FIN) !== 0 && (flow.finSeen & own) === 0) {
    flow.finSeen |= own;
    // The FIN takes one sequence number after the segment's data.
    if (dir === 0) flow.finEnd0 = seqAdd(seq, payload + 1);
    else flow.finEnd1 = seqAdd(seq, payload + 1);
  }
  if ((flags & TcpFlag.ACK) !== 0 && (flow.finSeen & other) !== 0 && (flow.finAcked & other) === 0 &&
    seqDiff(ack, dir === 0 ? flow.finEnd1 : flow.finEnd0) >= 0) {
    flow.finAcked |= other;
  }
}
