import type { Db } from '../store/store';
import { storedFlowsById } from '../store/store';
import { VerdictWriter } from '../store/verdict-writer';
import type { FlowRecord } from '../model/flow-record';
import type { Verdict } from '../model/analysis';
import { judgeFlow } from './judge';
import { Topology } from './topology';
import type { AnalysisInputs } from './context';
import { classifyDatabase, storedNatViews, writeEndpoints, type ClassifySummary } from './classify-database';

/** Flows read back per page when looking for stale verdicts, and reclassified per transaction. */
const PAGE = 2000;

/**
 * Classification done while the flows are stored, so that a bulk load writes each flow once instead
 * of storing it, reading it back and updating it.
 *
 * The topology is learned from everything analysed together, so a flow classified when it ends has
 * seen only the flows before it. What the classifier and the rules read about a flow are facts of its
 * own client address, its server address, its service (server ip:port) and the certificate chains
 * that service presented; each fact records the observation count at which it last changed. At the
 * end a flow is classified again only if one of its facts changed after its own observation: every
 * other flow already has the verdict that a pass over the finished topology gives it.
 */
export class InlineClassifier {
  /** `topology`: what was learned before (default: nothing but the inventory). */
  constructor(
    private readonly inputs: AnalysisInputs,
    readonly topology: Topology = new Topology(inputs.inventory),
  ) {}

  /** Learns from a finished flow, then classifies it with everything learned so far. */
  verdict(rec: FlowRecord): Verdict {
    this.topology.observe(rec);
    return this.judge(rec);
  }

  /** A flow's verdict from what the topology knows now. */
  private judge(f: FlowRecord): Verdict {
    return judgeFlow(f, this.topology, this.inputs);
  }

  /**
   * Brings the stored verdicts of `captureIds` up to the finished topology and writes the endpoints.
   * Their flows must be exactly those given to `verdict`, stored in the same order (ids ascending).
   */
  finish(db: Db, captureIds: number[]): ClassifySummary & { reclassified: number } {
    const marks = captureIds.map(() => '?').join(',') || 'NULL';
    const stored = db.prepare(`SELECT COUNT(*) FROM flows WHERE capture_id IN (${marks})`).pluck().get(...captureIds) as number;
    if (stored !== this.topology.clock.now) {
      // Not the flows that were classified (cannot happen while the contract above is kept): a
      // pass over the whole database is always right.
      return { ...classifyDatabase(db, this.inputs), reclassified: stored };
    }
    // Pairs of views across a NAT beyond the few kept in memory are read back with their flows.
    this.topology.natViewReader ??= storedNatViews(db);
    const page = db
      .prepare(
        `SELECT f.id, f.client_ip, f.server_ip, f.server_port,
           EXISTS (SELECT 1 FROM tls_sessions t WHERE t.flow_id = f.id AND t.server_chain IS NOT NULL),
           f.nat_link IS NOT NULL
         FROM flows f WHERE f.id > ? AND f.capture_id IN (${marks}) ORDER BY f.id LIMIT ${PAGE}`,
      )
      .raw(true);
    const writer = new VerdictWriter(db);
    let ordinal = 0;
    let reclassified = 0;
    let stale: number[] = [];
    const redo = () => {
      const flows = storedFlowsById(db, stale);
      stale = [];
      db.transaction(() => writer.write(flows.map((f) => ({ flow: f, verdict: this.judge(f) }))))();
      reclassified += flows.length;
    };
    let after = 0;
    for (;;) {
      const rows = page.all(after, ...captureIds) as [number, string, string, number, number, number][];
      if (rows.length === 0) break;
      for (const [id, client, server, port, ownLeaf, natLinked] of rows) {
        ordinal++;
        if (natLinked === 1 || this.changedSince(ordinal, client, server, port, ownLeaf === 1)) stale.push(id);
      }
      if (stale.length >= PAGE) redo();
      after = rows[rows.length - 1]![0];
    }
    if (stale.length > 0) redo();
    const findings = db.prepare(`SELECT COUNT(*) FROM findings WHERE capture_id IN (${marks})`).pluck().get(...captureIds) as number;
    const accepted = db.prepare(`SELECT COUNT(*) FROM accepted_findings WHERE capture_id IN (${marks})`).pluck().get(...captureIds) as number;
    return { flows: ordinal, findings, accepted, endpoints: writeEndpoints(db, this.topology), reclassified, changed: writer.changed };
  }

  /**
   * Whether a fact the verdict of the `ordinal`-th flow rests on changed after it was classified.
   * (A flow linked to its other view across a NAT is always judged again.)
   */
  private changedSince(ordinal: number, client: string, server: string, port: number, ownLeaf: boolean): boolean {
    const t = this.topology;
    if ((t.endpoints.get(client)?.changedAt ?? 0) > ordinal) return true;
    if ((t.endpoints.get(server)?.changedAt ?? 0) > ordinal) return true;
    const service = `${server}:${port}`;
    if ((t.services.get(service)?.changedAt ?? 0) > ordinal) return true;
    // Connections to an address translated elsewhere are judged by what is behind it, and a view of
    // a connection across a NAT by its other view (above): few, judged again whatever changed.
    if (t.translations.has(service)) return true;
    const chains = t.serverChains.get(service);
    if (chains === undefined) return false;
    // A flow that showed its own certificate asks the chains only whether another leaf was seen.
    return (ownLeaf ? chains.leavesChangedAt : chains.changedAt) > ordinal;
  }
}
