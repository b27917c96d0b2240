import { describe as group, expect, it } from 'vitest';
import { DecodedPacket, DecodeStatus } from '../../src/decode/packet';
import { PacketDecoder } from '../../src/decode/packet-decoder';
import { AnomalyCounter } from '../../src/anomalies';
import { LinkType } from '../../src/ingest/frame';
import { ah, ascii, bytes, concat, decodeOnce, ETH, ethernet, ext6, frag6, ipv4, ipv6, PROTO, tcp, udp } from './builders';

const seg = (payload = 'hello') => tcp({ sport: 40000, dport: 443 }, ascii(payload));

group('IPv4', () => {
  it('skips options (NOP, record route, end of list) and reads the transport after them', () => {
    // NOP, Record Route (type 7, length 7, pointer 4, one empty slot), EOL: 9 bytes → padded to 12.
    const options = bytes(0x01, 0x07, 0x07, 0x04, 0, 0, 0, 0, 0x00, 0, 0, 0);
    const r = decodeOnce(ipv4({ protocol: PROTO.TCP, options }, seg()), LinkType.RAW);
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.out.dstPort).toBe(443);
    expect(r.payload).toBe('hello');
    expect(r.anomalies.total).toBe(0);
  });

  it('counts a malformed option length but still decodes', () => {
    const options = bytes(0x07, 0x09, 0x04, 0); // length 9 runs past the 4-byte option area
    const r = decodeOnce(ipv4({ protocol: PROTO.TCP, options }, seg()), LinkType.RAW);
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.anomalies.get('ip.bad_option')).toBe(1);
  });

  it('counts a bad header checksum without dropping the packet', () => {
    const r = decodeOnce(ipv4({ protocol: PROTO.TCP, badChecksum: true }, seg()), LinkType.RAW);
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.anomalies.get('ip.bad_checksum')).toBe(1);
    const off = decodeOnce(ipv4({ protocol: PROTO.TCP, badChecksum: true }, seg()), LinkType.RAW, { verifyIpChecksum: false });
    expect(off.anomalies.total).toBe(0);
  });

  it('rejects header length below 20 and beyond the packet', () => {
    const p = ipv4({ protocol: PROTO.TCP }, seg());
    p[0] = 0x44;
    expect(decodeOnce(p, LinkType.RAW).anomalies.get('ip.bad_header_length')).toBe(1);
    const q = ipv4({ protocol: PROTO.TCP }, new Uint8Array(0));
    q[0] = 0x4f; // 60-byte header in a 20-byte packet
    expect(decodeOnce(q, LinkType.RAW).anomalies.get('ip.bad_header_length')).toBe(1);
    expect(decodeOnce(p.subarray(0, 19), LinkType.RAW).anomalies.get('ip.truncated')).toBe(1);
  });

  it('total length below the header is malformed; above the capture is counted unless snaplen cut it', () => {
    expect(decodeOnce(ipv4({ protocol: PROTO.TCP, totalLength: 10 }, seg()), LinkType.RAW).anomalies.get('ip.bad_total_length')).toBe(1);
    const full = ethernet(ETH.IPV4, ipv4({ protocol: PROTO.TCP }, seg('0123456789abcdef')));
    const cut = full.subarray(0, full.length - 6);
    // Cut by the snaplen: frame.origLen says so; payload is what was captured, no anomaly.
    const snap = decodeOnce(cut, LinkType.ETHERNET, undefined, full.length);
    expect(snap.status).toBe(DecodeStatus.OK);
    expect(snap.payload).toBe('0123456789');
    expect(snap.out.truncatedBytes).toBe(6);
    expect(snap.out.ipLength).toBe(full.length - 14);
    expect(snap.anomalies.total).toBe(0);
    // Same bytes but the frame claims to be whole: the IP length lies.
    const lying = decodeOnce(cut, LinkType.ETHERNET);
    expect(lying.status).toBe(DecodeStatus.OK);
    expect(lying.out.truncatedBytes).toBe(6);
    expect(lying.anomalies.get('ip.bad_total_length')).toBe(1);
  });

  it('a snaplen cut inside the TCP header is tcp.truncated, not a bad data offset', () => {
    const full = ipv4({ protocol: PROTO.TCP }, tcp({ sport: 1, dport: 2, options: bytes(2, 4, 5, 0xb4, 1, 1, 1, 0) }));
    const r = decodeOnce(full.subarray(0, 36), LinkType.RAW, undefined, full.length);
    expect(r.status).toBe(DecodeStatus.MALFORMED);
    expect(r.anomalies.get('tcp.truncated')).toBe(1);
    expect(r.anomalies.get('tcp.bad_data_offset')).toBe(0);
  });

  it('total length 0 (segmentation offload on the sender) uses the captured length', () => {
    const r = decodeOnce(ipv4({ protocol: PROTO.TCP, totalLength: 0 }, seg('big write')), LinkType.RAW);
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.payload).toBe('big write');
    expect(r.anomalies.get('ip.zero_total_length')).toBe(1);
  });

  it('counts non-TCP/UDP protocols as unsupported (ICMP), skips AH to reach TCP', () => {
    const icmp = decodeOnce(ipv4({ protocol: PROTO.ICMP }, bytes(8, 0, 0, 0, 0, 1, 0, 1)), LinkType.RAW);
    expect(icmp.status).toBe(DecodeStatus.NOT_ANALYSED);
    expect(icmp.anomalies.get('ip.unsupported_protocol')).toBe(1);
    const withAh = decodeOnce(ipv4({ protocol: PROTO.AH }, concat(ah(PROTO.TCP), seg())), LinkType.RAW);
    expect(withAh.status).toBe(DecodeStatus.OK);
    expect(withAh.out.protocol).toBe(6);
    expect(withAh.payload).toBe('hello');
  });
});

group('IPv6', () => {
  it('walks hop-by-hop, routing and destination options to TCP', () => {
    const hbh = ext6(PROTO.ROUTING, bytes(1, 4, 0, 0, 0, 0)); // PadN
    const rt = ext6(PROTO.DEST, concat(bytes(0, 0, 0, 0, 0, 0), new Uint8Array(0))); // empty type-0 routing
    const dst = ext6(PROTO.TCP, bytes(1, 4, 0, 0, 0, 0));
    const r = decodeOnce(ipv6({ nextHeader: PROTO.HOP }, concat(hbh, rt, dst, seg())), LinkType.RAW);
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.out.protocol).toBe(6);
    expect(r.out.ttl).toBe(64);
    expect(r.payload).toBe('hello');
    expect(r.src).toBe('fd00::1');
  });

  it('walks AH and an atomic fragment header', () => {
    const r = decodeOnce(ipv6({ nextHeader: PROTO.AH }, concat(ah(PROTO.FRAGMENT), frag6(PROTO.UDP, 0, false, 9), udp(1, 2, ascii('x')))), LinkType.RAW);
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.out.protocol).toBe(17);
    expect(r.payload).toBe('x');
  });

  it('stops at ESP and No Next Header (not analysed)', () => {
    const esp = decodeOnce(ipv6({ nextHeader: PROTO.ESP }, new Uint8Array(16)), LinkType.RAW);
    expect(esp.status).toBe(DecodeStatus.NOT_ANALYSED);
    expect(esp.out.protocol).toBe(50);
    const none = decodeOnce(ipv6({ nextHeader: PROTO.NO_NEXT }, new Uint8Array(0)), LinkType.RAW);
    expect(none.status).toBe(DecodeStatus.NOT_ANALYSED);
  });

  it('counts a malformed chain: header running past the payload, too many headers', () => {
    const long = ext6(PROTO.TCP, new Uint8Array(6));
    long[1] = 5; // claims 48 bytes
    const r = decodeOnce(ipv6({ nextHeader: PROTO.DEST }, long), LinkType.RAW);
    expect(r.status).toBe(DecodeStatus.MALFORMED);
    expect(r.anomalies.get('ipv6.bad_extension_header')).toBe(1);
    const chain = Array.from({ length: 20 }, () => ext6(PROTO.DEST, new Uint8Array(6)));
    const deep = decodeOnce(ipv6({ nextHeader: PROTO.DEST }, concat(...chain, seg())), LinkType.RAW);
    expect(deep.anomalies.get('ipv6.bad_extension_header')).toBe(1);
  });

  it('payload length 0 with bytes behind it (large send before offload) uses the captured length', () => {
    const r = decodeOnce(ipv6({ nextHeader: PROTO.TCP, payloadLength: 0 }, seg('big')), LinkType.RAW);
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.payload).toBe('big');
    expect(r.anomalies.get('ip.zero_total_length')).toBe(1);
  });

  it('payload length beyond the capture: truncatedBytes, counted only when not a snaplen cut', () => {
    const p = ipv6({ nextHeader: PROTO.TCP }, seg('abcdef'));
    const cut = p.subarray(0, p.length - 3);
    const snap = decodeOnce(cut, LinkType.RAW, undefined, p.length);
    expect(snap.payload).toBe('abc');
    expect(snap.out.truncatedBytes).toBe(3);
    expect(snap.out.ipLength).toBe(p.length);
    expect(snap.anomalies.total).toBe(0);
    expect(decodeOnce(cut, LinkType.RAW).anomalies.get('ip.bad_total_length')).toBe(1);
    expect(decodeOnce(p.subarray(0, 39), LinkType.RAW).anomalies.get('ip.truncated')).toBe(1);
  });
});

group('addresses in a reused packet', () => {
  it('an IPv4 packet after an IPv6 one has its addresses zero-padded to 16 bytes', () => {
    const decoder = new PacketDecoder(new AnomalyCounter());
    const out = new DecodedPacket();
    const v6 = ipv6({ src: 'fd00:1:2:3:4:5:6:7', dst: 'fd00:8:9:a:b:c:d:e', nextHeader: PROTO.TCP }, seg());
    const v4 = ipv4({ src: '10.1.2.3', dst: '10.4.5.6', protocol: PROTO.TCP }, seg());
    expect(decoder.decode(v6, LinkType.RAW, 0, out)).toBe(DecodeStatus.OK);
    expect(decoder.decode(v4, LinkType.RAW, 0, out)).toBe(DecodeStatus.OK);
    expect([...out.src]).toEqual([10, 1, 2, 3, ...new Array(12).fill(0)]);
    expect([...out.dst]).toEqual([10, 4, 5, 6, ...new Array(12).fill(0)]);
    expect(decoder.decode(v4, LinkType.RAW, 0, out)).toBe(DecodeStatus.OK);
    expect([...out.src]).toEqual([10, 1, 2, 3, ...new Array(12).fill(0)]);
  });
});
