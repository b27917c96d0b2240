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
const READER_PASSWORD = 'r34der-pw';
const hashOf = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex').slice(0, 16)}`;

interface Request {
  path: string; auth: string; authHash: string | null; authIdentity: { kind: string; subject: string | null; expires: number | null } | null;
  grpcStatus: number | null; grpcMessage: string | null;
}
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
      for (const args of [['user', 'add', 'root', `--new-user-password=${PASSWORD}`], ['user', 'grant-role', 'root', 'root'],
        ['user', 'add', 'reader', `--new-user-password=${READER_PASSWORD}`], ['auth', 'enable'],
        ['--user', `root:${PASSWORD}`, 'put', '/registry/secrets/kube-system/x', '{}']]) {
        const r = await etcdctl(args);
        expect(r.code, r.stderr).toBe(0);
      }
      // Refused: a wrong password, and a user with no role writing a key.
      const wrong = await etcdctl(['--user', 'root:not-the-password', 'get', '/registry/secrets/kube-system/x']);
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/authentication failed/);
      const denied = await etcdctl(['--user', `reader:${READER_PASSWORD}`, 'put', '/registry/secrets/kube-system/y', '{}']);
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toMatch(/permission denied/);
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
    const withPassword = requests().filter(({ h }) => h.auth === 'basic' && h.authHash === hashOf(`root:${PASSWORD}`));
    expect(withPassword.map(({ h }) => h.path).sort()).toEqual(['/etcdserverpb.Auth/Authenticate', '/etcdserverpb.Auth/UserAdd']);
    for (const { flow, h } of withPassword) {
      expect(h.authHash).toBe(hashOf(`root:${PASSWORD}`));
      expect(h.authIdentity).toMatchObject({ kind: 'etcd', subject: 'etcd:root' });
      expect(flow.findings).toEqual(expect.arrayContaining(['etcd-plaintext', 'bearer-token-cleartext']));
      const finding = doc.findings.find((x) => x.flowId === flow.id && x.rule === 'bearer-token-cleartext')!;
      expect(finding.evidence).toContain(`etcd user's password in the ${h.path.slice('/etcdserverpb.'.length)} call (${hashOf(`root:${PASSWORD}`)}; etcd user root) sent in cleartext`);
    }
    // The capture has it; planewatch's output and database do not.
    for (const secret of [PASSWORD, READER_PASSWORD, 'not-the-password']) {
      expect(pcap.includes(secret)).toBe(true);
      expect(JSON.stringify(doc)).not.toContain(secret);
      expect(db.includes(secret)).toBe(false);
    }
  });

  it("reads etcd's refusals from the calls' gRPC status: a wrong password and a user without the permission", () => {
    const failed = requests().find(({ h }) => h.authHash === hashOf('root:not-the-password'))!;
    expect(failed.h).toMatchObject({ path: '/etcdserverpb.Auth/Authenticate', grpcStatus: 3, grpcMessage: 'etcdserver: authentication failed, invalid user ID or password' });
    expect(failed.flow.findings).toContain('credential-rejected');
    expect(doc.findings.find((x) => x.flowId === failed.flow.id && x.rule === 'credential-rejected')!.evidence).toMatch(
      /1 request with a credential answered grpc-status 3 \(authentication failed\); first POST \/etcdserverpb\.Auth\/Authenticate at frame \d+ → grpc-status 3 \(authentication failed\) "etcdserver: authentication failed, invalid user ID or password" \(sha256:[0-9a-f]{16}; etcd user root\)/,
    );
    const put = requests().find(({ h }) => h.path === '/etcdserverpb.KV/Put' && h.authIdentity?.subject === 'etcd:reader')!;
    expect(put.h).toMatchObject({ auth: 'bearer', grpcStatus: 7, grpcMessage: 'etcdserver: permission denied' });
    expect(doc.findings.find((x) => x.flowId === put.flow.id && x.rule === 'credential-rejected')!.evidence).toMatch(
      /answered grpc-status 7 PERMISSION_DENIED; first POST \/etcdserverpb\.KV\/Put at frame \d+ → grpc-status 7 PERMISSION_DENIED "etcdserver: permission denied" \(sha256:[0-9a-f]{16}; etcd user reader, valid until \S+Z\)/,
    );
    // The calls etcd answered OK raise nothing of the kind.
    const ok = requests().filter(({ h }) => h.authIdentity?.subject === 'etcd:root' && h.grpcStatus === 0);
    expect(ok.length).toBeGreaterThan(0);
    for (const { flow } of ok) if (flow.id !== failed.flow.id) expect(flow.findings).not.toContain('credential-rejected');
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
