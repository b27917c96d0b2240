import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/web/app';

/**
 * `planewatch certificates`: the certificates seen in handshakes, each once (Zeek's x509 log), and one
 * certificate with the connections that carried it — the dashboard's certificate pages as text, and
 * their documents with --json.
 */
const ROOT = join(__dirname, '../..');
const SAMPLES = join(ROOT, 'captures/samples');
const dir = mkdtempSync(join(tmpdir(), 'planewatch-certificates-'));
const db = join(dir, 'c.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The kubelet's own serving certificate in the self-signed sample (issued by its own throwaway CA). */
const KUBELET = 'CN=worker-1@1756684800';

beforeAll(() => {
  const r = cli(['analyze', join(SAMPLES, 'kubelet-logs-exec-self-signed.pcap'), join(SAMPLES, 'node-to-apiserver.pcap'), '--db', db, '--quiet']);
  expect(r.err).toBe('');
}, 60_000);

describe('planewatch certificates', () => {
  it('lists each certificate once with its issuer, expiry, key, flows and who sent it', () => {
    const r = cli(['certificates', '--db', db]);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^subject +issuer +not after +key +flows +sent by +sha256$/);
    expect(r.out).toMatch(/^CN=worker-1@1756684800 +CN=worker-1-ca@1756684800 +2026-09-01 +rsa 2048 +4 +10\.0\.0\.21 +[0-9a-f]{16}$/m);
    expect(r.out).toMatch(/^CN=kubernetes +\(self-signed\) +/m);
    // Each certificate once, however many connections carried it.
    const subjects = lines.slice(1).map((l) => l.split(/ {2,}/)[0]);
    expect(new Set(subjects).size).toBe(subjects.length);
  });

  it('filters: self-signed or CA-signed, by endpoint, by text', () => {
    const self = JSON.parse(cli(['certificates', '--db', db, '--self-signed', '--json']).out) as { certificate: { subject: string; selfSigned: boolean } }[];
    expect(self.length).toBeGreaterThan(0);
    for (const c of self) expect(c.certificate.selfSigned).toBe(true);
    const signed = JSON.parse(cli(['certificates', '--db', db, '--ca-signed', '--json']).out) as { certificate: { subject: string; selfSigned: boolean } }[];
    expect(signed.map((c) => c.certificate.subject)).toContain(KUBELET);
    for (const c of signed) expect(c.certificate.selfSigned).toBe(false);
    const atKubelet = JSON.parse(cli(['certificates', '--db', db, '--endpoint', '10.0.0.21', '--json']).out) as { certificate: { subject: string } }[];
    expect(atKubelet.map((c) => c.certificate.subject)).toEqual(expect.arrayContaining([KUBELET, 'CN=system:node:worker-1,O=system:nodes']));
    expect(atKubelet.map((c) => c.certificate.subject)).not.toContain('CN=system:kube-scheduler');
    const found = JSON.parse(cli(['certificates', '--db', db, '--search', 'worker-1@', '--json']).out) as { certificate: { subject: string } }[];
    expect(found.map((c) => c.certificate.subject)).toEqual([KUBELET]);
    expect(cli(['certificates', '--db', db, '--search', 'nothing-like-it']).out).toMatch(/^no certificates match/);
    const both = cli(['certificates', '--db', db, '--self-signed', '--ca-signed']);
    expect(both.code).toBe(2);
  });

  it('shows one certificate by its fingerprint or a prefix of it, with the flows that carried it', async () => {
    const [item] = JSON.parse(cli(['certificates', '--db', db, '--search', 'worker-1@', '--json']).out) as { certificate: { sha256: string } }[];
    const sha = item!.certificate.sha256;
    const r = cli(['certificates', sha.slice(0, 10), '--db', db]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^Certificate ${KUBELET}\\n {2}Issuer {8}CN=worker-1-ca@1756684800\\n {2}SAN {11}worker-1\\n`));
    expect(r.out).toContain(`  SHA-256       ${sha}\n`);
    expect(r.out).toContain('  Seen          in 4 flows, sent by 10.0.0.21\n');
    const flows = r.out.split('Newest flows that carried it\n')[1]!.replace(/\n$/, '').split('\n');
    expect(flows).toHaveLength(4);
    for (const f of flows) expect(f).toMatch(/^ {2}c1f\d+ +2026-03-02 \d\d:\d\d:\d\d {2}10\.0\.0\.10 → 10\.0\.0\.21:10250 {2}apiserver-to-kubelet, presented by the server$/);
    // The same in full, with sha256: and colons, and as the dashboard's document.
    const colons = `sha256:${sha.match(/../g)!.join(':').toUpperCase()}`;
    expect(cli(['certificates', colons, '--db', db]).out).toBe(r.out);
    const app = await buildApp({ dbFile: db });
    try {
      const doc = (await app.inject({ method: 'GET', url: `/api/certificates/${sha}` })).json();
      expect(JSON.parse(cli(['certificates', sha, '--db', db, '--json']).out)).toEqual(doc);
    } finally {
      await app.close();
    }
  });

  it('says what is wrong with a fingerprint: not one, unknown, or the start of several', () => {
    expect(cli(['certificates', 'xyz', '--db', db]).err).toMatch(/xyz is not a SHA-256 fingerprint or a prefix of one/);
    expect(cli(['certificates', 'abcd', '--db', db]).code).toBe(2);
    const none = cli(['certificates', '00000000', '--db', db]);
    expect(none.code).toBe(2);
    expect(none.err).toBe('planewatch certificates: no certificate 00000000 in the database\n');
  });
});
