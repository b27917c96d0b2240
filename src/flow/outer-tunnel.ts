/**
 * Mirrored traffic often reaches a tap in two outer connections, one a direction: a VTEP picks its
 * UDP source port from the inner packet, so the replies travel from the far VTEP's own port. A flow
 * keeps its first packet's tunnel, and the other direction's, so that both are known.
 */
import type { DecodedPacket } from '../decode/packet';
import type { Flow } from './flow';

/** The outer headers of the tunnel that one direction of a flow came in (see Flow.otherTunnel). */
export class OuterTunnel {
  constructor(
    readonly type: number,
    readonly id: number,
    readonly ipVersion: number,
    readonly src: Uint8Array,
    readonly dst: Uint8Array,
    readonly srcPort: number,
    readonly dstPort: number,
  ) {}

  /** The outermost tunnel of a decoded packet (tunnelDepth > 0). */
  static of(pkt: DecodedPacket): OuterTunnel {
    return new OuterTunnel(pkt.tunnelType, pkt.tunnelId, pkt.outerIpVersion, pkt.outerSrc.slice(), pkt.outerDst.slice(),
      pkt.outerSrcPort, pkt.outerDstPort);
  }

  /** The packet came in this outer connection, either way round. */
  carried(pkt: DecodedPacket): boolean {
    const v = this.ipVersion;
    if (pkt.tunnelType !== this.type || pkt.outerIpVersion !== v) return false;
    const same = pkt.outerSrcPort === this.srcPort && pkt.outerDstPort === this.dstPort
      && sameAddress(pkt.outerSrc, this.src, v) && sameAddress(pkt.outerDst, this.dst, v);
    return same || (pkt.outerSrcPort === this.dstPort && pkt.outerDstPort === this.srcPort
      && sameAddress(pkt.outerSrc, this.dst, v) && sameAddress(pkt.outerDst, this.src, v));
  }
}

/**
 * The first packet of a tunnelled flow's other direction that came through a tunnel: its outer
 * connection, unless it is the first one's, either way round (GRE and IP in IP have one outer
 * connection both ways; a mirror session sends both directions from one collector port). Once per flow.
 */
export function noteOtherTunnel(flow: Flow, pkt: DecodedPacket): void {
  flow.otherTunnelPending = false;
  if (flow.tunnel === null || !flow.tunnel.carried(pkt)) flow.otherTunnel = OuterTunnel.of(pkt);
}

function sameAddress(a: Uint8Array, b: Uint8Array, ipVersion: number): boolean {
  const n = ipVersion === 6 ? 16 : 4;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
