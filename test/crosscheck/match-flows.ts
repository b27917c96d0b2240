/** Pairs planewatch's flows with tshark's TCP connections of the same capture by their 4-tuple. */
import type { JsonFlow } from './planewatch-json';
import { connects, type TsharkConnection } from './tshark-connections';

export interface Pair {
  /** "client ip:port → server ip:port", for messages. */
  where: string;
  flow: JsonFlow;
  conn: TsharkConnection | null;
}

export interface Matching {
  pairs: Pair[];
  /** tshark connections that carried payload but have no planewatch flow. */
  unmatched: TsharkConnection[];
}

export function matchFlows(flows: JsonFlow[], conns: TsharkConnection[]): Matching {
  const used = new Set<TsharkConnection>();
  const pairs: Pair[] = [];
  // Capture order, so connections to one server can be told apart by when they were made.
  for (const flow of [...flows].sort((a, b) => a.firstTs - b.firstTs)) {
    if (flow.transport !== 'tcp') continue;
    // A reused 4-tuple gives several connections: take them in capture order.
    const conn = conns.find((c) => !used.has(c) && connects(c, flow.client, flow.server)) ?? null;
    if (conn !== null) used.add(conn);
    pairs.push({ where: `${flow.client.ip}:${flow.client.port} → ${flow.server.ip}:${flow.server.port}`, flow, conn });
  }
  return { pairs, unmatched: conns.filter((c) => !used.has(c) && c.payloadBytes > 0) };
}
