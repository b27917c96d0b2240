/**
 * Stored HTTP requests as Zeek's http.log: one line per request and its response, with the
 * connection's uid (the flow id, as in conn.log), `trans_depth` counting the requests of a connection
 * from 1, body sizes as sent, the request's and response's media types, and the Kubernetes meaning of
 * the request in planewatch's own fields. HTTP/2 requests (which Zeek's own analyzer does not read)
 * are logged the same way with version `2`. Credentials are never logged: a basic credential's user
 * name is `username` (as Zeek logs it), a token only by its hash.
 */
import { CONNECTION_FIELDS, connectionValues, orUnset, mediaType, type ZeekLogSpec, type ZeekRecord, type ZeekValue } from './zeek-log';

/** The columns an http.log line is made from, over ZEEK_HTTP_FROM. */
export const ZEEK_HTTP_COLUMNS = `r.ts, fl.flow_key AS uid, fl.client_ip AS orig_h, fl.client_port AS orig_p,
  fl.server_ip AS resp_h, fl.server_port AS resp_p, r.seq, r.method, r.host, r.path AS uri, r.version, r.user_agent,
  r.request_body_bytes, r.response_body_bytes, r.status, r.reason, r.auth, r.auth_hash, r.auth_subject, r.x_forwarded_for,
  r.content_type, r.response_content_type, r.k8s_api, r.k8s_operation, r.k8s_target, r.k8s_namespace, r.k8s_name,
  r.impersonate_user, r.grpc_method, r.grpc_status, fl.path AS flow_path`;

export const ZEEK_HTTP_FROM = 'http_requests r JOIN flows fl ON fl.id = r.flow_id';

export interface ZeekHttpRow {
  ts: number | null; uid: string; orig_h: string; orig_p: number; resp_h: string; resp_p: number; seq: number;
  method: string | null; host: string | null; uri: string | null; version: string | null; user_agent: string | null;
  request_body_bytes: number | null; response_body_bytes: number | null; status: number | null; reason: string | null;
  auth: string | null; auth_hash: string | null; auth_subject: string | null; x_forwarded_for: string | null;
  content_type: string | null; response_content_type: string | null; k8s_api: string | null; k8s_operation: string | null;
  k8s_target: string | null; k8s_namespace: string | null; k8s_name: string | null; impersonate_user: string | null;
  grpc_method: string | null; grpc_status: number | null; flow_path: string | null;
}

/** http.log: Zeek's fields in its order (the file-analysis ids and names unset), then planewatch's own. */
export const HTTP_LOG: ZeekLogSpec = { path: 'http', fields: [
  ...CONNECTION_FIELDS,
  ['trans_depth', 'count'], ['method', 'string'], ['host', 'string'], ['uri', 'string'], ['referrer', 'string'],
  ['version', 'string'], ['user_agent', 'string'], ['origin', 'string'], ['request_body_len', 'count'],
  ['response_body_len', 'count'], ['status_code', 'count'], ['status_msg', 'string'], ['info_code', 'count'],
  ['info_msg', 'string'], ['tags', 'set[enum]'], ['username', 'string'], ['password', 'string'], ['proxied', 'set[string]'],
  ['orig_fuids', 'vector[string]'], ['orig_filenames', 'vector[string]'], ['orig_mime_types', 'vector[string]'],
  ['resp_fuids', 'vector[string]'], ['resp_filenames', 'vector[string]'], ['resp_mime_types', 'vector[string]'],
  ['planewatch_path', 'string'], ['planewatch_api', 'string'], ['planewatch_operation', 'string'],
  ['planewatch_resource', 'string'], ['planewatch_namespace', 'string'], ['planewatch_name', 'string'],
  ['planewatch_auth', 'string'], ['planewatch_auth_hash', 'string'], ['planewatch_credential', 'string'],
  ['planewatch_impersonate', 'string'], ['planewatch_grpc_method', 'string'], ['planewatch_grpc_status', 'count'],
] };

/** One request's fields by name; undefined where Zeek would leave them unset. */
export function zeekHttpFields(r: ZeekHttpRow): ZeekRecord {
  const reqType = mediaType(r.content_type);
  const respType = mediaType(r.response_content_type);
  return new Map<string, ZeekValue>([
    ...connectionValues(r), ['trans_depth', r.seq + 1], ['method', orUnset(r.method)], ['host', orUnset(r.host)],
    ['uri', orUnset(r.uri)], ['version', orUnset(r.version)], ['user_agent', orUnset(r.user_agent)],
    ['request_body_len', orUnset(r.request_body_bytes)], ['response_body_len', orUnset(r.response_body_bytes)],
    ['status_code', orUnset(r.status)], ['status_msg', orUnset(r.reason)],
    ['tags', []], ['username', r.auth === 'basic' ? orUnset(r.auth_subject) : undefined],
    // Zeek's form of the headers that say a request was proxied.
    ['proxied', r.x_forwarded_for !== null ? [`X-FORWARDED-FOR -> ${r.x_forwarded_for}`] : undefined],
    ['orig_mime_types', reqType !== undefined ? [reqType] : undefined], ['resp_mime_types', respType !== undefined ? [respType] : undefined],
    ['planewatch_path', orUnset(r.flow_path)], ['planewatch_api', orUnset(r.k8s_api)], ['planewatch_operation', orUnset(r.k8s_operation)],
    ['planewatch_resource', orUnset(r.k8s_target)], ['planewatch_namespace', orUnset(r.k8s_namespace)],
    ['planewatch_name', orUnset(r.k8s_name)], ['planewatch_auth', r.auth !== null && r.auth !== 'none' ? r.auth : undefined],
    ['planewatch_auth_hash', orUnset(r.auth_hash)], ['planewatch_credential', orUnset(r.auth_subject)],
    ['planewatch_impersonate', orUnset(r.impersonate_user)], ['planewatch_grpc_method', orUnset(r.grpc_method)],
    ['planewatch_grpc_status', orUnset(r.grpc_status)],
  ]);
}
