import type { Db } from '../store/store';
import { iterateStoredFlows } from '../store/store';
import { VerdictWriter, type VerdictUpdate } from '../store/verdict-writer';
import { classifyFlow } from './classifier';
import { findingsForFlow } from './findings';
import { Topology } from './topology';
import type { AnalysisInputs } from './context';

/** Flows classified per transaction. */
const CLASSIFY_BATCH = 5000;

export interface ClassifySummary {
  flows: number;
  findings: number;
  endpoints: number;
  /** Flows whose stored verdict (path, reasons or findings) this pass changed. */
  changed: number;
}

/**
 * Learns the topology from every flow in the database, then (re)classifies every flow, writing the
 * verdicts that changed (findings that stay keep their ids), and replaces the endpoints. Run after
 * each ingest and by `planewatch reclassify`; running it twice gives the same database. `topology`
 * must be new (it is given so that a caller can go on learning with it, as live capture does).
 */
export function classifyDatabase(db: Db, inputs: AnalysisInputs, topology = new Topology(inputs.inventory)): ClassifySummary {
  for (const f of iterateStoredFlows(db)) topology.observe(f);

  const writer = new VerdictWriter(db);
  let flows = 0;
  let findings = 0;
  // Findings are only ever stored with a flow; any without one (none are written) go with this pass.
  db.prepare(`DELETE FROM findings WHERE flow_id IS NULL`).run();
  // Only what the writer needs is kept until the batch commits, not the whole flow with its
  // evidence: holding 5000 parsed flows made the heap (and peak RSS) grow during this pass.
  let batch: VerdictUpdate[] = [];
  const commit = () => {
    const work = batch;
    batch = [];
    db.transaction(() => writer.write(work))();
  };
  for (const f of iterateStoredFlows(db)) {
    const classification = classifyFlow(f, topology);
    const fs = findingsForFlow(f, classification, { topology, ca: inputs.ca });
    flows++;
    findings += fs.length;
    batch.push({ flow: { dbId: f.dbId, captureId: f.captureId }, verdict: { classification, findings: fs } });
    if (batch.length >= CLASSIFY_BATCH) commit();
  }
  commit();

  return { flows, findings, endpoints: writeEndpoints(db, topology), changed: writer.changed };
}

/** Replaces the endpoints table with what the topology learned. Returns how many were written. */
export function writeEndpoints(db: Db, topology: Topology): number {
  const endpoints = topology.sortedEndpoints();
  const insert = db.prepare(`INSERT INTO endpoints (ip, primary_role, roles, name, reasons, flows, bytes, first_ts, last_ts)
    VALUES (?,?,?,?,?,?,?,?,?)`);
  db.transaction(() => {
    db.prepare('DELETE FROM endpoints').run();
    for (const e of endpoints) {
      const claims = [...e.claims.values()].sort((a, b) => b.strength - a.strength);
      insert.run(
        e.ip,
        e.primaryRole,
        JSON.stringify(claims.map((c) => ({ role: c.role, strength: c.strength }))),
        e.name,
        JSON.stringify(claims.map((c) => `${c.role}: ${c.reason}`)),
        e.flows,
        e.bytes,
        Number.isFinite(e.firstTs) ? e.firstTs : null,
        Number.isFinite(e.lastTs) ? e.lastTs : null,
      );
    }
  })();
  return endpoints.length;
}
