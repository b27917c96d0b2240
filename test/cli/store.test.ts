import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { writeScaleCapture } from '../../captures/generate/scale';
import { openStore } from '../../src/store/store';
import { buildApp } from '../../src/web/app';

const ROOT = join(__dirname, '../..');
const SAMPLES = join(ROOT, 'captures/samples');
const dir = mkdtempSync(join(tmpdir(), 'planewatch-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function indexNames(db: Database.Database): string[] {
  return db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name`).pluck().all() as string[];
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { encoding: 'utf8', cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const inv = ['--inventory', join(ROOT, 'captures/inventory.json'), '--inventory', join(ROOT, 'captures/planewatch-cluster.json'), '--ca', join(ROOT, 'captures/cluster-ca.pem')];

describe('the SQLite store through the CLI', () => {
  const db = join(dir, 'a.db');

  it('keeps several captures in one database and recognises a capture ingested twice', () => {
    expect(cli(['analyze', join(SAMPLES, 'kubelet-logs-exec-self-signed.pcap'), '--db', db, ...inv]).code).toBe(0);
    expect(cli(['analyze', join(SAMPLES, 'ssh-tunnel.pcap'), '--db', db]).code).toBe(0);
    const again = cli(['analyze', join(SAMPLES, 'ssh-tunnel.pcap'), '--db', db]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already in the database as capture \d+/);
    const d = new Database(db, { readonly: true });
    expect(d.prepare(`SELECT COUNT(*) FROM captures`).pluck().get()).toBe(2);
    expect(d.prepare(`SELECT COUNT(DISTINCT status) FROM captures WHERE status = 'complete'`).pluck().get()).toBe(1);
    expect(d.pragma('journal_mode', { simple: true })).toBe('wal');
    // The inventory of the first run is kept for later runs: the kubelet finding still rests on the CA.
    expect(d.prepare(`SELECT COUNT(*) FROM analysis_inputs`).pluck().get()).toBe(3);
    expect(d.prepare(`SELECT COUNT(*) FROM v_kubelet_unverified`).pluck().get()).toBeGreaterThan(0);
    // The first run loaded an empty database with its indexes set aside; they were all built again.
    expect(indexNames(d)).toEqual(indexNames(openStore(':memory:')));
    expect(d.prepare(`SELECT COUNT(*) FROM deferred_indexes`).pluck().get()).toBe(0);
    d.close();
  });

  it('the same capture twice in one run into an empty database: stored once, every index built', () => {
    const twice = join(dir, 'twice.db');
    const sample = join(SAMPLES, 'kubelet-logs-exec-self-signed.pcap');
    const r = cli(['analyze', sample, sample, '--db', twice, ...inv]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/already in the database as capture 1/);
    const d = new Database(twice, { readonly: true });
    expect(d.prepare(`SELECT COUNT(DISTINCT capture_id) FROM flows`).pluck().get()).toBe(1);
    expect(indexNames(d)).toEqual(indexNames(openStore(':memory:')));
    expect(d.pragma('integrity_check', { simple: true })).toBe('ok');
    // The verdicts given while storing the duplicate went with it; what is left is what a pass over
    // the database gives.
    const verdicts = () => ({
      flows: d.prepare(`SELECT flow_key, path, path_detail, confidence, reasons, finding_count FROM flows ORDER BY id`).all(),
      findings: d.prepare(`SELECT fl.flow_key, f.rule, f.evidence FROM findings f JOIN flows fl ON fl.id = f.flow_id ORDER BY 1, 2, 3`).all(),
    });
    const stored = verdicts();
    expect(stored.findings.length).toBeGreaterThan(0);
    expect(d.prepare(`SELECT COUNT(*) FROM findings WHERE flow_id NOT IN (SELECT id FROM flows)`).pluck().get()).toBe(0);
    expect(cli(['reclassify', '--db', twice]).code).toBe(0);
    expect(verdicts()).toEqual(stored);
    d.close();
  });

  it('answers "which kubelets were reached over unverified TLS, by whom, when" with one query', () => {
    const r = cli(['query', 'SELECT kubelet, client, first_seen FROM v_kubelet_unverified ORDER BY first_seen', '--db', db, '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]).toMatchObject({ kubelet: '10.0.0.21', client: '10.0.0.10', first_seen: expect.stringMatching(/^2026-03-02 /) });
  });

  it('query opens the database read-only', () => {
    const r = cli(['query', 'DELETE FROM flows', '--db', db]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/readonly|read-only/i);
    const d = new Database(db, { readonly: true });
    expect(d.prepare(`SELECT COUNT(*) FROM flows`).pluck().get()).toBeGreaterThan(0);
    d.close();
  });

  it('reclassify gives the same result as the analysis', () => {
    const d1 = new Database(db, { readonly: true });
    const before = d1.prepare(`SELECT flow_id, rule FROM findings ORDER BY flow_id, rule`).all();
    const paths = d1.prepare(`SELECT id, path, path_detail, confidence FROM flows ORDER BY id`).all();
    d1.close();
    expect(cli(['reclassify', '--db', db]).code).toBe(0);
    const d2 = new Database(db, { readonly: true });
    expect(d2.prepare(`SELECT flow_id, rule FROM findings ORDER BY flow_id, rule`).all()).toEqual(before);
    expect(d2.prepare(`SELECT id, path, path_detail, confidence FROM flows ORDER BY id`).all()).toEqual(paths);
    d2.close();
  });

  it('learning the topology while ingesting gives what learning it from the database gives', () => {
    // Into an empty database analyze learns the topology as flows are stored; reclassify reads them
    // back. Every sample at once, so that connections inform each other.
    const fresh = join(dir, 'fresh.db');
    const samples = readdirSync(SAMPLES).filter((f) => /^[a-z0-9-]+\.pcap$/.test(f)).map((f) => join(SAMPLES, f));
    expect(samples.length).toBeGreaterThan(15);
    expect(cli(['analyze', ...samples, '--db', fresh, '--quiet', ...inv]).code).toBe(0);
    const snapshot = () => {
      const d = new Database(fresh, { readonly: true });
      const s = {
        flows: d.prepare(`SELECT id, path, path_detail, confidence, reasons, worst_severity FROM flows ORDER BY id`).all(),
        findings: d.prepare(`SELECT flow_id, rule, title, evidence FROM findings ORDER BY flow_id, rule, id`).all(),
        endpoints: d.prepare(`SELECT * FROM endpoints ORDER BY ip`).all(),
      };
      d.close();
      return s;
    };
    const ingested = snapshot();
    expect(ingested.findings.length).toBeGreaterThan(10);
    expect(cli(['reclassify', '--db', fresh]).code).toBe(0);
    expect(snapshot()).toEqual(ingested);
  });

  it('findings and flows commands filter and print', () => {
    const f = cli(['findings', '--db', db, '--severity', 'high']);
    expect(f.code).toBe(0);
    expect(f.stdout).toMatch(/kubelet-tls-unverified/);
    expect(f.stdout).not.toMatch(/\[low\]/);
    const fl = cli(['flows', '--db', db, '--path', 'ssh-tunnel', '--json']);
    expect(JSON.parse(fl.stdout).every((r: any) => r.path === 'ssh-tunnel')).toBe(true);
    // By Zeek connection state: the samples' connections all opened and closed (SF).
    const all = JSON.parse(cli(['flows', '--db', db, '--json']).stdout) as { id: string; state: string }[];
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((r) => r.state === 'SF')).toBe(true);
    expect(JSON.parse(cli(['flows', '--db', db, '--state', 'SF', '--json']).stdout)).toEqual(all);
    expect(JSON.parse(cli(['flows', '--db', db, '--state', 'S0,REJ', '--json']).stdout)).toEqual([]);
    expect(cli(['findings', '--db', db, '--severity', 'bogus']).code).toBe(2);
    // The table shows a path's detail as key=value pairs (blank where there is none); JSON keeps it as stored.
    const table = cli(['flows', '--db', db]).stdout;
    expect(table).toMatch(/ apiserver-to-kubelet +operation=unknown +0\.\d+ /);
    expect(table).toMatch(/ ssh-tunnel +0\.\d+ /);
    expect(all.map((r) => (r as unknown as { detail: string }).detail)).toContain('{"operation":"unknown"}');
  });

  it('findings and flows of one capture of several, named by id or by file', () => {
    // Capture 1 is the kubelet sample, capture 2 the SSH tunnel (see the first test).
    const ssh = JSON.parse(cli(['flows', '--db', db, '--capture', 'ssh-tunnel.pcap', '--json']).stdout) as { path: string }[];
    expect(ssh.map((r) => r.path)).toEqual(['ssh-tunnel']);
    expect(JSON.parse(cli(['flows', '--db', db, '--capture', join(SAMPLES, 'ssh-tunnel.pcap'), '--json']).stdout)).toEqual(ssh);
    const first = JSON.parse(cli(['findings', '--db', db, '--capture', '1', '--json']).stdout) as { rule: string; capture_id: number }[];
    expect(first.length).toBeGreaterThan(0);
    expect(new Set(first.map((r) => `${r.capture_id} ${r.rule}`))).toEqual(new Set(['1 kubelet-tls-unverified']));
    expect(JSON.parse(cli(['findings', '--db', db, '--capture', '2', '--json']).stdout).map((r: { rule: string }) => r.rule)).toEqual(['ssh-tunnel-deprecated']);
    const unknown = cli(['findings', '--db', db, '--capture', 'nope.pcap']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^planewatch findings: no capture "nope\.pcap" in the database \(captures: 1 \S+kubelet-logs-exec-self-signed\.pcap; 2 \S+ssh-tunnel\.pcap\)\n$/);
    expect(cli(['flows', '--db', db, '--capture', '9']).code).toBe(2);
  });

  it('flows --credential finds where a credential was used, by its holder or its hash; the finding names the holder', () => {
    const cdb = join(dir, 'credentials.db');
    expect(cli(['analyze', join(SAMPLES, 'bearer-token-cleartext.pcap'), join(SAMPLES, 'ssh-tunnel.pcap'), '--db', cdb, '--quiet', ...inv]).code).toBe(0);
    const bySubject = JSON.parse(cli(['flows', '--db', cdb, '--credential', 'system:serviceaccount:ci:runner', '--json']).stdout) as { id: string; server: string }[];
    expect(bySubject.map((r) => r.server)).toEqual(['10.0.0.10:8080']);
    const d = new Database(cdb, { readonly: true });
    const hash = d.prepare(`SELECT auth_hash FROM v_credentials WHERE subject = 'system:serviceaccount:ci:runner' AND cleartext = 1`).pluck().get() as string;
    d.close();
    expect(hash).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(JSON.parse(cli(['flows', '--db', cdb, '--credential', hash, '--json']).stdout)).toEqual(bySubject);
    expect(JSON.parse(cli(['flows', '--db', cdb, '--credential', 'system:serviceaccount:ci:other', '--json']).stdout)).toEqual([]);
    const found = cli(['findings', '--db', cdb, '--rule', 'bearer-token-cleartext']).stdout;
    expect(found).toContain(`(${hash}; service account ci/runner, no expiry) sent in cleartext`);
    // `credentials`: one line per credential, whose, where, and in cleartext or not.
    const table = cli(['credentials', '--db', cdb]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^${hash} +bearer +service account ci/runner +yes +1 +10\\.244\\.1\\.6 +10\\.0\\.0\\.10:8080 `, 'm'));
    const listed = JSON.parse(cli(['credentials', '--db', cdb, '--cleartext', '--subject', 'CI:RUN', '--json']).stdout);
    expect(listed).toEqual([expect.objectContaining({ credential: hash, subject: 'system:serviceaccount:ci:runner', cleartext: true, requests: 1, clients: ['10.244.1.6'], servers: ['10.0.0.10:8080'] })]);
    expect(JSON.parse(cli(['credentials', '--db', cdb, '--subject', 'kube-system', '--json']).stdout)).toEqual([]);
    // The summary analyze prints says how many, and where to read them.
    const summary = cli(['analyze', join(SAMPLES, 'bearer-token-cleartext.pcap'), '--db', join(dir, 'credentials-summary.db'), ...inv]);
    expect(summary.stdout).toMatch(/^Credentials: 1 credential seen in readable requests, 1 in cleartext \(whose, and where: planewatch credentials --db \S+credentials-summary\.db\)$/m);
    expect(summary.stdout).toMatch(/^Requests: 1 request read, 0 into a pod \(exec, attach, port-forward\), 0 refused \(401, 403\) \(each: planewatch requests --db \S+credentials-summary\.db\)$/m);
    const none = cli(['analyze', join(SAMPLES, 'ssh-tunnel.pcap'), '--db', join(dir, 'no-credentials.db')]).stdout;
    expect(none).not.toMatch(/^Credentials:/m);
    expect(none).not.toMatch(/^Requests:/m);
  });

  it('findings: JSON as one array, --limit, a --summary per finding id', () => {
    const all = JSON.parse(cli(['findings', '--db', db, '--json']).stdout) as { rule: string; severity_rank: number }[];
    expect(all.length).toBeGreaterThan(2);
    const ranks = all.map((r) => r.severity_rank);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    const two = JSON.parse(cli(['findings', '--db', db, '--json', '--limit', '2']).stdout);
    expect(two).toEqual(all.slice(0, 2));
    // A known rule with nothing to show is an empty list; a misspelt one is a usage error, not "none".
    expect(JSON.parse(cli(['findings', '--db', db, '--json', '--rule', 'etcd-plaintext']).stdout)).toEqual([]);
    for (const [command, option, value] of [
      ['findings', '--rule', 'kubelet-tls-unverifed'], ['findings', '--path', 'apiserver-to-kublet'],
      ['flows', '--finding', 'no-such-rule'], ['flows', '--path', 'nope'], ['flows', '--app', 'quic'], ['flows', '--state', 'S9'],
    ]) {
      const r = cli([command!, '--db', db, option!, value!]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`"${value}"`);
    }
    const summary = JSON.parse(cli(['findings', '--db', db, '--summary', '--json']).stdout) as { rule: string; findings: number }[];
    const counts = new Map<string, number>();
    for (const r of all) counts.set(r.rule, (counts.get(r.rule) ?? 0) + 1);
    expect(new Map(summary.map((r) => [r.rule, r.findings]))).toEqual(counts);
    expect(cli(['findings', '--db', db, '--summary']).stdout).toMatch(/^rule\s+severity\s+findings\s+clients\s+servers/);
    expect(cli(['findings', '--db', db, '--limit', '0']).code).toBe(2);
  });

  it('stops quietly when the reader of its output goes away', () => {
    // `planewatch query … | head -1` with far more output than a pipe holds: the pipe closes early.
    const many = 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 300000) SELECT i, i * 2 AS twice FROM n';
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${join(ROOT, 'bin/planewatch.js')}" query "${many}" --db "${db}" | head -1; echo "exit \${PIPESTATUS[0]}" >&2`], {
      encoding: 'utf8',
      cwd: dir,
    });
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/EPIPE|Error|\bat /);
    expect(r.stderr).toMatch(/exit 0/);
  });

  it('a process killed mid-ingest leaves an intact database with the capture marked incomplete', async () => {
    const big = join(dir, 'big.pcap');
    await writeScaleCapture({ out: big, bytes: 150e6, nodes: 50, seed: 7, pkiDir: join(ROOT, 'captures/pki') });
    const killed = join(dir, 'killed.db');
    const child = spawn(process.execPath, [join(ROOT, 'bin/planewatch.js'), 'analyze', big, '--db', killed, '--quiet'], { stdio: 'ignore' });
    const deadline = Date.now() + 60_000;
    let rows = 0;
    while (Date.now() < deadline && rows === 0) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        const d = new Database(killed, { readonly: true, fileMustExist: true });
        rows = d.prepare(`SELECT COUNT(*) FROM flows`).pluck().get() as number;
        d.close();
      } catch {
        rows = 0;
      }
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(rows).toBeGreaterThan(0);
    const check = new Database(killed);
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    // The load into an empty database had set its indexes aside; they are still on record.
    const setAside = check.prepare(`SELECT COUNT(*) FROM deferred_indexes`).pluck().get() as number;
    expect(setAside).toBeGreaterThan(0);
    check.close();
    // Read-only commands cannot mark it, but do not take it for a load still running: they say it
    // was cut off, and the dashboard's API lists it as incomplete.
    for (const command of [['findings', '--summary'], ['flows', '--limit', '5']]) {
      const r = cli([...command, '--db', killed]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/capture 1 \(.*big\.pcap\) was cut off mid-ingest: .* planewatch reclassify --db /);
    }
    const api = await buildApp({ dbFile: killed, logger: false });
    const captures = (await api.inject({ url: '/api/captures' })).json() as { items: { status: string }[] };
    const version = (await api.inject({ url: '/api/version' })).json() as { live: boolean; captures: { status: string }[] };
    const summary = (await api.inject({ url: '/api/summary' })).json() as { captures: { status: string }[] };
    await api.close();
    expect(summary.captures.map((c) => c.status)).toEqual(['incomplete']);
    expect(captures.items.map((c) => c.status)).toEqual(['incomplete']);
    expect(version.live).toBe(false);
    expect(version.captures.map((c) => c.status)).toEqual(['incomplete']);
    const store = openStore(killed);
    const cap = store.prepare(`SELECT status, error FROM captures`).get() as { status: string; error: string };
    // The next open builds them: the database has every index of a fresh one.
    expect(indexNames(store)).toEqual(indexNames(openStore(':memory:')));
    expect(store.prepare(`SELECT COUNT(*) FROM deferred_indexes`).pluck().get()).toBe(0);
    expect(store.pragma('integrity_check', { simple: true })).toBe('ok');
    store.close();
    expect(cap.status).toBe('incomplete');
    expect(cap.error).toMatch(/interrupted/);
    // Once marked, a pass (here reclassify) has classified it: no warning then.
    expect(cli(['reclassify', '--db', killed]).code).toBe(0);
    expect(cli(['findings', '--summary', '--db', killed]).stderr).toBe('');
  });

  it("prints a rule's findings one by one when few, as one line with their spread when many", () => {
    const file = join(dir, 'summary.db');
    const kubelets = readdirSync(SAMPLES).filter((f) => /^kubelet-.*\.pcap$/.test(f)).map((f) => join(SAMPLES, f));
    const r = cli(['analyze', ...kubelets, '--db', file]);
    expect(r.code).toBe(0);
    const d = new Database(file, { readonly: true });
    const rules = d
      .prepare(`SELECT f.rule, COUNT(*) n, COUNT(DISTINCT fl.client_ip) clients, COUNT(DISTINCT fl.server_ip || ' ' || fl.server_port) servers
                  FROM findings f JOIN flows fl ON fl.id = f.flow_id GROUP BY f.rule`)
      .all() as { rule: string; n: number; clients: number; servers: number }[];
    d.close();
    const lines = r.stdout.split('\n');
    const many = rules.filter((x) => x.n > 3);
    const few = rules.filter((x) => x.n <= 3);
    // Not vacuous: these samples raise both kinds.
    expect(many.length).toBeGreaterThan(0);
    expect(few.length).toBeGreaterThan(0);
    for (const x of many) {
      const mine = lines.filter((l) => new RegExp(`\\s${x.rule}\\s`).test(l));
      expect(mine, x.rule).toHaveLength(1);
      expect(mine[0]).toContain(`${x.n} findings, ${x.servers} server${x.servers === 1 ? '' : 's'}, ${x.clients} client${x.clients === 1 ? '' : 's'}; first: `);
      // Under the evidence column, whatever the width of the rule column.
      const column = mine[0]!.indexOf(`${x.n} findings`);
      expect(lines).toContain(`${' '.repeat(column)}all of them: planewatch findings --db ${file} --rule ${x.rule}`);
    }
    for (const x of few) expect(lines.filter((l) => new RegExp(`\\s${x.rule}\\s`).test(l)), x.rule).toHaveLength(x.n);
  });
});
