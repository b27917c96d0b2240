import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/web/app';

/**
 * `planewatch requests` and GET /api/requests: every request read on the connections, newest first,
 * with its Kubernetes meaning, whose credential it carried and the connection it travelled — here on
 * samples made by real stacks, read in plain HTTP and inside TLS with their key logs.
 */
const ROOT = join(__dirname, '../..');
const SAMPLES = join(ROOT, 'captures/samples');
const KEYS = join(ROOT, 'captures/keylogs');
const dir = mkdtempSync(join(tmpdir(), 'planewatch-requests-'));
const db = join(dir, 'r.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface Item {
  ts: number; flowKey: string; method: string; target: string; status: number | null; operation: string | null; resource: string | null;
  namespace: string | null; name: string | null; api: string | null; authSubject: string | null; authHash: string | null;
  clientIp: string; serverIp: string; serverPort: number; flowPath: string; cleartext: boolean;
}
const json = (args: string[]) => JSON.parse(cli(['requests', '--db', db, '--json', ...args]).out) as Item[];

beforeAll(() => {
  // TLS samples with their key logs, and two in plain HTTP.
  const tls = ['kubelet-logs-exec-self-signed', 'credential-rejected'];
  const plain = ['apiserver-insecure-port', 'kubelet-readonly-port'];
  const r = cli([
    'analyze', ...[...tls, ...plain].map((s) => join(SAMPLES, `${s}.pcap`)), ...tls.flatMap((s) => ['--keylog', join(KEYS, `${s}.keys`)]),
    '--inventory', join(ROOT, 'captures/inventory.json'), '--inventory', join(ROOT, 'captures/planewatch-cluster.json'), '--db', db, '--quiet',
  ]);
  expect(r.err).toBe('');
}, 60_000);

describe('planewatch requests', () => {
  it('lists every request newest first, with its operation, object, status, credential and connection', () => {
    const all = json([]);
    expect(all.length).toBeGreaterThan(5);
    for (let i = 1; i < all.length; i++) expect(all[i]!.ts).toBeLessThanOrEqual(all[i - 1]!.ts);
    const r = cli(['requests', '--db', db]);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(/^time +flow +client +server +op +object +request +status +who +tls$/);
    // kubectl exec through the API server, as the kubelet saw it (TLS read with the key log).
    expect(r.out).toMatch(/^2026-03-02 \d\d:\d\d:\d\d {2}c\d+f\d+ +10\.0\.0\.10 \(cp-1\) +10\.0\.0\.21:10250 \(\w+\) +exec +pods default\/web-0 +POST \/exec\/default\/web-0\/web\?\S* +101 +- +yes$/m);
  });

  it('filters by operation, API, status, credential, endpoint, path and text', () => {
    const exec = json(['--operation', 'exec', '--operation', 'attach']);
    expect(exec.length).toBeGreaterThan(0);
    for (const x of exec) expect(['exec', 'attach']).toContain(x.operation);
    expect(new Set(exec.map((x) => x.operation))).toEqual(new Set(['exec', 'attach']));
    for (const x of json(['--api', 'kubelet'])) expect(x.api).toBe('kubelet');
    // The rejected token: 401 and 403, both from the same service account.
    const refused = json(['--status', '4xx']);
    expect(refused.map((x) => x.status).sort()).toEqual([401, 403]);
    expect(new Set(refused.map((x) => x.authSubject))).toEqual(new Set(['system:serviceaccount:default:backup']));
    expect(json(['--status', '403']).map((x) => x.resource)).toEqual(['secrets']);
    const hash = refused[0]!.authHash!;
    const byHash = json(['--credential', hash]);
    expect(byHash.length).toBeGreaterThan(0);
    for (const x of byHash) expect(x.authHash).toBe(hash);
    const bySubject = json(['--credential', 'system:serviceaccount:default:backup']);
    expect(bySubject.length).toBeGreaterThanOrEqual(2);
    for (const x of bySubject) expect(x.authSubject).toBe('system:serviceaccount:default:backup');
    for (const x of json(['--endpoint', '10.0.0.21'])) expect([x.clientIp, x.serverIp]).toContain('10.0.0.21');
    const toKubelets = json(['--path', 'apiserver-to-kubelet']);
    expect(toKubelets.length).toBeGreaterThan(0);
    for (const x of toKubelets) expect(x).toMatchObject({ flowPath: 'apiserver-to-kubelet', api: 'kubelet' });
    // The plain-HTTP samples' requests are marked as such.
    expect(json([]).filter((x) => x.cleartext).map((x) => x.serverPort).sort()).toEqual(expect.arrayContaining([8080, 10255]));
    for (const x of json(['--search', 'portForward'])) expect(x.target).toContain('portForward');
    expect(json(['--namespace', 'kube-system']).every((x) => x.namespace === 'kube-system')).toBe(true);
    const latest = json(['--limit', '1'])[0]!;
    expect(json(['--since', String(latest.ts)]).every((x) => x.ts >= latest.ts)).toBe(true);
    expect(json(['--until', String(latest.ts)]).every((x) => x.ts < latest.ts)).toBe(true);
    expect(cli(['requests', '--db', db, '--search', 'nothing-like-this']).out).toMatch(/^no requests match/);
  });

  it('gives the API the same items, and pages them', async () => {
    const app = await buildApp({ dbFile: db });
    try {
      const page = (await app.inject({ method: 'GET', url: '/api/requests?operation=exec&operation=attach&limit=500' })).json();
      expect(page.items).toEqual(json(['--operation', 'exec', '--operation', 'attach']));
      const first = (await app.inject({ method: 'GET', url: '/api/requests?limit=2' })).json();
      const second = (await app.inject({ method: 'GET', url: '/api/requests?limit=2&offset=2' })).json();
      expect(first.total).toBe(json([]).length);
      expect(first.totalCapped).toBe(false);
      expect([...first.items, ...second.items]).toEqual(json(['--limit', '4']));
      expect((await app.inject({ method: 'GET', url: '/api/requests?status=6xx' })).statusCode).toBe(400);
      expect((await app.inject({ method: 'GET', url: '/api/requests?operation=EXEC' })).statusCode).toBe(400);
    } finally {
      await app.close();
    }
  });

  it('refuses a status, an API or a time it cannot read, with a usage error', () => {
    for (const bad of [['--status', '99'], ['--api', 'etcd'], ['--since', 'yesterday-ish'], ['--operation', 'Exec;']]) {
      const r = cli(['requests', '--db', db, ...bad]);
      expect(r.code, bad.join(' ')).toBe(2);
    }
  });
});
