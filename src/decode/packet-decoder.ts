import type { AnomalyCounter } from '../anomalies';
import { DecodeStatus, TunnelType, type DecodedPacket } from './packet';
import { LinkLayer, NetworkType } from './link-layer';
import { Ipv4Header } from './ipv4';
import { IpProto, Ipv6Header } from './ipv6';
import { MutableStamp, type PacketStamp } from '../flow/packet-stamp';
import { FragmentReassembler, FragmentResult, type FragmentLimits } from './ip-fragments';
import { TcpDecoder } from './tcp';
import { UdpDecoder } from './udp';
import { InnerKind, TunnelHeader, TunnelParse, UdpPort } from './tunnels';

/** The UDP destination ports each tunnel is decoded on unless told otherwise (`--decode-as`). */
export const STANDARD_TUNNEL_PORTS = {
  vxlan: [UdpPort.VXLAN, UdpPort.VXLAN_LINUX],
  geneve: [UdpPort.GENEVE],
  tzsp: [UdpPort.TZSP],
  mpls: [UdpPort.MPLS_UDP],
  vxlan_gpe: [UdpPort.VXLAN_GPE],
} as const satisfies Record<string, readonly number[]>;

/** Tunnels peeled off one packet before giving up (mirrored traffic rarely nests more than twice). */
export const MAX_TUNNEL_DEPTH = 4;

export interface PacketDecoderOptions {
  /** Follow VXLAN / Geneve / TZSP / GRE / IP-in-IP / MPLS in UDP into the inner packet (default true). */
  decodeTunnels?: boolean;
  maxTunnelDepth?: number;
  /** UDP destination ports decoded as VXLAN (default 4789 and 8472, the Linux kernel default). */
  vxlanPorts?: readonly number[];
  genevePorts?: readonly number[];
  tzspPorts?: readonly number[];
  /** UDP destination ports decoded as MPLS in UDP (default 6635, RFC 7510). */
  mplsUdpPorts?: readonly number[];
  /** UDP destination ports decoded as VXLAN-GPE (default 4790). */
  vxlanGpePorts?: readonly number[];
  /** Verify IPv4 header checksums and count `ip.bad_checksum` (never drops; default true). */
  verifyIpChecksum?: boolean;
  fragments?: Partial<FragmentLimits>;
}

/**
 * Decodes a captured frame down to TCP/UDP, through VLANs, tunnels and IP fragments, into a
 * caller-owned DecodedPacket. Allocated once per capture and reused: nothing is allocated per
 * packet except a rebuilt datagram when fragments complete one.
 */
export class PacketDecoder {
  private readonly link: LinkLayer;
  private readonly ip4: Ipv4Header;
  private readonly ip6: Ipv6Header;
  private readonly tcp: TcpDecoder;
  private readonly udp: UdpDecoder;
  private readonly tunnel: TunnelHeader;
  private readonly fragments: FragmentReassembler;
  /** Flat table: UDP destination port → TunnelType (0 = plain UDP). */
  private readonly udpTunnelPorts = new Uint8Array(65536);
  private readonly decodeTunnels: boolean;
  private readonly maxTunnelDepth: number;
  private snapTruncated = false;
  private ts = 0;
  /** Stamp of a decode() call (the number API). */
  private readonly oneOff = new MutableStamp();

  /**
   * The datagram of the IP fragment last held or completed, as a number (see FragmentReassembler.lastKey):
   * a reassembled packet and its held fragments share it.
   */
  get lastFragmentKey(): number {
    return this.fragments.lastKey;
  }

  constructor(private readonly anomalies: AnomalyCounter, opts: PacketDecoderOptions = {}) {
    this.link = new LinkLayer(anomalies);
    this.ip4 = new Ipv4Header(anomalies, opts.verifyIpChecksum ?? true);
    this.ip6 = new Ipv6Header(anomalies);
    this.tcp = new TcpDecoder(anomalies);
    this.udp = new UdpDecoder(anomalies);
    this.tunnel = new TunnelHeader(anomalies);
    this.fragments = new FragmentReassembler(anomalies, opts.fragments);
    this.decodeTunnels = opts.decodeTunnels ?? true;
    this.maxTunnelDepth = opts.maxTunnelDepth ?? MAX_TUNNEL_DEPTH;
    for (const p of opts.vxlanPorts ?? STANDARD_TUNNEL_PORTS.vxlan) this.udpTunnelPorts[p & 0xffff] = TunnelType.VXLAN;
    for (const p of opts.genevePorts ?? STANDARD_TUNNEL_PORTS.geneve) this.udpTunnelPorts[p & 0xffff] = TunnelType.GENEVE;
    for (const p of opts.tzspPorts ?? STANDARD_TUNNEL_PORTS.tzsp) this.udpTunnelPorts[p & 0xffff] = TunnelType.TZSP;
    for (const p of opts.mplsUdpPorts ?? STANDARD_TUNNEL_PORTS.mpls) this.udpTunnelPorts[p & 0xffff] = TunnelType.MPLS_UDP;
    for (const p of opts.vxlanGpePorts ?? STANDARD_TUNNEL_PORTS.vxlan_gpe) this.udpTunnelPorts[p & 0xffff] = TunnelType.VXLAN_GPE;
  }

  /**
   * Decodes one frame into `out` (overwritten) and returns a DecodeStatus. `ts` is the capture time
   * in seconds (drives fragment timeouts); `origLen` is the length on the wire, so a frame cut by
   * the snaplen is told apart from one whose IP length lies.
   */
  decode(data: Uint8Array, linkType: number, ts: number, out: DecodedPacket, origLen: number = data.length): number {
    return this.decodeBytes(data, 0, data.length, linkType, this.oneOff.set(ts, 0), out, origLen);
  }

  /**
   * decode() of a frame that is buf[start..end), without a view of its own: the readers hand out
   * frames as offsets into their read buffer, and a view per packet would be the hot path's one
   * allocation. The packet's offsets (`payloadOffset`) are then offsets into `buf`. The capture time
   * comes as a stamp, not a number, for the same reason (see PacketStamp).
   */
  decodeBytes(buf: Uint8Array, start: number, end: number, linkType: number, at: PacketStamp, out: DecodedPacket, origLen: number): number {
    out.reset();
    this.snapTruncated = origLen > end - start;
    this.ts = at.ts;
    if (this.fragments.holding) this.fragments.expire(at.ts);
    const st = this.link.decode(buf, start, end, linkType);
    if (st !== DecodeStatus.OK) return st;
    out.vlan = this.link.vlan;
    return this.decodeNetwork(buf, this.link.offset, this.link.end, this.link.network, out);
  }

  /** End of capture: counts datagrams still waiting for fragments as timed out. */
  flush(): void {
    this.fragments.flush();
  }

  /** Datagrams currently held for reassembly (for statistics and tests). */
  get pendingFragments(): number {
    return this.fragments.pending;
  }

  private decodeNetwork(buf: Uint8Array, off: number, end: number, network: number, out: DecodedPacket): number {
    if (network === NetworkType.IP_BY_VERSION) {
      if (off >= end) {
        this.anomalies.add('ip.truncated');
        return DecodeStatus.MALFORMED;
      }
      const v = buf[off] >> 4;
      if (v === 4) network = NetworkType.IPV4;
      else if (v === 6) network = NetworkType.IPV6;
      else {
        this.anomalies.add('ip.bad_version');
        return DecodeStatus.MALFORMED;
      }
    }
    if (network === NetworkType.IPV4) return this.decodeIpv4(buf, off, end, out);
    if (network === NetworkType.IPV6) return this.decodeIpv6(buf, off, end, out);
    return DecodeStatus.NOT_ANALYSED;
  }

  private decodeIpv4(buf: Uint8Array, off: number, end: number, out: DecodedPacket): number {
    const h = this.ip4;
    const st = h.parse(buf, off, end, this.snapTruncated);
    if (st !== DecodeStatus.OK) return st;
    out.ipVersion = 4;
    if (out.addressTails) {
      // Bytes 4..15 still hold an IPv6 address: zero them so 16-byte copies of IPv4 addresses are exact.
      out.src.fill(0, 4);
      out.dst.fill(0, 4);
      out.addressTails = false;
    }
    copyIpv4(buf, off + 12, out.src);
    copyIpv4(buf, off + 16, out.dst);
    out.ttl = h.ttl;
    out.ipId = h.id;
    out.protocol = h.protocol;
    out.truncatedBytes = h.missing;
    out.ipLength = h.totalLength;
    if (h.fragmentOffset !== 0 || h.moreFragments) {
      if (h.missing > 0) {
        this.anomalies.add('ip.fragment_truncated');
        return DecodeStatus.MALFORMED;
      }
      const r = this.fragments.add(4, buf, off + 12, off + 16, h.id, h.protocol, h.ttl, h.fragmentOffset,
        h.moreFragments, h.payloadOffset, h.end - h.payloadOffset, this.ts);
      if (r === FragmentResult.HELD) return DecodeStatus.FRAGMENT_HELD;
      if (r === FragmentResult.DROPPED) return DecodeStatus.MALFORMED;
      out.reassembled = true;
      const dg = this.fragments.datagram;
      return this.decodeIpv4(dg, 0, dg.length, out);
    }
    return this.decodeTransport(buf, h.payloadOffset, h.end, h.protocol, h.missing, out);
  }

  private decodeIpv6(buf: Uint8Array, off: number, end: number, out: DecodedPacket): number {
    const h = this.ip6;
    const st = h.parse(buf, off, end, this.snapTruncated);
    if (st !== DecodeStatus.OK) return st;
    out.ipVersion = 6;
    out.addressTails = true;
    copyIpv6(buf, off + 8, out.src);
    copyIpv6(buf, off + 24, out.dst);
    out.ttl = h.hopLimit;
    out.ipId = 0;
    out.protocol = h.protocol;
    out.truncatedBytes = h.missing;
    out.ipLength = h.totalLength;
    if (h.isFragment) {
      if (h.missing > 0) {
        this.anomalies.add('ip.fragment_truncated');
        return DecodeStatus.MALFORMED;
      }
      const r = this.fragments.add(6, buf, off + 8, off + 24, h.fragmentId, h.protocol, h.hopLimit, h.fragmentOffset,
        h.moreFragments, h.payloadOffset, h.end - h.payloadOffset, this.ts);
      if (r === FragmentResult.HELD) return DecodeStatus.FRAGMENT_HELD;
      if (r === FragmentResult.DROPPED) return DecodeStatus.MALFORMED;
      out.reassembled = true;
      const dg = this.fragments.datagram;
      return this.decodeIpv6(dg, 0, dg.length, out);
    }
    return this.decodeTransport(buf, h.payloadOffset, h.end, h.protocol, h.missing, out);
  }

  private decodeTransport(buf: Uint8Array, off: number, end: number, protocol: number, missing: number,
      out: DecodedPacket): number {
    // IPv4 may carry AH before the transport (IPv6 walks it with its extension headers).
    while (protocol === IpProto.AH) {
      if (end - off < 8) {
        this.anomalies.add('ip.truncated');
        return DecodeStatus.MALFORMED;
      }
      protocol = buf[off];
      off += (buf[off + 1] + 2) * 4;
      if (off > end) {
        this.anomalies.add('ip.truncated');
        return DecodeStatus.MALFORMED;
      }
      out.protocol = protocol;
    }
    switch (protocol) {
      case IpProto.TCP:
        return this.tcp.decode(buf, off, end, missing, out);
      case IpProto.UDP: {
        const st = this.udp.decode(buf, off, end, missing, out);
        if (st !== DecodeStatus.OK || !this.decodeTunnels) return st;
        const kind = this.udpTunnelPorts[out.dstPort];
        if (kind === TunnelType.NONE) return st;
        const pOff = out.payloadOffset;
        const pEnd = pOff + out.payloadLength;
        const t = this.tunnel;
        const r = kind === TunnelType.VXLAN ? t.parseVxlan(buf, pOff, pEnd)
          : kind === TunnelType.GENEVE ? t.parseGeneve(buf, pOff, pEnd)
          : kind === TunnelType.MPLS_UDP ? t.parseMplsInUdp(buf, pOff, pEnd)
          : kind === TunnelType.VXLAN_GPE ? t.parseVxlanGpe(buf, pOff, pEnd)
          : t.parseTzsp(buf, pOff, pEnd);
        return this.decodeTunnel(buf, pEnd, r, out);
      }
      case IpProto.GRE:
        if (!this.decodeTunnels) break;
        return this.decodeTunnel(buf, end, this.tunnel.parseGre(buf, off, end), out);
      case IpProto.IPIP:
      case IpProto.IPV6:
        if (!this.decodeTunnels) break;
        return this.decodeTunnel(buf, end, this.tunnel.parseIpInIp(protocol, off), out);
      default:
        break;
    }
    this.anomalies.add('ip.unsupported_protocol');
    return DecodeStatus.NOT_ANALYSED;
  }

  /** Enters the tunnel just parsed: records the outermost one, then decodes the inner packet. */
  private decodeTunnel(buf: Uint8Array, end: number, parse: number, out: DecodedPacket): number {
    if (parse === TunnelParse.NOT_TUNNEL) return DecodeStatus.OK; // plain UDP after all
    if (parse === TunnelParse.MALFORMED) return DecodeStatus.MALFORMED;
    if (parse === TunnelParse.UNSUPPORTED) return DecodeStatus.NOT_ANALYSED;
    if (out.tunnelDepth >= this.maxTunnelDepth) {
      this.anomalies.add('tunnel.too_deep');
      return DecodeStatus.NOT_ANALYSED;
    }
    const t = this.tunnel;
    if (out.tunnelDepth === 0) {
      out.tunnelType = t.type;
      out.tunnelId = t.id;
      out.outerIpVersion = out.ipVersion;
      out.outerSrc.set(out.src);
      out.outerDst.set(out.dst);
      // The outer UDP header's ports; 0 when the tunnel is not in UDP (no layer set them).
      out.outerSrcPort = out.srcPort;
      out.outerDstPort = out.dstPort;
    }
    out.tunnelDepth++;
    // The outer transport is not the flow: clear it so a non-TCP/UDP inner packet leaves no trace.
    out.srcPort = 0;
    out.dstPort = 0;
    out.payloadOffset = 0;
    out.payloadLength = 0;
    const inner = t.inner;
    const innerOff = t.innerOffset;
    if (inner === InnerKind.ETHERNET || inner === InnerKind.MPLS) {
      const st = inner === InnerKind.ETHERNET ? this.link.decodeEthernet(buf, innerOff, end) : this.link.decodeMplsPayload(buf, innerOff, end);
      if (st !== DecodeStatus.OK) return st;
      if (out.vlan === 0) out.vlan = this.link.vlan;
      return this.decodeNetwork(buf, this.link.offset, end, this.link.network, out);
    }
    return this.decodeNetwork(buf, innerOff, end, inner, out);
  }
}

function copyIpv4(buf: Uint8Array, off: number, to: Uint8Array): void {
  to[0] = buf[off];
  to[1] = buf[off + 1];
  to[2] = buf[off + 2];
  to[3] = buf[off + 3];
}

function copyIpv6(buf: Uint8Array, off: number, to: Uint8Array): void {
  for (let i = 0; i < 16; i++) to[i] = buf[off + i];
}
