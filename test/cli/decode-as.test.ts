import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { decoderOptionsFor, forcedAppPorts, parseDecodeAs } from '../../src/decode/decode-as';
import { ethernet, ipv4, PROTO, udp, vxlan } from '../decode/builders';
import { spawnPlanewatch, waitExit } from '../live/live-helpers';
import { conversationFrames, pcapOf } from '../live/packets';
import { rewrapCapture } from '../rewrap-capture';
import { buildApp } from '../../src/web/app';

/**
 * Mirrored traffic sent to a collector's own VXLAN port, not 4789: `--decode-as`, in Wireshark's
 * syntax, says so; the capture remembers it, so its packets are read back the same way later.
 */
const ROOT = join(__dirname, '../..');
const SAMPLE = join(ROOT, 'captures/samples/apiserver-proxy-http.pcap');
const RULE = 'udp.port==48879,vxlan';
const dir = mkdtempSync(join(tmpdir(), 'pw-decode-as-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The sample as a mirror delivers it: each frame in VXLAN (VNI 7) to UDP port 48879. */
const MIRRORED = join(dir, 'mirrored-48879.pcap');
rewrapCapture(SAMPLE, MIRRORED, (f) =>
  ethernet(0x0800, ipv4({ protocol: PROTO.UDP, src: '172.31.9.1', dst: '172.31.9.2' }, udp(50123, 48879, vxlan(7, f)))));

function cli(args: string[], cwd = dir) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { encoding: 'utf8', cwd, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface JsonFlow { id: string; dbId?: number; communityId: string; path: string; client: { ip: string }; tunnel?: { type: string; id: number } | null }
const json = (args: string[]) => JSON.parse(cli(['analyze', ...args, '--json']).stdout) as { captures: { decodeAs: string[] }[]; flows: JsonFlow[] };

describe('--decode-as', () => {
  it('parses Wireshark-style rules and gives the port to the named tunnel alone', () => {
    expect(parseDecodeAs('udp.port==48879,vxlan')).toEqual({ transport: 'udp', port: 48879, kind: 'vxlan' });
    expect(parseDecodeAs(' UDP.PORT == 6081 , none ')).toEqual({ transport: 'udp', port: 6081, kind: 'none' });
    expect(parseDecodeAs('tcp.port==9000,http2')).toEqual({ transport: 'tcp', port: 9000, kind: 'http2' });
    expect(parseDecodeAs('udp.port==5000,vxlan_gpe')).toEqual({ transport: 'udp', port: 5000, kind: 'vxlan_gpe' });
    expect(decoderOptionsFor([{ transport: 'udp', port: 4790, kind: 'none' }])!.vxlanGpePorts).toEqual([]);
    for (const bad of ['tcp.port==443,vxlan', 'udp.port==53,dns', 'udp.port==0,vxlan', 'udp.port==70000,vxlan', 'udp.port==4789,gre', 'sctp.port==1,http', 'vxlan']) {
      expect(() => parseDecodeAs(bad), bad).toThrow(/udp\.port==PORT,KIND .* tcp\.port==PORT,KIND/);
    }
    expect(decoderOptionsFor([])).toBeUndefined();
    expect(decoderOptionsFor([{ transport: 'tcp', port: 80, kind: 'none' }])).toBeUndefined();
    expect(decoderOptionsFor([{ transport: 'udp', port: 4789, kind: 'geneve' }, { transport: 'udp', port: 7000, kind: 'vxlan' },
      { transport: 'udp', port: 6081, kind: 'none' }, { transport: 'tcp', port: 8472, kind: 'http' }])).toEqual({
      vxlanPorts: [8472, 7000], genevePorts: [4789], tzspPorts: [37008], mplsUdpPorts: [6635], vxlanGpePorts: [4790],
    });
    expect(forcedAppPorts([{ transport: 'udp', port: 4789, kind: 'none' }])).toBeUndefined();
    expect(forcedAppPorts([{ transport: 'tcp', port: 9000, kind: 'tls' }, { transport: 'tcp', port: 8080, kind: 'none' }, { transport: 'tcp', port: 9000, kind: 'http' }]))
      .toEqual(new Map([[9000, 'http'], [8080, null]]));
  });

  it('analyses the tunnelled connections only when told the port, as the capture itself would be', () => {
    const original = json([SAMPLE]).flows;
    expect(original.map((f) => f.path)).toEqual(['apiserver-proxy', 'apiserver-proxy']);
    // Without the rule: the mirror's own UDP datagrams, nothing of what they carry.
    const blind = json([MIRRORED]).flows;
    expect(blind.map((f) => `${f.client.ip} ${f.path}`)).toEqual(['172.31.9.1 other']);
    const seen = json([MIRRORED, '--decode-as', RULE]);
    // tshark's own short form too.
    expect(json([MIRRORED, '-d', RULE]).flows).toEqual(seen.flows);
    expect(seen.captures[0]!.decodeAs).toEqual([RULE]);
    expect(seen.flows.map((f) => [f.communityId, f.path])).toEqual(original.map((f) => [f.communityId, f.path]));
    expect(seen.flows.every((f) => f.tunnel?.type === 'vxlan' && f.tunnel.id === 7)).toBe(true);
    // The rules reach the analysis threads too: one of its own, or two sharing the connections (whose
    // records may then be stored in either order).
    const byId = (flows: JsonFlow[]) => [...flows].sort((a, b) => a.id.localeCompare(b.id)).map(({ dbId: _, ...f }) => f);
    for (const threads of ['2', '3']) expect(byId(json([MIRRORED, '--decode-as', RULE, '--threads', threads]).flows)).toEqual(byId(seen.flows));
    // A standard port turned off: the VXLAN sample on 4789 is plain UDP then.
    const vx = join(ROOT, 'captures/samples/kubelet-logs-exec-self-signed.vxlan.pcap');
    expect(json([vx, '--decode-as', 'udp.port==4789,none']).flows.every((f) => f.path === 'other' && f.tunnel === null)).toBe(true);
  });

  it('is stored with the capture: follow, extract and the dashboard read the packets back the same way', async () => {
    const db = join(dir, 'stored.db');
    const first = cli(['analyze', MIRRORED, '--decode-as', RULE, '--db', db]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`  decoded as       ${RULE}\n`);
    const d = new Database(db, { readonly: true });
    const flow = d.prepare(`SELECT flow_key FROM flows WHERE server_port = 8080`).pluck().get() as string;
    expect(d.prepare(`SELECT decode_as FROM captures`).pluck().get()).toBe(JSON.stringify([RULE]));
    d.close();
    const shown = cli(['show', flow, '--db', db]).stdout;
    expect(shown).toMatch(/^  Capture       .*mirrored-48879\.pcap, frames 1–9, decoded with -d udp\.port==48879,vxlan$/m);
    expect(shown).toMatch(/^  Transport     TCP\/IPv4, tunnel VXLAN 172\.31\.9\.1:50123 → 172\.31\.9\.2:48879, VNI 7, app http$/m);
    const followed = cli(['follow', flow, '--db', db]);
    expect(followed.code).toBe(0);
    expect(followed.stdout).toContain('GET / HTTP/1.1\nHost: 10.244.1.7:8080\n');
    const out = join(dir, 'one-flow.pcap');
    expect(cli(['extract', flow, '--db', db, '-o', out]).code).toBe(0);
    // The extracted frames are the tunnelled ones, as captured; decoded the same way, one connection.
    const again = json([out, '--decode-as', RULE]).flows;
    expect(again.map((f) => f.path)).toEqual(['apiserver-proxy']);
    expect(json([out]).flows.map((f) => f.path)).toEqual(['other']);
    // The dashboard lists the rules with the capture, and serves the flow's packets decoded by them.
    const api = await buildApp({ dbFile: db, logger: false });
    try {
      const caps = (await api.inject({ url: '/api/captures' })).json() as { items: { decodeAs: string[] }[] };
      expect(caps.items.map((c) => c.decodeAs)).toEqual([[RULE]]);
      const id = (await api.inject({ url: `/api/flows?port=8080` })).json() as { items: { id: number }[] };
      const detail = (await api.inject({ url: `/api/flows/${id.items[0]!.id}` })).json() as { flow: { tunnelText: string; captureDecodeAs: string[] } };
      expect(detail.flow.tunnelText).toBe('VXLAN 172.31.9.1:50123 → 172.31.9.2:48879, VNI 7');
      expect(detail.flow.captureDecodeAs).toEqual([RULE]);
      const stream = await api.inject({ url: `/api/flows/${id.items[0]!.id}/stream` });
      expect(stream.statusCode).toBe(200);
      const chunks = (stream.json() as { chunks: { side: string; data: string }[] }).chunks;
      expect(Buffer.from(chunks[0]!.data, 'base64').toString('latin1')).toMatch(/^GET \/ HTTP\/1\.1\r\nHost: 10\.244\.1\.7:8080\r\n/);
    } finally {
      await api.close();
    }
  });

  it('the same file decoded otherwise is another analysis of it; decoded the same way, a duplicate', () => {
    const db = join(dir, 'twice.db');
    expect(cli(['analyze', MIRRORED, '--db', db, '--quiet']).code).toBe(0);
    const second = cli(['analyze', MIRRORED, '--decode-as', RULE, '--db', db]);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/mirrored-48879\.pcap is also in the database decoded otherwise: capture 1 with the standard tunnel ports/);
    const third = cli(['analyze', MIRRORED, '--decode-as', RULE, '--db', db]);
    expect(third.stderr).toMatch(/is already in the database as capture 2; not stored again/);
    const fourth = cli(['analyze', MIRRORED, '--db', db]);
    expect(fourth.stderr).toMatch(/is already in the database as capture 1; not stored again/);
    expect(fourth.stderr).toContain(`is also in the database decoded otherwise: capture 2 with --decode-as ${RULE}`);
    const d = new Database(db, { readonly: true });
    expect(d.prepare(`SELECT id, decode_as FROM captures ORDER BY id`).raw(true).all()).toEqual([[1, null], [2, JSON.stringify([RULE])]]);
    d.close();
  });

  it('a rule planewatch cannot decode is a usage error that says what it takes', () => {
    const r = cli(['analyze', MIRRORED, '--decode-as', 'tcp.port==8443,vxlan']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"tcp\.port==8443,vxlan" is not a rule planewatch decodes: udp\.port==PORT,KIND with KIND one of vxlan, vxlan_gpe, geneve, tzsp, mpls, none .* tcp\.port==PORT,KIND with KIND one of tls, http, http2, ssh, dns, none/);
  });

  it('live refuses a rule that would keep its own mirror listener from decoding what it receives', () => {
    const r = cli(['live', '--vxlan', '127.0.0.1:0', '--decode-as', 'udp.port==4789,none', '--db', join(dir, 'refused.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--decode-as udp.port==4789,none would stop --vxlan from decoding what it receives');
    expect(existsSync(join(dir, 'refused.db'))).toBe(false);
  });

  it('live --stdin takes the rules too, and stores them with its capture', async () => {
    const db = join(dir, 'live.db');
    const child = spawnPlanewatch(['live', '--stdin', '--db', db, '--decode-as', RULE], { stdin: 'pipe' });
    child.stdin!.end(readFileSync(MIRRORED));
    expect(await waitExit(child)).toBe(0);
    expect(existsSync(db)).toBe(true);
    const d = new Database(db, { readonly: true });
    try {
      expect(d.prepare(`SELECT decode_as FROM captures`).pluck().get()).toBe(JSON.stringify([RULE]));
      expect(d.prepare(`SELECT path, json_extract(tunnel, '$.type') FROM flows ORDER BY id`).raw(true).all()).toEqual([['apiserver-proxy', 'vxlan'], ['apiserver-proxy', 'vxlan']]);
    } finally {
      d.close();
    }
  });
});

describe('--decode-as for TCP ports', () => {
  const INSECURE = join(ROOT, 'captures/samples/apiserver-insecure-port.pcap');
  interface Flow { id: string; app: string; server: { port: number }; http: { method: string; path: string }[] }
  const analysed = (file: string, args: string[]) =>
    JSON.parse(cli(['analyze', file, '--json', ...args]).stdout) as { captures: { decodeAs: string[] }[]; flows: Flow[] };

  /** A WebDAV request: a method no probe knows, so the port decides. */
  const PROPFIND = join(dir, 'propfind-9000.pcap');
  writeFileSync(PROPFIND, pcapOf(conversationFrames({
    client: '10.0.0.31', server: '10.0.0.32', sport: 40100, dport: 9000,
    request: 'PROPFIND /dav/ HTTP/1.1\r\nHost: files:9000\r\nDepth: 1\r\nContent-Length: 0\r\n\r\n',
    response: 'HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\nContent-Length: 7\r\n\r\n<a/>\r\n\r\n',
  })));

  it('hands a port to the named dissector from the first byte, on one thread and on analysis threads', () => {
    const probed = analysed(PROPFIND, []).flows[0]!;
    expect(probed.http).toEqual([]);
    for (const threads of ['1', '2']) {
      const r = analysed(PROPFIND, ['-d', 'tcp.port==9000,http', '--threads', threads]);
      expect(r.captures[0]!.decodeAs).toEqual(['tcp.port==9000,http']);
      const f = r.flows[0]!;
      expect(f.app, `--threads ${threads}`).toBe('http');
      expect(f.http.map((h) => `${h.method} ${h.path}`)).toEqual(['PROPFIND /dav/']);
    }
  });

  it('none: no dissector, so no requests and no findings read from them', () => {
    const plain = analysed(INSECURE, []);
    expect(plain.flows.some((f) => f.http.length > 0)).toBe(true);
    const none = analysed(INSECURE, ['-d', 'tcp.port==8080,none']);
    expect(none.flows.every((f) => f.http.length === 0 && f.app !== 'http')).toBe(true);
    expect(none.flows.map((f) => f.id)).toEqual(plain.flows.map((f) => f.id));
  });

  it('is stored with the capture, and follow reads the connection with the same dissector', () => {
    const db = join(dir, 'tcp-rule.db');
    expect([0, 1]).toContain(cli(['analyze', PROPFIND, '-d', 'tcp.port==9000,http', '--db', db, '--quiet']).code);
    const d = new Database(db, { readonly: true });
    const stored = d.prepare('SELECT decode_as FROM captures').pluck().get();
    const key = d.prepare('SELECT flow_key FROM flows').pluck().get() as string;
    d.close();
    expect(stored).toBe('["tcp.port==9000,http"]');
    expect(cli(['show', key, '--db', db]).stdout).toContain('tcp.port==9000,http');
    const followed = cli(['follow', key, '--db', db, '--format', 'http']);
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toContain('PROPFIND /dav/ HTTP/1.1');
  });
});
