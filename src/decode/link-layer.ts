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
} as const;

/** VLAN tags followed before giving up (QinQ is 2; a few more for odd carrier setups). */
export const MAX_VLAN_TAGS = 4;
/** NFLOG attributes walked before giving up on finding the payload. */
export const MAX_NFLOG_TLVS = 64;

const ETHERNET_HEADER = 14;
const SLL_HEADER = 16;
const SLL2_HEADER = 20;
const NFLOG_HEADER = 4;
const NFULA_PAYLOAD = 9;

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
