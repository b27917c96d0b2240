import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema';
import { PAGE_SIZE, iterateStoredFlows, openStore, openStoreReadOnly } from '../../src/store/store';

const dir = mkdtempSync(join(tmpdir(), 'pw-migrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A database as an older planewatch left it: the first `version` migrations applied. */
function databaseAt(version: number, file: string): Database.Database {
  const db = new Database(file);
  for (let v = 0; v < version; v++) db.exec(MIGRATIONS[v]!);
  db.pragma(`user_version = ${version}`);
  return db;
}

/** The columns every version's flows table has, that a row written by an older planewatch fills. */
const FLOW_COLUMNS = `capture_id, flow_key, community_id, transport, ip_version, client_ip, client_port, server_ip, server_port,
  first_ts, last_ts, first_frame, last_frame, packets_client, packets_server, bytes_client, bytes_server, payload_client,
  payload_server, history, state, midstream, end_reason, app`;

describe('schema migrations', () => {
  it('move the evidence of a version-2 database into flow_evidence without losing it', () => {
    const file = join(dir, 'v2.db');
    const old = databaseAt(2, file);
    old.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('a.pcap', 'complete', '2026-01-01')`).run();
    const evidence = { tls: null, http: [{ method: 'GET', path: '/pods' }], ssh: null };
    old.prepare(`INSERT INTO flows (${FLOW_COLUMNS}, evidence)
      VALUES (1, 'c1f1', '1:abc=', 'tcp', 4, '10.0.0.1', 40000, '10.0.0.2', 10255, 1, 2, 1, 8, 4, 4, 300, 500, 60, 200,
      'ShADadFf', 'SF', 0, 'fin', 'http', ?)`).run(JSON.stringify(evidence));
    old.close();

    const db = openStore(file);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const columns = (db.prepare(`PRAGMA table_info(flows)`).all() as { name: string }[]).map((c) => c.name);
    expect(columns).not.toContain('evidence');
    const flows = [...iterateStoredFlows(db)];
    expect(flows).toHaveLength(1);
    expect(flows[0]!.http).toEqual(evidence.http);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    // Deleting a flow takes its evidence with it.
    db.prepare(`DELETE FROM flows`).run();
    expect(db.prepare(`SELECT COUNT(*) FROM flow_evidence`).pluck().get()).toBe(0);
    db.close();
  });

  it('move the certificates of a version-5 database into chains stored once, read back through the view', () => {
    const file = join(dir, 'v5.db');
    const old = databaseAt(5, file);
    old.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('a.pcap', 'complete', '2026-01-01')`).run();
    const flow = old.prepare(`INSERT INTO flows (${FLOW_COLUMNS})
      VALUES (1, ?, '1:abc=', 'tcp', 4, '10.0.0.1', 40000, '10.0.0.2', 10250, 1, 2, 1, 8, 4, 4, 300, 500, 60, 200,
      'ShADadFf', 'SF', 0, 'fin', 'tls')`);
    for (const key of ['c1f1', 'c1f2', 'c1f3']) flow.run(key);
    const cert = old.prepare(`INSERT INTO certificates (sha256, sha1, subject, issuer, self_signed, is_ca, info)
      VALUES (?, 'x', 'CN=a', 'CN=b', 0, 0, '{}')`);
    cert.run('aa');
    cert.run('bb');
    const tls = old.prepare(`INSERT INTO tls_sessions (flow_id, version, established, resumed) VALUES (?, '1.2', 1, 0)`);
    tls.run(1);
    tls.run(2);
    // Flow 3's certificates were written without a TLS session (only by hand): it gets an empty one.
    const link = old.prepare(`INSERT INTO flow_certificates (flow_id, side, position, sha256) VALUES (?, ?, ?, ?)`);
    for (const f of [1, 2, 3]) {
      link.run(f, 'server', 0, 'aa');
      link.run(f, 'server', 1, 'bb');
    }
    link.run(1, 'client', 0, 'bb');
    // A load cut off at version 5 had set the old table's index aside.
    old.prepare(`INSERT INTO deferred_indexes (name, sql) VALUES ('flow_certificates_sha', 'CREATE INDEX flow_certificates_sha ON flow_certificates(sha256)')`).run();
    old.close();

    const db = openStore(file);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    // An existing database keeps the page size it was made with.
    expect(db.pragma('page_size', { simple: true })).toBe(4096);
    expect(db.prepare(`SELECT type FROM sqlite_master WHERE name = 'flow_certificates'`).pluck().get()).toBe('view');
    expect(db.prepare(`SELECT flow_id, side, position, sha256 FROM flow_certificates ORDER BY flow_id, side DESC, position`).all()).toEqual([
      { flow_id: 1, side: 'server', position: 0, sha256: 'aa' },
      { flow_id: 1, side: 'server', position: 1, sha256: 'bb' },
      { flow_id: 1, side: 'client', position: 0, sha256: 'bb' },
      { flow_id: 2, side: 'server', position: 0, sha256: 'aa' },
      { flow_id: 2, side: 'server', position: 1, sha256: 'bb' },
      { flow_id: 3, side: 'server', position: 0, sha256: 'aa' },
      { flow_id: 3, side: 'server', position: 1, sha256: 'bb' },
    ]);
    // The server chain is stored once for the three flows.
    expect(db.prepare(`SELECT digest, length FROM certificate_chains ORDER BY id`).all()).toEqual([
      { digest: 'aa,bb', length: 2 },
      { digest: 'bb', length: 1 },
    ]);
    expect(db.prepare(`SELECT COUNT(DISTINCT server_chain) FROM tls_sessions`).pluck().get()).toBe(1);
    expect(db.prepare(`SELECT version, established FROM tls_sessions WHERE flow_id = 3`).get()).toEqual({ version: null, established: 0 });
    expect(db.prepare(`SELECT COUNT(*) FROM deferred_indexes`).pluck().get()).toBe(0);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    // Deleting the flows takes their sessions, and so their links, with them; the chains stay, as certificates do.
    db.prepare(`DELETE FROM flows`).run();
    expect(db.prepare(`SELECT COUNT(*) FROM flow_certificates`).pluck().get()).toBe(0);
    expect(db.prepare(`SELECT COUNT(*) FROM certificate_chains`).pluck().get()).toBe(2);
    db.close();
  });

  it('fill the new TLS columns of a version-8 database from its evidence, which still reads as it did', () => {
    const file = join(dir, 'v8.db');
    const old = databaseAt(8, file);
    old.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('a.pcap', 'complete', '2026-01-01')`).run();
    old.prepare(`INSERT INTO flows (${FLOW_COLUMNS})
      VALUES (1, 'c1f1', '1:abc=', 'tcp', 4, '10.0.0.1', 40000, '10.0.0.2', 10250, 1, 2, 1, 8, 4, 4, 300, 500, 60, 200,
      'ShADadFf', 'SF', 0, 'fin', 'tls')`).run();
    old.prepare(`INSERT INTO tls_fingerprints (id, fields) VALUES (7, ?)`).run(
      JSON.stringify({ clientCiphers: [4865], clientExtensions: [0], serverExtensions: [43], supportedGroups: [29], signatureAlgorithms: [1027],
        supportedVersions: [772], ecPointFormats: [], ja3: 'j3', ja3Full: 'f3', ja3s: 'js', ja3sFull: 'fs', ja4: 'j4' }),
    );
    old.prepare(`INSERT INTO tls_sessions (flow_id, version, cipher, established, resumed) VALUES (1, '1.3', 'TLS_AES_128_GCM_SHA256', 1, 0)`).run();
    const tls = {
      version: '1.3', clientVersion: '1.3', sni: 'node-1', alpn: ['h2'], alpnSelected: 'h2', cipher: 'TLS_AES_128_GCM_SHA256', cipherId: 4865,
      sessionTicket: true, psk: false, ech: false, helloRetryRequest: true, resumed: false, serverCertificates: [], clientCertificates: [],
      clientCertRequested: null, alerts: [], established: true, encryptedFromFrame: [5, 6], appDataRecords: [3, 4], appDataBytes: [30, 40],
      clientHelloFrame: 2, serverHelloFrame: 3, certificateFrame: 0, decrypted: false, fingerprint: 7,
    };
    old.prepare(`INSERT INTO flow_evidence (flow_id, evidence) VALUES (1, ?)`).run(JSON.stringify({ tls, http: [], ssh: null }));
    old.close();

    const db = openStore(file);
    expect(db.prepare(`SELECT cipher_id, session_ticket, psk, hello_retry_request, decrypted, encrypted_from_frame_client,
      encrypted_from_frame_server, app_data_records_client, app_data_records_server, client_hello_frame, server_hello_frame,
      certificate_frame, fingerprint FROM tls_sessions`).get()).toEqual({
      cipher_id: 4865, session_ticket: 1, psk: 0, hello_retry_request: 1, decrypted: 0, encrypted_from_frame_client: 5,
      encrypted_from_frame_server: 6, app_data_records_client: 3, app_data_records_server: 4, client_hello_frame: 2,
      server_hello_frame: 3, certificate_frame: 0, fingerprint: 7,
    });
    const back = [...iterateStoredFlows(db)][0]!.tls!;
    expect(back).toMatchObject({ sni: 'node-1', alpn: ['h2'], cipherId: 4865, helloRetryRequest: true, encryptedFromFrame: [5, 6], ja4: 'j4' });
    expect(back.clientCiphers).toEqual([4865]);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    db.close();
  });

  it("mark the second flow of each connection seen across a NAT in a version-10 database, even one cut off before its indexes", () => {
    const file = join(dir, 'v10.db');
    const old = databaseAt(10, file);
    old.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('a.pcap', 'incomplete', '2026-01-01')`).run();
    const insert = old.prepare(`INSERT INTO flows (${FLOW_COLUMNS}, path, nat_link)
      VALUES (1, ?, '1:abc=', 'tcp', 4, '10.244.1.5', 40000, ?, ?, ?, 9, ?, 20, 4, 4, 300, 500, 60, 200, 'ShADadFf', 'SF', 0, 'fin', 'tls',
      'pod-to-apiserver', ?)`);
    // Stored in the order they ended: the view captured second (frame 3) first.
    insert.run('c1f2', '10.0.0.10', 6443, 1, 3, 'a-b@2');
    insert.run('c1f1', '10.96.0.1', 443, 1, 2, 'a-b@2');
    insert.run('c1f3', '10.0.0.10', 6443, 2, 5, null);
    // A load cut off before building its deferred indexes: flows_overview's old definition is pending.
    const overview = old.prepare(`SELECT sql FROM sqlite_master WHERE name = 'flows_overview'`).pluck().get() as string;
    old.exec(`DROP INDEX flows_overview`);
    old.prepare(`INSERT INTO deferred_indexes (name, sql) VALUES ('flows_overview', ?)`).run(overview);
    old.close();

    const db = openStore(file);
    expect(db.prepare(`SELECT flow_key, nat_repeat FROM flows ORDER BY flow_key`).raw().all()).toEqual([['c1f1', 0], ['c1f2', 1], ['c1f3', 0]]);
    expect(db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'flows_overview'`).pluck().get()).toMatch(/last_ts, nat_repeat\)$/);
    expect(db.prepare(`SELECT COUNT(*) FROM deferred_indexes`).pluck().get()).toBe(0);
    expect(db.prepare(`SELECT flows, bytes FROM v_path_summary`).get()).toEqual({ flows: 2, bytes: 1600 });
    db.close();
  });

  it("index a version-18 database's flows by server address alone, even one cut off with the old index set aside", () => {
    const file = join(dir, 'v18.db');
    const old = databaseAt(18, file);
    const server = old.prepare(`SELECT sql FROM sqlite_master WHERE name = 'flows_server'`).pluck().get() as string;
    expect(server).toMatch(/server_ip, server_port\)$/);
    old.exec(`DROP INDEX flows_server`);
    old.prepare(`INSERT INTO deferred_indexes (name, sql) VALUES ('flows_server', ?)`).run(server);
    old.close();

    const db = openStore(file);
    expect(db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'flows_server'`).pluck().get()).toMatch(/flows\(server_ip\)$/);
    expect(db.prepare(`SELECT COUNT(*) FROM deferred_indexes`).pluck().get()).toBe(0);
    // A server's newest flows come off the index in order: no sort of all of them.
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT id FROM flows WHERE server_ip = ? ORDER BY id DESC LIMIT 10`).all('10.0.0.10') as { detail: string }[];
    expect(plan.map((p) => p.detail).join('\n')).not.toMatch(/TEMP B-TREE/);
    db.close();
  });

  it("index a version-19 database's credentials with what their list sums, even one cut off with the old index set aside", async () => {
    const { CREDENTIAL_USES_SQL } = await import('../../src/store/credential-uses');
    const file = join(dir, 'v19.db');
    const old = databaseAt(19, file);
    const index = old.prepare(`SELECT sql FROM sqlite_master WHERE name = 'http_auth_hash'`).pluck().get() as string;
    expect(index).toMatch(/\(auth_hash\) WHERE/);
    old.exec(`DROP INDEX http_auth_hash`);
    old.prepare(`INSERT INTO deferred_indexes (name, sql) VALUES ('http_auth_hash', ?)`).run(index);
    old.close();

    const db = openStore(file);
    expect(db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'http_auth_hash'`).pluck().get()).toMatch(/\(auth_hash, auth, flow_id, ts, auth_subject\) WHERE auth_hash IS NOT NULL$/);
    expect(db.prepare(`SELECT COUNT(*) FROM deferred_indexes`).pluck().get()).toBe(0);
    // The uses are summed from the index alone: the requests are read only for each credential's claims.
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${CREDENTIAL_USES_SQL}`).all() as { detail: string }[]).map((p) => p.detail);
    expect(plan).toContain('SEARCH h USING COVERING INDEX http_auth_hash (auth_hash>?)');
    db.close();
  });

  it('make new databases with the larger page size, in WAL mode', () => {
    const db = openStore(join(dir, 'new.db'));
    expect(PAGE_SIZE).not.toBe(4096);
    expect(db.pragma('page_size', { simple: true })).toBe(PAGE_SIZE);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    const again = openStore(join(dir, 'new.db'));
    expect(again.pragma('page_size', { simple: true })).toBe(PAGE_SIZE);
    again.close();
  });

  it('bring an older database up to date when a reader opens it, so the dashboard and queries see the current schema', () => {
    const file = join(dir, 'v12-read.db');
    const old = databaseAt(12, file);
    old.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('a.pcap', 'complete', '2026-01-01')`).run();
    old.prepare(`INSERT INTO flows (${FLOW_COLUMNS}) VALUES (1, 'c1f1', '1:abc=', 'tcp', 4, '10.0.0.1', 40000, '10.0.0.2', 8080,
      1, 2, 1, 8, 4, 4, 300, 500, 60, 200, 'ShADadFf', 'SF', 0, 'fin', 'http')`).run();
    old.prepare(`INSERT INTO http_requests (flow_id, seq, ts, method, path, auth, auth_hash) VALUES (1, 0, 1.5, 'GET', '/pods', 'bearer', 'sha256:0123456789abcdef')`).run();
    old.close();
    const db = openStoreReadOnly(file);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare(`SELECT auth_hash, scheme, subject, client, cleartext, requests FROM v_credentials`).all()).toEqual([
      { auth_hash: 'sha256:0123456789abcdef', scheme: 'bearer', subject: null, client: '10.0.0.1', cleartext: 1, requests: 1 },
    ]);
    expect(() => db.prepare(`DELETE FROM flows`).run()).toThrow(/readonly/);
    db.close();
  });

  it('refuse, saying why, an older database a reader cannot upgrade (another process holds its write lock)', () => {
    const file = join(dir, 'v12-locked.db');
    const writer = databaseAt(12, file);
    writer.pragma('journal_mode = WAL');
    writer.exec('BEGIN IMMEDIATE');
    try {
      expect(() => openStoreReadOnly(file)).toThrow(/schema 12 is older than this planewatch's \(\d+\) and could not be upgraded: database is locked/);
    } finally {
      writer.exec('ROLLBACK');
      writer.close();
    }
  });

  it('bring a version-13 database to accepted findings, keeping its stored inventory and CA', () => {
    const file = join(dir, 'v13.db');
    const old = databaseAt(13, file);
    old.prepare(`INSERT INTO analysis_inputs (kind, source, content) VALUES ('inventory', 'inv.json', '{}'), ('ca', 'ca.pem', 'PEM')`).run();
    expect(() => old.prepare(`INSERT INTO analysis_inputs (kind, source, content) VALUES ('accept', 'a.yaml', '')`).run()).toThrow(/CHECK/);
    old.close();

    const db = openStore(file);
    expect(db.prepare(`SELECT kind, source, content FROM analysis_inputs ORDER BY rowid`).all()).toEqual([
      { kind: 'inventory', source: 'inv.json', content: '{}' },
      { kind: 'ca', source: 'ca.pem', content: 'PEM' },
    ]);
    db.prepare(`INSERT INTO analysis_inputs (kind, source, content) VALUES ('accept', 'a.yaml', '')`).run();
    expect(() => db.prepare(`INSERT INTO analysis_inputs (kind, source, content) VALUES ('other', 'x', '')`).run()).toThrow(/CHECK/);
    expect(db.prepare(`SELECT COUNT(*) FROM v_accepted_findings`).pluck().get()).toBe(0);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('refuse a database from a newer planewatch', () => {
    const file = join(dir, 'future.db');
    const db = databaseAt(SCHEMA_VERSION, file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openStore(file)).toThrow(/newer than this planewatch understands/);
  });
});
