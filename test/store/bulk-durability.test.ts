import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { relaxDurability, restoreDurability } from '../../src/store/bulk-durability';
import { openStore } from '../../src/store/store';

const dir = mkdtempSync(join(tmpdir(), 'pw-durability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SYNC_OFF = 0;
const SYNC_NORMAL = 1;

describe('disk flushes during a bulk load', () => {
  it('are off while the load runs and back on, with everything readable, after it', () => {
    const file = join(dir, 'load.db');
    const db = openStore(file);
    expect(db.pragma('synchronous', { simple: true })).toBe(SYNC_NORMAL);
    expect(relaxDurability(db)).toBe(true);
    expect(db.pragma('synchronous', { simple: true })).toBe(SYNC_OFF);
    db.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('a.pcap', 'complete', 'now')`).run();
    restoreDurability(db);
    expect(db.pragma('synchronous', { simple: true })).toBe(SYNC_NORMAL);
    const other = new Database(file, { readonly: true });
    expect(other.prepare(`SELECT file FROM captures`).pluck().all()).toEqual(['a.pcap']);
    other.close();
    db.close();
  });

  it('leave an in-memory database alone (there is no disk to flush)', () => {
    const db = openStore(':memory:');
    expect(relaxDurability(db)).toBe(false);
    expect(db.pragma('synchronous', { simple: true })).toBe(SYNC_NORMAL);
    db.close();
  });
});
