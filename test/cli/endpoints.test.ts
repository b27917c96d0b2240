import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/web/app';

/**
 * `planewatch endpoints`: the addresses seen, with their roles and why (Wireshark's Statistics →
 * Endpoints, with the control plane's roles), and one endpoint's certificates and peers — the
 * dashboard's endpoint pages as text, and their documents with --json.
 */
const ROOT = join(__dirname, '../..');
const SAMPLES = join(ROOT, 'captures/samples');
const dir = mkdtempSync(join(tmpdir(), 'planewatch-endpoints-'));
const db = join(dir, 'e.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  const r = cli([
    'analyze', ...['kubelet-logs-exec-self-signed.pcap', 'controlplane-to-apiserver.pcap', 'node-to-apiserver.pcap'].map((f) => join(SAMPLES, f)),
    '--inventory', join(ROOT, 'captures/inventory.json'), '--inventory', join(ROOT, 'captures/planewatch-cluster.json'), '--db', db, '--quiet',
  ]);
  expect(r.err).toBe('');
}, 60_000);

describe('planewatch endpoints', () => {
  it('lists each address with its role, name, other roles and activity, busiest first', () => {
    const r = cli(['endpoints', '--db', db]);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^ip +role +name +other roles +as client +as server +bytes +findings +first +last$/);
    // The control-plane node: the API server by the inventory, named after the node rather than after
    // the scheduler whose client certificate it also sent.
    expect(lines[1]).toMatch(/^10\.0\.0\.10 +apiserver +cp-1 +node,controlplane-component +6 +4 +[\d.]+ KB +4 \(high\) +2026-03-02 10:00:00 +2026-03-02 10:03:00$/);
    expect(r.out).not.toContain('kube-scheduler');
    expect(r.out).toMatch(/^10\.0\.0\.21 +node +worker-1 +kubelet +1 +4 /m);
  });

  it('filters by role (a kubelet shown as a node too) and by address or name, and sorts', () => {
    const kubelets = JSON.parse(cli(['endpoints', '--db', db, '--role', 'kubelet', '--json']).out) as { ip: string; roles: string[] }[];
    expect(kubelets.map((e) => e.ip)).toEqual(['10.0.0.21']);
    expect(kubelets[0]!.roles).toEqual(expect.arrayContaining(['node', 'kubelet']));
    const pods = JSON.parse(cli(['endpoints', '--db', db, '--role', 'pod', '--search', 'default/', '--sort', 'ip', '--json']).out) as { ip: string; name: string }[];
    expect(pods.length).toBeGreaterThan(2);
    for (const p of pods) expect(p.name.startsWith('default/')).toBe(true);
    expect(pods.map((p) => p.ip)).toEqual(pods.map((p) => p.ip).sort());
    const two = cli(['endpoints', '--db', db, '--limit', '2']);
    expect(two.out.trim().split('\n')).toHaveLength(4);
    expect(two.out).toMatch(/\(2 of \d+; --limit for more\)\n$/);
    expect(cli(['endpoints', '--db', db, '--search', 'no-such-thing']).out).toBe('no endpoints match\n');
  });

  it("shows one endpoint: why it has its roles, the certificates it presented and sent, its peers by path", () => {
    const r = cli(['endpoints', '10.0.0.21', '--db', db]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Endpoint 10\.0\.0\.21: node worker-1\n {2}Roles {9}node, kubelet\n/);
    expect(r.out).toContain('  · kubelet: kubelet-made serving certificate CN=worker-1@1756684800');
    expect(r.out).toMatch(/presented as a server on 4 flows: CN=worker-1@1756684800\n/);
    expect(r.out).toMatch(/sent as a client on 1 flow: CN=system:node:worker-1,O=system:nodes\n/);
    expect(r.out).toMatch(/← 10\.0\.0\.10 \(apiserver\) port 10250, apiserver-to-kubelet: 4 flows, [\d.]+ KB ! high\n/);
    expect(r.out).toMatch(/→ 10\.0\.0\.10 \(apiserver\) port 6443, node-to-apiserver: 1 flow, /);
  });

  it("--json gives the dashboard's documents", async () => {
    const app = await buildApp({ dbFile: db });
    try {
      const one = (await app.inject({ method: 'GET', url: '/api/endpoints/10.0.0.21' })).json();
      expect(JSON.parse(cli(['endpoints', '10.0.0.21', '--db', db, '--json']).out)).toEqual(one);
      const list = (await app.inject({ method: 'GET', url: '/api/endpoints?limit=100' })).json();
      expect(JSON.parse(cli(['endpoints', '--db', db, '--json']).out)).toEqual(list.items);
    } finally {
      await app.close();
    }
  });

  it('says when an address is unknown, and refuses an unknown role or order', () => {
    const none = cli(['endpoints', '192.0.2.99', '--db', db]);
    expect(none.code).toBe(2);
    expect(none.err).toBe('planewatch endpoints: no endpoint 192.0.2.99 in the database\n');
    const role = cli(['endpoints', '--db', db, '--role', 'kubelets']);
    expect(role.code).toBe(2);
    expect(role.err).toMatch(/unknown role "kubelets" \(one of: apiserver, kubelet, /);
    expect(cli(['endpoints', '--db', db, '--sort', 'size']).code).toBe(2);
  });
});
