/**
 * Stored flows' tunnels as Zeek's tunnel.log: a tunnel is the outer connection that carried a
 * connection's packets (a VXLAN or Geneve UDP connection between two VTEPs, a GRE or ERSPAN session,
 * IP in IP), logged with `Tunnel::DISCOVER` when its first carried connection began and
 * `Tunnel::CLOSE` when its last one ended, under a uid of its own that conn.log's `tunnel_parents`
 * names. planewatch keeps, for each connection, the outermost tunnel of its first packet and of its
 * other direction's first tunnelled packet (a VXLAN VTEP answers from a source port of its own, so
 * the replies travel in another outer connection): a tunnel that carried only packets after those
 * is not known and not logged.
 */
import { digestOf } from '../../digest';
import { parseStoredTunnel } from '../tunnel-text';
import type { OuterTunnelInfo, TunnelInfo } from '../../model/flow-record';
import { CONNECTION_FIELDS, connectionValues, type ZeekLogSpec, type ZeekRecord, type ZeekValue } from './zeek-log';

/** A stored tunnel's outer connection (`$` the first packet's, `$.other` the other direction's) as columns. */
const outerColumns = (at: string) => `json_extract(tunnel, '${at}.type') AS type, json_extract(tunnel, '${at}.outerSrc') AS orig_h,
      json_extract(tunnel, '${at}.outerSrcPort') AS orig_p, json_extract(tunnel, '${at}.outerDst') AS resp_h,
      json_extract(tunnel, '${at}.outerDstPort') AS resp_p, json_extract(tunnel, '${at}.id') AS tunnel_id`;

/**
 * Each tunnel twice, when it was discovered and when it closed, in time order; `where`: a condition
 * on `flows` (or ''). A tunnel is one outer connection of one capture (its addresses and UDP ports);
 * its times are those of the connections it carried, whose ids (VNIs, GRE keys) are listed.
 */
export const zeekTunnelSql = (where: string) => {
  const tunnelled = `FROM flows ${where === '' ? 'WHERE' : `${where} AND`} tunnel IS NOT NULL`;
  return `WITH carried AS (
    SELECT capture_id AS capture, first_ts, last_ts, ${outerColumns('$')} ${tunnelled}
    UNION ALL
    SELECT capture_id AS capture, first_ts, last_ts, ${outerColumns('$.other')} ${tunnelled} AND json_extract(tunnel, '$.other') IS NOT NULL),
  tunnels AS MATERIALIZED (
    SELECT capture, type, orig_h, orig_p, resp_h, resp_p, MIN(first_ts) AS first_ts, MAX(last_ts) AS last_ts,
      COUNT(*) AS connections, group_concat(DISTINCT tunnel_id) AS ids
    FROM carried GROUP BY capture, type, orig_h, orig_p, resp_h, resp_p)
  SELECT first_ts AS ts, 'DISCOVER' AS action, capture, type, orig_h, orig_p, resp_h, resp_p, connections, ids FROM tunnels
  UNION ALL
  SELECT last_ts AS ts, 'CLOSE' AS action, capture, type, orig_h, orig_p, resp_h, resp_p, connections, ids FROM tunnels
  ORDER BY ts, action DESC, capture, orig_h, orig_p, resp_h, resp_p, type`;
};

export interface ZeekTunnelRow {
  ts: number; action: 'DISCOVER' | 'CLOSE'; capture: number; type: string | null; orig_h: string | null;
  orig_p: number | null; resp_h: string | null; resp_p: number | null; connections: number; ids: string | null;
}

/** tunnel.log: Zeek's fields, then the connections it carried and their tunnel ids (planewatch's own). */
export const TUNNEL_LOG: ZeekLogSpec = { path: 'tunnel', fields: [
  ...CONNECTION_FIELDS,
  ['tunnel_type', 'enum'], ['action', 'enum'], ['planewatch_connections', 'count'], ['planewatch_tunnel_ids', 'set[count]'],
] };

/**
 * Zeek's `Tunnel::Type` for each tunnel planewatch decodes. Zeek reads ERSPAN inside its GRE analyzer;
 * for those it has no analyzer of (TZSP, MPLS in UDP, VXLAN-GPE) the name follows Zeek's pattern.
 */
const TUNNEL_TYPES: Record<TunnelInfo['type'], string> = {
  vxlan: 'Tunnel::VXLAN', geneve: 'Tunnel::GENEVE', gre: 'Tunnel::GRE', erspan: 'Tunnel::GRE', ipip: 'Tunnel::IP',
  tzsp: 'Tunnel::TZSP', 'mpls-udp': 'Tunnel::MPLS_UDP', 'vxlan-gpe': 'Tunnel::VXLAN_GPE',
};

/** The parts of a stored tunnel that name its outer connection. */
export interface TunnelKey {
  type: string | null;
  outerSrc: string | null;
  outerSrcPort: number | null;
  outerDst: string | null;
  outerDstPort: number | null;
}

/**
 * A tunnel's uid: the same for every connection it carried in one capture, in tunnel.log and in
 * conn.log's `tunnel_parents` (a `T` and 16 hex digits, apart from flows' ids).
 */
export function tunnelUid(capture: number, t: TunnelKey): string {
  const key = [capture, t.type, t.outerSrc, t.outerSrcPort, t.outerDst, t.outerDstPort].map((v) => v ?? '').join('|');
  return 'T' + digestOf('sha1', Buffer.from(key, 'utf8'), 'hex').slice(0, 16);
}

/** A stored outer connection's uid (fields missing from older records as null, as SQL reads them). */
function outerUid(capture: number, t: Partial<OuterTunnelInfo>): string {
  return tunnelUid(capture, {
    type: t.type ?? null, outerSrc: t.outerSrc ?? null, outerSrcPort: t.outerSrcPort ?? null, outerDst: t.outerDst ?? null,
    outerDstPort: t.outerDstPort ?? null,
  });
}

/**
 * conn.log's `tunnel_parents` of a flow: the uids of the tunnels it came in, its first packet's and
 * its other direction's (Zeek lists every enclosing tunnel; planewatch knows the outermost); unset
 * without one or when the stored tunnel cannot be read.
 */
export function tunnelParents(capture: number, stored: string | null): string[] | undefined {
  const t = parseStoredTunnel(stored);
  if (t === null || typeof t.type !== 'string') return undefined;
  const uids = [outerUid(capture, t)];
  if (t.other !== undefined && typeof t.other.type === 'string') uids.push(outerUid(capture, t.other));
  return uids;
}

export function zeekTunnelFields(r: ZeekTunnelRow): ZeekRecord {
  const uid = tunnelUid(r.capture, { type: r.type, outerSrc: r.orig_h, outerSrcPort: r.orig_p, outerDst: r.resp_h, outerDstPort: r.resp_p });
  const type = r.type !== null ? TUNNEL_TYPES[r.type as TunnelInfo['type']] ?? `Tunnel::${r.type.toUpperCase().replace(/-/g, '_')}` : undefined;
  return new Map<string, ZeekValue>([
    ...connectionValues({ ts: r.ts, uid, orig_h: r.orig_h, orig_p: r.orig_p, resp_h: r.resp_h, resp_p: r.resp_p }),
    ['tunnel_type', type], ['action', `Tunnel::${r.action}`], ['planewatch_connections', r.connections],
    ['planewatch_tunnel_ids', r.ids === null ? [] : r.ids.split(',').map(Number)],
  ]);
}
