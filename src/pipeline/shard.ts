/**
 * A capture analysed by several threads at once: each reads and decodes every frame (reading is a
 * small part of the work, and every thread then shares one clock for idle expiry and every TLS
 * secret of the file), but only the connections of its own shard go through the flow table,
 * reassembly and the dissectors.
 *
 * A connection's shard is chosen by its client port, taken as the higher of the two ports: the
 * client's is an ephemeral one (32768 and up on Linux) and the server's a service port below. Both
 * views of a connection seen across a NAT keep the client port (NatLinker links no other), so they
 * land in one shard and are linked there as on one thread. A connection whose server port is the
 * higher one is still kept whole (the choice depends only on the two ports, whichever direction a
 * packet goes); only its NAT views can then fall in two shards and stay unlinked.
 */
export interface Shard {
  /** 0 … count-1. Shard 0 also counts what belongs to the capture rather than to a connection. */
  index: number;
  count: number;
}

/** The shard of a TCP or UDP packet between `portA` and `portB`. */
export function shardOfPorts(portA: number, portB: number, count: number): number {
  const port = portA > portB ? portA : portB;
  // Ephemeral ports are handed out in sequence: a multiplicative hash spreads neighbours apart.
  return ((Math.imul(port, 0x9e3779b1) >>> 0) >>> 16) % count;
}
