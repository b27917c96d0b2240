import type { Db, StoredFlow } from '../store/store';
import { iterateStoredFlows } from '../store/store';
import type { CertificateInfo } from '../model/records';

/**
 * The `--json` / `--ndjson` objects (DESIGN.md §3.3): flows with their classification, evidence and
 * finding ids; findings with evidence and references. Certificates are shown without their DER.
 */

function certJson(c: CertificateInfo) {
  const { der: _der, ...rest } = c;
  return rest;
}

interface ClassRow {
  id: number;
  path: string;
  path_detail: string;
  confidence: number;
  reasons: string;
}

export function flowJson(f: StoredFlow, cls: ClassRow, findingRules: string[], captureFile: string, acceptedRules: string[] = []) {
  return {
    id: f.id,
    dbId: f.dbId,
    capture: captureFile,
    communityId: f.communityId,
    transport: f.transport,
    client: f.client,
    server: f.server,
    firstTs: f.firstTs,
    lastTs: f.lastTs,
    firstFrame: f.firstFrame,
    lastFrame: f.lastFrame,
    packets: f.packets,
    bytes: f.bytes,
    payloadBytes: f.payloadBytes,
    missingBytes: f.missingBytes,
    history: f.history,
    state: f.state,
    midstream: f.midstream,
    endReason: f.endReason,
    tunnel: f.tunnel,
    vlan: f.vlan,
    // the same TCP connection on the other side of a NAT has the same value (null: none seen)
    natLink: f.natLink ?? null,
    // of the two, the view captured second: the same connection again
    natRepeat: f.natRepeat ?? false,
    anomalies: f.anomalies,
    app: f.app,
    path: cls.path,
    pathDetail: JSON.parse(cls.path_detail) as Record<string, string>,
    confidence: cls.confidence,
    reasons: JSON.parse(cls.reasons) as string[],
    tls: f.tls
      ? { ...f.tls, serverCertificates: f.tls.serverCertificates.map(certJson), clientCertificates: f.tls.clientCertificates.map(certJson) }
      : null,
    http: f.http,
    ssh: f.ssh,
    // DNS transactions (datagrams on port 53, or DNS over TCP): question, response code, answers
    dns: f.dns ?? [],
    findings: findingRules,
    // findings raised on it that an --accept entry accepts (not counted among `findings`)
    acceptedFindings: acceptedRules,
  };
}

export interface FindingRow {
  id: number;
  rule: string;
  severity: string;
  flow_id: number | null;
  title: string;
  evidence: string;
  recommendation: string;
  reference: string;
  cis: string | null;
  ts: number | null;
  frame: number | null;
}

/** Streams flow objects of the given captures, each with its classification and finding ids. */
export function* flowObjects(db: Db, captureIds: number[]): Generator<ReturnType<typeof flowJson>> {
  const cls = db.prepare(`SELECT id, path, path_detail, confidence, reasons FROM flows WHERE id = ?`);
  const rules = db.prepare(`SELECT rule FROM findings WHERE flow_id = ? ORDER BY severity_rank DESC, rule`).pluck();
  const acceptedRules = db.prepare(`SELECT rule FROM accepted_findings WHERE flow_id = ? ORDER BY severity_rank DESC, rule`).pluck();
  const anyAccepted = db.prepare(`SELECT EXISTS (SELECT 1 FROM accepted_findings)`).pluck().get() === 1;
  const files = new Map<number, string>();
  for (const r of db.prepare(`SELECT id, file FROM captures`).all() as { id: number; file: string }[]) files.set(r.id, r.file);
  for (const f of iterateStoredFlows(db, captureIds)) {
    const accepted = anyAccepted ? (acceptedRules.all(f.dbId) as string[]) : [];
    yield flowJson(f, cls.get(f.dbId) as ClassRow, rules.all(f.dbId) as string[], files.get(f.captureId) ?? '', accepted);
  }
}

/** The open findings of the given captures, most severe first. */
export function findingObjects(db: Db, captureIds: number[]) {
  return findingRows(db, 'findings', captureIds).map(findingJson);
}

/** The findings of the given captures accepted as risks, each with its acceptance. */
export function acceptedFindingObjects(db: Db, captureIds: number[]) {
  return (findingRows(db, 'accepted_findings', captureIds) as AcceptedRow[]).map((r) => ({
    ...findingJson(r),
    accepted: { reason: r.reason, until: r.until, source: r.accepted_by },
  }));
}

type AcceptedRow = FindingRow & { flow_key: string | null; reason: string; until: string | null; accepted_by: string };

function findingRows(db: Db, table: 'findings' | 'accepted_findings', captureIds: number[]) {
  return db
    .prepare(
      `SELECT f.*, fl.flow_key FROM ${table} f LEFT JOIN flows fl ON fl.id = f.flow_id
        WHERE f.capture_id IN (${captureIds.map(() => '?').join(',') || 'NULL'})
        ORDER BY f.severity_rank DESC, f.ts, f.id`,
    )
    .all(...captureIds) as (FindingRow & { flow_key: string | null })[];
}

function findingJson(r: FindingRow & { flow_key: string | null }) {
  return {
    rule: r.rule,
    severity: r.severity,
    flowId: r.flow_key,
    title: r.title,
    evidence: r.evidence,
    recommendation: r.recommendation,
    reference: r.reference,
    cis: r.cis,
    ts: r.ts,
    frame: r.frame,
  };
}
