import type { Statement } from 'better-sqlite3';
import type { Db } from '../store/store';
import { StoredFlowPages } from '../store/store';
import { deferIndexes, restoreDeferredIndex, restoreDeferredIndexes } from '../store/deferred-indexes';
import { VerdictWriter, type VerdictUpdate } from '../store/verdict-writer';
import { judgeFlow } from './judge';
import { Topology, type NatView } from './topology';
import { NEVER_OPENED_SQL } from './connection-attempt';
import type { AnalysisInputs } from './context';

/** Flows read and classified per transaction in one go (a page of parsed flows is held at once). */
const CLASSIFY_BATCH = 2000;
/** Flows per step of a pass run a step at a time (a few milliseconds of work). */
const PASS_PAGE = 250;

export interface ClassifySummary {
  flows: number;
  /** Open findings. */
  findings: number;
  /** Findings accepted as risks (`--accept`). */
  accepted: number;
  endpoints: number;
  /** Flows whose stored verdict (path, reasons or findings) this pass changed. */
  changed: number;
  /** Secondary indexes the pass dropped and built again because most verdicts changed (0: none). */
  indexesRebuilt?: number;
}

/**
 * Learns the topology from every flow in the database, then (re)classifies every flow, writing the
 * verdicts that changed (findings that stay keep their ids), and replaces the endpoints. Run after
 * each ingest and by `planewatch reclassify`; running it twice gives the same database. `topology`
 * must be new (it is given so that a caller can go on learning with it, as live capture does).
 */
export function classifyDatabase(
  db: Db,
  inputs: AnalysisInputs,
  topology = new Topology(inputs.inventory),
  opts: { indexesAsideWhenWorthIt?: boolean } = {},
): ClassifySummary {
  const pass = new DatabasePass(db, inputs, topology, CLASSIFY_BATCH);
  if (!opts.indexesAsideWhenWorthIt) {
    while (!pass.step());
    return pass.summary!;
  }
  let decided = false;
  let aside = 0;
  try {
    while (!pass.step()) {
      if (decided || pass.judged < ASIDE_SAMPLE) continue;
      decided = true;
      if (indexesAsideWorthIt(db, pass)) aside = deferIndexes(db);
    }
  } finally {
    if (aside > 0) restoreDeferredIndexes(db);
  }
  return { ...pass.summary!, indexesRebuilt: aside };
}

/** Flows judged before a pass decides whether to set the indexes aside for the rest of it. */
const ASIDE_SAMPLE = 10_000;

/**
 * Whether the rest of a pass is cheaper with the secondary indexes dropped and built again at the
 * end. A changed verdict rewrites entries of several indexes keyed in random order (path,
 * severity, …), each on another page; building an index sorts the whole table once instead. On a
 * million flows the rebuild costs about a tenth of what updating them all in place does (6.6 s
 * against 67 s measured), so it pays when the flows left times the share changed so far exceeds a
 * tenth of all flows.
 */
function indexesAsideWorthIt(db: Db, pass: DatabasePass): boolean {
  const total = db.prepare(`SELECT COUNT(*) FROM flows`).pluck().get() as number;
  const share = pass.changed / pass.judged;
  return (total - pass.judged) * share > total / 10;
}

/**
 * classifyDatabase a page at a time, for a caller that must not stop for the whole of it (live
 * capture keeps reading packets between steps). Each step reads one page of flows and, in the second
 * half, writes its verdicts in one transaction. Flows written while the pass runs are read by it when
 * its pages reach them: while it learns, as everything else; once it judges, it must be shown them
 * (`learnedAll`, then `topology.observe`), or they are judged without what they showed. Flows deleted
 * meanwhile are simply not met.
 */
export class DatabasePass {
  private pages: StoredFlowPages;
  private judging = false;
  private readonly writer: VerdictWriter;
  private flows = 0;
  private findings = 0;
  private accepted = 0;
  /** Set when the pass is complete. */
  summary: ClassifySummary | null = null;

  constructor(
    private readonly db: Db,
    private readonly inputs: AnalysisInputs,
    readonly topology = new Topology(inputs.inventory),
    private readonly pageSize = PASS_PAGE,
  ) {
    this.pages = new StoredFlowPages(db, pageSize);
    this.writer = new VerdictWriter(db);
    topology.natViewReader ??= storedNatViews(db);
  }

  /** Flows judged so far. */
  get judged(): number {
    return this.flows;
  }

  /** Judged flows whose stored verdict changed. */
  get changed(): number {
    return this.writer.changed;
  }

  /** Every flow stored before now has been learned from: the pass is judging. */
  get learnedAll(): boolean {
    return this.judging;
  }

  /** Does one page's work; true when the pass is complete (and `summary` is set). */
  step(): boolean {
    if (this.summary !== null) return true;
    const page = this.pages.next();
    if (!this.judging) {
      for (const f of page) this.topology.observe(f);
      if (page.length === 0) {
        this.judging = true;
        this.pages = new StoredFlowPages(this.db, this.pageSize);
        // Findings are only ever stored with a flow; any without one (none are written) go with this pass.
        this.db.prepare(`DELETE FROM findings WHERE flow_id IS NULL`).run();
      }
      return false;
    }
    if (page.length > 0) {
      // Only what the writer needs is kept until the page commits, not the flows with their evidence.
      const work: VerdictUpdate[] = page.map((f) => {
        const verdict = judgeFlow(f, this.topology, this.inputs);
        this.findings += verdict.findings.length;
        this.accepted += verdict.accepted.length;
        return { flow: { dbId: f.dbId, captureId: f.captureId }, verdict };
      });
      this.flows += page.length;
      this.db.transaction(() => this.writer.write(work))();
      return false;
    }
    this.summary = { flows: this.flows, findings: this.findings, accepted: this.accepted, endpoints: writeEndpoints(this.db, this.topology), changed: this.writer.changed };
    return true;
  }
}

/**
 * Replaces the endpoints table with what the topology learned, and adds the activity of the
 * connection attempts that never opened, which the topology does not keep (Topology.observeAttempt):
 * summed from the stored flows, to the address's entry or to a new one of unknown role. Returns how
 * many endpoints were written.
 */
export function writeEndpoints(db: Db, topology: Topology): number {
  const endpoints = topology.sortedEndpoints();
  const insert = db.prepare(`INSERT INTO endpoints (ip, primary_role, roles, name, reasons, flows, bytes, first_ts, last_ts)
    VALUES (?,?,?,?,?,?,?,?,?)`);
  restoreDeferredIndex(db, 'flows_state');
  const attempt = (ip: string) =>
    `SELECT ${ip} AS ip, bytes_client + bytes_server AS bytes, first_ts, last_ts FROM flows WHERE ${NEVER_OPENED_SQL}`;
  return db.transaction(() => {
    db.prepare('DELETE FROM endpoints').run();
    for (const e of endpoints) {
      const claims = [...e.claims.values()].sort((a, b) => b.strength - a.strength);
      insert.run(
        e.ip,
        e.primaryRole,
        JSON.stringify(claims.map((c) => ({ role: c.role, strength: c.strength }))),
        topology.nameOf(e.ip),
        JSON.stringify(claims.map((c) => `${c.role}: ${c.reason}`)),
        e.flows,
        e.bytes,
        Number.isFinite(e.firstTs) ? e.firstTs : null,
        Number.isFinite(e.lastTs) ? e.lastTs : null,
      );
    }
    // "WHERE true": an upsert's SELECT needs a clause for SQLite to parse the ON CONFLICT after it.
    const added = db
      .prepare(
        `INSERT INTO endpoints (ip, primary_role, flows, bytes, first_ts, last_ts)
         SELECT ip, 'unknown', COUNT(*), SUM(bytes), MIN(first_ts), MAX(last_ts)
           FROM (${attempt('client_ip')} UNION ALL ${attempt('server_ip')}) WHERE true GROUP BY ip
         ON CONFLICT (ip) DO UPDATE SET
           flows = flows + excluded.flows,
           bytes = bytes + excluded.bytes,
           first_ts = MIN(COALESCE(first_ts, excluded.first_ts), excluded.first_ts),
           last_ts = MAX(COALESCE(last_ts, excluded.last_ts), excluded.last_ts)`,
      )
      .run().changes;
    if (added > 0) {
      const name = db.prepare('UPDATE endpoints SET name = ? WHERE ip = ? AND name IS NULL');
      for (const [ip, n] of topology.dnsNamedAddresses()) name.run(n, ip);
    }
    return db.prepare('SELECT COUNT(*) FROM endpoints').pluck().get() as number;
  })();
}

/**
 * Reads the stored views of a connection linked across a NAT (the flows of one capture sharing a
 * link; the `flows_nat_link` index finds them), for pairs the topology no longer keeps in memory.
 */
export function storedNatViews(db: Db): (captureId: number, natLink: string) => NatView[] {
  let views: Statement | null = null;
  return (captureId, natLink) => {
    if (views === null) {
      // A bulk load sets the index aside until it ends, and brings its verdicts up to date before.
      restoreDeferredIndex(db, 'flows_nat_link');
      // `+capture_id`: the index on the link finds two rows; the one on the capture, all of its flows.
      views = db
        .prepare(
          `SELECT flow_key, client_ip, client_port, server_ip, server_port, first_ts, last_ts, first_frame
           FROM flows WHERE nat_link = ? AND +capture_id = ? ORDER BY id LIMIT 3`,
        )
        .raw(true);
    }
    return (views.all(natLink, captureId) as [string, string, number, string, number, number, number, number][]).map(
      ([flowId, clientIp, clientPort, serverIp, serverPort, firstTs, lastTs, firstFrame]) => ({
        flowId,
        client: { ip: clientIp, port: clientPort },
        server: { ip: serverIp, port: serverPort },
        firstTs,
        lastTs,
        firstFrame,
      }),
    );
  };
}
