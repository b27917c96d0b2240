/**
 * The flows list: server-side filters, a whitelist of sorts that each match an index of the schema,
 * and keyset pagination (the cursor carries the last row's sort key), so page 5 000 of a million flows
 * costs the same as page 1.
 */
import { severityRank, type PathId, type Severity } from '../model/analysis';
import type { FlowSort } from './schemas';
import { likeContains, placeholders, type StatementCache } from './statements';
import { roleGroup, type RoleGroup } from './roles';

/**
 * A filtered count stops here: "10,000+" tells a reader as much as the exact figure (the path summary
 * and the endpoints have exact counts), and counting further cost most of a filtered list request on
 * a million flows.
 */
export const MAX_FILTERED_COUNT = 10_000;

export interface FlowFilter {
  path?: PathId[];
  app?: string[];
  /** Zeek connection states (`S0`, `REJ`, `SF`, …). */
  state?: string[];
  severity?: Severity[];
  minSeverity?: Severity;
  rule?: string;
  /** A credential's subject or hash: flows whose requests carry it. */
  credential?: string;
  ip?: string;
  client?: string;
  server?: string;
  clientGroup?: RoleGroup;
  serverGroup?: RoleGroup;
  port?: number;
  capture?: number;
  q?: string;
  from?: number;
  to?: number;
}

export interface FlowListQuery extends FlowFilter {
  sort: FlowSort;
  order: 'asc' | 'desc';
  limit: number;
  cursor?: string;
}

/**
 * Sort key columns, most significant first; each list is a prefix of an index (rowid is implied
 * last). `tailFlipped`: the columns after the first run the other way, because that is the order
 * the index holds (flows_severity is severity_rank DESC, first_ts ASC): most severe first, and
 * within one severity the oldest first.
 */
const SORTS: Record<FlowSort, { cols: readonly string[]; tailFlipped: boolean }> = {
  time: { cols: ['first_ts', 'id'], tailFlipped: false },
  bytes: { cols: ['(bytes_client + bytes_server)', 'id'], tailFlipped: false },
  severity: { cols: ['severity_rank', 'first_ts', 'id'], tailFlipped: true },
  server: { cols: ['server_ip', 'server_port', 'id'], tailFlipped: false },
  client: { cols: ['client_ip', 'id'], tailFlipped: false },
  path: { cols: ['path', 'first_ts', 'id'], tailFlipped: false },
  id: { cols: ['id'], tailFlipped: false },
};

/** ORDER BY text and the keyset condition that continues after a given key. */
function sortSql(sort: FlowSort, order: 'asc' | 'desc'): { orderBy: string; after: string } {
  const { cols, tailFlipped } = SORTS[sort];
  const head = order === 'asc' ? 'ASC' : 'DESC';
  const tail = tailFlipped ? (head === 'ASC' ? 'DESC' : 'ASC') : head;
  const orderBy = cols.map((c, i) => `${c} ${i === 0 ? head : tail}`).join(', ');
  const op = (dir: string) => (dir === 'ASC' ? '>' : '<');
  if (!tailFlipped) return { orderBy, after: `(${cols.join(', ')}) ${op(head)} (${placeholders(cols.length)})` };
  // Mixed directions cannot use one row-value comparison: bound the head (an index range), then
  // either a strictly later head or the same head and a later tail.
  const rest = cols.slice(1);
  return {
    orderBy,
    after: `${cols[0]} ${op(head)}= ? AND (${cols[0]} ${op(head)} ? OR (${rest.join(', ')}) ${op(tail)} (${placeholders(rest.length)}))`,
  };
}

export class BadRequest extends Error {
  readonly statusCode = 400;
}

interface FlowRow {
  id: number; capture_id: number; community_id: string; transport: string; client_ip: string; client_port: number;
  server_ip: string; server_port: number; first_ts: number; last_ts: number; packets: number; bytes: number; state: string;
  app: string; tls_version: string | null; sni: string | null; path: string; confidence: number; worst_severity: string | null;
  finding_count: number; k0: unknown; k1: unknown; k2: unknown;
}

export interface FlowItem {
  id: number; captureId: number; communityId: string; transport: string; clientIp: string; clientPort: number;
  serverIp: string; serverPort: number; clientRole: string | null; serverRole: string | null; firstTs: number; lastTs: number;
  packets: number; bytes: number; state: string; app: string; tlsVersion: string | null; sni: string | null; path: string;
  confidence: number; worstSeverity: string | null; findingCount: number;
}

export interface FlowPage {
  items: FlowItem[];
  total: number;
  totalCapped: boolean;
  nextCursor: string | null;
  sort: string;
  order: string;
}

/** Builds the WHERE clause of a flow filter: SQL text from fixed fragments, values bound. */
export function flowWhere(f: FlowFilter, stmts: StatementCache): { sql: string; params: unknown[]; onlyRule: string | null } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (f.path && f.path.length > 0) {
    parts.push(`path IN (${placeholders(f.path.length)})`);
    params.push(...f.path);
  }
  if (f.app && f.app.length > 0) {
    parts.push(`app IN (${placeholders(f.app.length)})`);
    params.push(...f.app);
  }
  if (f.state && f.state.length > 0) {
    parts.push(`state IN (${placeholders(f.state.length)})`);
    params.push(...f.state);
  }
  if (f.severity && f.severity.length > 0) {
    parts.push(`severity_rank IN (${placeholders(f.severity.length)})`);
    params.push(...f.severity.map((s) => severityRank(s)));
  }
  if (f.minSeverity) {
    parts.push('severity_rank >= ?');
    params.push(severityRank(f.minSeverity));
  }
  if (f.rule) {
    parts.push(
      ruleIsCommon(f.rule, stmts)
        ? 'EXISTS (SELECT 1 FROM findings WHERE rule = ? AND flow_id = flows.id)'
        : 'id IN (SELECT flow_id FROM findings WHERE rule = ?)',
    );
    params.push(f.rule);
  }
  if (f.credential) {
    parts.push('id IN (SELECT flow_id FROM http_requests WHERE auth_subject = ? OR auth_hash = ?)');
    params.push(f.credential, f.credential);
  }
  if (f.ip) {
    parts.push('(client_ip = ? OR server_ip = ?)');
    params.push(f.ip, f.ip);
  }
  if (f.client) {
    parts.push('client_ip = ?');
    params.push(f.client);
  }
  if (f.server) {
    parts.push('server_ip = ?');
    params.push(f.server);
  }
  if (f.port !== undefined) {
    parts.push('server_port = ?');
    params.push(f.port);
  }
  if (f.capture !== undefined) {
    parts.push('capture_id = ?');
    params.push(f.capture);
  }
  if (f.clientGroup) groupCondition('client_ip', f.clientGroup, stmts, parts, params);
  if (f.serverGroup) groupCondition('server_ip', f.serverGroup, stmts, parts, params);
  if (f.q) searchCondition(f.q, parts, params);
  if (f.from !== undefined) {
    parts.push('first_ts >= ?');
    params.push(f.from);
  }
  if (f.to !== undefined) {
    parts.push('first_ts < ?');
    params.push(f.to);
  }
  return { sql: parts.length > 0 ? parts.join(' AND ') : '', params, onlyRule: parts.length === 1 && f.rule ? f.rule : null };
}

/**
 * Whether a finding rule marks enough flows that a list is best read in its own order, asking each
 * flow whether it has the finding (it soon finds a page of them), rather than by fetching every flow
 * with the finding and sorting them all. That second way suits rare rules: walking the list for
 * those passes over many flows per match. With N flows and M findings of the rule, fetching costs
 * about M row reads and walking about 100·N/M index probes; they meet near M = √(32·N).
 */
function ruleIsCommon(rule: string, stmts: StatementCache): boolean {
  const flows = stmts.one<{ n: number | null }>('SELECT MAX(id) AS n FROM flows')!.n ?? 0;
  const threshold = Math.max(MIN_COMMON_RULE_FINDINGS, Math.ceil(Math.sqrt(32 * flows)));
  const n = stmts.one<{ n: number }>('SELECT COUNT(*) AS n FROM (SELECT 1 FROM findings WHERE rule = ? LIMIT ?)', [rule, threshold])!.n;
  return n >= threshold;
}

/** Below this many findings a rule is always answered by fetching its flows. */
export const MIN_COMMON_RULE_FINDINGS = 1000;

/** Text typed by an analyst that looks like (the start of) an address. */
const ADDRESS_PREFIX = /^[0-9A-Fa-f:.]+$/;
/** Sorts after every character an address can contain: the upper bound of a prefix range. */
const ADDRESS_END = '~';

/**
 * Free-text search. An address (or its start: "10.0.2.") and a Community ID are answered from
 * the indexes; anything else is a substring of the SNI, which has to read every row it passes.
 */
function searchCondition(q: string, parts: string[], params: unknown[]): void {
  if (q.startsWith('1:')) {
    parts.push('community_id = ?');
    params.push(q);
  } else if (ADDRESS_PREFIX.test(q) && /[.:]/.test(q)) {
    parts.push('((client_ip >= ? AND client_ip < ?) OR (server_ip >= ? AND server_ip < ?))');
    params.push(q, q + ADDRESS_END, q, q + ADDRESS_END);
  } else {
    parts.push(`sni LIKE ? ESCAPE '\\'`);
    params.push(likeContains(q));
  }
}

/**
 * Role names are free text from topology learning; they are folded into the map's groups here, as
 * the map does, and the condition names the matching roles explicitly.
 */
function groupCondition(column: 'client_ip' | 'server_ip', group: RoleGroup, stmts: StatementCache, parts: string[], params: unknown[]): void {
  const roles = stmts.all<{ r: string }>('SELECT DISTINCT primary_role AS r FROM endpoints').map((x) => x.r);
  if (group === 'other') {
    const known = roles.filter((r) => roleGroup(r) !== 'other');
    parts.push(`${column} NOT IN (SELECT ip FROM endpoints WHERE primary_role IN (${placeholders(known.length)}))`);
    params.push(...known);
  } else {
    const wanted = roles.filter((r) => roleGroup(r) === group);
    parts.push(`${column} IN (SELECT ip FROM endpoints WHERE primary_role IN (${placeholders(wanted.length)}))`);
    params.push(...wanted);
  }
}

function encodeCursor(sort: string, order: string, key: unknown[]): string {
  return Buffer.from(JSON.stringify({ s: sort, o: order, k: key })).toString('base64url');
}

function decodeCursor(cursor: string, sort: string, order: string, width: number): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new BadRequest('cursor is not valid');
  }
  const c = parsed as { s?: unknown; o?: unknown; k?: unknown };
  if (c === null || typeof c !== 'object' || c.s !== sort || c.o !== order || !Array.isArray(c.k) || c.k.length !== width) {
    throw new BadRequest('cursor does not belong to this sort order');
  }
  for (const v of c.k) if (typeof v !== 'number' && typeof v !== 'string') throw new BadRequest('cursor is not valid');
  return c.k;
}

export function listFlows(stmts: StatementCache, q: FlowListQuery, roleOf: (ip: string) => string | null): FlowPage {
  const cols = SORTS[q.sort].cols;
  const { orderBy, after } = sortSql(q.sort, q.order);
  const where = flowWhere(q, stmts);
  const conds = where.sql ? [where.sql] : [];
  const params = [...where.params];
  if (q.cursor) {
    const key = decodeCursor(q.cursor, q.sort, q.order, cols.length);
    conds.push(after);
    params.push(...(SORTS[q.sort].tailFlipped ? [key[0], key[0], ...key.slice(1)] : key));
  }
  const keySelect = cols.map((c, i) => `${c} AS k${i}`).join(', ');
  const sql = `SELECT id, capture_id, community_id, transport, client_ip, client_port, server_ip, server_port, first_ts,
      last_ts, packets_client + packets_server AS packets, bytes_client + bytes_server AS bytes, state, app, tls_version,
      sni, path, confidence, worst_severity, finding_count, ${keySelect}
    FROM flows ${conds.length > 0 ? `WHERE ${conds.join(' AND ')}` : ''}
    ORDER BY ${orderBy} LIMIT ?`;
  const rows = stmts.all<FlowRow>(sql, [...params, q.limit + 1]);
  const more = rows.length > q.limit;
  if (more) rows.length = q.limit;
  const last = rows[rows.length - 1];
  const nextCursor = more && last ? encodeCursor(q.sort, q.order, [last.k0, last.k1, last.k2].slice(0, cols.length)) : null;

  let total: number;
  let totalCapped = false;
  if (!where.sql) {
    total = stmts.one<{ n: number }>('SELECT COUNT(*) AS n FROM flows')!.n;
  } else if (where.onlyRule !== null) {
    // Flows with a finding of the rule and nothing else asked: counted on the findings index alone
    // (rule, flow_id), without visiting a flow.
    total = stmts.one<{ n: number }>(
      'SELECT COUNT(*) AS n FROM (SELECT DISTINCT flow_id FROM findings WHERE rule = ? AND flow_id IS NOT NULL LIMIT ?)',
      [where.onlyRule, MAX_FILTERED_COUNT + 1],
    )!.n;
    if (total > MAX_FILTERED_COUNT) {
      total = MAX_FILTERED_COUNT;
      totalCapped = true;
    }
  } else {
    total = stmts.one<{ n: number }>(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM flows WHERE ${where.sql} LIMIT ?)`, [
      ...where.params,
      MAX_FILTERED_COUNT + 1,
    ])!.n;
    if (total > MAX_FILTERED_COUNT) {
      total = MAX_FILTERED_COUNT;
      totalCapped = true;
    }
  }
  return {
    items: rows.map((r) => ({
      id: r.id, captureId: r.capture_id, communityId: r.community_id, transport: r.transport, clientIp: r.client_ip,
      clientPort: r.client_port, serverIp: r.server_ip, serverPort: r.server_port, clientRole: roleOf(r.client_ip),
      serverRole: roleOf(r.server_ip), firstTs: r.first_ts, lastTs: r.last_ts, packets: r.packets, bytes: r.bytes,
      state: r.state, app: r.app, tlsVersion: r.tls_version, sni: r.sni, path: r.path, confidence: r.confidence,
      worstSeverity: r.worst_severity, findingCount: r.finding_count,
    })),
    total,
    totalCapped,
    nextCursor,
    sort: q.sort,
    order: q.order,
  };
}

