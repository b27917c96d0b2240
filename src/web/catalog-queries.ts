/**
 * Lists other than flows: captures, findings, endpoints, certificates. These tables are small next to
 * `flows` (thousands, not millions), so offset pagination is enough; anything that would walk flows
 * goes through the aggregate cache (aggregates.ts) or a capped scan.
 */
import { severityRank, SEVERITIES, type Severity } from '../model/analysis';
import { likeContains, parseJson, placeholders, type StatementCache } from './statements';
import { ACCEPTED_FINDING_SELECT, CERT_COLUMNS, certificateFromRow, FINDING_SELECT, findingItemFromRow, type CertificateRow, type FindingRow } from './row-mappers';
import type { Aggregates, EndpointActivity } from './aggregates';
import { currentCaptureStatus } from '../store/store';
import { CREDENTIAL_ENDPOINTS_SQL, CREDENTIAL_USES_SQL, usedBetween, type CredentialUseRow } from '../store/credential-uses';
import { storedIdentity } from '../analysis/client-identity';
import { decodeAsRules } from '../decode/decode-as';

interface Page {
  limit: number;
  offset: number;
}

// ---- captures ----

interface CaptureRow {
  id: number; file: string; sha256: string | null; format: string | null; compressed: number; status: string; packets: number;
  bytes: number; flows: number; first_ts: number | null; last_ts: number | null; link_types: string; anomalies: string;
  error: string | null; started_at: string; finished_at: string | null; pid: number | null; decode_as: string | null;
}

export function listCaptures(stmts: StatementCache) {
  return stmts.all<CaptureRow>('SELECT * FROM captures ORDER BY id').map((c) => ({
    id: c.id, file: c.file, sha256: c.sha256, format: c.format, compressed: c.compressed === 1, status: currentCaptureStatus(c.status, c.pid),
    packets: c.packets, bytes: c.bytes, flows: c.flows, firstTs: c.first_ts, lastTs: c.last_ts,
    linkTypes: parseJson<unknown[]>(c.link_types, []).map(String), anomalies: parseJson<Record<string, number>>(c.anomalies, {}),
    error: c.error, startedAt: c.started_at, finishedAt: c.finished_at, decodeAs: decodeAsRules(c.decode_as),
  }));
}

// ---- findings ----

export interface FindingQuery extends Page {
  rule?: string[];
  severity?: Severity[];
  path?: string[];
  flow?: number;
  ip?: string;
  q?: string;
  /** The findings accepted as risks instead of the open ones. */
  accepted?: boolean;
}

export function listFindings(stmts: StatementCache, q: FindingQuery) {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (q.rule?.length) {
    parts.push(`f.rule IN (${placeholders(q.rule.length)})`);
    params.push(...q.rule);
  }
  if (q.severity?.length) {
    parts.push(`f.severity_rank IN (${placeholders(q.severity.length)})`);
    params.push(...q.severity.map((s) => severityRank(s)));
  }
  if (q.path?.length) {
    parts.push(`fl.path IN (${placeholders(q.path.length)})`);
    params.push(...q.path);
  }
  if (q.flow !== undefined) {
    parts.push('f.flow_id = ?');
    params.push(q.flow);
  }
  if (q.ip) {
    parts.push('(fl.client_ip = ? OR fl.server_ip = ?)');
    params.push(q.ip, q.ip);
  }
  if (q.q) {
    parts.push(`(f.title LIKE ? ESCAPE '\\' OR f.evidence LIKE ? ESCAPE '\\')`);
    const like = likeContains(q.q);
    params.push(like, like);
  }
  const where = parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '';
  const select = q.accepted === true ? ACCEPTED_FINDING_SELECT : FINDING_SELECT;
  const table = q.accepted === true ? 'accepted_findings' : 'findings';
  const items = stmts
    .all<FindingRow>(`${select} ${where} ORDER BY f.severity_rank DESC, f.ts, f.id LIMIT ? OFFSET ?`, [...params, q.limit, q.offset])
    .map(findingItemFromRow);
  // The join is needed only when a condition is on the flow.
  const needsFlow = Boolean(q.path?.length || q.ip);
  const total = stmts.one<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} f ${needsFlow ? 'LEFT JOIN flows fl ON fl.id = f.flow_id' : ''} ${where}`, params)!.n;
  return { items, total, limit: q.limit, offset: q.offset };
}

// ---- endpoints ----

interface EndpointRow {
  ip: string; primary_role: string; roles: string; name: string | null; reasons: string; flows: number; bytes: number;
  first_ts: number | null; last_ts: number | null;
}

export interface EndpointQuery extends Page {
  role?: string;
  q?: string;
  sort: 'bytes' | 'flows' | 'ip' | 'role' | 'findings';
}

function worst(rank: number): Severity | null {
  for (const s of SEVERITIES) if (severityRank(s) === rank) return s;
  return null;
}

/** An endpoint's roles, strongest claim first (stored with their strengths: `[{role, strength}]`). */
function roleNames(json: string): string[] {
  return parseJson<({ role?: unknown } | string)[]>(json, []).map((c) => (typeof c === 'string' ? c : String(c.role)));
}

function endpointItem(r: EndpointRow, activity: Map<string, EndpointActivity>) {
  const a = activity.get(r.ip);
  return {
    ip: r.ip, primaryRole: r.primary_role, roles: roleNames(r.roles), name: r.name,
    reasons: parseJson<string[]>(r.reasons, []), flows: r.flows, bytes: r.bytes, firstTs: r.first_ts, lastTs: r.last_ts,
    flowsAsClient: a?.asClient ?? 0, flowsAsServer: a?.asServer ?? 0, findings: a?.findings ?? 0, worstSeverity: worst(a?.worstRank ?? 0),
  };
}

const ENDPOINT_ORDER: Record<EndpointQuery['sort'], string> = {
  bytes: 'bytes DESC, ip',
  flows: 'flows DESC, ip',
  ip: 'ip',
  role: 'primary_role, ip',
  findings: 'bytes DESC, ip', // those with findings first: endpointsByFindings
};

export function listEndpoints(stmts: StatementCache, agg: Aggregates, q: EndpointQuery) {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (q.role) {
    parts.push('(primary_role = ? OR roles LIKE ? ESCAPE \'\\\')');
    params.push(q.role, likeContains(`"${q.role}"`));
  }
  if (q.q) {
    parts.push(`(ip LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')`);
    const like = likeContains(q.q);
    params.push(like, like);
  }
  const where = parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '';
  const total = stmts.one<{ n: number }>(`SELECT COUNT(*) AS n FROM endpoints ${where}`, params)!.n;
  const rows = q.sort === 'findings'
    ? endpointsByFindings(stmts, agg, parts, params, q)
    : stmts.all<EndpointRow>(`SELECT * FROM endpoints ${where} ORDER BY ${ENDPOINT_ORDER[q.sort]} LIMIT ? OFFSET ?`, [...params, q.limit, q.offset]);
  const activity = agg.endpointActivity(rows.map((r) => r.ip));
  return { items: rows.map((r) => endpointItem(r, activity)), total, limit: q.limit, offset: q.offset };
}

/**
 * A page of endpoints ordered by findings (most first), then bytes, then address. Those with
 * findings are few and sorted here; the rest follow in the table's own order by bytes, read a page
 * at a time, so a flood's million addresses without findings are never all read.
 */
function endpointsByFindings(stmts: StatementCache, agg: Aggregates, parts: string[], params: unknown[], q: EndpointQuery): EndpointRow[] {
  const findings = agg.endpointFindings();
  const listed = JSON.stringify([...findings.keys()]);
  const where = (extra: string) => `WHERE ${[...parts, extra].join(' AND ')}`;
  const flagged = stmts
    .all<EndpointRow>(`SELECT * FROM endpoints ${where('ip IN (SELECT value FROM json_each(?))')}`, [...params, listed])
    .sort((a, b) => findings.get(b.ip)!.findings - findings.get(a.ip)!.findings || b.bytes - a.bytes || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  const page = flagged.slice(q.offset, q.offset + q.limit);
  if (page.length === q.limit) return page;
  const rest = stmts.all<EndpointRow>(
    `SELECT * FROM endpoints ${where('ip NOT IN (SELECT value FROM json_each(?))')} ORDER BY ${ENDPOINT_ORDER.bytes} LIMIT ? OFFSET ?`,
    [...params, listed, q.limit - page.length, Math.max(0, q.offset - flagged.length)],
  );
  return [...page, ...rest];
}

/** Flows of one endpoint read for its detail page; a busy API server has far more, and the newest tell enough. */
export const MAX_ENDPOINT_SCAN = 50_000;

export function endpointDetail(stmts: StatementCache, agg: Aggregates, ip: string) {
  let row = stmts.one<EndpointRow>('SELECT * FROM endpoints WHERE ip = ?', [ip]);
  const scan = `SELECT id FROM flows WHERE client_ip = ? UNION ALL SELECT id FROM flows WHERE server_ip = ? ORDER BY id DESC LIMIT ?`;
  const peers = stmts.all<{ peer: string; direction: string; path: string; port: number; flows: number; bytes: number; rank: number; role: string | null }>(
    `SELECT p.peer, p.direction, p.path, p.port, p.flows, p.bytes, p.rank, e.primary_role AS role FROM (
       SELECT CASE WHEN fl.client_ip = ? THEN fl.server_ip ELSE fl.client_ip END AS peer,
              CASE WHEN fl.client_ip = ? THEN 'outbound' ELSE 'inbound' END AS direction,
              fl.path, fl.server_port AS port, COUNT(*) AS flows, SUM(fl.bytes_client + fl.bytes_server) AS bytes,
              MAX(fl.severity_rank) AS rank
         FROM flows fl WHERE fl.id IN (${scan}) GROUP BY 1, 2, 3, 4) p
       LEFT JOIN endpoints e ON e.ip = p.peer ORDER BY p.rank DESC, p.bytes DESC LIMIT 200`,
    [ip, ip, ip, ip, MAX_ENDPOINT_SCAN],
  );
  const scanned = stmts.one<{ n: number }>(`SELECT COUNT(*) AS n FROM (${scan})`, [ip, ip, MAX_ENDPOINT_SCAN])!.n;
  if (!row && scanned === 0) return null;
  row ??= { ip, primary_role: 'unknown', roles: '[]', name: null, reasons: '[]', flows: scanned, bytes: 0, first_ts: null, last_ts: null };
  const certs = stmts.all<CertificateRow & { side: string; flows: number }>(
    `SELECT x.side, x.flows, ${CERT_COLUMNS} FROM (
       SELECT fc.sha256, CASE WHEN fc.side = 'server' THEN 'presented' ELSE 'client' END AS side, COUNT(*) AS flows
         FROM flow_certificates fc JOIN flows fl ON fl.id = fc.flow_id
        WHERE fc.position = 0 AND fc.flow_id IN (${scan})
          AND ((fc.side = 'server' AND fl.server_ip = ?) OR (fc.side = 'client' AND fl.client_ip = ?))
        GROUP BY fc.sha256, fc.side) x JOIN certificates c ON c.sha256 = x.sha256 ORDER BY x.flows DESC LIMIT 100`,
    [ip, ip, MAX_ENDPOINT_SCAN, ip, ip],
  );
  return {
    endpoint: endpointItem(row, agg.endpointActivity([row.ip])),
    certificates: certs.map((c) => ({ side: c.side, flows: c.flows, certificate: certificateFromRow(c) })),
    peers: peers.map((p) => ({ ip: p.peer, role: p.role, direction: p.direction, path: p.path, port: p.port, flows: p.flows, bytes: p.bytes, worstSeverity: worst(p.rank) })),
    scannedFlows: scanned,
    scanCapped: scanned >= MAX_ENDPOINT_SCAN,
  };
}

// ---- credentials ----

export interface CredentialQuery extends Page {
  q?: string;
  cleartext?: boolean;
}

export function listCredentials(stmts: StatementCache, q: CredentialQuery) {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (q.q) {
    parts.push(`(subject LIKE ? ESCAPE '\\' OR identity LIKE ? ESCAPE '\\' OR hash = ?)`);
    const like = likeContains(q.q);
    params.push(like, like, q.q);
  }
  if (q.cleartext !== undefined) {
    parts.push('cleartext = ?');
    params.push(q.cleartext ? 1 : 0);
  }
  const where = parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '';
  // Unfiltered, the credentials are counted on their index without summing their uses.
  const total = where === ''
    ? stmts.one<{ n: number }>(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM http_requests WHERE auth_hash IS NOT NULL GROUP BY auth_hash, auth)`)!.n
    : stmts.one<{ n: number }>(`SELECT COUNT(*) AS n FROM (${CREDENTIAL_USES_SQL}) ${where}`, params)!.n;
  const rows = stmts.all<CredentialUseRow>(`SELECT * FROM (${CREDENTIAL_USES_SQL}) ${where} ORDER BY cleartext DESC, last_ts DESC, hash LIMIT ? OFFSET ?`, [
    ...params,
    q.limit,
    q.offset,
  ]);
  return {
    items: rows.map((r) => {
      const { identity, holder, expires } = storedIdentity(r.identity);
      return {
        authHash: r.hash, scheme: r.scheme, subject: r.subject, kind: identity?.kind ?? null, holder, expires,
        requests: r.requests, flows: r.flows,
        ...usedBetween(stmts.all<{ client_ip: string; server_ip: string; server_port: number }>(CREDENTIAL_ENDPOINTS_SQL, [r.hash, 400])),
        cleartext: r.cleartext === 1, firstTs: r.first_ts, lastTs: r.last_ts,
      };
    }),
    total,
    limit: q.limit,
    offset: q.offset,
  };
}

// ---- certificates ----

export interface CertificateQuery extends Page {
  q?: string;
  selfSigned?: boolean;
  ip?: string;
}

/** Flows counted per certificate in lists; past this the figure shows as a floor. */
export const MAX_CERT_FLOW_COUNT = 10_000;

export function listCertificates(stmts: StatementCache, q: CertificateQuery) {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (q.q) {
    parts.push(`(c.subject LIKE ? ESCAPE '\\' OR c.issuer LIKE ? ESCAPE '\\' OR c.san LIKE ? ESCAPE '\\' OR c.sha256 = ?)`);
    const like = likeContains(q.q);
    params.push(like, like, like, q.q.toLowerCase());
  }
  if (q.selfSigned !== undefined) {
    parts.push('c.self_signed = ?');
    params.push(q.selfSigned ? 1 : 0);
  }
  if (q.ip) {
    parts.push(`c.sha256 IN (SELECT fc.sha256 FROM flow_certificates fc JOIN flows fl ON fl.id = fc.flow_id
      WHERE fc.flow_id IN (SELECT id FROM flows WHERE server_ip = ? UNION ALL SELECT id FROM flows WHERE client_ip = ? LIMIT ?))`);
    params.push(q.ip, q.ip, MAX_ENDPOINT_SCAN);
  }
  const where = parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '';
  const total = stmts.one<{ n: number }>(`SELECT COUNT(*) AS n FROM certificates c ${where}`, params)!.n;
  const rows = stmts.all<CertificateRow>(`SELECT ${CERT_COLUMNS} FROM certificates c ${where} ORDER BY c.subject, c.sha256 LIMIT ? OFFSET ?`, [
    ...params,
    q.limit,
    q.offset,
  ]);
  return {
    items: rows.map((r) => ({ certificate: certificateFromRow(r), ...certificateUse(stmts, r.sha256) })),
    total,
    limit: q.limit,
    offset: q.offset,
  };
}

function certificateUse(stmts: StatementCache, sha: string) {
  const flows = stmts.one<{ n: number }>('SELECT COUNT(*) AS n FROM (SELECT 1 FROM flow_certificates WHERE sha256 = ? LIMIT ?)', [sha, MAX_CERT_FLOW_COUNT])!.n;
  const servers = stmts
    .all<{ ip: string }>(
      `SELECT DISTINCT CASE WHEN fc.side = 'server' THEN fl.server_ip ELSE fl.client_ip END AS ip
         FROM (SELECT flow_id, side FROM flow_certificates WHERE sha256 = ? LIMIT ?) fc JOIN flows fl ON fl.id = fc.flow_id LIMIT 20`,
      [sha, MAX_CERT_FLOW_COUNT],
    )
    .map((r) => r.ip);
  return { flows, servers };
}

export function certificateDetail(stmts: StatementCache, sha: string) {
  const r = stmts.one<CertificateRow>(`SELECT ${CERT_COLUMNS} FROM certificates c WHERE c.sha256 = ?`, [sha]);
  if (!r) return null;
  const newest = newestFlowsPresenting(stmts, sha, RECENT_CERT_FLOWS);
  const rows = new Map(
    stmts
      .all<{ id: number; client_ip: string; server_ip: string; server_port: number; path: string; first_ts: number }>(
        `SELECT fl.id, fl.client_ip, fl.server_ip, fl.server_port, fl.path, fl.first_ts FROM flows fl WHERE fl.id IN (${placeholders(newest.length)})`,
        newest.map((x) => x.flowId),
      )
      .map((r) => [r.id, r]),
  );
  const recent = newest.flatMap((x) => {
    const r = rows.get(x.flowId);
    return r ? [{ ...r, side: x.side }] : [];
  });
  return {
    certificate: certificateFromRow(r),
    ...certificateUse(stmts, sha),
    recentFlows: recent.map((x) => ({ id: x.id, side: x.side, clientIp: x.client_ip, serverIp: x.server_ip, serverPort: x.server_port, path: x.path, firstTs: x.first_ts })),
  };
}

/** Flows listed on a certificate's page, newest first. */
const RECENT_CERT_FLOWS = 50;

/**
 * The newest flows whose chains hold the certificate. A certificate is in few chains (a CA in one per
 * server or client it signed), and each chain's flows are found newest first by walking its index
 * backwards: the first `limit` of each, merged, instead of sorting every flow that presented it.
 */
function newestFlowsPresenting(stmts: StatementCache, sha: string, limit: number): { flowId: number; side: 'server' | 'client' }[] {
  const chains = stmts.all<{ chain_id: number }>('SELECT DISTINCT chain_id FROM certificate_chain_links WHERE sha256 = ?', [sha]);
  const found: { flowId: number; side: 'server' | 'client' }[] = [];
  for (const { chain_id } of chains) {
    for (const r of stmts.all<{ flow_id: number }>('SELECT flow_id FROM tls_sessions WHERE server_chain = ? ORDER BY flow_id DESC LIMIT ?', [chain_id, limit])) {
      found.push({ flowId: r.flow_id, side: 'server' });
    }
    for (const r of stmts.all<{ flow_id: number }>('SELECT flow_id FROM tls_sessions WHERE client_chain = ? ORDER BY flow_id DESC LIMIT ?', [chain_id, limit])) {
      found.push({ flowId: r.flow_id, side: 'client' });
    }
  }
  return found.sort((a, b) => b.flowId - a.flowId || a.side.localeCompare(b.side)).slice(0, limit);
}
