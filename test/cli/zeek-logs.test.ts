import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zeekDnsFields, type ZeekDnsRow } from '../../src/report/zeek/dns-log';
import { noticeType } from '../../src/report/zeek/notice-log';
import { zeekSshFields, type ZeekSshRow } from '../../src/report/zeek/ssh-log';
import { x509Version } from '../../src/report/zeek/x509-log';
import { zeekJsonLines, zeekTsvLines, type ZeekLogSpec } from '../../src/report/zeek/zeek-log';
import { zeekCut } from './zeek-cut';

/** `planewatch export` (the database as Zeek's logs) and `planewatch requests --zeek` (http.log). */
const ROOT = join(__dirname, '../..');
const SAMPLES = join(ROOT, 'captures/samples');
const KEYS = join(ROOT, 'captures/keylogs');
const dir = mkdtempSync(join(tmpdir(), 'pw-zeek-logs-'));
const db = join(dir, 'z.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { encoding: 'utf8', cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const PLAIN = ['kubelet-readonly-port', 'apiserver-insecure-port', 'ssh-tunnel', 'other-traffic'];
const TLS = ['node-to-apiserver', 'kubelet-logs-exec-self-signed'];

/** Each request's response body as tshark reads it (de-chunked), in frame order, from a plaintext capture. */
function tsharkResponseBodies(pcap: string): number[] {
  const r = spawnSync('tshark', ['-r', pcap, '-Y', 'http.response', '-T', 'json', '-e', 'http.file_data'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const packets = JSON.parse(r.stdout) as { _source: { layers: { 'http.file_data'?: string[] } } }[];
  return packets.map((p) => Buffer.byteLength(p._source.layers['http.file_data']?.[0] ?? '', 'utf8'));
}

describe('planewatch export: the database as Zeek logs', () => {
  const out = join(dir, 'logs');
  let logs: Record<string, ReturnType<typeof zeekCut>>;

  beforeAll(() => {
    const r = cli(['analyze', ...[...PLAIN, ...TLS].map((s) => join(SAMPLES, `${s}.pcap`)),
      ...TLS.flatMap((s) => ['--keylog', join(KEYS, `${s}.keys`)]), '--inventory', join(ROOT, 'captures/inventory.json'),
      '--db', db, '--quiet']);
    expect([0, 1], r.stderr).toContain(r.code); // 1: findings at the default --fail-on
    const e = cli(['export', out, '--db', db]);
    expect(e.code, e.stderr).toBe(0);
    logs = Object.fromEntries(readdirSync(out).map((f) => [f, zeekCut(readFileSync(join(out, f), 'utf8'))]));
  });

  it('writes the seven logs, each with its #path and a type for every field, and says how many lines', () => {
    expect(Object.keys(logs).sort()).toEqual(['conn.log', 'dns.log', 'http.log', 'notice.log', 'ssh.log', 'ssl.log', 'x509.log']);
    for (const [file, { header }] of Object.entries(logs)) {
      expect(header.get('path')).toBe(file.replace('.log', ''));
      expect(header.get('types')!.split('\t')).toHaveLength(header.get('fields')!.split('\t').length);
    }
    const d = new Database(db, { readonly: true });
    try {
      const count = (sql: string) => (d.prepare(sql).get() as { n: number }).n;
      expect(logs['conn.log']!.rows).toHaveLength(count('SELECT COUNT(*) AS n FROM flows'));
      expect(logs['http.log']!.rows).toHaveLength(count('SELECT COUNT(*) AS n FROM http_requests'));
      expect(logs['ssl.log']!.rows).toHaveLength(count('SELECT COUNT(*) AS n FROM tls_sessions'));
      expect(logs['ssh.log']!.rows).toHaveLength(count('SELECT COUNT(*) AS n FROM ssh_sessions'));
      expect(logs['dns.log']!.rows).toHaveLength(count('SELECT COUNT(*) AS n FROM dns_queries'));
      expect(logs['notice.log']!.rows).toHaveLength(count('SELECT COUNT(*) AS n FROM findings'));
      const summary = cli(['export', join(dir, 'again'), '--db', db]).stdout;
      expect(summary).toContain(`http.log: ${logs['http.log']!.rows.length} HTTP requests`);
    } finally {
      d.close();
    }
  });

  it('names each connection by the same uid in every log, as Zeek does', () => {
    const conn = new Map(logs['conn.log']!.rows.map((r) => [r.uid, r]));
    for (const file of ['http.log', 'ssl.log', 'ssh.log', 'dns.log', 'notice.log']) {
      for (const row of logs[file]!.rows) {
        const c = conn.get(row.uid!);
        expect(c, `${file} ${row.uid}`).toBeDefined();
        for (const k of ['id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p']) expect(row[k]).toBe(c![k]);
      }
    }
    // The services conn.log names are the logs that have the connection.
    const ssl = new Set(logs['ssl.log']!.rows.map((r) => r.uid));
    for (const c of conn.values()) if (c.service === 'ssl') expect(ssl.has(c.uid!)).toBe(true);
  });

  it('http.log: the request line, status and body sizes, the bodies as tshark de-chunks them', () => {
    const http = logs['http.log']!.rows;
    const readOnly = http.filter((r) => r['id.resp_p'] === '10255');
    expect(readOnly.map((r) => [r.trans_depth, r.method, r.uri, r.version, r.status_code, r.status_msg])).toEqual([
      ['1', 'GET', '/pods', '1.1', '200', 'OK'],
      ['2', 'GET', '/stats/summary', '1.1', '200', 'OK'],
    ]);
    expect(readOnly.map((r) => Number(r.response_body_len))).toEqual(tsharkResponseBodies(join(SAMPLES, 'kubelet-readonly-port.pcap')));
    expect(readOnly.every((r) => r.request_body_len === '0' && r.resp_mime_types === 'application/json')).toBe(true);
    const insecure = http.filter((r) => r['id.resp_p'] === '8080');
    expect(insecure.map((r) => Number(r.response_body_len))).toEqual(tsharkResponseBodies(join(SAMPLES, 'apiserver-insecure-port.pcap')));
    // Read inside TLS with the key log, with the Kubernetes meaning in planewatch's fields.
    const logsRequest = http.find((r) => r.planewatch_operation === 'logs')!;
    expect(logsRequest).toMatchObject({ method: 'GET', planewatch_api: 'kubelet', planewatch_resource: 'pods', planewatch_path: 'apiserver-to-kubelet' });
    expect(Number(logsRequest.response_body_len)).toBeGreaterThan(0);
    // show names the same sizes and the response's media type.
    const shown = cli(['show', logsRequest.uid!, '--db', db]).stdout;
    expect(shown).toContain(`body ${logsRequest.request_body_len} B → ${logsRequest.response_body_len} B ${logsRequest.resp_mime_types}`);
    // A credential is never written, only its kind and hash.
    const raw = readFileSync(join(out, 'http.log'), 'utf8');
    for (const r of http.filter((x) => x.planewatch_auth !== '-')) expect(r.planewatch_auth_hash).toMatch(/^sha256:/);
    expect(raw).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/); // no JWT
  });

  it('ssl.log chains name x509.log certificates by SHA-256, and x509.log says what openssl says of each', () => {
    const x509 = new Map(logs['x509.log']!.rows.map((r) => [r.fingerprint, r]));
    const ssl = logs['ssl.log']!.rows;
    const withClientCert = ssl.find((r) => r.client_cert_chain_fps !== '-')!;
    expect(withClientCert).toMatchObject({ version: 'TLSv12', established: 'T', resumed: 'F' });
    for (const r of ssl) {
      for (const list of [r.cert_chain_fps, r.client_cert_chain_fps]) {
        if (list === '-') continue;
        for (const fp of list!.split(',')) expect(x509.has(fp), fp).toBe(true);
      }
    }
    expect(ssl.some((r) => r.version === 'TLSv13')).toBe(true);
    expect(x509.get(withClientCert.client_cert_chain_fps!.split(',')[0]!)).toMatchObject({ client_cert: 'T', host_cert: 'T' });

    const d = new Database(db, { readonly: true });
    try {
      const certs = d.prepare('SELECT sha256, der FROM certificates WHERE der IS NOT NULL').all() as { sha256: string; der: Buffer }[];
      const logged = certs.filter((x) => x509.has(x.sha256));
      expect(logged.length).toBe(x509.size);
      for (const c of logged) {
        expect(createHash('sha256').update(c.der).digest('hex')).toBe(c.sha256);
        const file = join(dir, `${c.sha256}.der`);
        writeFileSync(file, c.der);
        const o = spawnSync('openssl', ['x509', '-inform', 'DER', '-in', file, '-noout', '-text', '-serial', '-dates'], { encoding: 'utf8' });
        expect(o.status, o.stderr).toBe(0);
        const row = x509.get(c.sha256)!;
        expect(o.stdout).toContain(`serial=${row['certificate.serial']}`);
        expect(Number(/Version: (\d)/.exec(o.stdout)![1])).toBe(Number(row['certificate.version']));
        expect(new Date(/notBefore=(.+)/.exec(o.stdout)![1]!).getTime() / 1000).toBe(Number(row['certificate.not_valid_before']));
        expect(o.stdout).toContain(`Signature Algorithm: ${row['certificate.sig_alg']}`);
        expect(o.stdout).toContain(`Public-Key: (${row['certificate.key_length']} bit)`);
        if (row['certificate.key_type'] === 'ecdsa') expect(o.stdout).toContain(`ASN1 OID: ${row['certificate.curve']}`);
        expect(o.stdout.includes('CA:TRUE')).toBe(row['basic_constraints.ca'] === 'T');
      }
    } finally {
      d.close();
    }
  });

  it('notice.log: a notice per finding, typed by its rule, with what findings --json says of it', () => {
    const listed = JSON.parse(cli(['findings', '--db', db, '--json', '--limit', '1000']).stdout) as { rule: string; flow_key: string | null; title: string; severity: string }[];
    const notices = logs['notice.log']!.rows;
    expect(notices.map((n) => [n.planewatch_rule, n.uid, n.msg, n.planewatch_severity]).sort())
      .toEqual(listed.map((f) => [f.rule, f.flow_key ?? '-', f.title, f.severity]).sort());
    const kubelet = notices.find((n) => n.planewatch_rule === 'kubelet-readonly-port')!;
    expect(kubelet).toMatchObject({ note: 'Planewatch::Kubelet_Readonly_Port', actions: 'Notice::ACTION_LOG', 'id.resp_p': '10255', p: '10255' });
    expect(kubelet.src).toBe(kubelet['id.orig_h']);
    expect(kubelet.planewatch_reference).toMatch(/^https:\/\/kubernetes\.io\/docs\//);
    expect(noticeType('kubelet-tls-unverified')).toBe('Planewatch::Kubelet_TLS_Unverified');
    expect(noticeType('apiserver-insecure-port')).toBe('Planewatch::Apiserver_Insecure_Port');
  });

  it('ssh.log and dns.log: banners and HASSH; the question, its answers and the round trip', () => {
    expect(logs['ssh.log']!.rows[0]).toMatchObject({ version: '2', client: expect.stringMatching(/^SSH-2\.0-/), hassh: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const q = logs['dns.log']!.rows[0]!;
    expect(q).toMatchObject({ proto: 'udp', qtype: '1', qtype_name: 'A', rcode: '0', rcode_name: 'NOERROR' });
    expect(Number(q.rtt)).toBeGreaterThan(0);
    expect(q.answers!.split(',').length).toBe(q.TTLs!.split(',').length);
  });

  it('--format zeek-json: the same records as JSON lines, unset fields left out', () => {
    const jsonDir = join(dir, 'json');
    expect(cli(['export', jsonDir, '--db', db, '--format', 'zeek-json']).code).toBe(0);
    const lines = readFileSync(join(jsonDir, 'http.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(logs['http.log']!.rows.length);
    lines.forEach((l, i) => {
      const tsv = logs['http.log']!.rows[i]!;
      expect(l.uid).toBe(tsv.uid);
      expect(l.ts).toBeCloseTo(Number(tsv.ts), 5);
      expect(l.tags).toEqual([]); // an empty set, as Zeek writes it
      expect('referrer' in l).toBe(false);
    });
    expect(Object.values(lines[0]!)).not.toContain('-');
  });

  it('--capture: only what one capture gave, as zeek -r on that file would log it', () => {
    const one = join(dir, 'one-capture');
    const r = cli(['export', one, '--db', db, '--capture', 'ssh-tunnel.pcap']);
    expect(r.code, r.stderr).toBe(0);
    const written = readdirSync(one).sort();
    expect(written).toContain('ssh.log');
    expect(written).not.toContain('http.log');
    expect(written).not.toContain('x509.log');
    const d = new Database(db, { readonly: true });
    try {
      const flows = d.prepare(`SELECT flow_key FROM flows WHERE capture_id = (SELECT id FROM captures WHERE file LIKE '%ssh-tunnel.pcap')`).pluck().all() as string[];
      expect(zeekCut(readFileSync(join(one, 'conn.log'), 'utf8')).rows.map((x) => x.uid).sort()).toEqual(flows.sort());
    } finally {
      d.close();
    }
    const unknown = cli(['export', join(dir, 'none'), '--db', db, '--capture', 'nothing.pcap']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no capture "nothing\.pcap" in the database \(captures: 1 /);
    expect(existsSync(join(dir, 'none'))).toBe(false);
  });

  it('keeps logs already in the directory unless --force, which replaces them and drops a log now empty', () => {
    const target = join(dir, 'logs-force');
    expect(cli(['export', target, '--db', db]).code).toBe(0);
    const refused = cli(['export', target, '--db', db]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/conn\.log.*already there: give --force/);
    // A stale log of an earlier export, of a kind this database has none of any more.
    const emptyDb = join(dir, 'empty.db');
    expect([0, 1]).toContain(cli(['analyze', join(SAMPLES, 'kubelet-readonly-port.pcap'), '--db', emptyDb, '--quiet']).code);
    const forced = cli(['export', target, '--db', emptyDb, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('ssh.log: no SSH sessions, not written');
    expect(existsSync(join(target, 'ssh.log'))).toBe(false);
    expect(zeekCut(readFileSync(join(target, 'http.log'), 'utf8')).rows).toHaveLength(2);
    expect(readdirSync(target).filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(cli(['export', target, '--db', db, '--format', 'csv']).code).toBe(2);
  });
});

describe('planewatch requests --zeek', () => {
  it('writes the requests the filters select as http.log, oldest first, every one unless --limit', () => {
    const filtered = cli(['requests', '--db', db, '--zeek', '--api', 'kubelet']);
    expect(filtered.code).toBe(0);
    const { header, rows } = zeekCut(filtered.stdout);
    expect(header.get('path')).toBe('http');
    const listed = JSON.parse(cli(['requests', '--db', db, '--json', '--api', 'kubelet', '--limit', '1000']).stdout) as { flowKey: string; ts: number }[];
    expect(rows.map((r) => r.uid)).toEqual(listed.reverse().map((r) => r.flowKey));
    expect(rows.every((r) => r.planewatch_api === 'kubelet')).toBe(true);
    expect(zeekCut(cli(['requests', '--db', db, '--zeek', '--limit', '1']).stdout).rows).toHaveLength(1);
    const json = cli(['requests', '--db', db, '--zeek-json', '--api', 'kubelet']).stdout.trim().split('\n');
    expect(json.map((l) => (JSON.parse(l) as { uid: string }).uid)).toEqual(rows.map((r) => r.uid));
    expect(cli(['requests', '--db', db, '--zeek', '--json']).code).toBe(2);
  });
});

describe('Zeek log fields', () => {
  const spec: ZeekLogSpec = { path: 't', fields: [['s', 'string'], ['v', 'vector[string]'], ['i', 'vector[interval]'], ['e', 'set[string]']] };

  it("escapes as Zeek's ASCII writer does, containers' separators included", () => {
    const lines = [...zeekTsvLines(spec, [new Map<string, string | string[] | number[]>([['s', 'a\tb\\c'], ['v', ['x,y', 'z']], ['i', [30, 0.5]], ['e', []]])], () => new Date(0))];
    expect(lines[lines.length - 2]).toBe('a\\x09b\\x5cc\tx\\x2cy,z\t30.000000,0.500000\t(empty)\n');
    expect([...zeekJsonLines(spec, [new Map([['s', ''], ['v', undefined]])])]).toEqual(['{"s":""}\n']);
  });

  it('dns.log: type and rcode numbers from their names, and Zeek\'s name of a type it does not know', () => {
    const row: ZeekDnsRow = { ts: 10, uid: 'c1', orig_h: '10.0.0.1', orig_p: 5353, resp_h: '10.0.0.2', resp_p: 53, proto: 'udp',
      message_id: 7, response_ts: 10.25, query: 'x.example', qtype: 'TYPE99', rcode: 'NXDOMAIN', answers: '[]', truncated: 0 };
    const f = zeekDnsFields(row);
    expect([f.get('qtype'), f.get('qtype_name'), f.get('rcode'), f.get('rcode_name'), f.get('rtt'), f.get('answers')]).toEqual([99, 'query-99', 3, 'NXDOMAIN', 0.25, undefined]);
    expect(zeekDnsFields({ ...row, response_ts: null, qtype: 'AAAA' }).get('rtt')).toBeUndefined();
    expect(zeekDnsFields({ ...row, qtype: 'AAAA', answers: '[{"data":"::1","ttl":5},{"data":"","ttl":9}]' }).get('TTLs')).toEqual([5]);
  });

  it('ssh.log: the version both sides speak, from their banners', () => {
    const row: ZeekSshRow = { ts: 1, uid: 'c1', orig_h: 'a', orig_p: 1, resp_h: 'b', resp_p: 22, client_banner: 'SSH-1.99-OpenSSH_3.9',
      server_banner: 'SSH-2.0-OpenSSH_9.2', hassh: null, hassh_server: null, flow_path: null };
    expect(zeekSshFields(row).get('version')).toBe(2);
    expect(zeekSshFields({ ...row, server_banner: 'SSH-1.5-old' }).get('version')).toBe(1);
    expect(zeekSshFields({ ...row, server_banner: null, client_banner: 'garbage' }).get('version')).toBeUndefined();
  });

  it('x509.log: the version from the DER, v1 having none', () => {
    // TBSCertificate starting with its serial (v1), and with [0] { INTEGER 2 } (v3).
    expect(x509Version(Uint8Array.from([0x30, 0x0c, 0x30, 0x0a, 0x02, 0x01, 0x05, 0, 0, 0, 0, 0, 0, 0]))).toBe(1);
    expect(x509Version(Uint8Array.from([0x30, 0x0e, 0x30, 0x0c, 0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x05, 0, 0]))).toBe(3);
    expect(x509Version(Uint8Array.from([0x31, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
    expect(x509Version(null)).toBeUndefined();
  });
});
