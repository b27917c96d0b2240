/**
 * The result of decoding one frame, overwritten in place for every frame (no per-packet allocation).
 *
 * Addresses are kept as bytes in fixed 16-byte arrays (IPv4 uses the first 4). The transport payload
 * is described by `data` + `payloadOffset` + `payloadLength` instead of a subarray, so no view object
 * is created per packet; `data` is either the frame's bytes or a reassembled IP datagram.
 */
export class DecodedPacket {
  /** 0 = no IP layer found, 4 or 6. */
  ipVersion = 0;
  readonly src = new Uint8Array(16);
  readonly dst = new Uint8Array(16);
  /**
   * Bytes 4..15 of `src`/`dst` may be non-zero (an IPv6 address was written). IPv4 addresses are kept
   * zero-padded, and the padding is redone only after an IPv6 packet instead of for every packet.
   */
  addressTails = false;
  /** IP protocol number of the transport (6 TCP, 17 UDP, ...). */
  protocol = 0;
  ttl = 0;
  /** IPv4 identification (0 for IPv6). */
  ipId = 0;
  srcPort = 0;
  dstPort = 0;

  /** TCP or UDP checksum field as sent (not verified). */
  l4Checksum = 0;

  // TCP only
  tcpFlags = 0;
  seq = 0;
  ack = 0;
  window = 0;
  /** TCP MSS option when present in a SYN, else 0. */
  mss = 0;
  /** Window scale shift from the SYN option, -1 when absent. */
  windowScale = -1;

  /** Buffer holding the transport payload. */
  data: Uint8Array = new Uint8Array(0);
  payloadOffset = 0;
  payloadLength = 0;

  /** Outermost VLAN id (0 when untagged). */
  vlan = 0;

  /** Number of tunnel encapsulations peeled off (0 = none). */
  tunnelDepth = 0;
  /** Kind of the outermost tunnel (see TunnelType) when tunnelDepth > 0. */
  tunnelType = 0;
  /** Outer IP addresses of the outermost tunnel. */
  outerIpVersion = 0;
  readonly outerSrc = new Uint8Array(16);
  readonly outerDst = new Uint8Array(16);
  /** VXLAN VNI / Geneve VNI / GRE key / ERSPAN session id of the outermost tunnel, -1 if none. */
  tunnelId = -1;
  /**
   * The outermost tunnel's UDP ports (0 for one not carried in UDP: GRE, ERSPAN, IP in IP). Set with
   * the tunnel and read only when tunnelDepth > 0, so not reset per packet.
   */
  outerSrcPort = 0;
  outerDstPort = 0;

  /**
   * Bytes the innermost IP header declares but the capture does not hold (snaplen cut or a short
   * frame); the transport payload then covers only what was captured.
   */
  truncatedBytes = 0;
  /** True when `data` is an IP datagram rebuilt from fragments rather than the frame itself. */
  reassembled = false;
  /** Length of the innermost IP datagram as its header declares it (flow byte counters); 0 = unknown. */
  ipLength = 0;

  reset(): void {
    this.ipVersion = 0;
    this.protocol = 0;
    this.ttl = 0;
    this.ipId = 0;
    this.l4Checksum = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.seq = 0;
    this.ack = 0;
    this.window = 0;
    this.mss = 0;
    this.windowScale = -1;
    this.payloadOffset = 0;
    this.payloadLength = 0;
    this.vlan = 0;
    this.tunnelDepth = 0;
    this.tunnelType = 0;
    this.outerIpVersion = 0;
    this.tunnelId = -1;
    this.truncatedBytes = 0;
    this.reassembled = false;
    this.ipLength = 0;
  }
}

export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80 } as const;

export const TunnelType = { NONE: 0, VXLAN: 1, GENEVE: 2, GRE: 3, ERSPAN: 4, TZSP: 5, IPIP: 6, MPLS_UDP: 7, VXLAN_GPE: 8 } as const;
export const TUNNEL_NAMES = ['none', 'vxlan', 'geneve', 'gre', 'erspan', 'tzsp', 'ipip', 'mpls-udp', 'vxlan-gpe'] as const;

/** Outcome of decoding a frame. Anything but OK has been counted as an anomaly by the decoder. */
export const DecodeStatus = {
  OK: 0,
  /** Not TCP/UDP over IP (ARP, ICMP, ...): counted, not analysed. */
  NOT_ANALYSED: 1,
  MALFORMED: 2,
  /** An IP fragment held for reassembly; a later frame completes it. */
  FRAGMENT_HELD: 3,
} as const;
