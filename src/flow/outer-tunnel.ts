/**
 * Mirrored traffic often reaches a tap in two outer connections, one a direction: a VTEP picks its
 * UDP source port from the inner packet, so the replies travel from the far VTEP's own port. A flow
 * keeps its first packet's tunnel, and here the other direction's, so that both are known.
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
}

/**
 * The first packet of a tunnelled flow's other direction that came through a tunnel: its outer
 * connection, unless it is the first one's, either way round (GRE and IP in IP have one outer
 * connection both ways; a mirror session sends both directions from one collector port). Once per flow.
 */
export function noteOtherTunnel(flow: Flow, pkt: DecodedPacket): void {
  flow.otherTunnelPending = false;
  const v = pkt.outerIpVersion;
  if (pkt.tunnelType === flow.tunnelType && v === flow.outerIpVersion) {
    const same = pkt.outerSrcPort === flow.outerSrcPort && pkt.outerDstPort === flow.outerDstPort
      && sameAddress(pkt.outerSrc, flow.outerSrc, v) && sameAddress(pkt.outerDst, flow.outerDst, v);
    const reversed = pkt.outerSrcPort === flow.outerDstPort && pkt.outerDstPort === flow.outerSrcPort
      && sameAddress(pkt.outerSrc, flow.outerDst, v) && sameAddress(pkt.outerDst, flow.outerSrc, v);
    if (same || reversed) return;
  }
  flow.otherTunnel = new OuterTunnel(pkt.tunnelType, pkt.tunnelId, pkt.outerIpVersion, pkt.outerSrc.slice(), pkt.outerDst.slice(),
    pkt.outerSrcPort, pkt.outerDstPort);
}

function sameAddress(a: Uint8Array, b: Uint8Array | null, ipVersion: number): boolean {
  if (b === null) return false;
  const n = ipVersion === 6 ? 16 : 4;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
