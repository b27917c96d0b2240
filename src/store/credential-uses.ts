import { endpointText } from '../decode/address';

/**
 * Every credential seen in requests, by hash: its claimed holder, how often and when it was used, and
 * whether it ever crossed without TLS. Read by the dashboard's credentials view and `planewatch
 * credentials`; `v_credentials` has the same per client, server and path.
 *
 * The uses are grouped on the index http_auth_hash alone, which holds every column summed (a million
 * requests: 2.8 s to 0.4 s); the claims (JSON, too long for an index) are then read once per
 * credential, from its first use: they are read from the credential itself, so every use has the
 * same (an opaque token's none).
 */
export const CREDENTIAL_USES_SQL = `SELECT u.*, (SELECT i.auth_identity FROM http_requests i
      WHERE i.auth_hash = u.hash AND i.auth = u.scheme LIMIT 1) AS identity
  FROM (SELECT h.auth_hash AS hash, h.auth AS scheme, MAX(h.auth_subject) AS subject,
    COUNT(*) AS requests, COUNT(DISTINCT h.flow_id) AS flows, MIN(h.ts) AS first_ts, MAX(h.ts) AS last_ts,
    MAX(NOT EXISTS (SELECT 1 FROM tls_sessions t WHERE t.flow_id = h.flow_id)) AS cleartext
  FROM http_requests h WHERE h.auth_hash IS NOT NULL GROUP BY h.auth_hash, h.auth) u`;

export interface CredentialUseRow {
  hash: string;
  scheme: string;
  subject: string | null;
  /** The claims as JSON (CredentialIdentity), null when the credential names no one. */
  identity: string | null;
  requests: number;
  flows: number;
  first_ts: number | null;
  last_ts: number | null;
  cleartext: number;
}

/** Clients and servers (ip:port) a credential was used between, up to `limit` rows of them. */
export const CREDENTIAL_ENDPOINTS_SQL = `SELECT DISTINCT fl.client_ip, fl.server_ip, fl.server_port
  FROM http_requests h JOIN flows fl ON fl.id = h.flow_id WHERE h.auth_hash = ? LIMIT ?`;

/** Where a credential was used, from the rows of CREDENTIAL_ENDPOINTS_SQL: up to 20 clients and 20 servers (ip:port). */
export function usedBetween(rows: readonly { client_ip: string; server_ip: string; server_port: number }[]): { clients: string[]; servers: string[] } {
  return {
    clients: [...new Set(rows.map((x) => x.client_ip))].slice(0, 20),
    servers: [...new Set(rows.map((x) => endpointText(x.server_ip, x.server_port)))].slice(0, 20),
  };
}
