import type { AcceptedFinding, Finding, Verdict } from '../model/analysis';
import { severityRank } from '../model/analysis';
import { classificationColumns, FindingInserter, type Db, type StoredFlow } from './store';

/** Flow ids looked up per statement when reading stored verdicts. */
const IDS_PER_LOOKUP = 500;

export interface VerdictUpdate {
  flow: Pick<StoredFlow, 'dbId' | 'captureId'>;
  verdict: Verdict;
}

/** A finding as stored: its id and the columns a verdict decides (its severity as the text stored). */
type StoredFinding = { id: number; severity: string } & Pick<Finding, 'rule' | 'title' | 'evidence' | 'recommendation' | 'reference' | 'cis' | 'ts' | 'frame'>;

/**
 * Brings stored verdicts up to date, writing only what changed. A flow whose path, reasons and
 * findings are the same is not written at all; a finding the flow keeps keeps its row and id (those
 * are what users quote and what the dashboard links to), updated in place if its text changed; a
 * finding no longer raised is deleted and a new one inserted. Between two passes over a database
 * most verdicts stay as they were: `reclassify`, live capture's passes and the end of an analysis
 * then write little.
 */
export class VerdictWriter {
  private readonly updateFlow;
  private readonly updateFinding;
  private readonly deleteFinding;
  private readonly deleteAccepted;
  private readonly insertFindings: FindingInserter;
  /** Flows whose stored verdict changed. */
  changed = 0;

  constructor(private readonly db: Db) {
    this.updateFlow = db.prepare(`UPDATE flows SET path = ?, path_detail = ?, confidence = ?, reasons = ?,
      worst_severity = ?, severity_rank = ?, finding_count = ? WHERE id = ?`);
    this.updateFinding = db.prepare(`UPDATE findings SET severity = ?, severity_rank = ?, title = ?, evidence = ?,
      recommendation = ?, reference = ?, cis = ?, ts = ?, frame = ? WHERE id = ?`);
    this.deleteFinding = db.prepare(`DELETE FROM findings WHERE id = ?`);
    this.deleteAccepted = db.prepare(`DELETE FROM accepted_findings WHERE flow_id = ?`);
    this.insertFindings = new FindingInserter(db);
  }

  /** Writes what changed in these verdicts. Runs inside the caller's transaction. */
  write(updates: readonly VerdictUpdate[]): void {
    for (let i = 0; i < updates.length; i += IDS_PER_LOOKUP) {
      const chunk = updates.slice(i, i + IDS_PER_LOOKUP);
      const ids = chunk.map((u) => u.flow.dbId);
      const columns = this.storedColumns(ids);
      const findings = this.storedFindings(ids);
      const accepted = this.storedAccepted(ids);
      for (const u of chunk) {
        const flowChanged = this.writeColumns(u, columns.get(u.flow.dbId));
        const findingsChanged = this.writeFindings(u, findings.get(u.flow.dbId) ?? []);
        const acceptedChanged = this.writeAccepted(u, accepted.get(u.flow.dbId) ?? '');
        if (flowChanged || findingsChanged || acceptedChanged) this.changed++;
      }
    }
  }

  /** The classification columns as stored, in classificationColumns' order, by flow id. */
  private storedColumns(ids: number[]): Map<number, unknown[]> {
    const rows = this.db
      .prepare(`SELECT id, path, path_detail, confidence, reasons, worst_severity, severity_rank, finding_count
                  FROM flows WHERE id IN (${ids.map(() => '?').join(',')})`)
      .raw(true)
      .all(...ids) as unknown[][];
    return new Map(rows.map((r) => [r[0] as number, r.slice(1)]));
  }

  /** Each flow's stored findings, oldest first. */
  private storedFindings(ids: number[]): Map<number, StoredFinding[]> {
    const rows = this.db
      .prepare(`SELECT flow_id, id, rule, severity, title, evidence, recommendation, reference, cis, ts, frame
                  FROM findings WHERE flow_id IN (${ids.map(() => '?').join(',')}) ORDER BY id`)
      .all(...ids) as (StoredFinding & { flow_id: number })[];
    const out = new Map<number, StoredFinding[]>();
    for (const r of rows) {
      const list = out.get(r.flow_id);
      if (list) list.push(r);
      else out.set(r.flow_id, [r]);
    }
    return out;
  }

  /**
   * Each flow's stored accepted findings, as the text `acceptedKey` makes of them (few flows have any:
   * one query finds them).
   */
  private storedAccepted(ids: number[]): Map<number, string> {
    const rows = this.db
      .prepare(`SELECT flow_id, rule, severity, title, evidence, recommendation, reference, cis, ts, frame, reason, until, accepted_by
                  FROM accepted_findings WHERE flow_id IN (${ids.map(() => '?').join(',')}) ORDER BY id`)
      .raw(true)
      .all(...ids) as unknown[][];
    const out = new Map<number, string>();
    for (const r of rows) {
      const id = r[0] as number;
      out.set(id, (out.get(id) ?? '') + JSON.stringify(r.slice(1)));
    }
    return out;
  }

  /** Accepted findings are few and rarely change: a flow's are replaced whole when they differ. */
  private writeAccepted(u: VerdictUpdate, stored: string): boolean {
    const next = acceptedKey(u.verdict.accepted);
    if (next === stored) return false;
    this.deleteAccepted.run(u.flow.dbId);
    this.insertFindings.insertAccepted(u.flow.dbId, u.flow.captureId, u.verdict.accepted);
    return true;
  }

  private writeColumns(u: VerdictUpdate, stored: unknown[] | undefined): boolean {
    const next = classificationColumns(u.verdict);
    if (stored !== undefined && next.every((v, i) => v === stored[i])) return false;
    this.updateFlow.run(...next, u.flow.dbId);
    return true;
  }

  /**
   * Matches the verdict's findings with the stored ones rule by rule, in order (the n-th finding of a
   * rule takes the n-th stored one of that rule), and writes the differences.
   */
  private writeFindings(u: VerdictUpdate, stored: StoredFinding[]): boolean {
    const byRule = new Map<string, StoredFinding[]>();
    for (const s of stored) {
      const list = byRule.get(s.rule);
      if (list) list.push(s);
      else byRule.set(s.rule, [s]);
    }
    let changed = false;
    const added: Finding[] = [];
    for (const f of u.verdict.findings) {
      const match = byRule.get(f.rule)?.shift();
      if (match === undefined) {
        added.push(f);
        continue;
      }
      if (sameFinding(match, f)) continue;
      this.updateFinding.run(f.severity, severityRank(f.severity), f.title, f.evidence, f.recommendation, f.reference, f.cis, f.ts, f.frame, match.id);
      changed = true;
    }
    for (const left of byRule.values()) {
      for (const s of left) {
        this.deleteFinding.run(s.id);
        changed = true;
      }
    }
    if (added.length > 0) {
      this.insertFindings.insert(u.flow.dbId, u.flow.captureId, added);
      changed = true;
    }
    return changed;
  }
}

/** The accepted findings as `storedAccepted` reads them back. */
function acceptedKey(list: readonly AcceptedFinding[]): string {
  let out = '';
  for (const f of list) {
    const a = f.acceptance;
    out += JSON.stringify([f.rule, f.severity, f.title, f.evidence, f.recommendation, f.reference, f.cis ?? null, f.ts ?? null, f.frame ?? null, a.reason, a.until, a.source]);
  }
  return out;
}

function sameFinding(s: StoredFinding, f: Finding): boolean {
  return (
    s.severity === f.severity && s.title === f.title && s.evidence === f.evidence && s.recommendation === f.recommendation &&
    s.reference === f.reference && s.cis === (f.cis ?? null) && s.ts === (f.ts ?? null) && s.frame === (f.frame ?? null)
  );
}
