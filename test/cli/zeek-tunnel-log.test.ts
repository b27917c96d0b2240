import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tunnelParents, tunnelUid, zeekTunnelFields } from '../../src/report/zeek/tunnel-log';
import { ethernet, gre, ipv4, PROTO, udp, vxlan } from '../decode/builders';
import { rewrapCapture } from '../rewrap-capture';
import { zeekCut } from './zeek-cut';

/**
 * tunnel.log and conn.log's tunnel_parents on mirrored traffic: sample captures delivered as a
 * cloud mirror would, in VXLAN between two VTEPs that pick each packet's UDP source port from its
 * inner addresses and ports (as Linux and cloud VTEPs do, so the two directions of one connection
 * travel in two outer connections), and in GRE, which has no ports.
 */
const ROOT = join(__dirname, '../..');
const SAMPLES = join(ROOT, 'captures/samples');
const dir = mkdtempSync(join(tmpdir(), 'pw-zeek-tunnel-'));
const db = join(dir, 't.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { encoding: 'utf8', cwd: dir, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const VTEP_A = '172.31.0.10';
const VTEP_B = '172.31.0.20';
const VNI = 4242;
const GRE_KEY = 77;

/** The inner Ethernet frame's IPv4 addresses and ports (TCP or UDP). */
function innerTuple(f: Uint8Array): { src: string; dst: string; sport: number; dport: number } {
  const ip = 14;
  const ihl = (f[ip]! & 0x0f) * 4;
  const b = Buffer.from(f.buffer, f.byteOffset, f.length);
  return {
    src: [...f.subarray(ip + 12, ip + 16)].join('.'),
    dst: [...f.subarray(ip + 16, ip + 20)].join('.'),
    sport: b.readUInt16BE(ip + ihl),
    dport: b.readUInt16BE(ip + ihl + 2),
  };
}

/** The VTEP a host sits behind: the lower inner address behind A, the other behind B. */
let lowerHost = '';
const vtepOf = (ip: string) => (ip === lowerHost ? VTEP_A : VTEP_B);

/** A VTEP's UDP source port for a packet: a hash of its inner tuple, in the dynamic range. */
function sourcePort(t: ReturnType<typeof innerTuple>): number {
  let h = 0;
  for (const c of `${t.src}|${t.sport}|${t.dst}|${t.dport}`) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return 49152 + (h % 16384);
}

const SAMPLE = join(SAMPLES, 'apiserver-proxy-http.pcap');
const VXLAN_FILE = join(dir, 'mirrored-vxlan.pcap');
const GRE_FILE = join(dir, 'mirrored-gre.pcap');

/** Each frame as tshark reads it: the outer addresses and UDP ports, and the inner TCP connection's. */
interface TsharkFrame { frame: number; outer: [string, string, string, string]; inner: string }
function tsharkFrames(file: string): TsharkFrame[] {
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=;',
    ...['frame.number', 'ip.src', 'ip.dst', 'udp.srcport', 'udp.dstport', 'tcp.srcport', 'tcp.dstport'].flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').map((l) => {
    const [frame, src, dst, usport, udport, tsport, tdport] = l.split('\t') as [string, string, string, string, string, string, string];
    const [osrc, isrc] = src.split(';');
    const [odst, idst] = dst.split(';');
    return { frame: Number(frame), outer: [osrc!, odst!, usport || '0', udport || '0'], inner: `${isrc}:${tsport}>${idst}:${tdport}` };
  });
}

describe('Zeek tunnel.log and tunnel_parents', () => {
  let tunnel: ReturnType<typeof zeekCut>;
  let conn: ReturnType<typeof zeekCut>;

  beforeAll(() => {
    // The sample's first frame's source is the lower host's (any fixed rule does).
    const first: string[] = [];
    rewrapCapture(SAMPLE, join(dir, 'probe.pcap'), (f) => {
      const t = innerTuple(f);
      first.push(t.src, t.dst);
      return f;
    });
    lowerHost = [...new Set(first)].sort()[0]!;
    rewrapCapture(SAMPLE, VXLAN_FILE, (f) => {
      const t = innerTuple(f);
      return ethernet(0x0800, ipv4({ protocol: PROTO.UDP, src: vtepOf(t.src), dst: vtepOf(t.dst) }, udp(sourcePort(t), 4789, vxlan(VNI, f))));
    });
    rewrapCapture(SAMPLE, GRE_FILE, (f) => {
      const t = innerTuple(f);
      return ethernet(0x0800, ipv4({ protocol: PROTO.GRE, src: vtepOf(t.src), dst: vtepOf(t.dst) }, gre({ protocol: 0x6558, key: GRE_KEY }, f)));
    });
    const r = cli(['analyze', VXLAN_FILE, GRE_FILE, '--db', db, '--quiet']);
    expect([0, 1], r.stderr).toContain(r.code); // 1: findings at the default --fail-on
    const out = join(dir, 'logs');
    const e = cli(['export', out, '--db', db]);
    expect(e.code, e.stderr).toBe(0);
    expect(readdirSync(out)).toContain('tunnel.log');
    expect(e.stdout).toMatch(/tunnel\.log: \d+ tunnel events/);
    tunnel = zeekCut(readFileSync(join(out, 'tunnel.log'), 'utf8'));
    conn = zeekCut(readFileSync(join(out, 'conn.log'), 'utf8'));
  });

  it('logs each tunnel discovered, then closed, in time order, under a uid of its own', () => {
    expect(tunnel.header.get('path')).toBe('tunnel');
    const rows = tunnel.rows;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.map((r) => Number(r.ts))).toEqual(rows.map((r) => Number(r.ts)).sort((a, b) => a - b));
    const byUid = new Map<string, Record<string, string>[]>();
    for (const r of rows) byUid.set(r.uid!, [...(byUid.get(r.uid!) ?? []), r]);
    for (const [uid, events] of byUid) {
      expect(uid).toMatch(/^T[0-9a-f]{16}$/);
      expect(events.map((e) => e.action)).toEqual(['Tunnel::DISCOVER', 'Tunnel::CLOSE']);
      expect(Number(events[0]!.ts)).toBeLessThanOrEqual(Number(events[1]!.ts));
      expect(events[1]).toMatchObject({ 'id.orig_h': events[0]!['id.orig_h'], 'id.resp_p': events[0]!['id.resp_p'] });
    }
    const discovered = rows.filter((r) => r.action === 'Tunnel::DISCOVER');
    expect(discovered.filter((r) => r.tunnel_type === 'Tunnel::VXLAN').every((r) => r.planewatch_tunnel_ids === String(VNI) && r['id.resp_p'] === '4789')).toBe(true);
    // GRE has no ports: 0, as Zeek logs a connection without a transport.
    const greRows = discovered.filter((r) => r.tunnel_type === 'Tunnel::GRE');
    expect(greRows.length).toBeGreaterThan(0);
    for (const r of greRows) expect(r).toMatchObject({ 'id.orig_p': '0', 'id.resp_p': '0', planewatch_tunnel_ids: String(GRE_KEY) });
    // Every tunnelled connection is counted in each tunnel it came in: one each way in VXLAN, one in GRE.
    const total = (type: string) => discovered.filter((r) => r.tunnel_type === type).reduce((n, r) => n + Number(r.planewatch_connections), 0);
    const flowsOf = (file: string) => conn.rows.filter((r) => r.tunnel_parents!.split(',').length === (file === 'vxlan' ? 2 : 1)).length;
    expect(total('Tunnel::VXLAN')).toBe(2 * flowsOf('vxlan'));
    expect(total('Tunnel::GRE')).toBe(flowsOf('gre'));
    expect(flowsOf('vxlan') + flowsOf('gre')).toBe(conn.rows.length);
  });

  it("names in each connection's tunnel_parents the tunnels its first frame each way came in, as tshark reads those frames", () => {
    const d = new Database(db, { readonly: true });
    try {
      const flows = d.prepare(`SELECT f.flow_key AS uid, f.first_frame AS frame, c.file, f.client_ip, f.client_port, f.server_ip,
        f.server_port FROM flows f JOIN captures c ON c.id = f.capture_id`).all() as
        { uid: string; frame: number; file: string; client_ip: string; client_port: number; server_ip: string; server_port: number }[];
      const tunnels = new Map(tunnel.rows.map((r) => [r.uid!, [r['id.orig_h'], r['id.resp_h'], r['id.orig_p'], r['id.resp_p']].join(' ')]));
      const frames = new Map<string, TsharkFrame[]>();
      for (const f of flows) {
        if (!frames.has(f.file)) frames.set(f.file, tsharkFrames(f.file));
        const all = frames.get(f.file)!;
        const first = all.find((l) => l.frame === f.frame)!;
        const up = `${f.client_ip}:${f.client_port}>${f.server_ip}:${f.server_port}`;
        const down = `${f.server_ip}:${f.server_port}>${f.client_ip}:${f.client_port}`;
        expect([up, down]).toContain(first.inner);
        const back = all.find((l) => l.inner === (first.inner === up ? down : up))!;
        const seen = (fr: TsharkFrame) => `${fr.outer[0]} ${fr.outer[1]} ${fr.outer[2]} ${fr.outer[3]}`;
        const parents = conn.rows.find((r) => r.uid === f.uid)!.tunnel_parents!.split(',').map((uid) => tunnels.get(uid));
        if (f.file.endsWith('vxlan.pcap')) {
          // Two outer connections: VTEP A's source port to B's 4789, and B's own source port back to A's 4789.
          expect(parents).toEqual([seen(first), seen(back)]);
          expect(first.outer[3]).toBe('4789');
          expect(back.outer[3]).toBe('4789');
        } else {
          // GRE: one outer connection both ways, no ports.
          expect(parents).toEqual([seen(first)]);
          expect(seen(back)).toBe(`${first.outer[1]} ${first.outer[0]} 0 0`);
        }
      }
      // The two captures' tunnels are told apart even between the same VTEPs, and every tunnel logged carried one.
      const named = new Set(conn.rows.flatMap((r) => r.tunnel_parents!.split(',')));
      expect(named).toEqual(new Set(tunnel.rows.map((r) => r.uid)));
    } finally {
      d.close();
    }
  });

  it('flows --zeek names the same tunnel_parents, and export --capture limits tunnel.log to one capture', () => {
    const flowsLog = zeekCut(cli(['flows', '--db', db, '--zeek']).stdout);
    for (const r of flowsLog.rows) expect(r.tunnel_parents).toBe(conn.rows.find((c) => c.uid === r.uid)!.tunnel_parents);
    const one = join(dir, 'one');
    expect(cli(['export', one, '--db', db, '--capture', 'mirrored-gre.pcap']).code).toBe(0);
    const greOnly = zeekCut(readFileSync(join(one, 'tunnel.log'), 'utf8'));
    expect(greOnly.rows.length).toBeGreaterThan(0);
    expect(greOnly.rows.every((r) => r.tunnel_type === 'Tunnel::GRE')).toBe(true);
  });

  it('without a tunnel, tunnel_parents is unset and no tunnel.log is written', () => {
    const plainDb = join(dir, 'plain.db');
    expect([0, 1]).toContain(cli(['analyze', SAMPLE, '--db', plainDb, '--quiet']).code);
    const out = join(dir, 'plain-logs');
    expect(cli(['export', out, '--db', plainDb]).code).toBe(0);
    expect(readdirSync(out)).not.toContain('tunnel.log');
    const rows = zeekCut(readFileSync(join(out, 'conn.log'), 'utf8')).rows;
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.tunnel_parents).toBe('-');
  });
});

describe('tunnel uids', () => {
  it('a flow stored before outer ports were kept joins its tunnel.log line all the same, ports unset', () => {
    const stored = JSON.stringify({ type: 'vxlan', outerSrc: '10.9.0.1', outerDst: '10.9.0.2', id: 5 });
    const fields = zeekTunnelFields({ ts: 1, action: 'DISCOVER', capture: 3, type: 'vxlan', orig_h: '10.9.0.1', orig_p: null,
      resp_h: '10.9.0.2', resp_p: null, connections: 1, ids: '5' });
    expect(tunnelParents(3, stored)).toEqual([fields.get('uid')]);
    expect(fields.get('id.orig_p')).toBeUndefined();
    expect(fields.get('tunnel_type')).toBe('Tunnel::VXLAN');
  });

  it('differs by capture, by either port and by type, and unreadable tunnels name none', () => {
    const t = { type: 'vxlan', outerSrc: '10.9.0.1', outerSrcPort: 50000, outerDst: '10.9.0.2', outerDstPort: 4789 };
    const uids = [tunnelUid(1, t), tunnelUid(2, t), tunnelUid(1, { ...t, outerSrcPort: 50001 }), tunnelUid(1, { ...t, outerDstPort: 4790 }),
      tunnelUid(1, { ...t, type: 'geneve' })];
    expect(new Set(uids).size).toBe(uids.length);
    expect(tunnelParents(1, '{not json')).toBeUndefined();
    expect(tunnelParents(1, null)).toBeUndefined();
  });

  it("ERSPAN is Zeek's GRE and IP in IP its IP tunnel; a type Zeek lacks keeps planewatch's name", () => {
    const row = (type: string) => zeekTunnelFields({ ts: 1, action: 'CLOSE', capture: 1, type, orig_h: 'a', orig_p: 0, resp_h: 'b', resp_p: 0, connections: 2, ids: null });
    expect(row('erspan').get('tunnel_type')).toBe('Tunnel::GRE');
    expect(row('ipip').get('tunnel_type')).toBe('Tunnel::IP');
    expect(row('vxlan-gpe').get('tunnel_type')).toBe('Tunnel::VXLAN_GPE');
    expect(row('ipip').get('planewatch_tunnel_ids')).toEqual([]);
    expect(row('ipip').get('action')).toBe('Tunnel::CLOSE');
  });
});
