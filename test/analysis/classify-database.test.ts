import { noAcceptances } from '../../src/analysis/acceptances';
import { describe, expect, it } from 'vitest';
import { FlowWriter, openStore, type Db } from '../../src/store/store';
import { classifyDatabase } from '../../src/analysis/classify-database';
import { emptyInventory, mergeInventory } from '../../src/analysis/inventory';
import type { AnalysisInputs } from '../../src/analysis/context';
import { flow, tls } from './flow-builder';

/**
 * A pass that changes most stored verdicts (a new inventory) drops the secondary indexes and builds
 * them again at the end; the database it leaves must be the one updating them in place leaves.
 */

const noInventory = (): AnalysisInputs => ({ inventory: emptyInventory(), ca: null, accept: noAcceptances(), files: [] });
const withApiServers = (): AnalysisInputs => {
  const inventory = emptyInventory();
  mergeInventory(inventory, { apiServers: ['10.0.9.1', '10.0.9.2'], nodeCidrs: ['10.0.0.0/16'] }, 'test-inventory');
  return { inventory, ca: null, accept: noAcceptances(), files: [] };
};

/** `n` plain-HTTP flows to two addresses that only the inventory says are API servers. */
function storeFlows(n: number): Db {
  const db = openStore(':memory:');
  const captureId = Number(db.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('t', 'complete', 'now')`).run().lastInsertRowid);
  const writer = new FlowWriter(db, captureId);
  for (let i = 0; i < n; i++) {
    writer.add(flow(`10.0.${1 + (i >> 12)}.${i & 255}:${30000 + (i & 4095)}`, `10.0.9.${1 + (i & 1)}:8080`, { id: `f${i}`, app: 'tls', tls: tls('1.3') }), null);
  }
  writer.flush();
  classifyDatabase(db, noInventory());
  return db;
}

function indexes(db: Db): string[] {
  return db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`).pluck().all() as string[];
}

function snapshot(db: Db): unknown {
  return {
    flows: db.prepare(`SELECT flow_key, path, path_detail, confidence, reasons, worst_severity, severity_rank, finding_count FROM flows ORDER BY flow_key`).all(),
    findings: db.prepare(`SELECT fl.flow_key, f.rule, f.evidence FROM findings f JOIN flows fl ON fl.id = f.flow_id ORDER BY fl.flow_key, f.rule`).all(),
  };
}

describe('a pass that changes most verdicts', () => {
  it('sets the indexes aside and builds them again, leaving the database an in-place update leaves', () => {
    const inPlace = storeFlows(30_000);
    const aside = storeFlows(30_000);
    const before = indexes(aside);
    expect(before.length).toBeGreaterThan(5);
    const a = classifyDatabase(inPlace, withApiServers());
    const b = classifyDatabase(aside, withApiServers(), undefined, { indexesAsideWhenWorthIt: true });
    expect(a.changed).toBe(30_000);
    expect(a.indexesRebuilt).toBeUndefined();
    expect(b.indexesRebuilt).toBeGreaterThan(0);
    expect({ ...b, indexesRebuilt: undefined }).toEqual(a);
    expect(snapshot(aside)).toEqual(snapshot(inPlace));
    expect(indexes(aside)).toEqual(before);
    expect(aside.prepare(`SELECT COUNT(*) FROM deferred_indexes`).pluck().get()).toBe(0);
    expect(aside.pragma('integrity_check', { simple: true })).toBe('ok');
    // A pass that changes nothing keeps them.
    expect(classifyDatabase(aside, withApiServers(), undefined, { indexesAsideWhenWorthIt: true })).toMatchObject({ changed: 0, indexesRebuilt: 0 });
    inPlace.close();
    aside.close();
  });
});
