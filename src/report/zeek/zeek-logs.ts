/**
 * The whole database as Zeek's logs: conn, tunnel, dns, http, ssl, x509, ssh and notice (the findings), each
 * read from its tables in time order (as Zeek writes them), every connection under the same uid in
 * all of them.
 */
import type { Db } from '../../store/store';
import { CONN_LOG, ZEEK_CONN_COLUMNS, zeekConnFields, type IsLocal, type ZeekConnRow } from './conn-log';
import { DNS_LOG, ZEEK_DNS_COLUMNS, ZEEK_DNS_FROM, zeekDnsFields, type ZeekDnsRow } from './dns-log';
import { HTTP_LOG, ZEEK_HTTP_COLUMNS, ZEEK_HTTP_FROM, zeekHttpFields, type ZeekHttpRow } from './http-log';
import { NOTICE_LOG, zeekNoticeFields, zeekNoticeSql, type ZeekNoticeRow } from './notice-log';
import { SSH_LOG, ZEEK_SSH_COLUMNS, ZEEK_SSH_FROM, zeekSshFields, type ZeekSshRow } from './ssh-log';
import { SSL_LOG, ZEEK_SSL_COLUMNS, ZEEK_SSL_FROM, zeekSslFields, type ZeekSslRow } from './ssl-log';
import { TUNNEL_LOG, zeekTunnelFields, zeekTunnelSql, type ZeekTunnelRow } from './tunnel-log';
import { X509_LOG, zeekX509Fields, zeekX509Sql, type ZeekX509Row } from './x509-log';
import { zeekLogLines, type ZeekFormat, type ZeekLogSpec, type ZeekRecord } from './zeek-log';

/** One log: what it is, the query of its rows, and how a row becomes a record. */
export interface ZeekLogSource {
  spec: ZeekLogSpec;
  /** What a line of it stands for, one and many, to say how many were written. */
  noun: readonly [string, string];
  /** The log's lines from the database, in the given format. */
  lines(db: Db, format: ZeekFormat): Generator<string>;
}

function source<R>(spec: ZeekLogSpec, noun: readonly [string, string], sql: string, fields: (r: R) => ZeekRecord): ZeekLogSource {
  return { spec, noun, lines: (db, format) => zeekLogLines(spec, fields, db.prepare(sql).iterate() as IterableIterator<R>, format) };
}

/**
 * The logs, in the order Zeek users read them; `isLocal` sets conn.log's local_orig/local_resp.
 * `captures`: only what these captures gave (as `zeek -r` on each file would log it); null: everything.
 */
export function zeekLogSources(isLocal: IsLocal, captures: readonly number[] | null = null): ZeekLogSource[] {
  // Capture ids come from the database (integers), so they are written into the SQL.
  const of = (column: string) =>
    captures === null ? '' : `WHERE ${column} IN (${captures.map((id) => Math.trunc(id)).join(',') || 'NULL'})`;
  return [
    source<ZeekConnRow>(CONN_LOG, ['connection', 'connections'], `SELECT ${ZEEK_CONN_COLUMNS} FROM flows ${of('capture_id')} ORDER BY first_ts, id`, (r) => zeekConnFields(r, isLocal)),
    source<ZeekTunnelRow>(TUNNEL_LOG, ['tunnel event', 'tunnel events'], zeekTunnelSql(of('capture_id')), zeekTunnelFields),
    source<ZeekDnsRow>(DNS_LOG, ['DNS query', 'DNS queries'], `SELECT ${ZEEK_DNS_COLUMNS} FROM ${ZEEK_DNS_FROM} ${of('fl.capture_id')} ORDER BY d.ts, d.flow_id, d.seq`, zeekDnsFields),
    source<ZeekHttpRow>(HTTP_LOG, ['HTTP request', 'HTTP requests'], `SELECT ${ZEEK_HTTP_COLUMNS} FROM ${ZEEK_HTTP_FROM} ${of('fl.capture_id')} ORDER BY r.ts, r.id`, zeekHttpFields),
    source<ZeekSslRow>(SSL_LOG, ['TLS session', 'TLS sessions'], `SELECT ${ZEEK_SSL_COLUMNS} FROM ${ZEEK_SSL_FROM} ${of('fl.capture_id')} ORDER BY fl.first_ts, fl.id`, zeekSslFields),
    source<ZeekX509Row>(X509_LOG, ['certificate', 'certificates'], zeekX509Sql(of('fl.capture_id')), zeekX509Fields),
    source<ZeekSshRow>(SSH_LOG, ['SSH session', 'SSH sessions'], `SELECT ${ZEEK_SSH_COLUMNS} FROM ${ZEEK_SSH_FROM} ${of('fl.capture_id')} ORDER BY fl.first_ts, fl.id`, zeekSshFields),
    source<ZeekNoticeRow>(NOTICE_LOG, ['finding', 'findings'], zeekNoticeSql(of('f.capture_id')), zeekNoticeFields),
  ];
}

/** The logs' names (`conn`, `http` …). */
export const ZEEK_LOG_PATHS: readonly string[] = zeekLogSources(null).map((s) => s.spec.path);
