import { noAcceptances } from '../../src/analysis/acceptances';
import { describe, expect, it } from 'vitest';
import { FlowWriter, openStore, type Db } from '../../src/store/store';
import { classifyDatabase } from '../../src/analysis/classify-database';
import { emptyInventory, mergeInventory } from '../../src/analysis/inventory';
import type { AnalysisInputs } from '../../src/analysis/context';
import type { FlowRecord } from '../../src/model/flow-record';
import { fixtureCert, flow, req, tls } from './flow-builder';

/**
 * A classification pass over a stored database writes only the verdicts that changed: a finding
 * that stays keeps its id (users quote it, the dashboard links to it), and the database ends as a
 * fresh pass would leave it.
 */

const noInventory = (): AnalysisInputs => ({ inventory: emptyInventory(), ca: null, accept: noAcceptances(), files: [] });

const withInventory = (): AnalysisInputs => {
  const inventory = emptyInventory();
  mergeInventory(inventory, { apiServers: ['10.0.0.10'], nodeCidrs: ['10.0.0.0/24'] }, 'test-inventory');
  return { inventory, ca: null, accept: noAcceptances(), files: [] };
};

/** The flow builder numbers every flow it makes: built once, so both databases hold the same flows. */
const FLOWS: FlowRecord[] = (() => [
    flow('10.0.0.10:40001', '10.0.0.22:10250', { app: 'tls', tls: tls('1.2', { serverCertificates: [fixtureCert('kubelet-self')] }) }),
    flow('10.0.0.10:40002', '10.0.0.22:10250', { app: 'tls', tls: tls('1.3') }),
    flow('10.0.0.10:40003', '10.0.0.23:10250', { app: 'tls', tls: tls('1.2', { serverCertificates: [fixtureCert('kubelet-self')] }) }),
    flow('10.0.0.21:50000', '10.0.0.10:6443', { app: 'tls', tls: tls('1.2', { clientCertificates: [fixtureCert('client-rsa')] }) }),
    flow('10.0.0.24:41000', '10.0.0.10:8080', { app: 'http', http: [req('GET', '/api/v1/pods', { auth: 'bearer', authHash: 'sha256:0123456789abcdef' })] }),
    flow('10.0.0.25:41001', '10.0.0.26:10255', { app: 'http', http: [req('GET', '/pods', {}, 10255)] }),
    flow('10.0.0.10:44000', '10.0.0.27:8080', { app: 'http', http: [req('GET', '/metrics', { xForwardedFor: '192.0.2.1' })] }),
  ])();

function store(inputs: AnalysisInputs): Db {
  const db = openStore(':memory:');
  db.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('t', 'complete', 'now')`).run();
  const w = new FlowWriter(db, 1);
  for (const f of FLOWS) w.add(f);
  w.flush();
  classifyDatabase(db, inputs);
  return db;
}

function snapshot(db: Db) {
  return {
    flows: db.prepare(`SELECT flow_key, path, path_detail, confidence, reasons, worst_severity, severity_rank, finding_count FROM flows ORDER BY flow_key`).all(),
    findings: db
      .prepare(`SELECT fl.flow_key, f.rule, f.severity, f.severity_rank, f.title, f.evidence, f.recommendation, f.reference, f.cis, f.ts, f.frame
                  FROM findings f JOIN flows fl ON fl.id = f.flow_id ORDER BY fl.flow_key, f.rule, f.evidence`)
      .all(),
  };
}

/** Finding id by "flow key, rule". */
function findingIds(db: Db): Map<string, number> {
  const rows = db.prepare(`SELECT f.id, fl.flow_key, f.rule FROM findings f JOIN flows fl ON fl.id = f.flow_id`).all() as { id: number; flow_key: string; rule: string }[];
  return new Map(rows.map((r) => [`${r.flow_key} ${r.rule}`, r.id]));
}

describe('classification passes over a stored database', () => {
  it('write nothing when no verdict changed, and every finding keeps its id', () => {
    const db = store(withInventory());
    const before = snapshot(db);
    const ids = findingIds(db);
    expect(ids.size).toBeGreaterThan(2);
    const again = classifyDatabase(db, withInventory());
    expect(again.changed).toBe(0);
    expect(again.flows).toBe(FLOWS.length);
    expect(snapshot(db)).toEqual(before);
    expect(findingIds(db)).toEqual(ids);
    db.close();
  });

  it('with new inputs write what changed, keep the ids of findings that stay, and end as a fresh pass does', () => {
    const db = store(noInventory());
    const before = snapshot(db);
    const idsBefore = findingIds(db);
    const pass = classifyDatabase(db, withInventory());
    const fresh = store(withInventory());
    expect(snapshot(db)).toEqual(snapshot(fresh));
    // Not vacuous: verdicts changed, and some findings stayed while others came or went.
    expect(pass.changed).toBeGreaterThan(0);
    expect(snapshot(db)).not.toEqual(before);
    const idsAfter = findingIds(db);
    const kept = [...idsAfter.keys()].filter((k) => idsBefore.has(k));
    expect(kept.length).toBeGreaterThan(0);
    for (const k of kept) expect(idsAfter.get(k), k).toBe(idsBefore.get(k));
    expect(idsAfter.size + idsBefore.size).toBeGreaterThan(2 * kept.length);
    fresh.close();
    db.close();
  });
});
