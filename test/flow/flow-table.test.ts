import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../../src/anomalies';
import { parseIp } from '../../src/decode/address';
import { DecodedPacket } from '../../src/decode/packet';
import type { Flow } from '../../src/flow/flow';
import { ATTEMPT_TIMEOUT, CLOSED_LINGER, FINAL_ACK_WAIT, FlowTable, MAX_ATTEMPT_SHARE, ipv6Key, LRU_SLACK_PACKETS, LRU_SLACK_SECONDS, type FlowExpiry } from '../../src/flow/flow-table';
import { tcpConnState, udpConnState } from '../../src/flow/tcp-state';
import { stampOf } from '../../src/flow/packet-stamp';

const F = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 };

interface P {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags?: number;
  proto?: number;
  len?: number;
  ts?: number;
}

const pkt = new DecodedPacket();
/** Fills the one reused DecodedPacket the way the decoder would. */
function fill(p: P): DecodedPacket {
  pkt.reset();
  const s = parseIp(p.src)!;
  const d = parseIp(p.dst)!;
  pkt.ipVersion = s.length === 4 ? 4 : 6;
  pkt.src.fill(0).set(s);
  pkt.dst.fill(0).set(d);
  pkt.protocol = p.proto ?? 6;
  pkt.srcPort = p.sport;
  pkt.dstPort = p.dport;
  pkt.tcpFlags = p.flags ?? F.ACK;
  pkt.payloadLength = p.len ?? 0;
  pkt.ipLength = (p.len ?? 0) + 40;
  return pkt;
}

class Expired implements FlowExpiry {
  list: [Flow, string][] = [];
  expire(flow: Flow, reason: 'idle' | 'evicted'): void {
    this.list.push([flow, reason]);
  }
}

function table(maxFlows = 1000, idleTimeout = 300) {
  const ex = new Expired();
  const anomalies = new AnomalyCounter();
  return { t: new FlowTable({ idleTimeout, maxFlows }, ex, anomalies), ex, anomalies };
}

const C = { src: '10.0.0.10', dst: '10.0.1.21', sport: 51234, dport: 10250 };
const S = { src: '10.0.1.21', dst: '10.0.0.10', sport: 10250, dport: 51234 };

function feed(t: FlowTable, seq: [P, number?][]): Flow {
  let f: Flow | null = null;
  let ts = 100;
  for (const [p] of seq) f = t.process(fill(p), stampOf(p.ts ?? ts++, 1));
  return f!;
}

function summary(f: Flow): { history: string; state: string } {
  return { history: f.history, state: tcpConnState(f.state0, f.state1, f.history, f.payload0, f.payload1) };
}

describe('FlowTable: client and server', () => {
  it('the SYN sender is the client; both directions meet in one flow', () => {
    const { t } = table();
    const f = t.process(fill({ ...C, flags: F.SYN }), stampOf(1, 1));
    expect(t.isNew).toBe(true);
    expect(t.dir).toBe(0);
    const g = t.process(fill({ ...S, flags: F.SYN | F.ACK }), stampOf(2, 2));
    expect(g).toBe(f);
    expect(t.isNew).toBe(false);
    expect(t.dir).toBe(1);
    expect(f.clientPort).toBe(51234);
    expect(f.serverPort).toBe(10250);
    expect(f.midstream).toBe(false);
  });

  it('SYN-ACK seen first: its receiver is the client', () => {
    const { t } = table();
    const f = t.process(fill({ ...S, flags: F.SYN | F.ACK }), stampOf(1, 1));
    expect(t.dir).toBe(1);
    expect(f.clientPort).toBe(51234);
    expect(f.midstream).toBe(false);
  });

  it('SYN from a high port to a low one: still the SYN decides', () => {
    const { t } = table();
    const f = t.process(fill({ src: '10.0.0.1', dst: '10.0.0.2', sport: 22, dport: 40000, flags: F.SYN }), stampOf(1, 1));
    expect(f.clientPort).toBe(22);
  });

  it('midstream: the well-known port is the server, flagged and counted', () => {
    const { t, anomalies } = table();
    const f = t.process(fill({ ...S, flags: F.ACK | F.PSH, len: 100 }), stampOf(1, 1));
    expect(t.dir).toBe(1);
    expect(f.serverPort).toBe(10250);
    expect(f.midstream).toBe(true);
    expect(anomalies.get('flow.midstream')).toBe(1);
  });

  it('midstream with no known port: the lower port is the server', () => {
    const { t } = table();
    const f = t.process(fill({ src: '10.0.0.1', dst: '10.0.0.2', sport: 45000, dport: 7000, len: 5 }), stampOf(1, 1));
    expect(f.serverPort).toBe(7000);
    expect(t.dir).toBe(0);
  });

  it('UDP: DNS response seen first still has the resolver as server', () => {
    const { t, anomalies } = table();
    const f = t.process(fill({ src: '10.96.0.10', dst: '10.244.1.5', sport: 53, dport: 41000, proto: 17, len: 60 }), stampOf(1, 1));
    expect(f.serverPort).toBe(53);
    expect(f.midstream).toBe(false);
    expect(anomalies.get('flow.midstream')).toBe(0);
    expect(udpConnState(f.packets0, f.packets1)).toBe('SHR');
  });

  it('IPv6 flows are keyed on all 16 bytes', () => {
    const { t } = table();
    const a = t.process(fill({ src: 'fd00::1', dst: 'fd00::2', sport: 40000, dport: 6443, flags: F.SYN }), stampOf(1, 1));
    const b = t.process(fill({ src: 'fd00::1:1', dst: 'fd00::2', sport: 40000, dport: 6443, flags: F.SYN }), stampOf(1, 2));
    const c = t.process(fill({ src: 'fd00::2', dst: 'fd00::1', sport: 6443, dport: 40000, flags: F.SYN | F.ACK }), stampOf(1, 3));
    expect(a).not.toBe(b);
    expect(c).toBe(a);
    expect(t.size).toBe(2);
  });

  it('IPv4 addresses that differ only in their two lowest bits are different flows', () => {
    // The numeric key keeps 30 bits of the address and puts the other two beside the port.
    const { t } = table();
    const flows = ['10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.0.7'].map((src, i) =>
      t.process(fill({ src, dst: '10.0.1.1', sport: 40000, dport: 443, flags: F.SYN }), stampOf(1, i + 1)),
    );
    expect(new Set(flows).size).toBe(4);
    const back = t.process(fill({ src: '10.0.1.1', dst: '10.0.0.6', sport: 443, dport: 40000, flags: F.SYN | F.ACK }), stampOf(1, 5));
    expect(back).toBe(flows[2]);
    expect(t.dir).toBe(1);
  });

  it('IPv6 addresses whose lookup keys collide are still different flows', () => {
    // Search a fixed sequence of addresses for two with the same 30-bit key (a birthday search).
    const seen = new Map<number, string>();
    let pair: [string, string] | null = null;
    for (let i = 0; pair === null && i < 1 << 20; i++) {
      const ip = `fd00::${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}`;
      const b = new Uint8Array(16);
      b.set(parseIp(ip)!);
      const k = ipv6Key(b);
      const other = seen.get(k);
      if (other !== undefined) pair = [other, ip];
      else seen.set(k, ip);
    }
    expect(pair).not.toBeNull();
    const [x, y] = pair!;
    const { t } = table();
    const a = t.process(fill({ src: x, dst: 'fd00::1:0:0:1', sport: 40000, dport: 6443, flags: F.SYN }), stampOf(1, 1));
    const b = t.process(fill({ src: y, dst: 'fd00::1:0:0:1', sport: 40000, dport: 6443, flags: F.SYN }), stampOf(1, 2));
    expect(a).not.toBe(b);
    expect(a.hash).toBe(b.hash);
    const replyToB = t.process(fill({ src: 'fd00::1:0:0:1', dst: y, sport: 6443, dport: 40000, flags: F.SYN | F.ACK }), stampOf(1, 3));
    expect(replyToB).toBe(b);
    expect([a.packets0, a.packets1, b.packets0, b.packets1]).toEqual([1, 0, 1, 1]);
    expect(t.size).toBe(2);
    // Both ends of one flow with colliding keys and the same port: the reply still finds the flow.
    const { t: u } = table();
    const hairpin = u.process(fill({ src: x, dst: y, sport: 40000, dport: 40000, flags: F.SYN }), stampOf(1, 1));
    expect(u.process(fill({ src: y, dst: x, sport: 40000, dport: 40000, flags: F.SYN | F.ACK }), stampOf(1, 2))).toBe(hairpin);
    expect(u.dir).toBe(1);
    expect(u.size).toBe(1);
  });

  it('counts packets, IP bytes and payload per direction, first/last time', () => {
    const { t } = table();
    const f = feed(t, [[{ ...C, flags: F.SYN, ts: 5 }], [{ ...S, flags: F.SYN | F.ACK, ts: 6 }], [{ ...C, len: 100, ts: 7 }]]);
    expect([f.packets0, f.packets1]).toEqual([2, 1]);
    expect([f.bytes0, f.bytes1]).toEqual([180, 40]);
    expect([f.payload0, f.payload1]).toEqual([100, 0]);
    expect([f.firstTs, f.lastTs]).toEqual([5, 7]);
  });
});

describe('FlowTable: Zeek history and conn_state', () => {
  const SYN: P = { ...C, flags: F.SYN };
  const SYNACK: P = { ...S, flags: F.SYN | F.ACK };
  const ACK_C: P = { ...C, flags: F.ACK };
  const DATA_C: P = { ...C, flags: F.ACK | F.PSH, len: 50 };
  const DATA_S: P = { ...S, flags: F.ACK | F.PSH, len: 500 };
  const ACK_S: P = { ...S, flags: F.ACK };
  const FIN_C: P = { ...C, flags: F.FIN | F.ACK };
  const FIN_S: P = { ...S, flags: F.FIN | F.ACK };
  const RST_S: P = { ...S, flags: F.RST | F.ACK };
  const RST_C: P = { ...C, flags: F.RST };

  const rows: [string, P[], string, string][] = [
    ['attempt, no reply', [SYN, SYN], 'S', 'S0'],
    ['rejected', [SYN, RST_S], 'Sr', 'REJ'],
    ['established, open', [SYN, SYNACK, ACK_C, DATA_C, ACK_S], 'ShADa', 'S1'],
    ['normal close', [SYN, SYNACK, ACK_C, DATA_C, DATA_S, FIN_C, FIN_S, ACK_C], 'ShADdFf', 'SF'],
    ['responder reset', [SYN, SYNACK, ACK_C, DATA_C, RST_S], 'ShADr', 'RSTR'],
    ['originator reset', [SYN, SYNACK, ACK_C, RST_C], 'ShAR', 'RSTO'],
    ['originator SYN then RST', [SYN, RST_C], 'SR', 'RSTOS0'],
    ['originator closes, no reply', [SYN, SYNACK, ACK_C, FIN_C], 'ShAF', 'S2'],
    ['responder closes, no reply', [SYN, SYNACK, ACK_C, FIN_S], 'ShAf', 'S3'],
    ['SYN then FIN, no SYN-ACK', [SYN, FIN_C], 'SF', 'SH'],
    ['midstream traffic', [DATA_C, DATA_S], 'Dd', 'OTH'],
  ];
  for (const [name, pkts, history, state] of rows) {
    it(`${name}: ${history} ${state}`, () => {
      const { t } = table();
      const f = feed(t, pkts.map((p) => [p]));
      expect(summary(f)).toEqual({ history, state });
    });
  }
});

describe('FlowTable: ending flows', () => {
  it('idle flows end after idleTimeout of capture time, in batches', () => {
    const { t, ex } = table(1000, 60);
    // Established connections picked up midstream (an unanswered SYN would end sooner, see below).
    t.process(fill({ ...C, flags: F.ACK, len: 1 }), stampOf(1000, 1));
    t.process(fill({ src: '10.0.0.11', dst: '10.0.1.21', sport: 5000, dport: 6443, flags: F.ACK, len: 1 }), stampOf(1030, 2));
    t.process(fill({ src: '10.0.0.12', dst: '10.0.1.21', sport: 5000, dport: 6443, flags: F.ACK, len: 1 }), stampOf(1061, 3));
    expect(ex.list.map(([f, r]) => [f.clientAddr[3], r])).toEqual([[10, 'idle']]);
    expect(t.size).toBe(2);
    t.sweep(1200);
    expect(ex.list.length).toBe(3);
    expect(t.size).toBe(0);
  });

  it('a packet after the idle timeout starts a new flow', () => {
    const { t } = table(1000, 10);
    const a = t.process(fill({ ...C, flags: F.ACK, len: 1 }), stampOf(100, 1));
    const b = t.process(fill({ ...C, flags: F.ACK, len: 1 }), stampOf(200, 2));
    expect(b).not.toBe(a);
    expect(b.n).toBe(2);
  });

  it('closed flows linger for trailing packets; a new SYN on the tuple starts a new flow', () => {
    const { t } = table();
    const f = t.process(fill({ ...C, flags: F.SYN }), stampOf(1, 1));
    t.markClosed(f);
    expect(t.activeFlows).toBe(0);
    expect(t.process(fill({ ...S, flags: F.ACK }), stampOf(2, 2))).toBe(f);
    expect(t.isNew).toBe(false);
    const g = t.process(fill({ ...C, flags: F.SYN }), stampOf(3, 3));
    expect(g).not.toBe(f);
    expect(t.isNew).toBe(true);
    expect(t.size).toBe(1);
    expect(t.process(fill({ ...S, flags: F.SYN | F.ACK }), stampOf(3.1, 4))).toBe(g);
    t.sweep(100);
    expect(t.size).toBe(1); // open flows are not subject to the linger time
  });

  it('closed flows linger at most an eighth of maxFlows: beyond, the earliest closed goes first', () => {
    const { t, ex } = table(80);
    const closed: Flow[] = [];
    for (let i = 0; i < 12; i++) {
      const f = t.process(fill({ ...C, sport: 40000 + i, flags: F.ACK, len: 1 }), stampOf(1, i + 1));
      t.markClosed(f);
      closed.push(f);
    }
    expect(t.size).toBe(10);
    // The two closed first are gone (not reported again: they were when they closed).
    expect(ex.list).toEqual([]);
    expect(t.process(fill({ ...S, dport: 40000, flags: F.ACK }), stampOf(1.5, 13))).not.toBe(closed[0]);
    expect(t.isNew).toBe(true);
    expect(t.process(fill({ ...S, dport: 40011, flags: F.ACK }), stampOf(1.5, 14))).toBe(closed[11]);
    expect(t.isNew).toBe(false);
  });

  it('an unanswered connection attempt ends after ATTEMPT_TIMEOUT (Zeek S0); an answered one, a refused one or a late SYN do not', () => {
    const { t, ex } = table(1000, 300);
    const unanswered = t.process(fill({ ...C, flags: F.SYN }), stampOf(10, 1));
    t.process(fill({ ...C, flags: F.SYN }), stampOf(11, 2)); // the SYN retransmitted: the same attempt
    const answered = t.process(fill({ ...C, sport: 40001, flags: F.SYN }), stampOf(10.5, 3));
    t.process(fill({ ...S, dport: 40001, flags: F.SYN | F.ACK }), stampOf(10.6, 4));
    const midstream = t.process(fill({ ...C, sport: 40002, flags: F.ACK, len: 1 }), stampOf(10.5, 5));
    t.sweep(10 + ATTEMPT_TIMEOUT - 0.1);
    expect(ex.list).toEqual([]);
    t.sweep(10.5 + ATTEMPT_TIMEOUT);
    expect(ex.list).toEqual([[unanswered, 'idle']]);
    expect(summary(unanswered)).toEqual({ history: 'S', state: 'S0' });
    expect(t.size).toBe(2);
    // A SYN retransmitted after that starts a new attempt, as in Zeek.
    const again = t.process(fill({ ...C, flags: F.SYN }), stampOf(17, 6));
    expect(again).not.toBe(unanswered);
    expect(t.isNew).toBe(true);
    t.sweep(100);
    expect(ex.list.map(([f]) => f)).toEqual([unanswered, again]);
    expect([answered, midstream].every((f) => !ex.list.some(([g]) => g === f))).toBe(true);
  });

  it('a SYN flood keeps the table small: each attempt ends ATTEMPT_TIMEOUT after it began', () => {
    const { t, ex } = table(1_000_000, 300);
    const p: P = { src: '100.64.0.0', dst: '10.0.0.10', sport: 1024, dport: 6443, flags: F.SYN };
    let largest = 0;
    for (let i = 0; i < 200_000; i++) {
      const q = fill(p);
      q.src[1] = 64 + (i >> 16);
      q.src[2] = (i >> 8) & 0xff;
      q.src[3] = i & 0xff;
      t.process(q, stampOf(i * 0.0002, i + 1)); // 5,000 SYNs a second for 40 s
      largest = Math.max(largest, t.size);
    }
    expect(largest).toBeLessThanOrEqual(5000 * (ATTEMPT_TIMEOUT + 1) + 1);
    expect(ex.list.length).toBeGreaterThan(150_000);
    expect(ex.list.every(([, r]) => r === 'idle')).toBe(true);
  });

  it('maxFlows evicts the least recently active flow and keeps memory flat (1e5 flows into 1000)', () => {
    const { t, ex, anomalies } = table(1000);
    const keep = t.process(fill({ ...C, flags: F.SYN }), stampOf(1, 1));
    const p: P = { src: '10.1.0.0', dst: '10.2.0.1', sport: 0, dport: 443, flags: F.SYN };
    for (let i = 0; i < 100_000; i++) {
      const q = fill(p);
      q.src[2] = (i >> 8) & 0xff;
      q.src[3] = i & 0xff;
      q.srcPort = 1024 + (i >> 16);
      t.process(q, stampOf(2, i + 2));
      if (i % 500 === 0) t.process(fill({ ...C, flags: F.ACK }), stampOf(2, 0)); // keeps `keep` recent
      if (i % 1000 === 0) expect(t.size).toBeLessThanOrEqual(1000);
    }
    expect(t.size).toBe(1000);
    expect(t.bucketCount).toBeLessThanOrEqual(1024);
    expect(anomalies.get('flow.evicted')).toBe(100_001 - 1000);
    expect(ex.list.every(([, r]) => r === 'evicted')).toBe(true);
    expect(ex.list.some(([f]) => f === keep)).toBe(false);
  });
});

describe('FlowTable: memory', () => {
  it('keeps no flow alive once it has let it go (the attempt and closing queues included)', async () => {
    // A collector reachable from the test: --expose-gc set at run time, gc() taken from a new context.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let expired = 0; // counted, not kept
    const t = new FlowTable({ idleTimeout: 300, maxFlows: 1_000_000 }, { expire: () => void expired++ }, new AnomalyCounter());
    const p: P = { src: '10.1.0.0', dst: '10.2.0.1', sport: 0, dport: 443 };
    const refs: WeakRef<Flow>[] = [];
    const perSecond = 1000;
    const seconds = 30;
    for (let i = 0; i < perSecond * seconds; i++) {
      const ts = i / perSecond;
      const at = (dt: number, n: number) => stampOf(ts + dt, i * 4 + n);
      const q = fill({ ...p, flags: F.SYN });
      q.src[2] = (i >> 8) & 0xff;
      q.src[3] = i & 0xff;
      q.srcPort = 1024 + (i >> 16);
      const flow = t.process(q, at(0, 0));
      // The answer, from the server to the client's address and port.
      q.tcpFlags = F.SYN | F.ACK;
      [q.srcPort, q.dstPort] = [q.dstPort, q.srcPort];
      const src = Uint8Array.from(q.src);
      q.src.set(q.dst);
      q.dst.set(src);
      t.process(q, at(0.001, 1));
      // FINs both ways; half have both acknowledged (closed, then lingering), half never do (the
      // sweep ends them FINAL_ACK_WAIT later), as the engine would mark them.
      t.markClosing(flow, at(0.2, 2));
      if (i % 2 === 0) {
        flow.awaitingFinAcks = false;
        t.markClosed(flow);
      }
      refs.push(new WeakRef(flow));
    }
    const lastSweep = seconds + 1;
    t.sweep(lastSweep);
    // Let the WeakRefs made in this turn lapse, then collect.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    // Flows begun a second more than the longest of the attempt timeout, the linger and the wait for
    // final ACKs before the last sweep are neither in the table nor in its queues, and nothing else
    // here holds them.
    const leftBy = lastSweep - Math.max(ATTEMPT_TIMEOUT, CLOSED_LINGER, FINAL_ACK_WAIT) - 1;
    const gone = refs.slice(0, perSecond * leftBy);
    expect(gone.filter((r) => r.deref() !== undefined).length).toBe(0);
    // The ones begun since are still there.
    const recent = refs.slice(perSecond * (seconds - 1));
    expect(recent.length).toBe(perSecond);
    expect(recent.every((r) => r.deref() !== undefined)).toBe(true);
    expect(expired).toBeGreaterThanOrEqual(gone.length / 2);
  });
});

describe('FlowTable: connection attempts beyond MAX_ATTEMPT_SHARE', () => {
  it('ends the earliest still unanswered at once, counted, and leaves the answered ones alone', () => {
    const { t, ex, anomalies } = table(16_000, 300);
    const max = 16_000 * MAX_ATTEMPT_SHARE;
    // A connection answered at once, then one whose answer comes after the flood's first wave.
    const answered = t.process(fill({ ...C, flags: F.SYN }), stampOf(1, 1));
    t.process(fill({ ...S, flags: F.SYN | F.ACK }), stampOf(1.001, 2));
    const slow = t.process(fill({ ...C, sport: 40001, flags: F.SYN }), stampOf(1.002, 3));
    // A flood within one second: far faster than ATTEMPT_TIMEOUT ends its attempts.
    const flood: Flow[] = [];
    for (let i = 0; i < 10 * max; i++) {
      const q = fill({ src: '100.64.0.0', dst: '10.0.0.10', sport: 1024, dport: 6443, flags: F.SYN });
      q.src[1] = 64 + (i >> 16);
      q.src[2] = (i >> 8) & 0xff;
      q.src[3] = i & 0xff;
      flood.push(t.process(q, stampOf(1.01 + i * 1e-5, 10 + i)));
      if (i === max - 3) {
        // Answered while it is still followed: left alone from then on.
        expect(t.process(fill({ ...S, dport: 40001, flags: F.SYN | F.ACK }), stampOf(1.05, 5000))).toBe(slow);
      }
      expect(t.size).toBeLessThanOrEqual(max + 2);
    }
    const ended = ex.list.map(([f]) => f);
    expect(ended).toEqual(flood.slice(0, 10 * max - max));
    expect(ex.list.every(([, r]) => r === 'idle')).toBe(true);
    expect(ended.every((f) => summary(f).state === 'S0' && f.anomalies?.get('flow.attempt_cut_short') === 1)).toBe(true);
    expect(anomalies.get('flow.attempt_cut_short')).toBe(ended.length);
    expect(ended.includes(answered) || ended.includes(slow)).toBe(false);
    // The flood's latest attempts are still followed, and a SYN-ACK to one of them finds it.
    const last = flood[flood.length - 1]!;
    const q = fill({ src: '10.0.0.10', dst: '100.64.0.0', sport: 6443, dport: 1024, flags: F.SYN | F.ACK });
    const lastIndex = 10 * max - 1;
    q.dst[1] = 64 + (lastIndex >> 16);
    q.dst[2] = (lastIndex >> 8) & 0xff;
    q.dst[3] = lastIndex & 0xff;
    expect(t.process(q, stampOf(2, 999_999))).toBe(last);
  });

  it('a flood, refused or unanswered, never fills the table: established connections are not evicted', () => {
    const { t, ex } = table(16_000, 300);
    // Long-lived connections (an API server's watches) that have gone quiet for a while.
    const established: Flow[] = [];
    for (let i = 0; i < 10_000; i++) {
      const c = { src: '10.0.2.1', dst: '10.0.0.10', sport: 20000 + i, dport: 6443 };
      established.push(t.process(fill({ ...c, flags: F.SYN }), stampOf(1, 1)));
      t.process(fill({ src: c.dst, dst: c.src, sport: c.dport, dport: c.sport, flags: F.SYN | F.ACK }), stampOf(1, 2));
      t.process(fill({ ...c, flags: F.ACK }), stampOf(1, 3));
    }
    // 200,000 SYNs from as many addresses in 4 s, every other one refused with a RST.
    for (let i = 0; i < 200_000; i++) {
      const ts = 2 + i * 2e-5;
      const q = fill({ src: '100.64.0.0', dst: '10.0.0.10', sport: 1024, dport: 6443, flags: F.SYN });
      q.src[1] = 64 + (i >> 16);
      q.src[2] = (i >> 8) & 0xff;
      q.src[3] = i & 0xff;
      t.process(q, stampOf(ts, 10 + i));
      if (i % 2 === 0) {
        const r = fill({ src: '10.0.0.10', dst: '100.64.0.0', sport: 6443, dport: 1024, flags: F.RST | F.ACK });
        r.dst[1] = 64 + (i >> 16);
        r.dst[2] = (i >> 8) & 0xff;
        r.dst[3] = i & 0xff;
        const f = t.process(r, stampOf(ts, 10 + i));
        t.markClosed(f); // as the engine does at a RST
      }
    }
    expect(ex.list.some(([, r]) => r === 'evicted')).toBe(false);
    const ended = new Set(ex.list.map(([f]) => f));
    expect(established.some((f) => ended.has(f))).toBe(false);
  });

  it('a small table follows a burst of attempts as large as itself', () => {
    const { t, ex, anomalies } = table(500, 300);
    for (let i = 0; i < 400; i++) t.process(fill({ ...C, sport: 30000 + i, flags: F.SYN }), stampOf(1 + i * 1e-6, i + 1));
    expect(ex.list).toEqual([]);
    expect(anomalies.get('flow.attempt_cut_short')).toBe(0);
    expect(t.size).toBe(400);
  });
});

describe('FlowTable: order of activity', () => {
  const client = (i: number): P => ({ src: `10.3.0.${i}`, dst: '10.0.1.21', sport: 40000, dport: 6443, flags: F.ACK, len: 1 });

  it('a small table evicts exactly the least recently active flow', () => {
    const { t, ex } = table(3);
    const [a, b] = [1, 2, 3].map((i) => t.process(fill(client(i)), stampOf(1, i)));
    t.process(fill(client(1)), stampOf(1, 4)); // a is now the most recent
    t.process(fill(client(4)), stampOf(1, 5));
    expect(ex.list).toEqual([[b, 'evicted']]);
    expect(ex.list.some(([f]) => f === a)).toBe(false);
  });

  it('a flow active again within the slack keeps its place; an idle flow behind it ends at most that much later', () => {
    const { t, ex } = table(100_000, 10);
    const a = t.process(fill(client(1)), stampOf(0, 1));
    const b = t.process(fill(client(2)), stampOf(0, 2));
    t.process(fill(client(1)), stampOf(0.5, 3)); // a stays at the head: moved 1 packet and 0.5 s ago
    t.sweep(10.2); // b has been idle for 10.2 s, but a (active 9.7 s ago) is before it
    expect(ex.list).toEqual([]);
    t.sweep(10 + LRU_SLACK_SECONDS);
    expect(ex.list).toEqual([[a, 'idle'], [b, 'idle']]);
  });

  it('a flow active again after the slack is moved behind the others', () => {
    const { t, ex } = table(100_000, 10);
    const a = t.process(fill(client(1)), stampOf(0, 1));
    const b = t.process(fill(client(2)), stampOf(0, 2));
    expect(t.process(fill(client(1)), stampOf(LRU_SLACK_SECONDS, 3))).toBe(a);
    t.sweep(10.5);
    expect(ex.list).toEqual([[b, 'idle']]);
    // ... and so is one with more than the packet slack of other packets since its move.
    const { t: u, ex: uex } = table(100_000, 10);
    const c = u.process(fill(client(1)), stampOf(0, 1));
    const d = u.process(fill(client(2)), stampOf(0, 2));
    for (let i = 0; i < LRU_SLACK_PACKETS; i++) u.process(fill(client(2)), stampOf(0, 3 + i));
    u.process(fill(client(1)), stampOf(0.1, 9999));
    u.process(fill(client(3)), stampOf(0.2, 10000));
    u.sweep(10.05);
    expect(uex.list).toEqual([[d, 'idle']]);
    expect(uex.list.some(([f]) => f === c)).toBe(false);
  });
});

describe('FlowTable: UDP roles', () => {
  it('two unprivileged, unknown ports: the first sender is the client', () => {
    const { t } = table();
    const f = t.process(fill({ src: '127.0.0.1', dst: '127.0.0.1', sport: 46556, dport: 47124, proto: 17, len: 2 }), stampOf(1, 1));
    expect(f.clientPort).toBe(46556);
    expect(udpConnState(f.packets0, f.packets1)).toBe('S0');
  });
});

describe('FlowTable: tuple reuse', () => {
  it('a new SYN on an established tuple ends the old flow and starts a new one', () => {
    const { t, ex } = table();
    const a = feed(t, [[{ ...C, flags: F.SYN }], [{ ...S, flags: F.SYN | F.ACK }], [{ ...C, flags: F.ACK, len: 10 }]]);
    const again = t.process(fill({ ...C, flags: F.SYN }), stampOf(200, 9));
    expect(t.isNew).toBe(true);
    expect(again).not.toBe(a);
    expect(ex.list).toEqual([[a, 'idle']]);
    // A retransmitted SYN does not.
    t.process(fill({ ...C, flags: F.SYN }), stampOf(201, 10));
    expect(t.isNew).toBe(false);
  });
});
