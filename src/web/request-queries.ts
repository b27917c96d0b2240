/**
 * The requests read on every connection, newest first — what Kubeshark's API-call stream and Zeek's
 * http.log give, with the Kubernetes meaning of each (the operation on which resource, the credential's
 * subject) and the connection and path it travelled. Requests are visible in plain HTTP and inside TLS
 * read with a key log. Shared by GET /api/requests and `planewatch requests`.
 */
import { likeContains, placeholders, type StatementCache } from './statements';

/** Requests counted for a list's total at most. */
export const MAX_REQUEST_COUNT = 1_000;

export interface RequestQuery {
  /** Kubernetes operations (get, list, watch, create, exec, logs, portforward …). */
  operation?: string[];
  /** Whose API the request was sent to: apiserver or kubelet. */
  api?: string;
  /** The resource or subresource (`pods`, `secrets`, `pods/exec` …). */
  resource?: string;
  namespace?: string;
  /** An HTTP status (`401`) or a class of them (`4xx`). */
  status?: string;
  /** The credential's subject or hash (as `flows --credential`). */
  credential?: string;
  /** Client or server address. */
  ip?: string;
  /** The communication path of the connection. */
  path?: string[];
  /** Substring of the request target, the user agent or the object's name. */
  q?: string;
  /** ts >= from, ts < to (epoch seconds). */
  from?: number;
  to?: number;
  limit: number;
  offset: number;
}

interface RequestRow {
  id: number; flow_id: number; flow_key: string; seq: number; ts: number | null; frame: number | null; version: string | null;
  method: string | null; target: string | null; host: string | null; user_agent: string | null; auth: string | null;
  auth_hash: string | null; status: number | null; reason: string | null; k8s_api: string | null; k8s_operation: string | null;
  k8s_target: string | null; k8s_namespace: string | null; k8s_name: string | null; auth_subject: string | null;
  impersonate_user: string | null; grpc_method: string | null; grpc_status: number | null; request_body_bytes: number | null;
  response_body_bytes: number | null; response_content_type: string | null; client_ip: string; server_ip: string;
  server_port: number; flow_path: string; app: string; client_role: string | null; client_name: string | null;
  server_role: string | null; server_name: string | null;
}

const SELECT = `SELECT r.id, r.flow_id, fl.flow_key, r.seq, r.ts, r.frame, r.version, r.method, r.path AS target, r.host,
    r.user_agent, r.auth, r.auth_hash, r.status, r.reason, r.k8s_api, r.k8s_operation, r.k8s_target, r.k8s_namespace,
    r.k8s_name, r.auth_subject, r.impersonate_user, r.grpc_method, r.grpc_status, r.request_body_bytes,
    r.response_body_bytes, r.response_content_type, fl.client_ip, fl.server_ip,
    fl.server_port, fl.path AS flow_path, fl.app, ce.primary_role AS client_role, ce.name AS client_name,
    se.primary_role AS server_role, se.name AS server_name
  FROM http_requests r JOIN flows fl ON fl.id = r.flow_id
  LEFT JOIN endpoints ce ON ce.ip = fl.client_ip LEFT JOIN endpoints se ON se.ip = fl.server_ip`;

/** `4xx` → [400, 500); `401` → [401, 402); null when it is neither. */
export function statusRange(text: string): [number, number] | null {
  const cls = /^([1-5])xx$/i.exec(text);
  if (cls) return [Number(cls[1]) * 100, Number(cls[1]) * 100 + 100];
  if (/^[1-5]\d\d$/.test(text)) return [Number(text), Number(text) + 1];
  return null;
}

/**
 * The query's conditions on `http_requests r` (and `flows fl` when `join` is not empty: a condition on
 * the flow), for a listing here and for an export of every match (`requests --zeek`).
 */
export function requestConditions(q: Omit<RequestQuery, 'limit' | 'offset'>): { where: string; join: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (q.operation?.length) {
    parts.push(`r.k8s_operation IN (${placeholders(q.operation.length)})`);
    params.push(...q.operation);
  }
  if (q.api) {
    parts.push('r.k8s_api = ?');
    params.push(q.api);
  }
  if (q.resource) {
    parts.push('r.k8s_target = ?');
    params.push(q.resource);
  }
  if (q.namespace) {
    parts.push('r.k8s_namespace = ?');
    params.push(q.namespace);
  }
  if (q.status) {
    const range = statusRange(q.status);
    parts.push(range === null ? '0' : 'r.status >= ? AND r.status < ?');
    if (range !== null) params.push(...range);
  }
  if (q.credential) {
    parts.push('(r.auth_subject = ? OR r.auth_hash = ?)');
    params.push(q.credential, q.credential);
  }
  if (q.ip) {
    parts.push('(fl.client_ip = ? OR fl.server_ip = ?)');
    params.push(q.ip, q.ip);
  }
  if (q.path?.length) {
    parts.push(`fl.path IN (${placeholders(q.path.length)})`);
    params.push(...q.path);
  }
  if (q.q) {
    parts.push(`(r.path LIKE ? ESCAPE '\\' OR r.user_agent LIKE ? ESCAPE '\\' OR r.k8s_name LIKE ? ESCAPE '\\')`);
    const like = likeContains(q.q);
    params.push(like, like, like);
  }
  if (q.from !== undefined) {
    parts.push('r.ts >= ?');
    params.push(q.from);
  }
  if (q.to !== undefined) {
    parts.push('r.ts < ?');
    params.push(q.to);
  }
  const where = parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '';
  const join = q.ip || q.path?.length ? 'JOIN flows fl ON fl.id = r.flow_id' : '';
  return { where, join, params };
}

export function listRequests(stmts: StatementCache, q: RequestQuery) {
  const { where, join, params } = requestConditions(q);
  // Counted up to a bound: past it the figure is a floor (`totalCapped`), as a busy cluster's millions
  // of requests would otherwise be counted on every page. The flow is joined only for a condition on it.
  const total = stmts.one<{ n: number }>(
    `SELECT COUNT(*) AS n FROM (SELECT 1 FROM http_requests r ${join} ${where} LIMIT ?)`,
    [...params, MAX_REQUEST_COUNT],
  )!.n;
  // The page's ids first, from http_requests alone (the flow joined only for a condition on it), then
  // their rows with the flow and its endpoints. The indexes by operation, status and namespace end
  // with the time, so a filter on one of them is read newest first from it (or its matches' times
  // sorted, never joined rows); without one, the index on ts is walked backwards until a page matches
  // (rowid breaks ties the same way).
  const rows = stmts.all<RequestRow>(
    `${SELECT} WHERE r.id IN (SELECT r.id FROM http_requests r ${join} ${where} ORDER BY r.ts DESC, r.id DESC LIMIT ? OFFSET ?)
      ORDER BY r.ts DESC, r.id DESC`,
    [...params, q.limit, q.offset],
  );
  return { items: rows.map(requestItem), total, totalCapped: total >= MAX_REQUEST_COUNT, limit: q.limit, offset: q.offset };
}

function requestItem(r: RequestRow) {
  return {
    id: r.id, flowId: r.flow_id, flowKey: r.flow_key, seq: r.seq, ts: r.ts, frame: r.frame, version: r.version,
    method: r.method, target: r.target, host: r.host, userAgent: r.user_agent, status: r.status, reason: r.reason,
    api: r.k8s_api, operation: r.k8s_operation, resource: r.k8s_target, namespace: r.k8s_namespace, name: r.k8s_name,
    // Credentials are kept as their kind and hash only (`Bearer`, `sha256:…`).
    auth: r.auth, authHash: r.auth_hash, authSubject: r.auth_subject, impersonateUser: r.impersonate_user,
    grpcMethod: r.grpc_method, grpcStatus: r.grpc_status,
    // Body sizes as sent (null: stored by a version that did not keep them).
    requestBodyBytes: r.request_body_bytes, responseBodyBytes: r.response_body_bytes, responseContentType: r.response_content_type,
    clientIp: r.client_ip, clientRole: r.client_role, clientName: r.client_name,
    serverIp: r.server_ip, serverPort: r.server_port, serverRole: r.server_role, serverName: r.server_name,
    flowPath: r.flow_path, cleartext: r.app !== 'tls',
  };
}

export type RequestItem = ReturnType<typeof requestItem>;

/** `pods default/web-0`: the resource and the object, as kubectl names them ('' when neither is known). */
export function requestObject(r: RequestItem): string {
  const name = [r.namespace, r.name].filter((x) => x !== null).join('/');
  return [r.resource, name].filter((x) => x !== null && x !== '').join(' ');
}

/**
 * Whose credential a request carried (its subject, else its kind, with its hash when `withHash`) and
 * whom it impersonated (`alice as system:admin`); null when it carried none and impersonated no one.
 */
export function requestSender(r: RequestItem, withHash: boolean): string | null {
  const kind = r.auth !== null && r.auth !== 'none' ? (withHash && r.authHash !== null ? `${r.auth} ${r.authHash}` : r.auth) : null;
  const cred = r.authSubject ?? kind;
  if (r.impersonateUser === null) return cred;
  return `${cred ?? 'anonymous'} as ${r.impersonateUser}`;
}
