import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FlowWriter, WRITE_BATCH, iterateStoredFlows, openStore, type Db } from '../../src/store/store';
import { fixtureCert, flow, req, tls } from '../analysis/flow-builder';

/** What another connection (a dashboard, a crash) would find committed. */
function committedFlows(file: string): number {
  const reader = new Database(file, { readonly: true });
  const n = reader.prepare(`SELECT COUNT(*) FROM flows`).pluck().get() as number;
  reader.close();
  return n;
}

describe('FlowWriter transactions', () => {
  let dir: string;
  let file: string;
  let db: Db;
  let captureId: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pw-writer-'));
    file = join(dir, 'w.db');
    db = openStore(file);
    captureId = Number(db.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('t', 'ingesting', 'now')`).run().lastInsertRowid);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits every WRITE_BATCH flows and on flush, never part of a batch', () => {
    const w = new FlowWriter(db, captureId);
    for (let i = 0; i < WRITE_BATCH - 1; i++) w.add(flow(`10.0.0.1:${1000 + i}`, '10.0.0.2:443'));
    expect(committedFlows(file)).toBe(0);
    w.add(flow('10.0.0.1:999', '10.0.0.2:443'));
    expect(committedFlows(file)).toBe(WRITE_BATCH);
    w.add(flow('10.0.0.1:998', '10.0.0.2:443'));
    expect(committedFlows(file)).toBe(WRITE_BATCH);
    w.flush();
    expect(committedFlows(file)).toBe(WRITE_BATCH + 1);
    expect(db.inTransaction).toBe(false);
  });

  it('a writer given a classifier judges each flow when its queue is written, in the order added', () => {
    const judged: number[] = [];
    const w = new FlowWriter(db, captureId, {
      classify: (rec) => {
        judged.push(rec.client.port);
        // Each verdict tells how many flows were judged before it: the order is visible in the rows.
        return { classification: { path: 'other', pathDetail: {}, confidence: judged.length / 100, reasons: [`judged ${judged.length}`] }, findings: [], accepted: [] };
      },
    });
    for (let i = 0; i < 3; i++) w.add(flow(`10.0.0.1:${2000 + i}`, '10.0.0.2:443'));
    // Queued, not judged yet: the writer judges a queue just before storing it.
    expect(judged).toEqual([]);
    w.flush();
    expect(judged).toEqual([2000, 2001, 2002]);
    const rows = db.prepare(`SELECT client_port, confidence, reasons FROM flows ORDER BY id`).raw().all();
    expect(rows).toEqual([
      [2000, 0.01, '["judged 1"]'],
      [2001, 0.02, '["judged 2"]'],
      [2002, 0.03, '["judged 3"]'],
    ]);
  });

  it('a flow without dissected evidence has no evidence row, and reads back the same', () => {
    const w = new FlowWriter(db, captureId);
    const dns = flow('10.244.1.5:41000', '10.96.0.10:53', { transport: 'udp', app: 'unknown' });
    const http = flow('10.0.0.1:1000', '10.0.0.21:10255', { app: 'http', http: [req('GET', '/pods', {}, 10255)] });
    w.add(dns);
    w.add(http);
    w.flush();
    expect(db.prepare(`SELECT f.server_port FROM flow_evidence e JOIN flows f ON f.id = e.flow_id`).pluck().all()).toEqual([10255]);
    const back = [...iterateStoredFlows(db)];
    expect(back.map((f) => [f.server.port, f.tls, f.http.length, f.ssh])).toEqual([[53, null, 0, null], [10255, null, 1, null]]);
    expect(back[1]!.http[0]!.path).toBe('/pods');
  });

  it('a flow that cannot be stored rolls its batch back and the writer goes on', () => {
    const w = new FlowWriter(db, captureId);
    w.add(flow('10.0.0.1:1000', '10.0.0.2:443'));
    const bad = flow('10.0.0.1:1001', '10.0.0.2:443', { history: null as unknown as string });
    expect(() => {
      w.add(bad);
      w.flush();
    }).toThrow(/NOT NULL/);
    expect(db.inTransaction).toBe(false);
    w.add(flow('10.0.0.1:1002', '10.0.0.2:443'));
    w.flush();
    expect(db.prepare(`SELECT client_port FROM flows`).pluck().all()).toEqual([1002]);
  });

  it("inside the caller's transaction, the caller commits or rolls back", () => {
    const w = new FlowWriter(db, captureId);
    expect(() =>
      db.transaction(() => {
        w.add(flow('10.0.0.1:1000', '10.0.0.2:443'));
        w.flush();
        throw new Error('caller gives up');
      })(),
    ).toThrow(/caller gives up/);
    expect(committedFlows(file)).toBe(0);
    db.transaction(() => {
      w.add(flow('10.0.0.1:1001', '10.0.0.2:443'));
      w.flush();
    })();
    expect(committedFlows(file)).toBe(1);
  });

  it('stores a chain presented by many connections once, and after a rollback writes it again', () => {
    const chain = [fixtureCert('server-rsa'), fixtureCert('ca-rsa')];
    const [leaf, ca] = chain.map((c) => c.sha256);
    const tlsFlow = (port: number) => flow(`10.0.0.1:${port}`, '10.0.0.2:10250', { app: 'tls', tls: tls('1.2', { serverCertificates: chain }) });
    const w = new FlowWriter(db, captureId);
    expect(() =>
      db.transaction(() => {
        w.add(tlsFlow(1000));
        w.flush();
        throw new Error('caller gives up');
      })(),
    ).toThrow(/caller gives up/);
    w.forgetWritten();
    for (const port of [1001, 1002, 1003]) w.add(tlsFlow(port));
    w.flush();
    expect(db.prepare(`SELECT digest FROM certificate_chains`).pluck().all()).toEqual([`${leaf},${ca}`]);
    expect(db.prepare(`SELECT COUNT(*) FROM certificates`).pluck().get()).toBe(2);
    expect(db.prepare(`SELECT COUNT(DISTINCT server_chain) || '/' || COUNT(*) FROM tls_sessions`).pluck().get()).toBe('1/3');
    expect(db.prepare(`SELECT COUNT(*) FROM flow_certificates WHERE side = 'server'`).pluck().get()).toBe(6);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    const back = [...iterateStoredFlows(db)];
    expect(back.map((f) => f.tls!.serverCertificates.map((c) => c.sha256))).toEqual([[leaf, ca], [leaf, ca], [leaf, ca]]);
  });

  it('keeps the link between the two flows of one connection seen across a NAT', () => {
    const w = new FlowWriter(db, captureId);
    w.add(flow('10.244.1.5:40000', '10.96.0.1:443', { natLink: 'a-b@1' }));
    w.add(flow('10.244.1.5:40000', '10.0.0.10:6443', { natLink: 'a-b@1', natRepeat: true }));
    w.add(flow('10.244.1.5:40001', '10.0.0.10:6443'));
    w.flush();
    expect([...iterateStoredFlows(db)].map((f) => [f.natLink, f.natRepeat])).toEqual([['a-b@1', false], ['a-b@1', true], [null, false]]);
    // Three flows, two connections, counted once in the path summary.
    expect(db.prepare(`SELECT SUM(flows) FROM v_path_summary`).pluck().get()).toBe(2);
    expect(db.prepare(`SELECT SUM(bytes) FROM v_path_summary`).pluck().get()).toBe(2000);
  });
});
