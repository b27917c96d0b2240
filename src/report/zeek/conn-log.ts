/**
 * Stored flows as Zeek's conn.log (written by zeek-log.ts as tab-separated text or JSON lines), so
 * that planewatch's connections join Zeek tooling and SIEM pipelines built for Zeek: the same field
 * names, units and conventions (unset fields `-`; duration and byte counts only for a connection that
 * lasted; payload bytes in `orig_bytes`, IP bytes in `orig_ip_bytes`), the Community ID, and two
 * fields of planewatch's own: the control-plane path and the findings.
 */
import { tunnelParents } from './tunnel-log';
import { CONNECTION_FIELDS, connectionValues, mapRows, micros, zeekJsonLines, zeekTsvLines, type ZeekLogSpec, type ZeekRecord, type ZeekValue } from './zeek-log';

/** The columns of `flows` a conn.log line is made from (selected as these names). */
export const ZEEK_CONN_COLUMNS = `first_ts AS ts, last_ts, flow_key AS uid, client_ip AS orig_h, client_port AS orig_p,
  server_ip AS resp_h, server_port AS resp_p, transport AS proto, app, payload_client AS orig_bytes,
  payload_server AS resp_bytes, state AS conn_state, missing_client + missing_server AS missed_bytes, history,
  packets_client AS orig_pkts, bytes_client AS orig_ip_bytes, packets_server AS resp_pkts, bytes_server AS resp_ip_bytes,
  community_id, path, (SELECT group_concat(rule, ',') FROM findings WHERE flow_id = flows.id) AS findings,
  capture_id AS capture, tunnel`;

export interface ZeekConnRow {
  ts: number;
  last_ts: number;
  uid: string;
  orig_h: string;
  orig_p: number;
  resp_h: string;
  resp_p: number;
  proto: string;
  app: string;
  orig_bytes: number;
  resp_bytes: number;
  conn_state: string;
  missed_bytes: number;
  history: string;
  orig_pkts: number;
  orig_ip_bytes: number;
  resp_pkts: number;
  resp_ip_bytes: number;
  community_id: string;
  path: string | null;
  findings: string | null;
  capture: number;
  /** The flow's tunnel as stored (TunnelInfo as JSON), for `tunnel_parents`. */
  tunnel: string | null;
}

/** Zeek's name for what planewatch's dissectors recognised (Zeek calls TLS `ssl`); none: unset. */
const SERVICE: Record<string, string> = { tls: 'ssl', http: 'http', http2: 'http2', ssh: 'ssh', dns: 'dns' };

/** conn.log: Zeek's fields in its order, then the Community ID and planewatch's own. */
export const CONN_LOG: ZeekLogSpec = { path: 'conn', fields: [
  ...CONNECTION_FIELDS,
  ['proto', 'enum'], ['service', 'string'], ['duration', 'interval'], ['orig_bytes', 'count'], ['resp_bytes', 'count'],
  ['conn_state', 'string'], ['local_orig', 'bool'], ['local_resp', 'bool'], ['missed_bytes', 'count'], ['history', 'string'],
  ['orig_pkts', 'count'], ['orig_ip_bytes', 'count'], ['resp_pkts', 'count'], ['resp_ip_bytes', 'count'],
  ['tunnel_parents', 'set[string]'], ['community_id', 'string'], ['planewatch_path', 'string'], ['planewatch_findings', 'set[string]'],
] };

/**
 * Whether an address is local, as Zeek's `Site::local_nets` says: here the cluster the inventory
 * declares (its nodes, pods, Services and networks). Without one, `local_orig` and `local_resp` stay
 * unset, as Zeek leaves them without local networks.
 */
export type IsLocal = ((ip: string) => boolean) | null;

/**
 * One connection's fields by name; undefined where Zeek leaves a field unset. As Zeek does, the
 * duration and payload byte counts are set only for a connection that lasted (more than one
 * instant). `tunnel_parents` names the tunnels it came in (tunnel.log's uids for them).
 */
export function zeekConnFields(r: ZeekConnRow, isLocal: IsLocal = null): ZeekRecord {
  const duration = r.last_ts - r.ts;
  const lasted = duration > 0;
  return new Map<string, ZeekValue>([
    ...connectionValues(r),
    ['proto', r.proto], ['service', SERVICE[r.app]], ['duration', lasted ? micros(duration) : undefined],
    ['orig_bytes', lasted ? r.orig_bytes : undefined], ['resp_bytes', lasted ? r.resp_bytes : undefined],
    ['conn_state', r.conn_state], ['local_orig', isLocal?.(r.orig_h)], ['local_resp', isLocal?.(r.resp_h)], ['missed_bytes', r.missed_bytes],
    ['history', r.history], ['orig_pkts', r.orig_pkts], ['orig_ip_bytes', r.orig_ip_bytes], ['resp_pkts', r.resp_pkts],
    ['resp_ip_bytes', r.resp_ip_bytes], ['tunnel_parents', tunnelParents(r.capture, r.tunnel)], ['community_id', r.community_id],
    ['planewatch_path', r.path ?? undefined], ['planewatch_findings', r.findings ? r.findings.split(',') : []],
  ]);
}

/** The lines of a tab-separated conn.log. */
export function zeekConnTsvLines(rows: Iterable<ZeekConnRow>, isLocal: IsLocal = null, now = () => new Date()): Generator<string> {
  return zeekTsvLines(CONN_LOG, mapRows(rows, (r) => zeekConnFields(r, isLocal)), now);
}

/** The lines of conn.log as Zeek's JSON logs. */
export function zeekConnJsonLines(rows: Iterable<ZeekConnRow>, isLocal: IsLocal = null): Generator<string> {
  return zeekJsonLines(CONN_LOG, mapRows(rows, (r) => zeekConnFields(r, isLocal)));
}
