/**
 * Stored findings as Zeek's notice.log, where Zeek's own detections go and where SIEM pipelines built
 * for Zeek look for them: one notice per finding (a finding accepted as a risk raises none), its
 * connection's uid and addresses, the rule as a notice type of a `Planewatch` module
 * (`Planewatch::Kubelet_TLS_Unverified`), the title as `msg`, the evidence as `sub`, and the severity,
 * documentation link and CIS item in planewatch's own fields.
 */
import { CONNECTION_FIELDS, connectionValues, orUnset, type ZeekLogSpec, type ZeekRecord, type ZeekValue } from './zeek-log';

/** The findings' notices in time order; `where`: a condition on `findings f` (or ''). */
export const zeekNoticeSql = (where: string) => `SELECT COALESCE(f.ts, fl.first_ts) AS ts, fl.flow_key AS uid, fl.client_ip AS orig_h,
    fl.client_port AS orig_p, fl.server_ip AS resp_h, fl.server_port AS resp_p, fl.transport AS proto, f.rule, f.severity,
    f.title, f.evidence, f.reference, f.cis, f.frame, fl.path AS flow_path
  FROM findings f LEFT JOIN flows fl ON fl.id = f.flow_id ${where} ORDER BY COALESCE(f.ts, fl.first_ts), f.id`;

export interface ZeekNoticeRow {
  ts: number | null; uid: string | null; orig_h: string | null; orig_p: number | null; resp_h: string | null;
  resp_p: number | null; proto: string | null; rule: string; severity: string; title: string; evidence: string;
  reference: string; cis: string | null; frame: number | null; flow_path: string | null;
}

/** notice.log: Zeek's fields in its order (file and location fields unset), then planewatch's own. */
export const NOTICE_LOG: ZeekLogSpec = { path: 'notice', fields: [
  ...CONNECTION_FIELDS,
  ['fuid', 'string'], ['file_mime_type', 'string'], ['file_desc', 'string'], ['proto', 'enum'], ['note', 'enum'], ['msg', 'string'],
  ['sub', 'string'], ['src', 'addr'], ['dst', 'addr'], ['p', 'port'], ['n', 'count'], ['peer_descr', 'string'],
  ['actions', 'set[enum]'], ['email_dest', 'set[string]'], ['suppress_for', 'interval'],
  ['remote_location.country_code', 'string'], ['remote_location.region', 'string'], ['remote_location.city', 'string'],
  ['remote_location.latitude', 'double'], ['remote_location.longitude', 'double'],
  ['planewatch_rule', 'string'], ['planewatch_severity', 'string'], ['planewatch_path', 'string'], ['planewatch_frame', 'count'],
  ['planewatch_reference', 'string'], ['planewatch_cis', 'string'],
] };

/** Words kept in capitals in a notice type, as Zeek writes them (`SSL::Invalid_Server_Cert`, but TLS, HTTP). */
const ACRONYMS = new Set(['tls', 'http', 'api', 'ssh', 'dns', 'ca']);

/** `kubelet-tls-unverified` → `Planewatch::Kubelet_TLS_Unverified`. */
export function noticeType(rule: string): string {
  const words = rule.split('-').map((w) => (ACRONYMS.has(w) ? w.toUpperCase() : w.charAt(0).toUpperCase() + w.slice(1)));
  return `Planewatch::${words.join('_')}`;
}

export function zeekNoticeFields(r: ZeekNoticeRow): ZeekRecord {
  return new Map<string, ZeekValue>([
    ...connectionValues(r), ['proto', orUnset(r.proto)], ['note', noticeType(r.rule)],
    ['msg', r.title], ['sub', r.evidence], ['src', orUnset(r.orig_h)], ['dst', orUnset(r.resp_h)], ['p', orUnset(r.resp_p)],
    ['actions', ['Notice::ACTION_LOG']], ['planewatch_rule', r.rule], ['planewatch_severity', r.severity],
    ['planewatch_path', orUnset(r.flow_path)], ['planewatch_frame', orUnset(r.frame)], ['planewatch_reference', r.reference],
    ['planewatch_cis', orUnset(r.cis)],
  ]);
}
