import type { AnomalyCounter } from '../anomalies';
import { LinkType } from '../ingest/frame';
import { DecodeStatus } from './packet';
import { u16be, u16le, u32be, u32le } from './bytes';

/** Network-layer selectors handed from the link layer to the IP decoders. */
export const NetworkType = {
  /** Nothing to decode further (ARP, LLC without SNAP, ...). */
  NONE: 0,
  IPV4: 4,
  IPV6: 6,
  /** Raw IP: the version nibble says which. */
  IP_BY_VERSION: 1,
} as const;

export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  RARP: 0x8035,
  IPV6: 0x86dd,
  QINQ: 0x88a8,
  /** Pre-standard QinQ outer tag still used by some switches. */
  QINQ_OLD: 0x9100,
  QINQ_OLD2: 0x9200,
  TEB: 0x6558,
  MPLS: 0x8847,
  MPLS_MULTICAST: 0x8848,
} as const;

/** VLAN tags followed before giving up (QinQ is 2; a few more for odd carrier setups). */
export const MAX_VLAN_TAGS = 4;
/** MPLS labels followed before giving up (provider networks stack two or three; VPN services a few more). */
export const MAX_MPLS_LABELS = 8;
/** NFLOG attributes walked before giving up on finding the payload. */
export const MAX_NFLOG_TLVS = 64;

const ETHERNET_HEADER = 14;
const SLL_HEADER = 16;
const SLL2_HEADER = 20;
const NFLOG_HEADER = 4;
const NFULA_PAYLOAD = 9;
const MPLS_LABEL = 4;
/** Reserved labels (RFC 3032) that say what the payload is when they end the stack. */
const MPLS_IPV4_EXPLICIT_NULL = 0;
const MPLS_IPV6_EXPLICIT_NULL = 2;
/** The pseudowire control word (RFC 4385) before an Ethernet frame carried over MPLS (RFC 4448). */
const PW_CONTROL_WORD = 4;
/** Ethernet pseudowires followed inside one another (each may carry labels again). */
const MAX_PSEUDOWIRE_NESTING = 2;

// BSD address families found in DLT_NULL / DLT_LOOP headers: IPv4 is 2 everywhere, IPv6 differs by OS.
const AF_INET = 2;
const AF_INET6_LINUX = 10;
const AF_INET6_BSD = 24;
const AF_INET6_FREEBSD = 28;
const AF_INET6_DARWIN = 30;

/**
 * Peels link-layer headers (Ethernet, VLAN tags, Linux cooked, loopback, NFLOG, raw IP).
 * One instance per PacketDecoder; results are left in fields, overwritten by each call.
 */
export class LinkLayer {
  /** Offset of the network-layer header. */
  offset = 0;
  /** One of NetworkType. */
  network: number = NetworkType.NONE;
  /** VLAN id of the outermost tag seen by the last call, 0 when untagged. */
  vlan = 0;
  /** End of the bytes the network layer may use (NFLOG payloads end before the frame does). */
  end = 0;
  /** Ethernet pseudowires entered by the call under way (bounds the recursion). */
  private pseudowires = 0;

  constructor(private readonly anomalies: AnomalyCounter) {}

  /** Decodes the link header of a captured frame of the given LINKTYPE_*: the bytes buf[start..end). */
  decode(buf: Uint8Array, start: number, end: number, linkType: number): number {
    this.vlan = 0;
    this.network = NetworkType.NONE;
    this.end = end;
    switch (linkType) {
      case LinkType.ETHERNET:
        return this.decodeEthernet(buf, start, end);
      case LinkType.RAW:
      case LinkType.RAW_BSD12:
      case LinkType.RAW_BSD14:
        return this.ip(start, NetworkType.IP_BY_VERSION);
      case LinkType.IPV4:
        return this.ip(start, NetworkType.IPV4);
      case LinkType.IPV6:
        return this.ip(start, NetworkType.IPV6);
      case LinkType.LINUX_SLL:
        if (end - start < SLL_HEADER) return this.truncated();
        return this.decodeEtherType(buf, start + SLL_HEADER, end, u16be(buf, start + 14), 0);
      case LinkType.LINUX_SLL2:
        if (end - start < SLL2_HEADER) return this.truncated();
        return this.decodeEtherType(buf, start + SLL2_HEADER, end, u16be(buf, start), 0);
      case LinkType.NULL:
        return this.decodeNull(buf, start, end, false);
      case LinkType.LOOP:
        return this.decodeNull(buf, start, end, true);
      case LinkType.NFLOG:
        return this.decodeNflog(buf, start, end);
      default:
        this.anomalies.add('link.unknown_type');
        return DecodeStatus.NOT_ANALYSED;
    }
  }

  /** Ethernet II / 802.3 frame at `off` (also used for frames inside VXLAN, GRE TEB, ERSPAN, TZSP). */
  decodeEthernet(buf: Uint8Array, off: number, end: number): number {
    this.vlan = 0;
    this.network = NetworkType.NONE;
    this.end = end;
    if (end - off < ETHERNET_HEADER) return this.truncated();
    return this.decodeEtherType(buf, off + ETHERNET_HEADER, end, u16be(buf, off + 12), 0);
  }

  /**
   * An MPLS label stack at `off` whose carrier says nothing more (GRE protocol 0x8847, MPLS in UDP):
   * like an Ethernet frame, the fields describe this call alone.
   */
  decodeMplsPayload(buf: Uint8Array, off: number, end: number): number {
    this.vlan = 0;
    this.network = NetworkType.NONE;
    this.end = end;
    return this.decodeMpls(buf, off, end);
  }

  /** Follows VLAN tags and 802.2 SNAP to an EtherType we decode. `off` is just after `type`. */
  private decodeEtherType(buf: Uint8Array, off: number, end: number, type: number, tags: number): number {
    for (;;) {
      if (type === EtherType.IPV4) return this.ip(off, NetworkType.IPV4);
      if (type === EtherType.IPV6) return this.ip(off, NetworkType.IPV6);
      if (type === EtherType.VLAN || type === EtherType.QINQ || type === EtherType.QINQ_OLD || type === EtherType.QINQ_OLD2) {
        if (tags >= MAX_VLAN_TAGS) {
          this.anomalies.add('link.vlan_too_deep');
          return DecodeStatus.NOT_ANALYSED;
        }
        if (end - off < 4) return this.truncated();
        if (tags === 0) this.vlan = u16be(buf, off) & 0x0fff;
        tags++;
        type = u16be(buf, off + 2);
        off += 4;
        continue;
      }
      if (type === EtherType.MPLS || type === EtherType.MPLS_MULTICAST) return this.decodeMpls(buf, off, end);
      if (type <= 1500) {
        // 802.3 length field: only LLC/SNAP (AA AA 03, OUI 00 00 00) carries an EtherType.
        if (end - off >= 8 && buf[off] === 0xaa && buf[off + 1] === 0xaa && buf[off + 2] === 0x03 &&
            buf[off + 3] === 0 && buf[off + 4] === 0 && buf[off + 5] === 0) {
          type = u16be(buf, off + 6);
          off += 8;
          continue;
        }
        return DecodeStatus.NOT_ANALYSED; // STP, CDP, IPX...: link control traffic, not ours
      }
      if (type !== EtherType.ARP && type !== EtherType.RARP) this.anomalies.add('link.unknown_ethertype');
      return DecodeStatus.NOT_ANALYSED;
    }
  }

  /**
   * An MPLS label stack (RFC 3032: 20-bit label, traffic class, bottom-of-stack bit, TTL) down to
   * its payload, which nothing in the stack names: as Wireshark does, the explicit-null labels say
   * IPv4 or IPv6, else the payload's first nibble does (4, 6; 0 is a pseudowire control word before
   * an Ethernet frame). The labels do not enter the flow key (Zeek and Suricata leave them out too).
   */
  private decodeMpls(buf: Uint8Array, off: number, end: number): number {
    let label = -1;
    for (let n = 0; ; n++) {
      if (n === MAX_MPLS_LABELS) {
        this.anomalies.add('link.mpls_too_deep');
        return DecodeStatus.NOT_ANALYSED;
      }
      if (end - off < MPLS_LABEL) return this.truncated();
      label = (buf[off] << 12) | (buf[off + 1] << 4) | (buf[off + 2] >> 4);
      const bottom = (buf[off + 2] & 0x01) !== 0;
      off += MPLS_LABEL;
      if (bottom) break;
    }
    if (label === MPLS_IPV4_EXPLICIT_NULL) return this.ip(off, NetworkType.IPV4);
    if (label === MPLS_IPV6_EXPLICIT_NULL) return this.ip(off, NetworkType.IPV6);
    if (off >= end) return this.truncated();
    const nibble = buf[off] >> 4;
    if (nibble === 4) return this.ip(off, NetworkType.IPV4);
    if (nibble === 6) return this.ip(off, NetworkType.IPV6);
    if (nibble === 0) {
      if (this.pseudowires === MAX_PSEUDOWIRE_NESTING) {
        this.anomalies.add('link.mpls_too_deep');
        return DecodeStatus.NOT_ANALYSED;
      }
      // An Ethernet pseudowire: the tag of the frame that carried the labels, if any, stays the VLAN.
      const outer = this.vlan;
      this.pseudowires++;
      const st = this.decodeEthernet(buf, off + PW_CONTROL_WORD, end);
      this.pseudowires--;
      if (outer !== 0) this.vlan = outer;
      return st;
    }
    this.anomalies.add('link.mpls_unknown_payload');
    return DecodeStatus.NOT_ANALYSED;
  }

  /** DLT_NULL (host byte order of the capturing machine) and DLT_LOOP (always big-endian). */
  private decodeNull(buf: Uint8Array, start: number, end: number, bigEndian: boolean): number {
    if (end - start < 4) return this.truncated();
    let family = bigEndian ? u32be(buf, start) : u32le(buf, start);
    // A little-endian read of a big-endian family has the value in the top bytes; families are small.
    if (!bigEndian && family > 0xffff) family = u32be(buf, start);
    switch (family) {
      case AF_INET:
        return this.ip(start + 4, NetworkType.IPV4);
      case AF_INET6_LINUX:
      case AF_INET6_BSD:
      case AF_INET6_FREEBSD:
      case AF_INET6_DARWIN:
        return this.ip(start + 4, NetworkType.IPV6);
      default:
        this.anomalies.add('link.unknown_address_family');
        return DecodeStatus.NOT_ANALYSED;
    }
  }

  /**
   * NFLOG: a 4-byte header (family, version, resource id) then TLVs whose length and type are in
   * the capturing host's byte order, each padded to 4 bytes; the packet is the NFULA_PAYLOAD value.
   */
  private decodeNflog(buf: Uint8Array, start: number, end: number): number {
    if (end - start < NFLOG_HEADER) return this.truncated();
    const family = buf[start];
    const network = family === AF_INET ? NetworkType.IPV4 : family === AF_INET6_LINUX ? NetworkType.IPV6 : NetworkType.IP_BY_VERSION;
    let off = start + NFLOG_HEADER;
    // The byte order is the host's: pick the one under which the first TLV length is plausible.
    let little = true;
    if (end - off >= 4) {
      const le = u16le(buf, off);
      if (le < 4 || off + le > end) {
        const be = u16be(buf, off);
        if (be >= 4 && off + be <= end) little = false;
      }
    }
    for (let i = 0; i < MAX_NFLOG_TLVS; i++) {
      if (end - off < 4) break;
      const len = little ? u16le(buf, off) : u16be(buf, off);
      const type = (little ? u16le(buf, off + 2) : u16be(buf, off + 2)) & 0x7fff;
      if (len < 4 || off + len > end) return this.truncated();
      if (type === NFULA_PAYLOAD) {
        this.end = off + len;
        return this.ip(off + 4, network);
      }
      off += (len + 3) & ~3;
    }
    // No payload attribute: an NFLOG record with only metadata.
    return DecodeStatus.NOT_ANALYSED;
  }

  private ip(off: number, network: number): number {
    this.offset = off;
    this.network = network;
    return DecodeStatus.OK;
  }

  private truncated(): number {
    this.anomalies.add('link.truncated');
    return DecodeStatus.MALFORMED;
  }
}
