import type { AnomalyCounter } from '../anomalies';
import { TunnelType } from './packet';
import { EtherType, MAX_MPLS_LABELS, NetworkType } from './link-layer';
import { u16be, u24be, u32be } from './bytes';

/** What a tunnel header carries. Extends NetworkType with a whole Ethernet frame. */
export const InnerKind = { ...NetworkType, ETHERNET: 100, MPLS: 101 } as const;

/** Outcome of parsing a tunnel header. */
export const TunnelParse = {
  /** A tunnel: decode `inner` at `innerOffset`. */
  TUNNEL: 0,
  /** Not a tunnel after all (e.g. other traffic on the port): keep the packet as plain UDP. */
  NOT_TUNNEL: 1,
  /** Header cut short or invalid; counted. */
  MALFORMED: 2,
  /** A tunnel whose payload we do not decode; counted. */
  UNSUPPORTED: 3,
} as const;

/**
 * MPLS_UDP: MPLS in UDP (RFC 7510), as Tungsten Fabric (Contrail) carries pod traffic between nodes.
 * VXLAN_GPE: VXLAN's Generic Protocol Extension (draft-ietf-nvo3-vxlan-gpe), IANA's port for it.
 */
export const UdpPort = { VXLAN: 4789, VXLAN_LINUX: 8472, GENEVE: 6081, TZSP: 37008, MPLS_UDP: 6635, VXLAN_GPE: 4790 } as const;

const VXLAN_HEADER = 8;
const VXLAN_FLAG_VNI = 0x08;
/** VXLAN-GPE flags: the version (must be 0), and P: the next-protocol byte is valid. */
const VXLAN_GPE_VERSION = 0x30;
const VXLAN_GPE_FLAG_NEXT = 0x04;
/** VXLAN-GPE next protocols (NSH, 4, is not decoded). */
const VxlanGpeNext = { IPV4: 1, IPV6: 2, ETHERNET: 3, MPLS: 5 } as const;
const GENEVE_HEADER = 8;
const TZSP_HEADER = 4;
const TZSP_VERSION = 1;
const TZSP_TYPE_RECEIVED = 0;
const TZSP_TYPE_TRANSMIT = 1;
const TZSP_ENCAP_ETHERNET = 1;
const TZSP_TAG_PADDING = 0;
const TZSP_TAG_END = 1;

const GRE_CHECKSUM = 0x8000;
const GRE_ROUTING = 0x4000;
const GRE_KEY = 0x2000;
const GRE_SEQUENCE = 0x1000;
const GRE_VERSION = 0x0007;

export const GreProtocol = {
  IPV4: 0x0800,
  IPV6: 0x86dd,
  TEB: 0x6558,
  MPLS: 0x8847,
  MPLS_MULTICAST: 0x8848,
  ERSPAN_1_2: 0x88be,
  ERSPAN_3: 0x22eb,
} as const;

/** Control word and Ethernet header of an MPLS pseudowire: what MPLS in UDP must hold to be taken for one. */
const PW_ETHERNET_MIN = 4 + 14;
const PW_ETHER_TYPES: readonly number[] = [EtherType.IPV4, EtherType.IPV6, EtherType.ARP, EtherType.VLAN, EtherType.QINQ, EtherType.MPLS];

const ERSPAN2_HEADER = 8;
const ERSPAN3_HEADER = 12;
const ERSPAN3_SUBHEADER = 8;
const ERSPAN_VER_II = 1;
const ERSPAN_VER_III = 2;
const ERSPAN3_FRAME_ETHERNET = 0;
const ERSPAN3_FRAME_IP = 2;

/**
 * Tunnel headers that mirrored traffic arrives in. Each parse leaves the tunnel kind, its id and
 * where the inner packet starts in fields; the PacketDecoder then decodes the inner packet.
 */
export class TunnelHeader {
  type: number = TunnelType.NONE;
  /** VNI / GRE key / ERSPAN session id, -1 when the header has none. */
  id = -1;
  inner: number = InnerKind.NONE;
  innerOffset = 0;

  constructor(private readonly anomalies: AnomalyCounter) {}

  /** VXLAN (RFC 7348): flags with the I bit, 24 reserved bits, VNI, reserved; Ethernet follows. */
  parseVxlan(buf: Uint8Array, off: number, end: number): number {
    if (end - off < VXLAN_HEADER) return this.truncated();
    if ((buf[off] & VXLAN_FLAG_VNI) === 0) {
      this.anomalies.add('tunnel.bad_vxlan');
      return TunnelParse.NOT_TUNNEL;
    }
    return this.found(TunnelType.VXLAN, u24be(buf, off + 4), InnerKind.ETHERNET, off + VXLAN_HEADER);
  }

  /**
   * VXLAN-GPE: VXLAN's header with a version, a next-protocol byte (IPv4, IPv6, Ethernet, NSH, MPLS)
   * and its P flag; without P, Ethernet follows as in VXLAN.
   */
  parseVxlanGpe(buf: Uint8Array, off: number, end: number): number {
    if (end - off < VXLAN_HEADER) return this.truncated();
    const flags = buf[off]!;
    if ((flags & VXLAN_FLAG_VNI) === 0 || (flags & VXLAN_GPE_VERSION) !== 0) {
      this.anomalies.add('tunnel.bad_vxlan_gpe');
      return TunnelParse.NOT_TUNNEL;
    }
    const next = (flags & VXLAN_GPE_FLAG_NEXT) === 0 ? VxlanGpeNext.ETHERNET : buf[off + 3];
    const kind = next === VxlanGpeNext.ETHERNET ? InnerKind.ETHERNET
      : next === VxlanGpeNext.IPV4 ? InnerKind.IPV4
      : next === VxlanGpeNext.IPV6 ? InnerKind.IPV6
      : next === VxlanGpeNext.MPLS ? InnerKind.MPLS
      : InnerKind.NONE;
    if (kind === InnerKind.NONE) return this.unsupported();
    return this.found(TunnelType.VXLAN_GPE, u24be(buf, off + 4), kind, off + VXLAN_HEADER);
  }

  /** Geneve (RFC 8926): version 0, options length in 4-byte words, protocol type, VNI. */
  parseGeneve(buf: Uint8Array, off: number, end: number): number {
    if (end - off < GENEVE_HEADER) return this.truncated();
    if (buf[off] >> 6 !== 0) {
      this.anomalies.add('tunnel.bad_geneve');
      return TunnelParse.NOT_TUNNEL;
    }
    const inner = off + GENEVE_HEADER + (buf[off] & 0x3f) * 4;
    if (inner > end) return this.truncated();
    const kind = this.kindOfEtherType(u16be(buf, off + 2));
    if (kind === InnerKind.NONE) return this.unsupported();
    return this.found(TunnelType.GENEVE, u24be(buf, off + 4), kind, inner);
  }

  /**
   * TZSP: version 1, type, encapsulation, then tagged fields (PADDING and END are single bytes,
   * the others tag + length + value) up to END; the captured frame follows.
   */
  parseTzsp(buf: Uint8Array, off: number, end: number): number {
    if (end - off < TZSP_HEADER) return this.truncated();
    if (buf[off] !== TZSP_VERSION) {
      this.anomalies.add('tunnel.bad_tzsp');
      return TunnelParse.NOT_TUNNEL;
    }
    const type = buf[off + 1];
    // Keepalives and configuration messages carry no packet.
    if (type !== TZSP_TYPE_RECEIVED && type !== TZSP_TYPE_TRANSMIT) return TunnelParse.UNSUPPORTED;
    const encap = u16be(buf, off + 2);
    let p = off + TZSP_HEADER;
    for (;;) {
      if (p >= end) return this.truncated();
      const tag = buf[p];
      if (tag === TZSP_TAG_END) {
        p++;
        break;
      }
      if (tag === TZSP_TAG_PADDING) {
        p++;
        continue;
      }
      if (p + 2 > end) return this.truncated();
      p += 2 + buf[p + 1];
    }
    if (encap !== TZSP_ENCAP_ETHERNET) return this.unsupported();
    return this.found(TunnelType.TZSP, -1, InnerKind.ETHERNET, p);
  }

  /**
   * GRE (RFC 2784 with the RFC 2890 key and sequence fields). ERSPAN rides on GRE: protocol 0x88BE
   * with the sequence bit is type II (8-byte header), without it type I (no header); 0x22EB is
   * type III (12-byte header, plus an 8-byte platform subheader when its O bit is set).
   */
  parseGre(buf: Uint8Array, off: number, end: number): number {
    if (end - off < 4) return this.truncated();
    const flags = u16be(buf, off);
    const proto = u16be(buf, off + 2);
    if ((flags & GRE_VERSION) !== 0 || (flags & GRE_ROUTING) !== 0) {
      // Version 1 is PPTP's enhanced GRE; source routing (RFC 1701) is obsolete.
      this.anomalies.add('tunnel.bad_gre');
      return TunnelParse.UNSUPPORTED;
    }
    let p = off + 4;
    if ((flags & GRE_CHECKSUM) !== 0) p += 4;
    let key = -1;
    if ((flags & GRE_KEY) !== 0) {
      if (p + 4 > end) return this.truncated();
      key = u32be(buf, p);
      p += 4;
    }
    const hasSequence = (flags & GRE_SEQUENCE) !== 0;
    if (hasSequence) p += 4;
    if (p > end) return this.truncated();
    switch (proto) {
      case GreProtocol.IPV4:
        return this.found(TunnelType.GRE, key, InnerKind.IPV4, p);
      case GreProtocol.IPV6:
        return this.found(TunnelType.GRE, key, InnerKind.IPV6, p);
      case GreProtocol.TEB:
        return this.found(TunnelType.GRE, key, InnerKind.ETHERNET, p);
      case GreProtocol.MPLS:
      case GreProtocol.MPLS_MULTICAST:
        return this.found(TunnelType.GRE, key, InnerKind.MPLS, p);
      case GreProtocol.ERSPAN_1_2: {
        if (!hasSequence) return this.found(TunnelType.ERSPAN, -1, InnerKind.ETHERNET, p);
        if (end - p < ERSPAN2_HEADER) return this.truncated();
        if (buf[p] >> 4 !== ERSPAN_VER_II) return this.badErspan();
        return this.found(TunnelType.ERSPAN, u16be(buf, p + 2) & 0x03ff, InnerKind.ETHERNET, p + ERSPAN2_HEADER);
      }
      case GreProtocol.ERSPAN_3: {
        if (end - p < ERSPAN3_HEADER) return this.truncated();
        if (buf[p] >> 4 !== ERSPAN_VER_III) return this.badErspan();
        const session = u16be(buf, p + 2) & 0x03ff;
        const frameType = (buf[p + 10] >> 2) & 0x1f;
        let inner = p + ERSPAN3_HEADER;
        if ((buf[p + 11] & 0x01) !== 0) inner += ERSPAN3_SUBHEADER;
        if (inner > end) return this.truncated();
        if (frameType === ERSPAN3_FRAME_ETHERNET) return this.found(TunnelType.ERSPAN, session, InnerKind.ETHERNET, inner);
        if (frameType === ERSPAN3_FRAME_IP) return this.found(TunnelType.ERSPAN, session, InnerKind.IP_BY_VERSION, inner);
        return this.badErspan();
      }
      default:
        this.anomalies.add('tunnel.unknown_gre_protocol');
        return TunnelParse.UNSUPPORTED;
    }
  }

  /**
   * MPLS in UDP (RFC 7510): a label stack is the whole UDP payload. Nothing marks it as one, so only
   * a stack that ends within MAX_MPLS_LABELS on what looks like IPv4, IPv6 or a pseudowire control
   * word is taken for MPLS; other traffic to the port stays plain UDP.
   */
  parseMplsInUdp(buf: Uint8Array, off: number, end: number): number {
    let p = off;
    for (let n = 0; n < MAX_MPLS_LABELS; n++) {
      if (end - p < 5) return TunnelParse.NOT_TUNNEL;
      const bottom = (buf[p + 2] & 0x01) !== 0;
      p += 4;
      if (!bottom) continue;
      const nibble = buf[p] >> 4;
      const looksLikeMpls = nibble === 4 ? (buf[p] & 0x0f) >= 5
        : nibble === 6 ? true
        // A control word, then an Ethernet header whose EtherType is one a pseudowire carries.
        : nibble === 0 && end - p >= PW_ETHERNET_MIN && PW_ETHER_TYPES.includes(u16be(buf, p + PW_ETHERNET_MIN - 2));
      return looksLikeMpls ? this.found(TunnelType.MPLS_UDP, -1, InnerKind.MPLS, off) : TunnelParse.NOT_TUNNEL;
    }
    return TunnelParse.NOT_TUNNEL;
  }

  /** IP-in-IP (protocol 4) and IPv6-in-IP (41): no header of its own. */
  parseIpInIp(protocol: number, off: number): number {
    return this.found(TunnelType.IPIP, -1, protocol === 4 ? InnerKind.IPV4 : InnerKind.IPV6, off);
  }

  private kindOfEtherType(type: number): number {
    if (type === GreProtocol.TEB) return InnerKind.ETHERNET;
    if (type === GreProtocol.IPV4) return InnerKind.IPV4;
    if (type === GreProtocol.IPV6) return InnerKind.IPV6;
    if (type === GreProtocol.MPLS || type === GreProtocol.MPLS_MULTICAST) return InnerKind.MPLS;
    return InnerKind.NONE;
  }

  private found(type: number, id: number, inner: number, innerOffset: number): number {
    this.type = type;
    this.id = id;
    this.inner = inner;
    this.innerOffset = innerOffset;
    return TunnelParse.TUNNEL;
  }

  private truncated(): number {
    this.anomalies.add('tunnel.truncated');
    return TunnelParse.MALFORMED;
  }

  private unsupported(): number {
    this.anomalies.add('tunnel.unknown_payload');
    return TunnelParse.UNSUPPORTED;
  }

  private badErspan(): number {
    this.anomalies.add('tunnel.bad_erspan');
    return TunnelParse.MALFORMED;
  }
}
