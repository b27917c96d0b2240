/**
 * Stored flows as Zeek's conn.log, in its tab-separated form (with the `#fields`/`#types` header that
 * `zeek-cut` and Zeek log readers go by) or as Zeek's JSON lines, so that planewatch's connections
 * join Zeek tooling and SIEM pipelines built for Zeek: the same field names, units and conventions
 * (unset fields `-`; duration and byte counts only for a connection that lasted; payload bytes in
 * `orig_bytes`, IP bytes in `orig_ip_bytes`), the Community ID, and two fields of planewatch's own:
 * the control-plane path and the findings.
 */
/** The columns of `flows` a conn.log line is made from (selected as these names). */
export const ZEEK_CONN_COLUMNS = `first_ts AS ts, last_ts, flow_key AS uid, client_ip AS orig_h, client_port AS orig_p,
  server_ip AS resp_h, server_port AS resp_p, transport AS proto, app, payload_client AS orig_bytes,
  payload_server AS resp_bytes, state AS conn_state, missing_client + missing_server AS missed_bytes, history,
  packets_client AS orig_pkts, bytes_client AS orig_ip_bytes, packets_server AS resp_pkts, bytes_server AS resp_ip_bytes,
  community_id, path, (SELECT group_concat(rule, ',') FROM findings WHERE flow_id = flows.id) AS findings`;

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
}

/** Zeek's name for what planewatch's dissectors recognised (Zeek calls TLS `ssl`); none: unset. */
const SERVICE: Record<string, string> = { tls: 'ssl', http: 'http', http2: 'http2', ssh: 'ssh', dns: 'dns' };

/** Field names and Zeek types, in the order of Zeek's conn.log, then the Community ID and planewatch's own. */
const FIELDS: readonly [string, string][] = [
  ['ts', 'time'], ['uid', 'string'], ['id.orig_h', 'addr'], ['id.orig_p', 'port'], ['id.resp_h', 'addr'], ['id.resp_p', 'port'],
  ['proto', 'enum'], ['service', 'string'], ['duration', 'interval'], ['orig_bytes', 'count'], ['resp_bytes', 'count'],
  ['conn_state', 'string'], ['local_orig', 'bool'], ['local_resp', 'bool'], ['missed_bytes', 'count'], ['history', 'string'],
  ['orig_pkts', 'count'], ['orig_ip_bytes', 'count'], ['resp_pkts', 'count'], ['resp_ip_bytes', 'count'],
  ['tunnel_parents', 'set[string]'], ['community_id', 'string'], ['planewatch_path', 'string'], ['planewatch_findings', 'set[string]'],
];

type Value = string | number | boolean | string[] | undefined;

/**
 * Whether an address is local, as Zeek's `Site::local_nets` says: here the cluster the inventory
 * declares (its nodes, pods, Services and networks). Without one, `local_orig` and `local_resp` stay
 * unset, as Zeek leaves them without local networks.
 */
export type IsLocal = ((ip: string) => boolean) | null;

/**
 * One connection's fields by name; undefined where Zeek leaves a field unset. As Zeek does, the
 * duration and payload byte counts are set only for a connection that lasted (more than one
 * instant). The tunnel's own connection (`tunnel_parents`) is not a flow here: unset.
 */
export function zeekConnFields(r: ZeekConnRow, isLocal: IsLocal = null): Map<string, Value> {
  const duration = r.last_ts - r.ts;
  const lasted = duration > 0;
  return new Map<string, Value>([
    ['ts', r.ts], ['uid', r.uid], ['id.orig_h', r.orig_h], ['id.orig_p', r.orig_p], ['id.resp_h', r.resp_h], ['id.resp_p', r.resp_p],
    ['proto', r.proto], ['service', SERVICE[r.app]], ['duration', lasted ? Math.round(duration * 1e6) / 1e6 : undefined],
    ['orig_bytes', lasted ? r.orig_bytes : undefined], ['resp_bytes', lasted ? r.resp_bytes : undefined],
    ['conn_state', r.conn_state], ['local_orig', isLocal?.(r.orig_h)], ['local_resp', isLocal?.(r.resp_h)], ['missed_bytes', r.missed_bytes],
    ['history', r.history], ['orig_pkts', r.orig_pkts], ['orig_ip_bytes', r.orig_ip_bytes], ['resp_pkts', r.resp_pkts],
    ['resp_ip_bytes', r.resp_ip_bytes], ['tunnel_parents', undefined], ['community_id', r.community_id],
    ['planewatch_path', r.path ?? undefined], ['planewatch_findings', r.findings ? r.findings.split(',') : []],
  ]);
}

/** Zeek's ASCII escaping: a control character or a backslash (in a set's element, also its separator) as \xNN. */
function escape(s: string, inSet = false): string {
  return s.replace(inSet ? /[\u0000-\u001f\u007f\\,]/g : /[\u0000-\u001f\u007f\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function tsvValue(v: Value, type: string): string {
  if (v === undefined) return '-';
  if (Array.isArray(v)) return v.length === 0 ? '(empty)' : v.map((e) => escape(e, true)).join(',');
  if (type === 'time' || type === 'interval') return (v as number).toFixed(6);
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  const s = String(v);
  return s === '' ? '(empty)' : type === 'string' ? escape(s) : s;
}

/** Zeek's log time stamp for `#open`/`#close`: local date and time to the second, dashes between. */
function logTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}-${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
}

/** The lines of a tab-separated conn.log: Zeek's header, a line per row, the `#close` line. */
export function* zeekConnTsvLines(rows: Iterable<ZeekConnRow>, isLocal: IsLocal = null, now = () => new Date()): Generator<string> {
  yield ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tconn',
    `#open\t${logTime(now())}`, `#fields\t${FIELDS.map((f) => f[0]).join('\t')}`, `#types\t${FIELDS.map((f) => f[1]).join('\t')}`].join('\n') + '\n';
  for (const r of rows) {
    const f = zeekConnFields(r, isLocal);
    yield FIELDS.map(([name, type]) => tsvValue(f.get(name), type)).join('\t') + '\n';
  }
  yield `#close\t${logTime(now())}\n`;
}

/** The lines of Zeek's JSON logs: one object a line, unset fields left out. */
export function* zeekConnJsonLines(rows: Iterable<ZeekConnRow>, isLocal: IsLocal = null): Generator<string> {
  for (const r of rows) {
    const o: Record<string, Value> = {};
    for (const [name, v] of zeekConnFields(r, isLocal)) if (v !== undefined && !(Array.isArray(v) && v.length === 0)) o[name] = v;
    yield JSON.stringify(o) + '\n';
  }
}
