/**
 * Wraps IPv4 packets in the link layers users meet: Ethernet, 802.1Q, Linux SLL2 (`tcpdump -i any`),
 * raw IP, and VXLAN as cloud traffic mirroring delivers it.
 */
import { buildUdp } from './ip-packet.js';

export type LinkVariant = 'ethernet' | 'raw' | 'vlan' | 'sll2' | 'vxlan';

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL2 = 276;

export function linkTypeOf(v: LinkVariant): number {
  if (v === 'raw') return LINKTYPE_RAW;
  if (v === 'sll2') return LINKTYPE_LINUX_SLL2;
  return LINKTYPE_ETHERNET;
}

/** Locally administered MAC derived from an IPv4 address, so every host keeps one MAC. */
export function macFor(ip: Buffer | Uint8Array, prefix = 0x02): Buffer {
  return Buffer.from([prefix, 0x42, ip[0]!, ip[1]!, ip[2]!, ip[3]!]);
}

/** Hosts outside the node network are reached through the default gateway's MAC. */
const GATEWAY_MAC = Buffer.from([0x02, 0x42, 0x0a, 0x00, 0x00, 0x01]);

function isLocal(ip: Uint8Array): boolean {
  return ip[0] === 10 || (ip[0] === 172 && ip[1] === 31);
}

function ethernetHeader(ipPacket: Uint8Array, tags: number[]): Buffer {
  const src = ipPacket.subarray(12, 16);
  const dst = ipPacket.subarray(16, 20);
  const h = Buffer.alloc(14 + 4 * tags.length);
  (isLocal(dst) ? macFor(dst) : GATEWAY_MAC).copy(h, 0);
  (isLocal(src) ? macFor(src) : GATEWAY_MAC).copy(h, 6);
  let o = 12;
  for (const tci of tags) {
    h.writeUInt16BE(0x8100, o);
    h.writeUInt16BE(tci, o + 2);
    o += 4;
  }
  h.writeUInt16BE(0x0800, o);
  return h;
}

export interface EncapOptions {
  vlanId?: number;
  /** VXLAN outer addresses and VNI. */
  vxlanSrc?: string;
  vxlanDst?: string;
  vni?: number;
  /** Interface index written into SLL2 headers. */
  ifIndex?: number;
  /** Outgoing (true) or incoming packet, for SLL2's packet type. */
  outgoing?: boolean;
}

export function encapsulate(ipPacket: Buffer, variant: LinkVariant, o: EncapOptions = {}, ipId = 0): Buffer {
  switch (variant) {
    case 'raw':
      return ipPacket;
    case 'ethernet':
      return Buffer.concat([ethernetHeader(ipPacket, []), ipPacket]);
    case 'vlan':
      return Buffer.concat([ethernetHeader(ipPacket, [o.vlanId ?? 100]), ipPacket]);
    case 'sll2': {
      // LINKTYPE_LINUX_SLL2: protocol, reserved, ifindex, ARPHRD, packet type, addr len, addr[8].
      const h = Buffer.alloc(20);
      h.writeUInt16BE(0x0800, 0);
      h.writeUInt32BE(o.ifIndex ?? 2, 4);
      h.writeUInt16BE(1, 8); // ARPHRD_ETHER
      h[10] = o.outgoing ? 4 : 0; // PACKET_OUTGOING : PACKET_HOST
      h[11] = 6;
      const src = ipPacket.subarray(12, 16);
      (isLocal(src) ? macFor(src) : GATEWAY_MAC).copy(h, 12);
      return Buffer.concat([h, ipPacket]);
    }
    case 'vxlan': {
      const inner = Buffer.concat([ethernetHeader(ipPacket, []), ipPacket]);
      const vx = Buffer.alloc(8);
      vx[0] = 0x08; // I flag: VNI valid
      vx.writeUIntBE(o.vni ?? 4242, 4, 3);
      const udpPayload = Buffer.concat([vx, inner]);
      // Source port from the inner flow hash, as VTEPs do for ECMP entropy.
      const sport = 49152 + ((ipPacket[15]! * 31 + ipPacket[19]! * 17 + ipPacket.readUInt16BE(20)) % 16384);
      const outer = buildUdp(o.vxlanSrc ?? '172.31.0.10', o.vxlanDst ?? '172.31.0.100', sport, 4789, ipId, udpPayload);
      return Buffer.concat([ethernetHeader(outer, []), outer]);
    }
  }
}
