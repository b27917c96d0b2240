/**
 * planewatch's dissector output against tshark, an independent implementation, connection by
 * connection and field by field: TLS (SNI, version, cipher, ALPN, certificate SHA-256, JA3, JA3S,
 * plaintext alerts, CertificateRequest), HTTP/1 and h2c (method, path, host, user agent, status) and
 * SSH (banners, HASSH). Inputs: every committed sample, and a capture recorded here from real tools.
 * tshark 4.0 has no JA4 field; JA4 is compared only where tshark has one.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareAll, disagreements, type Compared } from './compare-all';
import { droppedByKernel, hasTool } from './loopback-capture';
import { HOSTS, USER_AGENT, recordLiveTraffic, type LiveCapture } from './live-traffic';
import { analyzeJson } from './planewatch-json';
import { hasTshark, tsharkConnections, tsharkHasCommunityId } from './tshark-connections';

const SAMPLES = join(import.meta.dirname, '../../captures/samples');
const sampleFiles = readdirSync(SAMPLES).filter((f) => /\.pcap(ng)?$/.test(f)).sort();

interface TruthFile {
  requiresDecryption?: boolean;
  connections: { server: string; transport: string; app: string }[];
}
const truthOf = (f: string): TruthFile => JSON.parse(readFileSync(join(SAMPLES, f.replace(/\.pcap(ng)?$/, '.truth.json')), 'utf8')) as TruthFile;

/**
 * Connections whose packets, payload bytes, first or last packet's time or Community ID are not
 * tshark's for the stream (none compared: one line saying so). Times agree to the microsecond (pcap's
 * resolution); the Community ID is compared where tshark computes it (Wireshark 3.4 and later).
 */
function packetCountsDiffering(f: string, c: Compared): string[] {
  const paired = c.matching.pairs.filter((p) => p.conn !== null);
  if (paired.length === 0) return [`${f}: no connection compared`];
  return paired.flatMap(({ flow, conn, where }) => {
    const ours = { packets: flow.packets[0] + flow.packets[1], bytes: flow.payloadBytes[0] + flow.payloadBytes[1], first: flow.firstTs, last: flow.lastTs, id: flow.communityId };
    const theirs = { packets: conn!.frames, bytes: conn!.payloadBytes, first: conn!.firstTs, last: conn!.lastTs, id: conn!.communityId ?? flow.communityId };
    const same = ours.packets === theirs.packets && ours.bytes === theirs.bytes && ours.id === theirs.id &&
      Math.abs(ours.first - theirs.first) < 1e-6 && Math.abs(ours.last - theirs.last) < 1e-6;
    return same ? [] : [`${f}: ${where}: planewatch ${JSON.stringify(ours)}, tshark ${JSON.stringify(theirs)}`];
  });
}

/** Fields where tshark actually reported something (guards against agreeing on nothing). */
function nonEmpty(c: Compared, field: string): number {
  return c.checks.filter((x) => x.check.field === field && x.check.tshark !== null && !(Array.isArray(x.check.tshark) && x.check.tshark.length === 0)).length;
}

describe.skipIf(!hasTshark)('tshark and planewatch agree on the samples', () => {
  const results = new Map<string, Compared>();

  beforeAll(async () => {
    // Captures carrying a key log are analysed on their own: within one run planewatch may use those
    // keys for the same session in another file, which tshark (one file at a time) cannot.
    const withKeys = sampleFiles.filter((f) => truthOf(f).requiresDecryption === true);
    const runs = await Promise.all([sampleFiles.filter((f) => !withKeys.includes(f)), ...withKeys.map((f) => [f])].map((files) => analyzeJson(files.map((f) => join(SAMPLES, f)))));
    const flows = runs.flat();
    const queue = [...sampleFiles];
    // A few tshark processes at once keep this part to a few seconds.
    const worker = async (): Promise<void> => {
      for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
        // Decode-as rules come from the truth files (independent of planewatch): tshark does not guess
        // TLS on 10250 or HTTP/2 on a plaintext etcd port.
        const rules = new Set(truthOf(f).connections.filter((c) => c.transport === 'tcp' && c.app !== 'unknown').map((c) => `tcp.port==${c.server.slice(c.server.lastIndexOf(':') + 1)},${c.app}`));
        const conns = await tsharkConnections(join(SAMPLES, f), [...rules]);
        results.set(f, compareAll(flows.filter((x) => x.capture.endsWith(`/${f}`)), conns));
      }
    };
    await Promise.all([worker(), worker(), worker()]);
  }, 30_000);

  it.each(sampleFiles)('%s: every TCP connection tshark sees is a planewatch flow, and the reverse', (f) => {
    const r = results.get(f)!;
    expect(r.matching.pairs.filter((p) => p.conn === null).map((p) => `${f}: planewatch flow ${p.where} not seen by tshark`)).toEqual([]);
    expect(r.matching.unmatched.map((c) => `${f}: tshark connection ${c.first.ip}:${c.first.port} ↔ ${c.other.ip}:${c.other.port} has no planewatch flow`)).toEqual([]);
  });

  it.each(sampleFiles)('%s: every connection has the packets, payload bytes, time span and Community ID of its TCP stream in tshark, its last ACK included', (f) => {
    expect(packetCountsDiffering(f, results.get(f)!)).toEqual([]);
  });

  it.skipIf(!tsharkHasCommunityId)('compared Community IDs that tshark computed, on every sample', () => {
    for (const [f, r] of results) {
      expect(r.matching.pairs.filter((p) => p.conn?.communityId?.startsWith('1:')).length, f).toBeGreaterThan(0);
    }
  });

  it.each(sampleFiles)('%s: TLS, HTTP and SSH fields agree', (f) => {
    const r = results.get(f)!;
    expect(r.checks.length, `${f}: nothing compared`).toBeGreaterThan(0);
    expect(disagreements(f, r)).toEqual([]);
  });

  // With the key log of a Decryption Secrets Block both tools read what TLS 1.3 encrypts: the
  // certificates, the selected ALPN, CertificateRequest and the HTTP request inside.
  const withKeyLog = sampleFiles.filter((f) => truthOf(f).requiresDecryption === true);
  it.each(withKeyLog)('%s: the decrypted handshake and HTTP were compared, not skipped', (f) => {
    const r = results.get(f)!;
    for (const field of ['tls.serverCertificates[].sha256', 'tls.alpnSelected', 'tls.clientCertRequested', 'http[].path', 'http[].status']) {
      expect(nonEmpty(r, field), `${f}: tshark decrypted no ${field}`).toBeGreaterThan(0);
    }
  });

  it('compared real values for every kind of field, not empty ones', () => {
    const all: Compared = { matching: { pairs: [], unmatched: [] }, checks: [...results.values()].flatMap((r) => r.checks) };
    for (const field of ['tls.sni', 'tls.version', 'tls.cipherId', 'tls.alpn', 'tls.alpnSelected', 'tls.ja3', 'tls.ja3Full', 'tls.ja3s', 'tls.ja3sFull',
      'tls.serverCertificates[].sha256', 'tls.clientCertificates[].sha256', 'tls.clientCertRequested', 'tls.alerts (server, plaintext)',
      'http[].method', 'http[].path', 'http[].host', 'http[].userAgent', 'http[].status',
      'http2[].method', 'http2[].path', 'http2[].status', 'ssh.clientBanner', 'ssh.serverBanner', 'ssh.hassh', 'ssh.hasshServer']) {
      expect(nonEmpty(all, field), `no sample gave tshark a value for ${field}`).toBeGreaterThan(0);
    }
  });
});

const hasLiveTools = hasTshark && ['tcpdump', 'openssl', 'curl'].every(hasTool) && process.getuid?.() === 0;

describe.skipIf(!hasLiveTools)('tshark and planewatch agree on traffic recorded here from real tools', () => {
  let dir = '';
  let live: LiveCapture;
  let result: Compared;
  const byServer = (host: string): Compared['checks'] => result.checks.filter((x) => x.where.includes(`→ ${host}:`));
  const value = (host: string, field: string, n = 0): unknown => byServer(host).filter((x) => x.check.field === field)[n]?.check.tshark;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'planewatch-crosscheck-'));
    // A loaded machine can make the kernel drop loopback packets before tcpdump reads them: record again.
    for (let attempt = 1; attempt <= 3; attempt++) {
      live = await recordLiveTraffic(mkdtempSync(join(dir, `attempt-${attempt}-`)));
      if (droppedByKernel(live.tcpdumpReport) === 0) break;
    }
    const [flows, conns] = await Promise.all([analyzeJson([live.pcap]), tsharkConnections(live.pcap, live.decodeAs)]);
    result = compareAll(flows, conns);
  }, 30_000);

  afterAll(() => {
    if (dir !== '' && !process.env.PLANEWATCH_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  });

  it('recorded every connection, and both tools see the same ones', () => {
    expect(droppedByKernel(live.tcpdumpReport), live.tcpdumpReport).toBe(0);
    const servers = new Set(result.matching.pairs.map((p) => p.flow.server.ip));
    const expected = Object.entries(HOSTS).filter(([k]) => k !== 'ssh' || live.sshAvailable).map(([, ip]) => ip);
    expect([...servers].sort(), JSON.stringify(live.runs, null, 1).slice(0, 2000)).toEqual(expected.sort());
    expect(result.matching.pairs.filter((p) => p.conn === null).map((p) => p.where)).toEqual([]);
    expect(result.matching.unmatched.map((c) => `${c.first.ip}:${c.first.port} ↔ ${c.other.ip}:${c.other.port}`)).toEqual([]);
  });

  it('every connection has the packets, payload bytes, time span and Community ID of its TCP stream in tshark', () => {
    expect(packetCountsDiffering('live', result)).toEqual([]);
  });

  it('TLS 1.2 from openssl s_client (client certificate) and curl: every TLS field agrees', () => {
    expect(disagreements('live', { ...result, checks: byServer(HOSTS.tls12) })).toEqual([]);
    // Both connections were really compared: certificates, SNI, ALPN and the CertificateRequest.
    expect(value(HOSTS.tls12, 'tls.version')).toBe('1.2');
    expect(value(HOSTS.tls12, 'tls.sni')).toBe('one.crosscheck.test');
    expect(value(HOSTS.tls12, 'tls.alpnSelected')).toBe('h2');
    expect(value(HOSTS.tls12, 'tls.serverCertificates[].sha256')).toHaveLength(1);
    expect(value(HOSTS.tls12, 'tls.clientCertificates[].sha256')).toHaveLength(1);
    expect(value(HOSTS.tls12, 'tls.clientCertRequested')).toBe(true);
    expect(value(HOSTS.tls12, 'tls.alpnSelected', 1)).toBe('http/1.1');
  });

  it('TLS 1.3 from openssl s_client and curl: every TLS field agrees', () => {
    expect(disagreements('live', { ...result, checks: byServer(HOSTS.tls13) })).toEqual([]);
    expect(value(HOSTS.tls13, 'tls.version')).toBe('1.3');
    expect(value(HOSTS.tls13, 'tls.sni')).toBe('two.crosscheck.test');
    expect(value(HOSTS.tls13, 'tls.ja3')).toMatch(/^[0-9a-f]{32}$/);
    // The certificate is encrypted under TLS 1.3: neither tool may report one.
    expect(value(HOSTS.tls13, 'tls.serverCertificates[].sha256')).toEqual([]);
  });

  it('HTTP/1.1 from curl to node:http: method, path, host, user agent and status agree', () => {
    expect(disagreements('live', { ...result, checks: byServer(HOSTS.http) })).toEqual([]);
    expect(value(HOSTS.http, 'http[].path')).toEqual(['/x?y=1', '/missing']);
    expect(value(HOSTS.http, 'http[].userAgent')).toEqual([USER_AGENT, USER_AGENT]);
    expect(value(HOSTS.http, 'http[].status')).toEqual([200, 404]);
    expect(value(HOSTS.http, 'http[].method', 1)).toEqual(['POST']);
    expect(value(HOSTS.http, 'http[].host', 1)).toEqual(['api.crosscheck.test']);
  });

  it('h2c from curl to node:http2: method, path, authority, user agent and status agree', () => {
    expect(disagreements('live', { ...result, checks: byServer(HOSTS.h2c) })).toEqual([]);
    expect(value(HOSTS.h2c, 'http2[].path')).toEqual(['/h2/first']);
    expect(value(HOSTS.h2c, 'http2[].path', 1)).toEqual(['/h2/second', '/missing']);
    expect(value(HOSTS.h2c, 'http2[].status', 1)).toEqual([200, 404]);
    expect(value(HOSTS.h2c, 'http2[].userAgent', 1)).toEqual([USER_AGENT, USER_AGENT]);
  });

  it('SSH from ssh to sshd: banners, HASSH and HASSHServer agree', (ctx) => {
    if (!live.sshAvailable) ctx.skip();
    expect(disagreements('live', { ...result, checks: byServer(HOSTS.ssh) })).toEqual([]);
    expect(value(HOSTS.ssh, 'ssh.clientBanner')).toMatch(/^SSH-2\.0-OpenSSH_/);
    expect(value(HOSTS.ssh, 'ssh.hasshServer')).toMatch(/^[0-9a-f]{32}$/);
  });
});
