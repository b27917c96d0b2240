import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/web/app';
import { conversationFrames, pcapOf, readOnlyPortRequest } from '../live/packets';

/**
 * `planewatch show`: one flow with everything known about it — the dashboard's flow page as text,
 * and with --json the very document GET /api/flows/:id answers.
 */
const ROOT = join(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'planewatch-show-'));
const db = join(dir, 's.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function flowsOf(where: string): { id: number; key: string }[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(`SELECT f.id, f.flow_key AS key FROM flows f JOIN captures c ON c.id = f.capture_id WHERE ${where} ORDER BY f.id`).all() as { id: number; key: string }[];
  } finally {
    d.close();
  }
}

beforeAll(() => {
  for (const f of ['kubelet-logs-tls13.dsb.pcapng', 'ssh-tunnel.pcap', 'other-traffic.pcap']) copyFileSync(join(ROOT, 'captures/samples', f), join(dir, f));
  // A user agent carrying an escape sequence, as an attacker's client may send.
  writeFileSync(join(dir, 'hostile.pcap'), pcapOf(conversationFrames(readOnlyPortRequest('10.0.0.10', '10.0.0.21', 40000))));
  const r = cli(['analyze', 'kubelet-logs-tls13.dsb.pcapng', 'ssh-tunnel.pcap', 'other-traffic.pcap', 'hostile.pcap', '--db', db, '--quiet']);
  expect(r.err).toBe('');
}, 60_000);

describe('planewatch show', () => {
  it('--json is the document the dashboard serves for the flow', async () => {
    const app = await buildApp({ dbFile: db });
    try {
      for (const f of flowsOf('1')) {
        const viaCli = JSON.parse(cli(['show', f.key, '--db', db, '--json']).out) as unknown;
        const viaApi = (await app.inject({ method: 'GET', url: `/api/flows/${f.id}` })).json() as unknown;
        expect(viaCli, f.key).toEqual(viaApi);
      }
    } finally {
      await app.close();
    }
  });

  it('prints a TLS connection: sides with roles and names, path and reasons, findings, the handshake and chains with the verdict, requests', () => {
    const [k] = flowsOf(`c.file LIKE '%tls13.dsb.pcapng' AND f.server_port = 10250`);
    const r = cli(['show', k!.key, '--db', db]);
    expect(r.code).toBe(0);
    const text = r.out;
    expect(text).toMatch(new RegExp(`^Flow ${k!.key}: 10\\.0\\.0\\.10:\\d+ \\(apiserver\\) → 10\\.0\\.0\\.23:10250 \\(kubelet worker-3\\)\\n`));
    expect(text).toMatch(/\n {2}State {9}SF, history \S+, ended: fin\n/);
    expect(text).toMatch(/\nPath apiserver-to-kubelet \(operation: logs\), confidence 0\.\d\d\n {2}· 10\.0\.0\.23:10250 is a kubelet/);
    expect(text).toMatch(/\nFindings \(1\)\n {2}! high kubelet-tls-unverified: Kubelet TLS that the API server cannot be verifying\n {6}evidence: .*self-signed.*\(frame \d+\)\n {6}recommendation: .*\n {6}reference: https:\/\/kubernetes\.io\/docs\/concepts\/architecture\/control-plane-node-communication\/#api-server-to-kubelet · CIS/);
    expect(text).toMatch(/\nTLS 1\.3, cipher TLS_AES_\w+\n/);
    expect(text).toContain('  Certificate verification: unverified\n');
    expect(text).toMatch(/\n {2}Server chain:\n {4}#0 CN=worker-3@\d+ \[self-signed\]\n/);
    expect(text).toMatch(/\n {2}#0 \S+ \S+ frame \d+: GET \/containerLogs\/default\/db-0\/web\?follow=true → 200 OK\n/);
    expect(text).toMatch(/\nPackets: planewatch extract \S+ -o FILE writes them; planewatch follow \S+ prints the conversation\n$/);
  });

  it('prints SSH banners and DNS answers, and keeps escape sequences from the wire off the terminal', () => {
    const [ssh] = flowsOf(`c.file = 'ssh-tunnel.pcap' AND f.app = 'ssh'`);
    expect(cli(['show', ssh!.key, '--db', db]).out).toMatch(/\nSSH SSH-2\.0-\S+ \/ SSH-2\.0-\S+; HASSH [0-9a-f]{32} \/ [0-9a-f]{32}\n/);
    const [dns] = flowsOf(`c.file = 'other-traffic.pcap' AND f.app = 'dns'`);
    expect(cli(['show', dns!.key, '--db', db]).out).toMatch(/\nDNS \(\d+\)\n {2}\S+ \S+ A \S+ → NOERROR: A \d+\.\d+\.\d+\.\d+/);
    const [hostile] = flowsOf(`c.file = 'hostile.pcap'`);
    const out = cli(['show', hostile!.key, '--db', db]).out;
    expect(out).toContain('UA kube\uFFFD[31mEVIL');
    expect(out).not.toContain('\x1b');
  });

  it('says so when there is no such flow', () => {
    const r = cli(['show', 'c9f99', '--db', db]);
    expect(r.code).toBe(2);
    expect(r.err).toBe('planewatch show: no flow c9f99 in the database (a flow id as `planewatch flows` prints it (e.g. c1f8) or a Community ID)\n');
    expect(r.out).toBe('');
  });
});
