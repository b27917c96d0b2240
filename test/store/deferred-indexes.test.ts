import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deferIndexes, restoreDeferredIndexes } from '../../src/store/deferred-indexes';
import { openStore, type Db } from '../../src/store/store';

const dir = mkdtempSync(join(tmpdir(), 'pw-defer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function indexes(db: Db): { name: string; sql: string | null }[] {
  return db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name`).all() as { name: string; sql: string | null }[];
}

describe('indexes set aside for a bulk load', () => {
  it('are the plain ones only, and come back exactly as they were', () => {
    const db = openStore(':memory:');
    const before = indexes(db);
    const n = deferIndexes(db);
    const during = new Set(indexes(db).map((i) => i.name));
    expect(n).toBe(before.length - during.size);
    expect(n).toBeGreaterThan(5);
    // Kept: unique indexes (constraints), primary keys, and those leading with a reference to a capture
    // or a flow (the cascades when a duplicate capture is deleted again).
    for (const name of ['captures_sha256', 'flows_capture', 'findings_flow', 'http_flow']) expect(during.has(name)).toBe(true);
    for (const name of ['flows_community', 'flows_path', 'findings_rule_flow', 'tls_ja4', 'tls_server_chain']) {
      expect(during.has(name)).toBe(false);
    }
    expect(restoreDeferredIndexes(db)).toBe(n);
    expect(indexes(db)).toEqual(before);
    expect(restoreDeferredIndexes(db)).toBe(0);
    db.close();
  });

  it('left aside by a load that was cut off are built by the next open, not while a load runs', () => {
    const file = join(dir, 'cut.db');
    const db = openStore(file);
    const before = indexes(db);
    deferIndexes(db);
    // A load by a process that is still running (this one).
    db.prepare(`INSERT INTO captures (file, status, pid, started_at) VALUES ('a.pcap', 'ingesting', ?, 'now')`).run(process.pid);
    db.close();
    const meanwhile = openStore(file);
    expect(indexes(meanwhile).length).toBeLessThan(before.length);
    // The load is gone (its process ended without finishing): the next open completes the database.
    meanwhile.prepare(`UPDATE captures SET pid = NULL`).run();
    meanwhile.close();
    const after = openStore(file);
    expect(indexes(after)).toEqual(before);
    expect(after.prepare(`SELECT status FROM captures`).pluck().get()).toBe('incomplete');
    after.close();
  });
});
