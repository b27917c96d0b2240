import { describe, expect, it } from 'vitest';
import { MAX_PROBE_BYTES, createAppSession, defaultSessionFactory } from '../../dissectors/app-session';
import { PortTable, defaultPortTable, portDissector, setPortDissector } from '../../dissectors/port-table';
import { FACTORIES, factoryById } from '../../dissectors/registry';
import {
  ProbeResult,
  type AnomalySink,
  type Dissector,
  type DissectorFactory,
  type DissectorId,
} from '../../dissectors/types';
import type { AnomalyCode } from '../../src/anomalies';
import type { Direction } from '../../src/flow/direction';
import type { FlowMeta } from '../../src/model/flow-record';
import { NEWKEYS, ascii, concat, hex, kexInitPayload, sshPacket } from './ssh/fixtures';
import { stampOf, type PacketStamp } from '../../src/flow/packet-stamp';

function meta(serverPort: number, clientPort = 50000): FlowMeta {
  return {
    client: { ip: '10.0.0.1', port: clientPort },
    server: { ip: '10.0.0.2', port: serverPort },
    transport: 'tcp',
  };
}

type Event = { kind: 'data'; dir: Direction; bytes: string; frame: number } | { kind: 'gap' | 'end'; dir: Direction };

/** A dissector that records what it is given; `explodeAt` makes feed throw once that many bytes came. */
class RecordingDissector implements Dissector<unknown> {
  readonly events: Event[] = [];
  readonly views: Uint8Array[] = [];
  seen = 0;
  constructor(
    readonly id: DissectorId,
    private readonly explodeAt: number,
  ) {}
  feed(dir: Direction, data: Uint8Array, start: number, end: number, at: PacketStamp): void {
    this.views.push(data);
    this.events.push({ kind: 'data', dir, bytes: Buffer.from(data.subarray(start, end)).toString('latin1'), frame: at.frame });
    this.seen += end - start;
    if (this.seen >= this.explodeAt) throw new Error('boom');
  }
  gap(dir: Direction): void {
    this.events.push({ kind: 'gap', dir });
  }
  end(dir: Direction): void {
    this.events.push({ kind: 'end', dir });
  }
  result(): unknown {
    if (this.id === 'ssh') return { clientBanner: `seen ${this.seen}` };
    if (this.id === 'tls') return { sni: 'fake', events: this.events.length };
    return [{ version: '1.1', method: 'GET', seen: this.seen }];
  }
}

/** A factory whose probe says MATCH when a direction's bytes start with `prefix[dir]`. */
function fake(
  id: DissectorId,
  prefix: [string | null, string | null],
  opts: { explodeAt?: number; probeThrows?: boolean; alwaysNeedMore?: boolean } = {},
): DissectorFactory & { made: RecordingDissector[] } {
  const made: RecordingDissector[] = [];
  return {
    id,
    made,
    probe(dir: Direction, data: Uint8Array, start: number, end: number): ProbeResult {
      if (opts.probeThrows) throw new Error('probe boom');
      if (opts.alwaysNeedMore) return ProbeResult.NEED_MORE;
      const p = prefix[dir];
      if (p === null) return ProbeResult.NO_MATCH;
      const n = Math.min(end - start, p.length);
      for (let i = 0; i < n; i++) if (data[start + i] !== p.charCodeAt(i)) return ProbeResult.NO_MATCH;
      return n === p.length ? ProbeResult.MATCH : ProbeResult.NEED_MORE;
    },
    create(_a: AnomalySink): Dissector {
      const d = new RecordingDissector(id, opts.explodeAt ?? Infinity);
      made.push(d);
      return d;
    },
  };
}

function feedStr(s: { onData: (...a: [Direction, Uint8Array, number, number, PacketStamp]) => void }, dir: Direction, text: string, frame = 1): void {
  const b = ascii(text);
  s.onData(dir, b, 0, b.length, stampOf(0, frame));
}

describe('port table', () => {
  it('has the control-plane defaults', () => {
    const t = new PortTable();
    for (const p of [6443, 443, 10250, 2379, 2380, 8132, 8131, 10257, 10259, 4443]) expect(t.get(p)).toBe('tls');
    for (const p of [10255, 8080, 80]) expect(t.get(p)).toBe('http');
    expect(t.get(22)).toBe('ssh');
    expect(t.get(9999)).toBeNull();
    expect(t.get(70000)).toBeNull();
  });

  it('is configurable, and ignores impossible ports', () => {
    const t = new PortTable([]);
    t.set(9999, 'http2');
    t.set(65536, 'tls');
    t.set(-1, 'tls');
    t.set(1.5, 'tls');
    expect(t.get(9999)).toBe('http2');
    t.set(9999, null);
    expect(t.get(9999)).toBeNull();
    t.set(22, 'ssh');
    t.clear();
    expect(t.get(22)).toBeNull();
  });

  it('exposes the default table through setPortDissector', () => {
    expect(portDissector(2222)).toBeNull();
    setPortDissector(2222, 'ssh');
    expect(portDissector(2222)).toBe('ssh');
    expect(defaultPortTable.get(2222)).toBe('ssh');
    setPortDissector(2222, null);
    expect(portDissector(2222)).toBeNull();
  });
});

describe('app session with fake dissectors', () => {
  const table = new PortTable([
    [443, 'tls'],
    [22, 'ssh'],
  ]);

  it('tries the port table choice first when several probes match', () => {
    const tls = fake('tls', ['AB', null]);
    const ssh = fake('ssh', ['AB', null]);
    const s = createAppSession(meta(22), null, { factories: [tls, ssh], portTable: table });
    feedStr(s, 0, 'ABC');
    expect(s.pinned).toBe('ssh');
    expect(tls.made).toHaveLength(0);
    const t = createAppSession(meta(9999), null, { factories: [tls, ssh], portTable: table });
    feedStr(t, 0, 'ABC');
    expect(t.pinned).toBe('tls');
  });

  it('a forced port (--decode-as tcp.port==N,KIND) pins its dissector before any byte, whatever the probes say', () => {
    const tls = fake('tls', ['TLS!', null]);
    const ssh = fake('ssh', ['SSH-', 'SSH-']);
    const forcedPorts = new Map<number, DissectorId | null>([[9000, 'ssh'], [443, null], [50001, 'tls']]);
    const s = createAppSession(meta(9000), null, { factories: [tls, ssh], portTable: table, forcedPorts });
    expect(s.pinned).toBe('ssh');
    feedStr(s, 0, 'TLS! not ssh at all', 1);
    expect(ssh.made[0]!.events[0]).toMatchObject({ kind: 'data', bytes: 'TLS! not ssh at all' });
    expect(tls.made).toHaveLength(0);
    // none: no dissector, even for bytes a probe would take.
    const off = createAppSession(meta(443), null, { factories: [tls, ssh], portTable: table, forcedPorts });
    feedStr(off, 0, 'TLS!', 2);
    expect(off.pinned).toBeNull();
    expect(tls.made).toHaveLength(0);
    // The server's port decides; the client's when the server's has no rule.
    expect(createAppSession(meta(9000, 50001), null, { factories: [tls, ssh], forcedPorts }).pinned).toBe('ssh');
    expect(createAppSession(meta(7000, 50001), null, { factories: [tls, ssh], forcedPorts }).pinned).toBe('tls');
    // A port without a rule is probed as ever.
    const probed = createAppSession(meta(7000), null, { factories: [tls, ssh], portTable: table, forcedPorts });
    expect(probed.pinned).toBeNull();
    feedStr(probed, 0, 'TLS!', 3);
    expect(probed.pinned).toBe('tls');
  });

  it('recognises a protocol on any port by probing, buffering until it can tell', () => {
    const tls = fake('tls', ['TLS!', null]);
    const ssh = fake('ssh', ['SSH-', 'SSH-']);
    const s = createAppSession(meta(443), null, { factories: [tls, ssh], portTable: table });
    feedStr(s, 0, 'SS', 1);
    expect(s.pinned).toBeNull();
    feedStr(s, 0, 'H-2.0-x\r\n', 2);
    expect(s.pinned).toBe('ssh');
    feedStr(s, 1, 'SSH-2.0-y\r\n', 3);
    expect(s.describe().app).toBe('ssh');
    expect(ssh.made[0]!.events).toEqual([
      { kind: 'data', dir: 0, bytes: 'SS', frame: 1 },
      { kind: 'data', dir: 0, bytes: 'H-2.0-x\r\n', frame: 2 },
      { kind: 'data', dir: 1, bytes: 'SSH-2.0-y\r\n', frame: 3 },
    ]);
  });

  it('starts every connection with an empty probe buffer, though buffers are reused', () => {
    const tls = fake('tls', ['TLS!', null]);
    const ssh = fake('ssh', ['SSH-', 'SSH-']);
    // Many connections, each probing a few bytes before it is recognised, one after another: a
    // buffer given back by one must not show the next connection any of the earlier bytes or ends.
    for (let i = 0; i < 100; i++) {
      const s = createAppSession(meta(9999, 40000 + i), null, { factories: [tls, ssh], portTable: table });
      if (i % 2 === 0) {
        feedStr(s, 1, 'SS', 1);
        s.onEnd(0);
        feedStr(s, 1, 'H-2.0-x\r\n', 2);
        expect(s.pinned).toBe('ssh');
      } else {
        feedStr(s, 0, 'TL', 1);
        feedStr(s, 0, 'S!', 2);
        expect(s.pinned).toBe('tls');
      }
    }
    for (const d of tls.made) expect(d.events.map((e) => (e.kind === 'data' ? e.bytes : e.kind))).toEqual(['TL', 'S!']);
    for (const d of ssh.made) expect(d.events.map((e) => (e.kind === 'data' ? e.bytes : e.kind))).toEqual(['SS', 'end', 'H-2.0-x\r\n']);
  });

  it('uses server bytes when the server speaks first, and replays both directions in order', () => {
    const tls = fake('tls', ['TLS!', null]);
    const ssh = fake('ssh', ['SSH-', 'SSH-']);
    const s = createAppSession(meta(9999), null, { factories: [tls, ssh], portTable: table });
    feedStr(s, 0, 'S', 1); // client half-sent prefix: undecided
    feedStr(s, 1, 'SSH-2.0-server\r\n', 2);
    expect(s.pinned).toBe('ssh');
    expect(ssh.made[0]!.events.map((e) => e.kind === 'data' && e.bytes)).toEqual(['S', 'SSH-2.0-server\r\n']);
  });

  it('passes data straight through once pinned, and the rest of a chunk larger than the probe buffer', () => {
    const http = fake('http', ['GET ', null]);
    const s = createAppSession(meta(80), null, { factories: [http], portTable: new PortTable() });
    const big = concat(ascii('GET / HTTP/1.1\r\n'), new Uint8Array(MAX_PROBE_BYTES * 3).fill(0x41));
    s.onData(0, big, 0, big.length, stampOf(0, 7));
    const d = http.made[0]!;
    const all = d.events.map((e) => (e.kind === 'data' ? e.bytes : '')).join('');
    expect(all).toBe(Buffer.from(big).toString('latin1'));
    const next = ascii('more');
    s.onData(0, next, 0, 4, stampOf(0, 8));
    expect(d.views.at(-1)).toBe(next); // no copy once pinned
  });

  it("calls traffic nobody recognises 'unknown' and stops buffering", () => {
    const tls = fake('tls', ['TLS!', null]);
    const ssh = fake('ssh', ['SSH-', 'SSH-']);
    const s = createAppSession(meta(9999), null, { factories: [tls, ssh], portTable: table });
    s.onData(0, hex('000102030405'), 0, 6, stampOf(0, 1));
    s.onData(1, hex('ffff'), 0, 2, stampOf(0, 2));
    expect(s.describe()).toEqual({ app: 'unknown', tls: null, http: [], ssh: null });
    feedStr(s, 0, 'SSH-2.0-late\r\n');
    expect(s.pinned).toBeNull();
    expect(tls.made.length + ssh.made.length).toBe(0);
  });

  it('decides at the probe cap: the port choice if it may still match, else unknown', () => {
    const slow = fake('tls', [null, null], { alwaysNeedMore: true });
    const onPort = createAppSession(meta(443), null, { factories: [slow], portTable: table });
    onPort.onData(0, new Uint8Array(MAX_PROBE_BYTES + 1), 0, MAX_PROBE_BYTES + 1, stampOf(0, 1));
    expect(onPort.pinned).toBe('tls');
    expect(slow.made[0]!.seen).toBe(MAX_PROBE_BYTES + 1);
    const offPort = createAppSession(meta(9999), null, { factories: [slow], portTable: table });
    offPort.onData(0, new Uint8Array(MAX_PROBE_BYTES + 1), 0, MAX_PROBE_BYTES + 1, stampOf(0, 1));
    expect(offPort.pinned).toBeNull();
    expect(offPort.describe().app).toBe('unknown');
  });

  it('on a gap while probing, decides on what it has and forwards the gap', () => {
    const slow = fake('tls', [null, null], { alwaysNeedMore: true });
    const s = createAppSession(meta(443), null, { factories: [slow], portTable: table });
    feedStr(s, 0, 'xx', 1);
    s.onGap(0, 100);
    expect(slow.made[0]!.events).toEqual([
      { kind: 'data', dir: 0, bytes: 'xx', frame: 1 },
      { kind: 'gap', dir: 0 },
    ]);
  });

  it('keeps ends in order and decides when both directions have ended', () => {
    const slow = fake('tls', [null, null], { alwaysNeedMore: true });
    const s = createAppSession(meta(443), null, { factories: [slow], portTable: table });
    feedStr(s, 0, 'a', 1);
    s.onEnd(0);
    feedStr(s, 1, 'b', 2);
    expect(s.pinned).toBeNull();
    s.onEnd(1);
    expect(slow.made[0]!.events).toEqual([
      { kind: 'data', dir: 0, bytes: 'a', frame: 1 },
      { kind: 'end', dir: 0 },
      { kind: 'data', dir: 1, bytes: 'b', frame: 2 },
      { kind: 'end', dir: 1 },
    ]);
  });

  it("names no protocol for a connection that ended without a byte, whatever its port", () => {
    const tls = fake('tls', [null, null], { alwaysNeedMore: true });
    const s = createAppSession(meta(443), null, { factories: [tls], portTable: table });
    s.onEnd(0);
    s.onEnd(1);
    expect(s.pinned).toBeNull();
    expect(tls.made).toHaveLength(0);
    expect(s.describe()).toEqual({ app: 'unknown', tls: null, http: [], ssh: null });
  });

  it('detaches a dissector that throws, counts dissector.exception, and carries on', () => {
    const bomb = fake('ssh', ['SSH-', 'SSH-'], { explodeAt: 20 });
    const sunk: AnomalyCode[] = [];
    const s = createAppSession(meta(22), (c) => sunk.push(c), { factories: [bomb], portTable: table });
    feedStr(s, 0, 'SSH-2.0-x\r\n');
    expect(s.detached).toBe(false);
    expect(() => feedStr(s, 0, 'more than enough bytes')).not.toThrow();
    expect(s.detached).toBe(true);
    expect(sunk).toEqual(['dissector.exception']);
    expect(s.anomalies.get('dissector.exception')).toBe(1);
    // nothing more reaches it; what it had learned is kept
    expect(() => {
      feedStr(s, 1, 'SSH-2.0-y\r\n');
      s.onGap(0, 5);
      s.onEnd(0);
      s.onEnd(1);
    }).not.toThrow();
    expect(bomb.made[0]!.events).toHaveLength(2);
    expect(s.describe()).toEqual({ app: 'ssh', tls: null, http: [], ssh: { clientBanner: 'seen 33' } });
  });

  it('treats a probe that throws as no match, and counts it', () => {
    const bad = fake('tls', [null, null], { probeThrows: true });
    const good = fake('http', ['GET ', null]);
    const s = createAppSession(meta(443), null, { factories: [bad, good], portTable: table });
    feedStr(s, 0, 'GET / HTTP/1.1\r\n');
    expect(s.pinned).toBe('http');
    expect(s.anomalies.get('dissector.exception')).toBe(1);
  });

  it("reports HTTP/1 that carried on as HTTP/2 (h2c) as app 'http2'", () => {
    const h2c: DissectorFactory = {
      id: 'http',
      probe: () => ProbeResult.MATCH,
      create: () => ({
        id: 'http',
        feed() {},
        gap() {},
        end() {},
        result: () => [
          { version: '1.1', upgrade: 'h2c', status: 101 },
          { version: '2', method: 'GET' },
        ],
      }),
    };
    const s = createAppSession(meta(8080), null, { factories: [h2c], portTable: table });
    feedStr(s, 0, 'GET / HTTP/1.1\r\n');
    expect(s.describe().app).toBe('http2');
    expect(s.describe().http).toHaveLength(2);
  });
});

describe('defaultSessionFactory', () => {
  it('makes no session for UDP', () => {
    expect(defaultSessionFactory({ ...meta(53), transport: 'udp' })).toBeNull();
    expect(defaultSessionFactory(meta(53))).not.toBeNull();
  });
});

/*
 * The registered dissectors, recognised on ports where nobody expects them.
 */
const CLIENT_HELLO_PREFIX =
  // 16 03 01 00 2d | 01 00 00 29 | 03 03 | <32 random> | 00 (no session id) | 00 02 13 01 | 01 00
  '160301002d' + '01000029' + '0303' + '00'.repeat(32) + '00' + '00021301' + '0100';

describe('selection with the registered dissectors', () => {
  it('lists every dissector once', () => {
    const ids = FACTORIES.map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('ssh');
  });

  it('finds SSH on 443 (the port says TLS)', () => {
    const s = createAppSession(meta(443));
    const client = concat(
      ascii('SSH-2.0-OpenSSH_9.2\r\n'),
      sshPacket(kexInitPayload(['curve25519-sha256', 'ssh-ed25519', 'aes128-ctr', 'aes128-ctr', 'hmac-sha2-256', 'hmac-sha2-256', 'none', 'none', '', ''])),
      NEWKEYS,
    );
    s.onData(0, client, 0, client.length, stampOf(0, 1));
    const e = s.describe();
    expect(e.app).toBe('ssh');
    expect(e.ssh?.hassh).toBe('e97d07603350d1111ec2b64bf25413c9');
  });

  it('finds SSH when only the server has spoken, after lines before its banner', () => {
    const s = createAppSession(meta(2200));
    feedStr(s, 1, 'Authorised access only\r\nSSH-2.0-dropbear_2022.83\r\n');
    expect(s.describe().app).toBe('ssh');
    expect(s.describe().ssh?.serverBanner).toBe('SSH-2.0-dropbear_2022.83');
  });

  it.skipIf(!factoryById('tls'))('finds TLS on 8443', () => {
    const s = createAppSession(meta(8443));
    const b = hex(CLIENT_HELLO_PREFIX);
    s.onData(0, b, 0, b.length, stampOf(0, 1));
    expect(s.describe().app).toBe('tls');
  });

  it.skipIf(!factoryById('http2'))('finds h2c with prior knowledge on 9999', () => {
    const s = createAppSession(meta(9999));
    // preface, then an empty SETTINGS frame
    const b = concat(ascii('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), hex('000000040000000000'));
    s.onData(0, b, 0, b.length, stampOf(0, 1));
    expect(s.describe().app).toBe('http2');
  });

  it.skipIf(!factoryById('http'))('finds HTTP on the kubelet read-only port 10255 and on odd ports', () => {
    for (const port of [10255, 9999]) {
      const s = createAppSession(meta(port));
      feedStr(s, 0, 'GET /pods HTTP/1.1\r\nHost: node-1:10255\r\n\r\n');
      const e = s.describe();
      expect(e.app).toBe('http');
      expect(e.http[0]?.path).toBe('/pods');
    }
  });

  it("calls random bytes on an odd port 'unknown'", () => {
    const s = createAppSession(meta(9999));
    const b = hex('8f3a9c00112233445566778899aabbccddeeff');
    s.onData(0, b, 0, b.length, stampOf(0, 1));
    s.onData(1, b, 0, b.length, stampOf(0, 2));
    s.onEnd(0);
    s.onEnd(1);
    expect(s.describe().app).toBe('unknown');
  });
});
