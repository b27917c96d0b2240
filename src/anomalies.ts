/**
 * The one catalogue of anomaly codes: `<layer>.<snake_case>` → what it means.
 *
 * Decoders, the flow engine and dissectors count these instead of throwing. The codes are stable:
 * they appear in `--json`, the database and the dashboard. Add new codes in the section of their layer.
 */
export const ANOMALIES = {
  // capture files
  'capture.truncated_record': 'the last record of the capture is cut off',
  'capture.bad_record_length': 'a record length is impossible; reading stopped there',
  'capture.unknown_block': 'pcapng block of an unknown type was skipped',
  'capture.bad_block_length': 'a pcapng block has an impossible length',
  'capture.unknown_interface': 'a pcapng packet names an interface that was never described',
  'capture.snaplen_truncated': 'frames cut short by the snapshot length',
  'capture.bad_magic': 'the input starts with no known capture format magic; nothing was read',
  'capture.open_failed': 'the capture file could not be opened',
  'capture.read_failed': 'reading or decompressing the input failed; reading stopped there',
  'capture.truncated_header': 'the input ends inside the file header',
  'capture.unsupported_version': 'a pcapng section has a major version planewatch does not read',
  'capture.bad_block_content': 'a pcapng block whose inner lengths do not fit the block was skipped',
  'capture.bad_option': 'a pcapng option is malformed; the rest of the options were ignored',
  'capture.too_many_interfaces': 'more pcapng interfaces in one section than are kept; their packets are skipped',
  'capture.secrets_too_large': 'Decryption Secrets Block content beyond the kept total was skipped',

  // link layer
  'link.unknown_type': 'frames of a link type planewatch does not decode',
  'link.truncated': 'link-layer header shorter than its type requires',
  'link.unknown_ethertype': 'an EtherType planewatch does not decode',
  'link.vlan_too_deep': 'more VLAN tags than planewatch follows',
  'link.mpls_too_deep': 'more MPLS labels, or Ethernet pseudowires nested deeper, than planewatch follows',
  'link.mpls_unknown_payload': 'an MPLS payload that is neither IPv4, IPv6 nor an Ethernet pseudowire with a control word',
  'link.unknown_address_family': 'loopback/NULL header names an address family that is neither IPv4 nor IPv6',

  // IPv4 / IPv6
  'ip.truncated': 'IP header cut short',
  'ip.bad_version': 'IP version field is neither 4 nor 6',
  'ip.bad_header_length': 'IPv4 header length below 20 bytes or beyond the packet',
  'ip.bad_total_length': 'IP total length disagrees with the bytes captured',
  'ip.fragment_overlap': 'IP fragments overlap',
  'ip.fragment_limit': 'fragment reassembly limit reached; datagram dropped',
  'ip.fragment_timeout': 'fragments of a datagram never completed',
  'ipv6.bad_extension_header': 'IPv6 extension header chain is malformed',
  'ip.unsupported_protocol': 'IP protocol other than TCP/UDP (counted, not analysed)',
  'ip.bad_checksum': 'IPv4 header checksum is wrong (packet still decoded)',
  'ip.bad_option': 'an IPv4 option length is malformed',
  'ip.zero_total_length': 'IP total / payload length 0 (segmentation offload on the capturing host); captured length used',
  'ip.fragment_truncated': 'an IP fragment was cut by the snapshot length; its datagram cannot be rebuilt',

  // TCP / UDP
  'tcp.truncated': 'TCP header cut short',
  'tcp.bad_data_offset': 'TCP data offset below 5 or beyond the segment',
  'tcp.bad_option': 'a TCP option length is malformed',
  'udp.truncated': 'UDP header cut short',
  'udp.bad_length': 'UDP length field disagrees with the bytes captured',

  // tunnels
  'tunnel.truncated': 'tunnel header cut short',
  'tunnel.too_deep': 'tunnels nested deeper than planewatch follows',
  'tunnel.unknown_gre_protocol': 'GRE carries a protocol planewatch does not decode',
  'tunnel.bad_erspan': 'ERSPAN header malformed',
  'tunnel.bad_gre': 'GRE version other than 0 or obsolete source routing; not followed',
  'tunnel.bad_vxlan': 'UDP to a VXLAN port without the valid-VNI flag; kept as plain UDP',
  'tunnel.bad_vxlan_gpe': 'UDP to a VXLAN-GPE port without the valid-VNI flag or with a version other than 0; kept as plain UDP',
  'tunnel.bad_geneve': 'UDP to the Geneve port with a Geneve version other than 0; kept as plain UDP',
  'tunnel.bad_tzsp': 'UDP to the TZSP port with a TZSP version other than 1; kept as plain UDP',
  'tunnel.unknown_payload': 'Geneve, VXLAN-GPE or TZSP carries a payload type planewatch does not decode',

  // flows and reassembly
  'packet.duplicate': 'a copy of a packet seen within 5 ms on another interface (tcpdump -i any) or mirror; counted once',
  'flow.evicted': 'flow evicted because the flow table was full',
  'flow.midstream': 'TCP connection picked up without its SYN',
  'flow.attempt_cut_short': 'unanswered connection attempt ended early: too many begun in the last 5 s (a scan or a flood)',
  'tcp.retransmission': 'retransmitted TCP data (dropped)',
  'tcp.overlap': 'TCP segments overlap with different or same data (first wins)',
  'tcp.out_of_order': 'TCP data arrived out of order (buffered)',
  'tcp.reassembly_overflow': 'out-of-order buffer cap reached; data skipped as a gap',
  'tcp.gap': 'bytes missing from a TCP stream (capture loss)',
  'tcp.data_after_close': 'TCP data after FIN or RST',

  // dissectors
  'dissector.exception': 'a dissector failed unexpectedly and was detached from the flow',
  'tls.record_too_long': 'TLS record longer than 2^14 + 2048 bytes',
  'tls.bad_record_type': 'TLS record content type is unknown',
  'tls.handshake_too_long': 'TLS handshake message exceeds the buffering cap',
  'tls.malformed_client_hello': 'ClientHello could not be parsed',
  'tls.malformed_server_hello': 'ServerHello could not be parsed',
  'tls.malformed_certificate': 'Certificate message or certificate could not be parsed',
  'tls.gap_in_handshake': 'capture loss inside the TLS handshake',
  'tls.decrypt_failed': 'a TLS record could not be decrypted with the key log (wrong or missing key); decryption of that connection stopped',
  'http.header_too_long': 'HTTP header section exceeds the cap',
  'http.bad_request_line': 'HTTP request line malformed',
  'http.bad_status_line': 'HTTP status line malformed',
  'http.bad_chunk_size': 'HTTP chunk size malformed',
  'http.too_many_requests': 'more HTTP requests on one connection than are kept',
  'http.too_many_headers': 'more header fields in one HTTP message than are read',
  'http.response_without_request': 'HTTP response with no outstanding request (midstream or desynchronised)',
  'http.gap': 'capture loss inside HTTP headers; parsing of that direction stopped',
  'http2.bad_preface': 'HTTP/2 connection preface missing or wrong',
  'http2.frame_too_large': 'HTTP/2 frame larger than the cap',
  'http2.hpack_error': 'HPACK header block could not be decoded',
  'http2.too_many_streams': 'more HTTP/2 streams than are kept',
  'http2.header_list_too_long': 'decoded HTTP/2 header list exceeds the cap; extra fields dropped',
  'ssh.banner_too_long': 'SSH banner line exceeds 255 bytes',
  'ssh.bad_packet_length': 'SSH binary packet length impossible',
  'ssh.malformed_kexinit': 'SSH KEXINIT could not be parsed',
  'ssh.no_banner': 'no SSH identification line within the lines or bytes allowed before it',

  // DNS (UDP port 53)
  'dns.malformed': 'a DNS message whose sections or names run past the datagram, or a name with a pointer loop',
  'dns.too_many_transactions': 'more DNS queries on one flow than are kept',
} as const;

export type AnomalyCode = keyof typeof ANOMALIES;

/** Counts anomalies by code. Cheap enough for the hot path: codes are interned constants. */
export class AnomalyCounter {
  private readonly counts = new Map<string, number>();

  add(code: AnomalyCode, n = 1): void {
    this.counts.set(code, (this.counts.get(code) ?? 0) + n);
  }

  get(code: AnomalyCode): number {
    return this.counts.get(code) ?? 0;
  }

  get total(): number {
    let t = 0;
    for (const v of this.counts.values()) t += v;
    return t;
  }

  /** Adds every count of another counter into this one. */
  merge(other: AnomalyCounter): void {
    for (const [k, v] of other.counts) this.counts.set(k, (this.counts.get(k) ?? 0) + v);
  }

  /** Plain object sorted by code, for JSON and the database. */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of [...this.counts.keys()].sort()) out[k] = this.counts.get(k)!;
    return out;
  }
}
