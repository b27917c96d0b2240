/**
 * etcd's own authentication on a member without TLS, from the real tools: etcdctl adds a user with
 * a password, enables auth and writes a key as that user, against an etcd issuing JWT tokens; tcpdump
 * records it on loopback. The password (UserAdd, Authenticate) and the token (gRPC metadata) cross in
 * the clear: planewatch must name the user, hash the secrets, and never keep them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTool, run, startCapture, waitForPort } from './loopback-capture';

const CLI = join(import.meta.dirname, '../../bin/planewatch.js');
const ready = ['etcd', 'etcdctl', 'tcpdump', 'openssl'].every(hasTool);
const dir = mkdtempSync(join(tmpdir(), 'pw-etcd-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOST = `127.0.54.${10 + (process.pid % 200)}`;
const PASSWORD = 'pl41ntext-s3cret';
const hashOf = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex').slice(0, 16)}`;

interface Request { path: string; auth: string; authHash: string | null; authIdentity: { kind: string; subject: string | null; expires: number | null } | null }
interface Doc {
  flows: { id: string; path: string; findings: string[]; http: Request[] }[];
  findings: { rule: string; flowId: string; evidence: string }[];
}

describe.skipIf(!ready)('etcd auth in the clear, recorded from etcd and etcdctl', () => {
  let doc: Doc;
  let pcap: Buffer;
  let db: Buffer;

  beforeAll(async () => {
    const key = join(dir, 'jwt.key');
    expect((await run('openssl', ['genrsa', '-out', key, '2048'])).code).toBe(0);
    expect((await run('openssl', ['rsa', '-in', key, '-pubout', '-out', join(dir, 'jwt.pub')])).code).toBe(0);
    const file = join(dir, 'etcd.pcap');
    const capture = await startCapture(file, ['host', HOST, 'and', 'tcp', 'port', '2379']);
    let etcd: ChildProcess | null = null;
    try {
      etcd = spawn('etcd', ['--name', 'e1', '--data-dir', join(dir, 'data'),
        '--listen-client-urls', `http://${HOST}:2379`, '--advertise-client-urls', `http://${HOST}:2379`,
        '--listen-peer-urls', `http://${HOST}:2380`, '--initial-advertise-peer-urls', `http://${HOST}:2380`, '--initial-cluster', `e1=http://${HOST}:2380`,
        '--auth-token', `jwt,pub-key=${join(dir, 'jwt.pub')},priv-key=${key},sign-method=RS256,ttl=10m`], { stdio: 'ignore' });
      await waitForPort(HOST, 2379, 15_000);
      const etcdctl = (args: string[]) => run('etcdctl', ['--endpoints', `http://${HOST}:2379`, ...args], '', 15_000);
      for (const args of [['user', 'add', 'root', `--new-user-password=${PASSWORD}`], ['user', 'grant-role', 'root', 'root'], ['auth', 'enable'],
        ['--user', `root:${PASSWORD}`, 'put', '/registry/secrets/kube-system/x', '{}']]) {
        const r = await etcdctl(args);
        expect(r.code, r.stderr).toBe(0);
      }
    } finally {
      await capture.stop();
      etcd?.kill('SIGTERM');
    }
    const dbFile = join(dir, 'etcd.db');
    const out = spawnSync(process.execPath, [CLI, 'analyze', file, '--json', '--db', dbFile], { encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    doc = JSON.parse(out.stdout) as Doc;
    pcap = readFileSync(file);
    db = readFileSync(dbFile);
  }, 60_000);

  const requests = () => doc.flows.flatMap((f) => f.http.map((h) => ({ flow: f, h })));

  it('names the user whose password crossed, hashes it with the user, and keeps it nowhere', () => {
    const withPassword = requests().filter(({ h }) => h.auth === 'basic');
    expect(withPassword.map(({ h }) => h.path).sort()).toEqual(['/etcdserverpb.Auth/Authenticate', '/etcdserverpb.Auth/UserAdd']);
    for (const { flow, h } of withPassword) {
      expect(h.authHash).toBe(hashOf(`root:${PASSWORD}`));
      expect(h.authIdentity).toMatchObject({ kind: 'etcd', subject: 'etcd:root' });
      expect(flow.findings).toEqual(expect.arrayContaining(['etcd-plaintext', 'bearer-token-cleartext']));
      const finding = doc.findings.find((x) => x.flowId === flow.id && x.rule === 'bearer-token-cleartext')!;
      expect(finding.evidence).toContain(`etcd user's password in the ${h.path.slice('/etcdserverpb.'.length)} call (${hashOf(`root:${PASSWORD}`)}; etcd user root) sent in cleartext`);
    }
    // The capture has it; planewatch's output and database do not.
    expect(pcap.includes(PASSWORD)).toBe(true);
    expect(JSON.stringify(doc)).not.toContain(PASSWORD);
    expect(db.includes(PASSWORD)).toBe(false);
  });

  it("reads the user and expiry from etcd's JWT token in each later call's metadata", () => {
    const put = requests().find(({ h }) => h.path === '/etcdserverpb.KV/Put')!;
    expect(put.h.auth).toBe('bearer');
    expect(put.h.authIdentity).toMatchObject({ kind: 'etcd', subject: 'etcd:root' });
    // ttl=10m: the token expires ten minutes after it was issued, a moment ago.
    expect(put.h.authIdentity!.expires! - Date.now() / 1000).toBeGreaterThan(8 * 60);
    expect(put.h.authIdentity!.expires! - Date.now() / 1000).toBeLessThan(11 * 60);
    expect(put.flow.path).toBe('apiserver-to-etcd');
    const finding = doc.findings.find((x) => x.flowId === put.flow.id && x.rule === 'bearer-token-cleartext')!;
    // Sent well within its validity, which the evidence says.
    expect(finding.evidence).toMatch(/etcd auth token \(gRPC metadata 'token'\) \(sha256:[0-9a-f]{16}; etcd user root, valid until \S+Z\) sent in cleartext with POST \/etcdserverpb\.KV\/Put/);
    // Calls before auth was enabled carry no credential.
    expect(requests().filter(({ h }) => h.path === '/etcdserverpb.Auth/AuthEnable').map(({ h }) => h.auth)).toEqual(['none']);
  });
});
