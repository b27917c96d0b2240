import { describe, expect, it } from 'vitest';
import type { Direction } from '../../src/flow/direction';
import type { AppEvidence, AppSession, FlowMeta, FlowRecord } from '../../src/model/flow-record';
import { Engine, type EngineOptions } from '../../src/pipeline/engine';
import { buildFrame, TCP, tcpConversation, toFrame, type PacketSpec } from './pcap-builder';
import { FINAL_ACK_WAIT } from '../../src/flow/flow-table';

/** Session that records what it is given, as text. */
class RecordingSession implements AppSession {
  log: string[] = [];
  constructor(readonly meta: FlowMeta, private readonly throwOn: string | null = null) {}
  onData(dir: Direction, data: Uint8Array, start: number, end: number): void {
    const text = Buffer.from(data.subarray(start, end)).toString('latin1');
    if (this.throwOn !== null && text.includes(this.throwOn)) throw new Error('boom');
    this.log.push(`d${dir}:${text}`);
  }
  onGap(dir: Direction, bytes: number): void {
    this.log.push(`g${dir}:${bytes}`);
  }
  onEnd(dir: Direction): void {
    this.log.push(`e${dir}`);
  }
  describe(): AppEvidence {
    return { app: 'http', tls: null, http: [], ssh: null };
  }
}

function run(packets: PacketSpec[], opts: Partial<EngineOptions> = {}, throwOn: string | null = null) {
  const records: FlowRecord[] = [];
  const sessions: RecordingSession[] = [];
  const engine = new Engine({
    onFlowEnd: (r) => records.push(r),
    sessionFactory: (meta) => {
      const s = new RecordingSession(meta, throwOn);
      sessions.push(s);
      return s;
    },
    ...opts,
  });
  let ts = 1_700_000_000;
  packets.forEach((p, i) => {
    ts = p.ts ?? ts + 0.01;
    engine.processFrame(toFrame(buildFrame(p), ts, i + 1));
  });
  return { engine, records, sessions };
}

const CONV = tcpConversation('10.0.0.10', 51234, '10.0.1.21', 10250, 'GET /healthz HTTP/1.1\r\n\r\n', 'HTTP/1.1 200 OK\r\n\r\n');

describe('Engine', () => {
  it('reassembles a connection, reports it at its close with Zeek history/state and Community ID', () => {
    const { engine, records, sessions } = run(CONV, { flowIdPrefix: 'c0-', captureIndex: 2 });
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r).toMatchObject({
      id: 'c0-1',
      transport: 'tcp',
      ipVersion: 4,
      client: { ip: '10.0.0.10', port: 51234 },
      server: { ip: '10.0.1.21', port: 10250 },
      history: 'ShADdFf',
      state: 'SF',
      endReason: 'fin',
      midstream: false,
      // The last ACK (frame 8) is the connection's, as Zeek and Wireshark count it.
      packets: [5, 3],
      payloadBytes: [25, 19],
      missingBytes: [0, 0],
      app: 'http',
      captureIndex: 2,
      firstFrame: 1,
      lastFrame: 8,
    });
    expect(r.communityId).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
    expect(sessions[0]!.log).toEqual(['d0:GET /healthz HTTP/1.1\r\n\r\n', 'd1:HTTP/1.1 200 OK\r\n\r\n', 'e0', 'e1']);
    expect(sessions[0]!.meta).toEqual({ client: { ip: '10.0.0.10', port: 51234 }, server: { ip: '10.0.1.21', port: 10250 }, transport: 'tcp' });
    const st = engine.getStats();
    expect(st.packets).toBe(8);
    expect(st.tcpConnections).toBe(1);
    expect(st.activeFlows).toBe(0);
    expect([...st.linkTypes]).toEqual([[1, 8]]);
    expect(st.flows).toBe(1);
  });

  it('a connection closed by FINs ends with the ACK of the last one, and what trails that lands on the closed flow', () => {
    const c = { src: '10.0.0.10', dst: '10.0.1.21', sport: 51234, dport: 10250 };
    const { engine, records } = run([...CONV, { ...CONV[7]!, ts: undefined }, { ...c, flags: TCP.ACK, seq: 1026, ack: 5021 }]);
    expect(records).toHaveLength(1);
    expect(records[0]!.packets).toEqual([5, 3]);
    expect(records[0]!.lastFrame).toBe(8);
    expect(engine.getStats().flows).toBe(1);
  });

  it('ends a connection whose last ACK was not captured as closed by FINs: after a wait, or at the end of the capture', () => {
    const withoutLastAck = CONV.slice(0, 7);
    const atEof = run(withoutLastAck);
    expect(atEof.records).toHaveLength(0); // still waiting for that ACK
    atEof.engine.finish();
    expect(atEof.records.map((r) => [r.endReason, r.state, r.lastFrame])).toEqual([['fin', 'SF', 7]]);

    // Another connection's packets move the capture's clock past FINAL_ACK_WAIT.
    const t0 = 1_700_000_000;
    const other = { src: '10.0.0.11', dst: '10.0.1.21', sport: 40000, dport: 10250 };
    const later = run([
      ...withoutLastAck.map((p, i) => ({ ...p, ts: t0 + i * 0.01 })),
      { ...other, flags: TCP.SYN, seq: 1, ts: t0 + FINAL_ACK_WAIT - 1 },
      { ...other, flags: TCP.SYN, seq: 1, ts: t0 + FINAL_ACK_WAIT + 2 },
    ]);
    expect(later.records.map((r) => [r.client.port, r.endReason, r.packets])).toEqual([[51234, 'fin', [4, 3]]]);
  });

  it('a RST after both FINs ends the connection as reset', () => {
    const s = { src: '10.0.1.21', dst: '10.0.0.10', sport: 10250, dport: 51234 };
    const { records } = run([...CONV.slice(0, 7), { ...s, flags: TCP.RST, seq: 5021 }]);
    expect(records.map((r) => [r.endReason, r.history, r.packets])).toEqual([['rst', 'ShADdFfr', [4, 4]]]);
  });

  it('a simultaneous close ends when both FINs are acknowledged, whichever ACK comes first', () => {
    const c = { src: '10.0.0.10', dst: '10.0.1.21', sport: 51234, dport: 10250 };
    const s = { src: '10.0.1.21', dst: '10.0.0.10', sport: 10250, dport: 51234 };
    const open = CONV.slice(0, 5);
    // Both FINs cross: neither acknowledges the other's.
    const { records } = run([
      ...open,
      { ...c, flags: TCP.FIN | TCP.ACK, seq: 1026, ack: 5020 },
      { ...s, flags: TCP.FIN | TCP.ACK, seq: 5020, ack: 1026 },
      { ...s, flags: TCP.ACK, seq: 5021, ack: 1027 }, // acknowledges the client's FIN
      { ...c, flags: TCP.ACK, seq: 1027, ack: 5021 },
    ]);
    expect(records.map((r) => [r.endReason, r.packets, r.lastFrame])).toEqual([['fin', [5, 4], 9]]);
  });

  it('a session that throws is detached and counted; ingestion goes on', () => {
    const { engine, records } = run(CONV, {}, 'HTTP/1.1 200');
    expect(records).toHaveLength(1);
    expect(records[0]!.anomalies).toEqual({ 'dissector.exception': 1 });
    expect(records[0]!.app).toBe('http'); // evidence found before the failure is kept
    expect(engine.stats.anomalies.get('dissector.exception')).toBe(1);
  });

  it('RST reports the flow at once; a new SYN on the same tuple starts a new flow', () => {
    const c = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 6443 };
    const s = { src: '10.0.0.2', dst: '10.0.0.1', sport: 6443, dport: 40000 };
    const { records, engine } = run([
      { ...c, flags: TCP.SYN, seq: 1 },
      { ...s, flags: TCP.RST | TCP.ACK, seq: 0, ack: 2 },
      { ...s, flags: TCP.RST | TCP.ACK, seq: 0, ack: 2 },
      { ...c, flags: TCP.SYN, seq: 100 },
    ]);
    expect(records.map((r) => [r.id, r.history, r.state, r.endReason])).toEqual([['1', 'Sr', 'REJ', 'rst']]);
    engine.finish();
    expect(records.map((r) => [r.id, r.state, r.endReason])).toEqual([
      ['1', 'REJ', 'rst'],
      ['2', 'S0', 'eof'],
    ]);
  });

  it('opens a session at the first byte or gap: a connection that carries none (refused, unanswered, opened and closed) gets none', () => {
    const c = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 6443 };
    const s = { src: '10.0.0.2', dst: '10.0.0.1', sport: 6443, dport: 40000 };
    const { records, sessions, engine } = run([
      { ...c, flags: TCP.SYN, seq: 1 },
      { ...s, flags: TCP.RST | TCP.ACK, seq: 0, ack: 2 },
      { ...c, sport: 40001, flags: TCP.SYN, seq: 1 },
      { ...s, dport: 40001, flags: TCP.SYN | TCP.ACK, seq: 50, ack: 2 },
      { ...c, sport: 40001, flags: TCP.ACK, seq: 2, ack: 51 },
      { ...c, sport: 40001, flags: TCP.FIN | TCP.ACK, seq: 2, ack: 51 },
      { ...s, dport: 40001, flags: TCP.FIN | TCP.ACK, seq: 51, ack: 3 },
      { ...c, sport: 40002, flags: TCP.SYN, seq: 1 },
      { ...c, sport: 40003, flags: TCP.SYN, seq: 1 },
      { ...c, sport: 40003, flags: TCP.ACK, seq: 2, payload: 'GET / HTTP/1.1\r\n\r\n' },
    ]);
    engine.finish();
    expect(records.map((r) => [r.client.port, r.state, r.app])).toEqual([
      [40000, 'REJ', 'unknown'],
      [40001, 'SF', 'unknown'],
      [40002, 'S0', 'unknown'],
      [40003, 'OTH', 'http'],
    ]);
    expect(sessions.map((x) => x.meta.client.port)).toEqual([40003]);
    expect(sessions[0]!.log).toEqual(['d0:GET / HTTP/1.1\r\n\r\n', 'e0', 'e1']);
  });

  it('finish() ends open flows with eof, delivering a pending hole as a gap', () => {
    const c = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 443 };
    const { engine, records, sessions } = run([
      { ...c, flags: TCP.SYN, seq: 1 },
      { ...c, seq: 2, payload: 'ab' },
      { ...c, seq: 9, payload: 'xyz' },
    ]);
    expect(engine.snapshot().map((r) => r.endReason)).toEqual(['active']);
    engine.finish();
    expect(records[0]!.endReason).toBe('eof');
    expect(records[0]!.missingBytes).toEqual([5, 0]);
    expect(records[0]!.history).toBe('SDG');
    expect(records[0]!.anomalies).toMatchObject({ 'tcp.gap': 1, 'tcp.out_of_order': 1 });
    expect(sessions[0]!.log).toEqual(['d0:ab', 'g0:5', 'd0:xyz', 'e0', 'e1']);
  });

  it('idle flows end by capture time', () => {
    const a = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 22, proto: 'udp' as const, payload: 'x' };
    const { records } = run(
      [
        { ...a, ts: 100 },
        { ...a, sport: 40001, ts: 120 },
        { ...a, sport: 40002, ts: 200 },
      ],
      { idleTimeout: 30 },
    );
    expect(records.map((r) => [r.client.port, r.endReason, r.transport, r.app])).toEqual([
      [40000, 'idle', 'udp', 'unknown'],
      [40001, 'idle', 'udp', 'unknown'],
    ]);
  });

  it('reads DNS datagrams on port 53 into the flow: a query and its answer are a transaction; other traffic on the port stays unknown', () => {
    const name = [7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0];
    const query = new Uint8Array([0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...name, 0, 1, 0, 1]);
    const answer = new Uint8Array([0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, ...name, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34]);
    const q = { src: '10.244.1.5', dst: '10.96.0.10', sport: 40000, dport: 53, proto: 'udp' as const };
    const r = { src: '10.96.0.10', dst: '10.244.1.5', sport: 53, dport: 40000, proto: 'udp' as const };
    const tunnel = { src: '10.244.1.5', dst: '198.51.100.7', sport: 40001, dport: 53, proto: 'udp' as const, payload: 'not a DNS message at all' };
    const { engine, records } = run([{ ...q, payload: query }, { ...r, payload: answer }, tunnel]);
    engine.finish();
    const dns = records.find((x) => x.client.port === 40000)!;
    expect(dns.app).toBe('dns');
    expect(dns.dns).toEqual([{
      id: 0xabcd, ts: 1_700_000_000.01, frame: 1, query: 'example.com', qtype: 'A', rcode: 'NOERROR', truncated: false,
      answers: [{ name: 'example.com', type: 'A', data: '93.184.216.34', ttl: 60 }], responseTs: 1_700_000_000.02, responseFrame: 2,
    }]);
    const other = records.find((x) => x.client.port === 40001)!;
    expect(other.app).toBe('unknown');
    expect(other.dns).toEqual([]);
    expect(other.anomalies).toEqual({ 'dns.malformed': 1 });
  });

  it('maxFlows evicts and reports with endReason evicted', () => {
    const pk: PacketSpec[] = [];
    for (let i = 0; i < 50; i++) pk.push({ src: '10.0.0.1', dst: '10.0.0.2', sport: 30000 + i, dport: 443, flags: TCP.SYN, seq: 7 });
    const { records, engine } = run(pk, { maxFlows: 10 });
    expect(records).toHaveLength(40);
    expect(records.every((r) => r.endReason === 'evicted' && r.anomalies['flow.evicted'] === 1)).toBe(true);
    expect(engine.stats.anomalies.get('flow.evicted')).toBe(40);
  });

  it('malformed frames are counted, never thrown', () => {
    const engine = new Engine({ onFlowEnd: () => {} });
    const junk = [new Uint8Array(0), new Uint8Array([1, 2, 3]), buildFrame(CONV[0]!).subarray(0, 30)];
    junk.forEach((d, i) => engine.processFrame(toFrame(d, 1, i + 1)));
    engine.finish();
    expect(engine.stats.packets).toBe(3);
    expect(engine.stats.anomalies.total).toBeGreaterThan(0);
  });
});

describe('Engine: copies of a packet captured on several interfaces', () => {
  /** The frame of `p` as another interface saw it: routed (TTL one less, IPv4 checksum redone) or bridged. */
  function copyOf(frame: Uint8Array, routed: boolean): Uint8Array {
    const c = frame.slice();
    if (routed) {
      const ip = 14;
      const v = new DataView(c.buffer);
      c[ip + 8] = c[ip + 8]! - 1;
      v.setUint16(ip + 10, 0);
      let sum = 0;
      for (let i = 0; i < 20; i += 2) sum += v.getUint16(ip + i);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      v.setUint16(ip + 10, ~sum & 0xffff);
    }
    return c;
  }

  function runFrames(frames: { data: Uint8Array; ts: number }[], opts: Partial<EngineOptions> = {}) {
    const records: FlowRecord[] = [];
    const engine = new Engine({ onFlowEnd: (r) => records.push(r), sessionFactory: (meta) => new RecordingSession(meta), ...opts });
    frames.forEach((f, i) => engine.processFrame(toFrame(f.data, f.ts, i + 1)));
    engine.finish();
    return { engine, records };
  }

  const T0 = 1_700_000_000;
  const once = CONV.map((p, i) => ({ data: buildFrame(p), ts: T0 + i * 0.01 }));
  // As `tcpdump -i any` records a packet crossing a pod's veth, the bridge and the uplink.
  const thrice = once.flatMap((f) => [f, { data: copyOf(f.data, false), ts: f.ts + 0.00002 }, { data: copyOf(f.data, true), ts: f.ts + 0.00004 }]);

  it('counts each packet once: the flow is the same as with one interface, and no copy reads as a retransmission', () => {
    const single = runFrames(once);
    const multi = runFrames(thrice);
    const strip = (r: FlowRecord) => ({ packets: r.packets, bytes: r.bytes, payloadBytes: r.payloadBytes, history: r.history, state: r.state });
    expect(multi.records.map(strip)).toEqual(single.records.map(strip));
    expect(multi.engine.stats.packets).toBe(3 * once.length);
    expect(multi.engine.stats.anomalies.get('packet.duplicate')).toBe(2 * once.length);
    expect(multi.engine.stats.anomalies.get('tcp.retransmission')).toBe(0);
  });

  it('keeps a packet sent again later (a real retransmission) and a packet that differs in one field', () => {
    const data = once[3]!.data;
    const later = runFrames([...once.slice(0, 4), { data: copyOf(data, false), ts: once[3]!.ts + 0.3 }, ...once.slice(4).map((f) => ({ ...f, ts: f.ts + 0.3 }))]);
    expect(later.engine.stats.anomalies.get('packet.duplicate')).toBe(0);
    expect(later.engine.stats.anomalies.get('tcp.retransmission')).toBe(1);
    const otherId = copyOf(data, false);
    otherId[14 + 5] = otherId[14 + 5]! ^ 1; // IPv4 identification
    const differs = runFrames([...once.slice(0, 4), { data: otherId, ts: once[3]!.ts + 0.00002 }, ...once.slice(4)]);
    expect(differs.engine.stats.anomalies.get('packet.duplicate')).toBe(0);
  });

  it('with keepDuplicates, analyses every copy as a packet of its own', () => {
    const kept = runFrames(thrice, { keepDuplicates: true });
    expect(kept.engine.stats.anomalies.get('packet.duplicate')).toBe(0);
    // The copies are counted into the flow (until it closes) and their data reads as retransmitted.
    expect(kept.records[0]!.packets[0] + kept.records[0]!.packets[1]).toBeGreaterThan(2 * once.length);
    expect(kept.engine.stats.anomalies.get('tcp.retransmission')).toBeGreaterThan(0);
  });
});

describe('Engine: one connection seen on both sides of a NAT', () => {
  const T0 = 1_700_000_000;
  /** A whole connection with the given initial sequence numbers, from `at`, a packet every 10 ms. */
  function conversation(client: string, cport: number, server: string, sport: number, cIsn: number, sIsn: number, at: number) {
    const c = { src: client, dst: server, sport: cport, dport: sport };
    const s = { src: server, dst: client, sport, dport: cport };
    const specs: PacketSpec[] = [
      { ...c, flags: TCP.SYN, seq: cIsn },
      { ...s, flags: TCP.SYN | TCP.ACK, seq: sIsn, ack: cIsn + 1 },
      { ...c, flags: TCP.ACK, seq: cIsn + 1, ack: sIsn + 1 },
      { ...c, flags: TCP.ACK | TCP.PSH, seq: cIsn + 1, ack: sIsn + 1, payload: 'GET /api HTTP/1.1\r\n\r\n' },
      { ...c, flags: TCP.FIN | TCP.ACK, seq: cIsn + 22, ack: sIsn + 1 },
      { ...s, flags: TCP.FIN | TCP.ACK, seq: sIsn + 1, ack: cIsn + 23 },
      { ...c, flags: TCP.ACK, seq: cIsn + 23, ack: sIsn + 2 },
    ];
    return specs.map((p, i) => ({ data: buildFrame(p), ts: at + i * 0.01 }));
  }

  /** The records of the conversations, through `shards` engines each analysing its share (see shard.ts). */
  function recordsOf(...convs: { data: Uint8Array; ts: number }[][]): Map<string, FlowRecord> {
    return shardedRecordsOf(1, ...convs);
  }

  function shardedRecordsOf(shards: number, ...convs: { data: Uint8Array; ts: number }[][]): Map<string, FlowRecord> {
    const frames = convs.flat().sort((a, b) => a.ts - b.ts);
    const records: FlowRecord[] = [];
    for (let index = 0; index < shards; index++) {
      const shard = shards > 1 ? { index, count: shards } : undefined;
      const engine = new Engine({ onFlowEnd: (r) => records.push(r), sessionFactory: (meta) => new RecordingSession(meta), shard });
      const before = records.length;
      frames.forEach((f, i) => engine.processFrame(toFrame(f.data, f.ts, i + 1)));
      engine.finish();
      // Every shard sees every frame, and with enough connections each gets some of them.
      expect(engine.stats.packets).toBe(frames.length);
      if (shards > 1) expect(records.length).toBeGreaterThan(before);
    }
    expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
    return new Map(records.map((r) => [`${r.client.ip}:${r.client.port}>${r.server.ip}:${r.server.port}`, r]));
  }

  it('shares connections out among shards, each view of a NAT with its other view: the records of one engine', () => {
    const convs = [];
    for (let i = 0; i < 24; i++) {
      const port = 33000 + i * 997;
      // DNAT and SNAT pairs, and connections of their own.
      convs.push(conversation('10.244.1.5', port, '10.96.0.1', 443, 0x100000 + i, 0x200000 + i, T0 + i * 0.001));
      convs.push(conversation('10.244.1.5', port, '10.0.0.10', 6443, 0x100000 + i, 0x200000 + i, T0 + i * 0.001 + 0.00002));
      convs.push(conversation('10.244.2.7', port + 1, '10.0.0.10', 6443, 0x300000 + i, 0x400000 + i, T0 + i * 0.001 + 0.0003));
      convs.push(conversation('10.0.0.21', port + 1, '10.0.0.10', 6443, 0x300000 + i, 0x400000 + i, T0 + i * 0.001 + 0.00032));
      convs.push(conversation('10.0.0.22', port + 2, '10.0.0.11', 10250, 0x500000 + i, 0x600000 + i, T0 + i * 0.001 + 0.0005));
    }
    const comparable = (m: Map<string, FlowRecord>) =>
      [...m].map(([k, r]) => [k, { ...r, id: '' }] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const one = shardedRecordsOf(1, ...convs);
    expect([...one.values()].filter((r) => r.natLink !== null)).toHaveLength(4 * 24);
    for (const shards of [2, 3, 5]) expect(comparable(shardedRecordsOf(shards, ...convs))).toEqual(comparable(one));
  });

  function links(...convs: { data: Uint8Array; ts: number }[][]): Map<string, string | null> {
    return new Map([...recordsOf(...convs)].map(([k, r]) => [k, r.natLink ?? null]));
  }

  it('marks the view captured second as the repeat, whichever flow ends first', () => {
    // The translated view's packets come 20 µs after the original's; its FIN exchange ends first here
    // only if the original's is delayed: both orders of ending must mark the same flow.
    const original = conversation('10.244.1.5', 40000, '10.96.0.1', 443, 0x1234567, 0x89abcde, T0);
    const translated = conversation('10.244.1.5', 40000, '10.0.0.10', 6443, 0x1234567, 0x89abcde, T0 + 0.00002);
    const late = original.map((f, i) => (i >= 4 ? { ...f, ts: f.ts + 1 } : f));
    for (const first of [original, late]) {
      const m = recordsOf(first, translated);
      expect(m.get('10.244.1.5:40000>10.96.0.1:443')!.natRepeat).toBe(false);
      expect(m.get('10.244.1.5:40000>10.0.0.10:6443')!.natRepeat).toBe(true);
    }
    const alone = recordsOf(conversation('10.244.1.5', 40001, '10.0.0.10', 6443, 0x1234567, 0x89abcde, T0));
    expect([...alone.values()][0]!.natRepeat).toBe(false);
  });

  it("links a pod's connection to a Service address with the same connection after kube-proxy's DNAT, and nothing else", () => {
    const m = links(
      conversation('10.244.1.5', 40000, '10.96.0.1', 443, 0x1234567, 0x89abcde, T0),
      // The same packets on the uplink, 20 µs later, to the endpoint the Service was translated to.
      conversation('10.244.1.5', 40000, '10.0.0.10', 6443, 0x1234567, 0x89abcde, T0 + 0.00002),
      // Another connection of the pod at the same moment, with the same sequence numbers (a generator's).
      conversation('10.244.1.5', 40001, '10.0.0.10', 6443, 0x1234567, 0x89abcde, T0 + 0.00004),
    );
    const link = m.get('10.244.1.5:40000>10.96.0.1:443');
    expect(link).toEqual(expect.any(String));
    expect(m.get('10.244.1.5:40000>10.0.0.10:6443')).toBe(link);
    expect(m.get('10.244.1.5:40001>10.0.0.10:6443')).toBeNull();
  });

  it('links a connection before and after SNAT (the client port kept)', () => {
    const m = links(
      conversation('10.244.1.5', 40000, '10.0.0.10', 6443, 77, 99, T0),
      conversation('10.0.0.21', 40000, '10.0.0.10', 6443, 77, 99, T0 + 0.00003),
    );
    expect(m.get('10.244.1.5:40000>10.0.0.10:6443')).toEqual(expect.any(String));
    expect(m.get('10.0.0.21:40000>10.0.0.10:6443')).toBe(m.get('10.244.1.5:40000>10.0.0.10:6443'));
  });

  it('links a connection picked up midstream by the numbers of its first packet, on both sides of the DNAT', () => {
    // The capture starts after the handshakes: each view's first packet is the same request.
    const midstream = (c: { data: Uint8Array; ts: number }[]) => c.slice(3);
    const m = links(
      midstream(conversation('10.244.1.5', 40000, '10.96.0.1', 443, 0x1234567, 0x89abcde, T0)),
      midstream(conversation('10.244.1.5', 40000, '10.0.0.10', 6443, 0x1234567, 0x89abcde, T0 + 0.00002)),
      // Another midstream connection of the pod, its numbers its own.
      midstream(conversation('10.244.1.5', 40001, '10.0.0.10', 6443, 0x7654321, 0x89abcde, T0 + 0.00004)),
    );
    const link = m.get('10.244.1.5:40000>10.96.0.1:443');
    expect(link).toEqual(expect.any(String));
    expect(m.get('10.244.1.5:40000>10.0.0.10:6443')).toBe(link);
    expect(m.get('10.244.1.5:40001>10.0.0.10:6443')).toBeNull();
    const r = recordsOf(
      midstream(conversation('10.244.1.5', 40000, '10.96.0.1', 443, 0x1234567, 0x89abcde, T0)),
      midstream(conversation('10.244.1.5', 40000, '10.0.0.10', 6443, 0x1234567, 0x89abcde, T0 + 0.00002)),
    );
    expect([...r.values()].map((x) => [x.midstream, x.natRepeat])).toEqual([[true, false], [true, true]]);
  });

  it('does not link handshakes far apart in time, or with zero as a sequence number', () => {
    const apart = links(
      conversation('10.244.1.5', 40000, '10.96.0.1', 443, 5, 6, T0),
      conversation('10.244.1.5', 40000, '10.0.0.10', 6443, 5, 6, T0 + 0.2),
    );
    expect([...apart.values()]).toEqual([null, null]);
    const zero = links(
      conversation('10.244.1.5', 40000, '10.96.0.1', 443, 0, 0, T0),
      conversation('10.244.1.5', 40000, '10.0.0.10', 6443, 0, 0, T0 + 0.00002),
    );
    expect([...zero.values()]).toEqual([null, null]);
  });
});
