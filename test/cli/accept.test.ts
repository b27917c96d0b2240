import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../..');
const SAMPLES = join(ROOT, 'captures/samples');
const KUBELET = join(SAMPLES, 'kubelet-logs-exec-self-signed.pcap'); // 4 × kubelet-tls-unverified (high), 10.0.0.21:10250
const SSH = join(SAMPLES, 'ssh-tunnel.pcap'); // 1 × ssh-tunnel-deprecated (low)
const dir = mkdtempSync(join(tmpdir(), 'planewatch-accept-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { encoding: 'utf8', cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const REASON = 'lab cluster: kubelet serving certificates are self-signed until OPS-123';
const accept = file('accept.yaml', `# risks accepted for now
accept:
  - rule: kubelet-tls-unverified
    server: 10.0.0.0/24
    port: 10250
    reason: "${REASON}"
    until: 2099-12-31
`);
const expired = file('expired.yaml', `accept:
  - rule: kubelet-tls-unverified
    reason: was accepted for the migration
    until: 2020-01-31
`);

function counts(db: string) {
  const d = new Database(db, { readonly: true });
  try {
    return {
      open: d.prepare(`SELECT rule FROM findings ORDER BY rule`).pluck().all(),
      accepted: d.prepare(`SELECT COUNT(*) FROM accepted_findings`).pluck().get(),
      kubeletFlowsCounted: d.prepare(`SELECT SUM(finding_count) FROM flows WHERE server_port = 10250`).pluck().get(),
    };
  } finally {
    d.close();
  }
}

describe('accepted findings (--accept)', () => {
  it('keep an accepted risk from failing --fail-on, and say so in the summary', () => {
    const without = cli(['analyze', KUBELET, '--fail-on', 'high']);
    expect(without.code).toBe(1);
    const withAccept = cli(['analyze', KUBELET, '--fail-on', 'high', '--accept', accept]);
    expect(withAccept.code).toBe(0);
    expect(withAccept.stdout).toMatch(/Findings: critical 0, high 0,/);
    expect(withAccept.stdout).toMatch(/Accepted: 4 findings accepted as risks \(--accept\), not counted above/);
    expect(withAccept.stdout).toContain(`kubelet-tls-unverified      4     ${REASON}`);
    // A finding the file does not cover still fails the run.
    expect(cli(['analyze', KUBELET, SSH, '--fail-on', 'low', '--accept', accept]).code).toBe(1);
  });

  it('store them apart with their reason, and list them on request', () => {
    const db = join(dir, 'a.db');
    expect(cli(['analyze', KUBELET, SSH, '--db', db, '--accept', accept]).code).toBe(0);
    expect(counts(db)).toEqual({ open: ['ssh-tunnel-deprecated'], accepted: 4, kubeletFlowsCounted: 0 });
    const d = new Database(db, { readonly: true });
    expect(d.prepare(`SELECT DISTINCT rule, severity, reason, until, accepted_by, path, server_port FROM v_accepted_findings`).all()).toEqual([
      { rule: 'kubelet-tls-unverified', severity: 'high', reason: REASON, until: '2099-12-31', accepted_by: `${accept}#1`, path: 'apiserver-to-kubelet', server_port: 10250 },
    ]);
    expect(d.prepare(`SELECT kind FROM analysis_inputs`).pluck().all()).toEqual(['accept']);
    // What happened is still there for an incident responder: the kubelets reached over unverified TLS, accepted or not.
    expect(d.prepare(`SELECT DISTINCT kubelet, port, accepted FROM v_kubelet_unverified`).all()).toEqual([{ kubelet: '10.0.0.21', port: 10250, accepted: REASON }]);
    d.close();

    const open = cli(['findings', '--db', db]);
    expect(open.stdout).toContain('ssh-tunnel-deprecated');
    expect(open.stdout).not.toContain('kubelet-tls-unverified');
    expect(open.stdout).toContain('(4 findings accepted as risks not listed: --accepted lists them)');
    const listed = cli(['findings', '--db', db, '--accepted']);
    expect(listed.stdout.match(/\[high\] kubelet-tls-unverified/g)).toHaveLength(4);
    expect(listed.stdout).toContain(`accepted: ${REASON} (until 2099-12-31; ${accept}#1)`);
    expect(listed.stdout).not.toContain('ssh-tunnel-deprecated');
    const json = JSON.parse(cli(['findings', '--db', db, '--accepted', '--json']).stdout) as { reason: string }[];
    expect(json.map((r) => r.reason)).toEqual([REASON, REASON, REASON, REASON]);
    expect(cli(['findings', '--db', db, '--accepted', '--rule', 'ssh-tunnel-deprecated']).stdout).toBe('no accepted findings\n');
  });

  it('put them in the JSON output apart from the findings, and name them on their flows', () => {
    const r = cli(['analyze', KUBELET, SSH, '--json', '--accept', accept]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      flows: { id: string; server: { port: number }; findings: string[]; acceptedFindings: string[] }[];
      findings: { rule: string }[];
      acceptedFindings: { rule: string; flowId: string; accepted: { reason: string; until: string | null; source: string } }[];
    };
    expect(out.findings.map((f) => f.rule)).toEqual(['ssh-tunnel-deprecated']);
    expect(out.acceptedFindings).toHaveLength(4);
    expect(out.acceptedFindings[0]!.accepted).toEqual({ reason: REASON, until: '2099-12-31', source: `${accept}#1` });
    for (const f of out.flows) {
      expect(f.acceptedFindings).toEqual(f.server.port === 10250 ? ['kubelet-tls-unverified'] : []);
      if (f.server.port === 10250) expect(f.findings).toEqual([]);
    }
    const ndjson = cli(['analyze', KUBELET, '--ndjson', '--accept', accept]).stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(ndjson.filter((o) => o.type === 'accepted-finding')).toHaveLength(4);
    expect(ndjson.filter((o) => o.type === 'finding')).toHaveLength(0);
  });

  it('are kept by later runs on the database until replaced, dropped with --no-accept, and end with their date', () => {
    const db = join(dir, 'b.db');
    expect(cli(['analyze', KUBELET, '--db', db, '--accept', accept]).code).toBe(0);
    // Another capture into the same database, and a reclassify, without --accept: the stored file still applies.
    expect(cli(['analyze', SSH, '--db', db]).code).toBe(0);
    expect(counts(db)).toEqual({ open: ['ssh-tunnel-deprecated'], accepted: 4, kubeletFlowsCounted: 0 });
    const again = cli(['reclassify', '--db', db]);
    expect(again.stdout).toMatch(/: 1 findings \(and 4 accepted as risks\)/);
    expect(counts(db).accepted).toBe(4);

    const dropped = cli(['reclassify', '--db', db, '--no-accept']);
    expect(dropped.code).toBe(0);
    expect(counts(db)).toEqual({ open: ['kubelet-tls-unverified', 'kubelet-tls-unverified', 'kubelet-tls-unverified', 'kubelet-tls-unverified', 'ssh-tunnel-deprecated'], accepted: 0, kubeletFlowsCounted: 4 });

    const ended = cli(['reclassify', '--db', db, '--accept', expired]);
    expect(ended.code).toBe(0);
    expect(ended.stderr).toContain(`planewatch: ${expired}#1 (kubelet-tls-unverified) was accepted until 2020-01-31: its findings are open again`);
    expect(counts(db).accepted).toBe(0);
    expect(cli(['analyze', KUBELET, '--fail-on', 'high', '--accept', expired]).code).toBe(1);

    const d = new Database(db, { readonly: true });
    expect(d.pragma('integrity_check', { simple: true })).toBe('ok');
    d.close();
  });

  it('scope an entry by the name planewatch knows a server by (here the kubelet certificate\'s node)', () => {
    const byName = file('by-name.yaml', 'accept:\n  - rule: kubelet-tls-unverified\n    serverName: worker-*\n    reason: lab nodes\n');
    const other = file('other-name.yaml', 'accept:\n  - rule: kubelet-tls-unverified\n    serverName: edge-*\n    reason: edge nodes\n');
    expect(cli(['analyze', KUBELET, '--fail-on', 'high', '--accept', byName]).code).toBe(0);
    expect(cli(['analyze', KUBELET, '--fail-on', 'high', '--accept', other]).code).toBe(1);
  });

  it('refuse a file with a mistake, naming the file and the entry, before anything is written', () => {
    const bad = file('bad.yaml', 'accept:\n  - rule: kubelet-tls-unverified\n    sever: 10.0.0.21\n    reason: typo\n');
    const db = join(dir, 'bad.db');
    const r = cli(['analyze', KUBELET, '--db', db, '--accept', bad]);
    expect(r.code).toBe(4);
    expect(r.stderr).toBe(`planewatch: ${bad}#1: unknown key "sever" (known: rule, client, server, clientName, serverName, port, path, evidence, reason, until)\n`);
    expect(existsSync(db)).toBe(false);
    expect(cli(['reclassify', '--db', join(dir, 'a.db'), '--accept', join(dir, 'missing.yaml')]).stderr).toMatch(/missing\.yaml: cannot read accepted findings/);
  });
});
