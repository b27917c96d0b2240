/**
 * A real kubectl (kubectl-lab.ts) recorded on a lab network and analysed as a user would, with the
 * key log the API servers wrote: the requests kubectl made must be read back over TLS 1.3, TLS 1.2
 * and plain HTTP, the person behind them recognised, and the token never shown.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPERSONATED, kubectlAddress, recordKubectl, TOKEN, type KubectlRecording } from './kubectl-lab';
import { droppedByKernel, hasTool } from './loopback-capture';
import { canBuildLab } from './netns-lab';
import { compareAll, disagreements } from './compare-all';
import type { JsonFlow } from './planewatch-json';
import { hasTshark, tsharkConnections } from './tshark-connections';

const CLI = join(import.meta.dirname, '../../bin/planewatch.js');

interface Flow {
  id: string;
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  app: string;
  path: string;
  reasons: string[];
  findings: string[];
  tls: { version: string | null; decrypted: boolean; alpnSelected: string | null; clientCertificates: { subject: string }[]; serverCertificates: { subject: string }[] } | null;
  http: { version: string; method: string; path: string; status: number | null; userAgent: string | null; auth: string | null; authHash: string | null; authIdentity?: Record<string, unknown> | null; impersonateUser?: string | null; k8s: { operation: string; target: string | null; namespace: string | null } | null }[];
}

function analyze(rec: KubectlRecording, pcap = rec.pcap): Promise<{ text: string; doc: { captures: { anomalies: Record<string, number> }[]; flows: Flow[] } }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'analyze', pcap, '--keylog', rec.keylog, '--ca', rec.caFile, '--json', '--quiet'],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (stdout.trim().startsWith('{')) resolve({ text: stdout, doc: JSON.parse(stdout) });
        else reject(new Error(`planewatch analyze failed: ${err?.message ?? ''} ${stderr}`));
      });
  });
}

const hasKubectlLab = canBuildLab() && ['kubectl', 'tcpdump', 'openssl'].every(hasTool);

describe.skipIf(!hasKubectlLab)('a real kubectl against API servers on a lab network', () => {
  let dir = '';
  let rec: KubectlRecording;
  let text = '';
  let flows: Flow[] = [];
  let doc: { flows: unknown[] } = { flows: [] };
  const one = (server: 'cp1' | 'cp2', port: number): Flow => {
    const found = flows.filter((f) => f.server.ip === kubectlAddress(server) && f.server.port === port);
    expect(found, `${server}:${port}`).toHaveLength(1);
    return found[0]!;
  };
  const listed = (f: Flow) => f.http.find((h) => h.path.startsWith('/api/v1/namespaces/default/pods'));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'planewatch-kubectl-'));
    rec = await recordKubectl(dir);
    const out = await analyze(rec);
    text = out.text;
    doc = out.doc;
    flows = out.doc.flows;
  }, 60_000);

  afterAll(() => {
    if (dir !== '' && !process.env.PLANEWATCH_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  });

  it('recorded every kubectl run whole', () => {
    for (const [step, r] of Object.entries(rec.runs)) expect(r.code, `${step}: ${r.stderr.slice(0, 400)}`).toBe(0);
    expect(droppedByKernel(rec.tcpdumpReport)).toBe(0);
    expect(flows.every((f) => f.client.ip === kubectlAddress('admin'))).toBe(true);
  });

  it("reads kubectl's HTTP/2 requests inside TLS 1.3 and TLS 1.2 with the servers' key log, and its HTTP/1.1 on the insecure port", () => {
    for (const [f, version] of [[one('cp1', 6443), '1.3'], [one('cp2', 6443), '1.2']] as const) {
      expect(f.tls?.version, f.id).toBe(version);
      expect(f.tls?.decrypted, f.id).toBe(true);
      expect(f.tls?.alpnSelected, f.id).toBe('h2');
      expect(f.http.every((h) => h.version === '2'), f.id).toBe(true);
      expect(f.tls!.serverCertificates[0]!.subject).toBe('CN=kube-apiserver');
    }
    const plain = one('cp1', 8080);
    expect(plain.app).toBe('http');
    expect(plain.http.every((h) => h.version === '1.1')).toBe(true);
    for (const f of [one('cp1', 6443), one('cp2', 6443), plain]) {
      expect(f.http.map((h) => h.path.split('?')[0]), f.id).toEqual(expect.arrayContaining(['/api', '/apis', '/api/v1', '/api/v1/namespaces/default/pods']));
      const list = listed(f)!;
      expect(list.status).toBe(200);
      expect(list.userAgent).toMatch(/^kubectl\/v\d+\.\d+/);
      expect(list.k8s).toMatchObject({ operation: 'list', target: 'pods', namespace: 'default' });
    }
  });

  it('sees the token as bearer inside TLS, keeps only its hash, and never prints it', () => {
    const tls13 = listed(one('cp1', 6443))!;
    expect(tls13.auth).toBe('bearer');
    expect(tls13.authHash).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(text).not.toContain(TOKEN);
    for (const part of TOKEN.split('.')) expect(text).not.toContain(part);
    expect(one('cp1', 6443).findings).not.toContain('bearer-token-cleartext');
    // Whose it is, read from its claims before it was dropped.
    expect(tls13.authIdentity).toMatchObject({ kind: 'jwt', subject: 'CiRhbGljZQ', issuer: 'https://dex.lab.example', audiences: ['kubernetes'], expires: 4_102_444_800 });
    // kubectl --as: the user the requests act as.
    expect(tls13.impersonateUser).toBe(IMPERSONATED);
    expect(listed(one('cp2', 6443))!.impersonateUser ?? null).toBeNull();
  });

  it('says a person is at the client end: by the user agent, and by the administrator certificate over TLS 1.2', () => {
    for (const f of flows) expect(f.reasons.join('\n'), f.id).toMatch(/User-Agent kubectl\/v[\d.]+ .*is a user's tool/);
    const cert = one('cp2', 6443);
    expect(cert.tls!.clientCertificates[0]!.subject).toBe('CN=kubernetes-admin,O=system:masters');
    expect(cert.reasons.join('\n')).toContain("client certificate CN=kubernetes-admin,O=system:masters is an administrator's credential");
    expect(listed(cert)!.auth).toBe('none');
  });

  it("stores the workstation kubectl ran on as a person's (role user), the API servers as API servers", () => {
    const db = join(dir, 'roles.db');
    execFileSync(process.execPath, [CLI, 'analyze', rec.pcap, '--keylog', rec.keylog, '--ca', rec.caFile, '--db', db, '--quiet']);
    const d = new Database(db, { readonly: true });
    try {
      const role = d.prepare(`SELECT primary_role FROM endpoints WHERE ip = ?`).pluck();
      expect(role.get(kubectlAddress('admin'))).toBe('user');
      expect(role.get(kubectlAddress('cp1'))).toBe('apiserver');
      expect(role.get(kubectlAddress('cp2'))).toBe('apiserver');
      // The incident responder's question: where was this credential used, and was it ever in cleartext.
      const used = d.prepare(`SELECT subject, kind, client, server, port, cleartext, requests FROM v_credentials ORDER BY server, port`).all() as
        { subject: string; kind: string; client: string; server: string; port: number; cleartext: number; requests: number }[];
      expect(used.map((u) => [u.subject, u.kind, u.client, u.server, u.port, u.cleartext])).toEqual([
        ['CiRhbGljZQ', 'jwt', kubectlAddress('admin'), kubectlAddress('cp1'), 6443, 0],
      ]);
      expect(used[0]!.requests).toBeGreaterThanOrEqual(4);
    } finally {
      d.close();
    }
  });

  it('flags the insecure port, and the plain requests as anonymous since kubectl withheld its token over HTTP', () => {
    const plain = one('cp1', 8080);
    expect(plain.findings).toEqual(expect.arrayContaining(['apiserver-insecure-port', 'anonymous-request']));
    expect(plain.http.every((h) => h.auth === 'none')).toBe(true);
    expect(plain.findings).not.toContain('bearer-token-cleartext');
    expect(one('cp1', 6443).findings).toEqual([]);
    expect(one('cp2', 6443).findings).toEqual([]);
  });

  it.skipIf(!hasTshark)("tshark, decrypting with the same key log, agrees on every TLS, HTTP and HTTP/2 field", async () => {
    const conns = await tsharkConnections(rec.pcap, ['tcp.port==6443,tls', 'tcp.port==8080,http'], ['-o', `tls.keylog_file:${rec.keylog}`]);
    const result = compareAll(doc.flows as JsonFlow[], conns);
    expect(result.matching.pairs.filter((p) => p.conn === null).map((p) => p.where)).toEqual([]);
    expect(result.matching.unmatched).toEqual([]);
    expect(disagreements('kubectl', result)).toEqual([]);
    const h2 = result.checks.filter((x) => x.check.field === 'http2[].userAgent').flatMap((x) => x.check.tshark as string[]);
    expect(h2.length).toBeGreaterThanOrEqual(8);
    expect(h2.every((ua) => ua.startsWith('kubectl'))).toBe(true);
  });

  it('gives the same flows from `tcpdump -i any`, where each packet is recorded once per interface it crosses', async () => {
    const any = await analyze(rec, rec.anyPcap);
    const anomalies = any.doc.captures[0]!.anomalies;
    expect(anomalies['packet.duplicate'], JSON.stringify(anomalies)).toBeGreaterThan(0);
    expect(anomalies['tcp.retransmission'] ?? 0).toBe(0);
    const key = (f: Flow & { packets?: unknown; bytes?: unknown }) =>
      JSON.stringify([f.client, f.server, f.packets, f.bytes, f.app, f.path, f.findings, f.http.map((h) => [h.method, h.path, h.status])]);
    expect(any.doc.flows.map(key).sort()).toEqual(flows.map(key).sort());
  });
});
