/**
 * Stored DNS questions as Zeek's dns.log: one line per query and its response, with the transaction
 * id, the round trip, the query's type and the response's code by number and name, whether the
 * response was truncated, and the answers read (addresses and names) with their TTLs. Header bits
 * and the class that are not stored are unset.
 */
import { dnsRcodeNumber, dnsTypeNumber } from '../../../dissectors/dns/dns-message';
import { CONNECTION_FIELDS, connectionValues, micros, orUnset, type ZeekLogSpec, type ZeekRecord, type ZeekValue } from './zeek-log';

export const ZEEK_DNS_COLUMNS = `d.ts, fl.flow_key AS uid, fl.client_ip AS orig_h, fl.client_port AS orig_p, fl.server_ip AS resp_h,
  fl.server_port AS resp_p, fl.transport AS proto, d.message_id, d.response_ts, d.query, d.qtype, d.rcode, d.answers, d.truncated`;

export const ZEEK_DNS_FROM = 'dns_queries d JOIN flows fl ON fl.id = d.flow_id';

export interface ZeekDnsRow {
  ts: number | null; uid: string; orig_h: string; orig_p: number; resp_h: string; resp_p: number; proto: string;
  message_id: number; response_ts: number | null; query: string | null; qtype: string | null; rcode: string | null;
  answers: string; truncated: number;
}

export const DNS_LOG: ZeekLogSpec = { path: 'dns', fields: [
  ...CONNECTION_FIELDS,
  ['proto', 'enum'], ['trans_id', 'count'], ['rtt', 'interval'], ['query', 'string'], ['qclass', 'count'], ['qclass_name', 'string'],
  ['qtype', 'count'], ['qtype_name', 'string'], ['rcode', 'count'], ['rcode_name', 'string'], ['AA', 'bool'], ['TC', 'bool'],
  ['RD', 'bool'], ['RA', 'bool'], ['Z', 'count'], ['answers', 'vector[string]'], ['TTLs', 'vector[interval]'], ['rejected', 'bool'],
] };

/** The answers whose data was read, and their TTLs (the two vectors pair up, as in Zeek). */
function answersOf(json: string): { data: string[]; ttls: number[] } {
  const data: string[] = [];
  const ttls: number[] = [];
  let answers: { data?: unknown; ttl?: unknown }[];
  try {
    answers = JSON.parse(json) as { data?: unknown; ttl?: unknown }[];
  } catch {
    return { data, ttls };
  }
  for (const a of answers) {
    if (typeof a.data !== 'string' || a.data === '' || typeof a.ttl !== 'number') continue;
    data.push(a.data);
    ttls.push(a.ttl);
  }
  return { data, ttls };
}

export function zeekDnsFields(r: ZeekDnsRow): ZeekRecord {
  const qtype = r.qtype !== null ? dnsTypeNumber(r.qtype) : null;
  const rcode = r.rcode !== null ? dnsRcodeNumber(r.rcode) : null;
  const { data, ttls } = answersOf(r.answers);
  const answered = r.response_ts !== null;
  return new Map<string, ZeekValue>([
    ...connectionValues(r), ['proto', r.proto], ['trans_id', r.message_id],
    ['rtt', answered && r.ts !== null ? micros(r.response_ts! - r.ts) : undefined], ['query', orUnset(r.query)],
    ['qtype', orUnset(qtype)], ['qtype_name', r.qtype !== null ? (r.qtype.startsWith('TYPE') ? `query-${qtype}` : r.qtype) : undefined],
    ['rcode', orUnset(rcode)], ['rcode_name', orUnset(r.rcode)], ['TC', answered ? r.truncated === 1 : undefined],
    ['answers', data.length > 0 ? data : undefined], ['TTLs', ttls.length > 0 ? ttls : undefined],
  ]);
}
