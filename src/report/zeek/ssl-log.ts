/**
 * Stored TLS sessions as Zeek's ssl.log: version and cipher in Zeek's spelling, SNI, ALPN, whether the
 * handshake completed or resumed, the last readable alert, the certificate chains by their SHA-256
 * fingerprints (the `fingerprint` of x509.log), subjects and issuers, JA3/JA3S as Zeek's ja3
 * package logs them, and planewatch's own JA4 and path.
 */
import { CONNECTION_FIELDS, connectionValues, orUnset, type ZeekLogSpec, type ZeekRecord, type ZeekValue } from './zeek-log';

/** The leaf's issuer of a chain (`chain` is the chain id's column). */
const LEAF_ISSUER = (chain: string) => `(SELECT c.issuer FROM certificate_chain_links l JOIN certificates c ON c.sha256 = l.sha256
  WHERE l.chain_id = ${chain} AND l.position = 0)`;

/** The columns an ssl.log line is made from, over ZEEK_SSL_FROM. */
export const ZEEK_SSL_COLUMNS = `fl.first_ts AS ts, fl.flow_key AS uid, fl.client_ip AS orig_h, fl.client_port AS orig_p,
  fl.server_ip AS resp_h, fl.server_port AS resp_p, t.version, t.cipher, t.sni, t.resumed, t.alerts, t.alpn_selected,
  t.established, sc.digest AS server_chain, cc.digest AS client_chain, t.server_subject, t.server_issuer,
  t.client_subject, ${LEAF_ISSUER('t.client_chain')} AS client_issuer, t.ja3, t.ja3s, t.ja4, fl.path AS flow_path`;

export const ZEEK_SSL_FROM = `tls_sessions t JOIN flows fl ON fl.id = t.flow_id
  LEFT JOIN certificate_chains sc ON sc.id = t.server_chain LEFT JOIN certificate_chains cc ON cc.id = t.client_chain`;

export interface ZeekSslRow {
  ts: number; uid: string; orig_h: string; orig_p: number; resp_h: string; resp_p: number; version: string | null;
  cipher: string | null; sni: string | null; resumed: number; alerts: string; alpn_selected: string | null;
  established: number; server_chain: string | null; client_chain: string | null; server_subject: string | null;
  server_issuer: string | null; client_subject: string | null; client_issuer: string | null; ja3: string | null;
  ja3s: string | null; ja4: string | null; flow_path: string | null;
}

/** ssl.log: Zeek's fields in its order (those it would need the handshake's details for unset), then JA3/JA3S and planewatch's own. */
export const SSL_LOG: ZeekLogSpec = { path: 'ssl', fields: [
  ...CONNECTION_FIELDS,
  ['version', 'string'], ['cipher', 'string'], ['curve', 'string'], ['server_name', 'string'], ['resumed', 'bool'],
  ['last_alert', 'string'], ['next_protocol', 'string'], ['established', 'bool'], ['ssl_history', 'string'],
  ['cert_chain_fps', 'vector[string]'], ['client_cert_chain_fps', 'vector[string]'], ['subject', 'string'], ['issuer', 'string'],
  ['client_subject', 'string'], ['client_issuer', 'string'], ['sni_matches_cert', 'bool'], ['validation_status', 'string'],
  ['ja3', 'string'], ['ja3s', 'string'], ['planewatch_ja4', 'string'], ['planewatch_path', 'string'],
] };

/** Zeek's names of protocol versions (SSL::version_strings). */
const VERSION: Record<string, string> = { ssl3: 'SSLv3', '1.0': 'TLSv10', '1.1': 'TLSv11', '1.2': 'TLSv12', '1.3': 'TLSv13' };

/** The last alert whose description was read (one sent encrypted and not decrypted has none). */
function lastAlert(alertsJson: string): string | undefined {
  let alerts: { description?: unknown }[];
  try {
    alerts = JSON.parse(alertsJson) as { description?: unknown }[];
  } catch {
    return undefined;
  }
  for (let i = alerts.length - 1; i >= 0; i--) {
    const d = alerts[i]?.description;
    if (typeof d === 'string' && d !== 'encrypted') return d;
  }
  return undefined;
}

export function zeekSslFields(r: ZeekSslRow): ZeekRecord {
  return new Map<string, ZeekValue>([
    ...connectionValues(r),
    ['version', r.version !== null ? VERSION[r.version] ?? r.version : undefined], ['cipher', orUnset(r.cipher)],
    ['server_name', orUnset(r.sni)], ['resumed', r.resumed === 1], ['last_alert', lastAlert(r.alerts)],
    ['next_protocol', orUnset(r.alpn_selected)], ['established', r.established === 1],
    ['cert_chain_fps', r.server_chain !== null ? r.server_chain.split(',') : undefined],
    ['client_cert_chain_fps', r.client_chain !== null ? r.client_chain.split(',') : undefined],
    ['subject', orUnset(r.server_subject)], ['issuer', orUnset(r.server_issuer)], ['client_subject', orUnset(r.client_subject)],
    ['client_issuer', orUnset(r.client_issuer)], ['ja3', orUnset(r.ja3)], ['ja3s', orUnset(r.ja3s)],
    ['planewatch_ja4', orUnset(r.ja4)], ['planewatch_path', orUnset(r.flow_path)],
  ]);
}
