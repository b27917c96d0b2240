import type { Flow } from './flow';

/**
 * One TCP connection seen on both sides of a NAT: `tcpdump -i any` on a node records a pod's
 * connection to a Service address on the pod's interface (pod → 10.96.0.1:443) and again, after
 * kube-proxy's DNAT, on the uplink (pod → API server:6443); SNAT changes the client side instead.
 * The two are different 5-tuples, so two flows, as in Wireshark and Zeek; NAT rewrites addresses
 * and ports but not sequence numbers. Two flows whose SYN and SYN-ACK carry the same initial
 * sequence numbers and whose SYNs are captured within NAT_WINDOW_S of each other are linked
 * (both get the same `natLink`) when they differ as a NAT makes them differ: the same client address
 * and port to another server (DNAT), or the same server address and port from another client
 * address with the same port (SNAT, which keeps the port where it can). A connection picked up
 * midstream (long-lived watches usually are) is linked the same way by the sequence and
 * acknowledgement numbers of its first packet, which both views record within microseconds.
 *
 * Initial sequence numbers are random (RFC 6528), 64 bits for the pair. Packet generators often use
 * fixed ones (zero, by default, in some): zero is never linked, and the endpoint rules and the short
 * window keep other fixed numbers from linking unrelated flows.
 */
export const NAT_WINDOW_S = 0.05;
/** Handshakes remembered at most (older ones than the window go first). */
const MAX_REMEMBERED = 16384;

export class NatLinker {
  /**
   * Flows by a small-integer digest of their initial sequence numbers (no string or object made per
   * connection); a match is confirmed on the flows' own numbers. A digest shared by another pair in
   * the window keeps the newer flow only.
   */
  private readonly recent = new Map<number, Flow>();

  /**
   * A flow's SYN-ACK was seen (both initial sequence numbers are known), or the first packet of a
   * flow picked up midstream: link it, or remember it.
   */
  handshake(flow: Flow): void {
    const c = flow.clientIsn;
    const s = flow.serverIsn;
    if (c <= 0 || s <= 0 || flow.natLink !== null) return;
    const key = (c ^ Math.imul(s, 0x9e3779b1)) & 0x3fffffff;
    const seen = this.recent.get(key);
    if (
      seen !== undefined && seen !== flow && seen.clientIsn === c && seen.serverIsn === s &&
      Math.abs(flow.firstTs - seen.firstTs) <= NAT_WINDOW_S && natPair(seen, flow)
    ) {
      const link = seen.natLink ?? `${c.toString(16)}-${s.toString(16)}@${seen.firstFrame}`;
      seen.natLink = link;
      flow.natLink = link;
      // One connection: the view whose SYN was captured second is the repeat, not counted again.
      const seenFirst = seen.firstTs < flow.firstTs || (seen.firstTs === flow.firstTs && seen.firstFrame < flow.firstFrame);
      (seenFirst ? flow : seen).natRepeat = true;
      return;
    }
    if (seen !== undefined) this.recent.delete(key);
    this.recent.set(key, flow);
    // Only handshakes within the window can match: the old ones go once the map is large.
    if (this.recent.size > MAX_REMEMBERED) this.forgetBefore(flow.firstTs - NAT_WINDOW_S);
  }

  /** Drops flows whose SYN came before `ts`, and the oldest beyond half the limit (the map is in the order seen). */
  private forgetBefore(ts: number): void {
    for (const [key, seen] of this.recent) {
      if (seen.firstTs >= ts && this.recent.size <= MAX_REMEMBERED / 2) return;
      this.recent.delete(key);
    }
  }
}

/** Same client address and port (DNAT), or same server address and port and client port (SNAT). */
function natPair(a: Flow, b: Flow): boolean {
  if (a.ipVersion !== b.ipVersion || a.clientPort !== b.clientPort) return false;
  const n = a.ipVersion === 4 ? 4 : 16;
  return sameBytes(a.clientAddr, b.clientAddr, n) || (a.serverPort === b.serverPort && sameBytes(a.serverAddr, b.serverAddr, n));
}

function sameBytes(a: Uint8Array, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
