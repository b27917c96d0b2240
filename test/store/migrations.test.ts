import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema';
import { iterateStoredFlows, openStore } from '../../src/store/store';

const dir = mkdtempSync(join(tmpdir(), 'pw-migrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A database as an older planewatch left it: the first `version` migrations applied. */
function databaseAt(version: number, file: string): Database.Database {
  const db = new Database(file);
  for (let v = 0; v < version; v++) db.exec(MIGRATIONS[v]!);
  db.pragma(`user_version = ${version}`);
  return db;
}

describe('schema migrations', () => {
  it('move the evidence of a version-2 database into flow_evidence without losing it', () => {
    const file = join(dir, 'v2.db');
    const old = databaseAt(2, file);
    old.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('a.pcap', 'complete', '2026-01-01')`).run();
    const evidence = { tls: null, http: [{ method: 'GET', path: '/pods' }], ssh: null };
    old.prepare(`INSERT INTO flows (capture_id, flow_key, community_id, transport, ip_version, client_ip, client_port, server_ip,
      server_port, first_ts, last_ts, first_frame, last_frame, packets_client, packets_server, bytes_client, bytes_server,
      payload_client, payload_server, history, state, midstream, end_reason, app, evidence)
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

  it('refuse a database from a newer planewatch', () => {
    const file = join(dir, 'future.db');
    const db = databaseAt(SCHEMA_VERSION, file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openStore(file)).toThrow(/newer than this planewatch understands/);
  });
});
