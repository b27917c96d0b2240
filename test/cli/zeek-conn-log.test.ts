import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zeekConnJsonLines, zeekConnTsvLines, type ZeekConnRow } from '../../src/report/zeek/conn-log';
import { zeekCut } from './zeek-cut';

/** `planewatch flows --zeek` / `--zeek-json`: the stored connections as Zeek's conn.log. */
const ROOT = join(__dirname, '../..');
const SAMPLES = join(ROOT, 'captures/samples');
const dir = mkdtempSync(join(tmpdir(), 'pw-zeek-'));
const db = join(dir, 'z.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { encoding: 'utf8', cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface JsonFlow { id: string; client: string; server: string; app: string; path: string; state: string; community_id: string; findings: string | null }

describe('flows as a Zeek conn.log', () => {
  beforeAll(() => {
    const inv = ['--inventory', join(ROOT, 'captures/inventory.json'), '--ca', join(ROOT, 'captures/cluster-ca.pem')];
    expect(cli(['analyze', join(SAMPLES, 'kubelet-logs-exec-self-signed.pcap'), join(SAMPLES, 'ssh-tunnel.pcap'), '--db', db, '--quiet', ...inv]).code).toBe(0);
  });

  it("writes Zeek's header and one line per flow, each field what the flow holds", () => {
    const r = cli(['flows', '--db', db, '--zeek']);
    expect(r.code).toBe(0);
    const { header, rows } = zeekCut(r.stdout);
    expect(header.get('separator')).toBe('\\x09');
    expect(header.get('set_separator')).toBe(',');
    expect(header.get('path')).toBe('conn');
    expect(header.get('open')).toMatch(/^\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d$/);
    expect(header.get('close')).toMatch(/^\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d$/);
    expect(header.get('fields')!.split('\t').slice(0, 8)).toEqual(['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service']);
    expect(header.get('types')!.split('\t')).toHaveLength(header.get('fields')!.split('\t').length);
    // Every flow (no default limit for a log), in the order `flows` lists them.
    const listed = JSON.parse(cli(['flows', '--db', db, '--json']).stdout) as JsonFlow[];
    expect(rows.map((z) => z.uid)).toEqual(listed.map((f) => f.id));
    for (const [i, z] of rows.entries()) {
      const f = listed[i]!;
      expect(`${z['id.orig_h']}:${z['id.orig_p']}`).toBe(f.client);
      expect(`${z['id.resp_h']}:${z['id.resp_p']}`).toBe(f.server);
      expect(z.proto).toBe('tcp');
      expect(z.service).toBe(f.app === 'tls' ? 'ssl' : f.app);
      expect(z.conn_state).toBe(f.state);
      expect(z.community_id).toBe(f.community_id);
      expect(z.planewatch_path).toBe(f.path);
      expect(z.planewatch_findings).toBe(f.findings ?? '(empty)');
      expect(z.duration).toMatch(/^\d+\.\d{6}$/);
      // Local: inside the cluster the stored inventory declares (every address of these samples is).
      expect([z.local_orig, z.local_resp]).toEqual(['T', 'T']);
      expect(z.tunnel_parents).toBe('-');
    }
    expect(rows.map((z) => z.service)).toEqual(['ssl', 'ssl', 'ssl', 'ssl', 'ssh']);
    expect(rows[0]!.planewatch_findings.split(',')).toContain('kubelet-tls-unverified');
  });

  it('payload bytes and IP bytes per side, as Zeek counts them', () => {
    const { rows } = zeekCut(cli(['flows', '--db', db, '--zeek', '--path', 'ssh-tunnel']).stdout);
    const json = JSON.parse(cli(['analyze', join(SAMPLES, 'ssh-tunnel.pcap'), '--json']).stdout) as {
      flows: { packets: [number, number]; bytes: [number, number]; payloadBytes: [number, number]; history: string }[];
    };
    const f = json.flows[0]!;
    expect(rows).toHaveLength(1);
    const z = rows[0]!;
    expect([z.orig_pkts, z.resp_pkts].map(Number)).toEqual(f.packets);
    expect([z.orig_ip_bytes, z.resp_ip_bytes].map(Number)).toEqual(f.bytes);
    expect([z.orig_bytes, z.resp_bytes].map(Number)).toEqual(f.payloadBytes);
    expect(z.history).toBe(f.history);
    expect(z.missed_bytes).toBe('0');
  });

  it("--zeek-json writes Zeek's JSON lines: unset fields left out, sets as arrays", () => {
    const r = cli(['flows', '--db', db, '--zeek-json', '--limit', '2']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ uid: 'c1f1', proto: 'tcp', service: 'ssl', conn_state: 'SF', planewatch_path: 'apiserver-to-kubelet' });
    expect(typeof lines[0]!['id.orig_p']).toBe('number');
    expect(lines[0]!.planewatch_findings).toEqual(expect.arrayContaining(['kubelet-tls-unverified']));
    expect(lines[0]).toMatchObject({ local_orig: true, local_resp: true });
    expect(lines[0]).not.toHaveProperty('tunnel_parents');
  });

  it('local_orig and local_resp say who is outside the cluster of the inventory, and stay unset without one', () => {
    const sample = join(SAMPLES, 'untrusted-network.pcap');
    const withInventory = join(dir, 'inv.db');
    expect(cli(['analyze', sample, '--db', withInventory, '--quiet', '--inventory', join(ROOT, 'captures/inventory.json')]).code).toBe(0);
    const outside = zeekCut(cli(['flows', '--db', withInventory, '--zeek', '--finding', 'untrusted-network']).stdout).rows;
    expect(outside.length).toBeGreaterThan(0);
    for (const z of outside) expect([z['id.orig_h'], z.local_orig, z.local_resp]).toEqual(['203.0.113.7', 'F', 'T']);
    const without = join(dir, 'no-inv.db');
    expect(cli(['analyze', sample, '--db', without, '--quiet']).code).toBe(0);
    for (const z of zeekCut(cli(['flows', '--db', without, '--zeek']).stdout).rows) expect([z.local_orig, z.local_resp]).toEqual(['-', '-']);
  });

  it('one output format at a time', () => {
    const r = cli(['flows', '--db', db, '--zeek', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('choose one of --json, --zeek and --zeek-json');
  });

  it("as Zeek does, a connection of one instant has no duration or payload counts; strings are escaped", () => {
    const row: ZeekConnRow = {
      ts: 1700000000.5, last_ts: 1700000000.5, uid: 'c1f9', orig_h: 'fd00::1', orig_p: 40000, resp_h: 'fd00::2', resp_p: 6443,
      proto: 'tcp', app: 'unknown', orig_bytes: 0, resp_bytes: 0, conn_state: 'S0', missed_bytes: 0, history: 'S', orig_pkts: 1,
      orig_ip_bytes: 80, resp_pkts: 0, resp_ip_bytes: 0, community_id: '1:x', path: 'other', findings: null,
      capture: 1, tunnel: null,
    };
    const lines = [...zeekConnTsvLines([row, { ...row, uid: 'tab\there', path: null, findings: 'a,b' }], null, () => new Date(0))];
    const { rows } = zeekCut(lines.join(''));
    expect(rows[0]).toMatchObject({ ts: '1700000000.500000', service: '-', duration: '-', orig_bytes: '-', resp_bytes: '-', conn_state: 'S0', orig_pkts: '1', planewatch_findings: '(empty)' });
    expect(rows[1]).toMatchObject({ uid: 'tab\\x09here', planewatch_path: '-', planewatch_findings: 'a,b' });
    expect(JSON.parse([...zeekConnJsonLines([row])][0]!)).not.toHaveProperty('duration');
  });
});
