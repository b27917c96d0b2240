import { describe as group, expect, it } from 'vitest';
import { DecodeStatus } from '../../src/decode/packet';
import { LinkType } from '../../src/ingest/frame';
import {
  ascii, bytes, concat, decodeOnce, ETH, ethernet, fromHex, ipv4, ipv6, mpls, nflog, nullHeader, PROTO, pwControlWord, sll, sll2,
  tcp, udp,
} from './builders';

/*
 * Ethernet II / IPv4 / TCP 10.0.0.10:51234 -> 10.0.1.21:10250 [PSH,ACK] "GET /"
 * 0000  02 00 00 00 00 0b 02 00 00 00 00 0a 08 00 45 00
 * 0010  00 2d 12 34 00 00 40 06 53 79 0a 00 00 0a 0a 00
 * 0020  01 15 c8 22 28 0a 00 00 03 e8 00 00 00 00 50 18
 * 0030  ff ff 00 00 00 00 47 45 54 20 2f
 */
const ETHERNET_TCP = fromHex(`
  02 00 00 00 00 0b 02 00 00 00 00 0a 08 00 45 00
  00 2d 12 34 00 00 40 06 53 79 0a 00 00 0a 0a 00
  01 15 c8 22 28 0a 00 00 03 e8 00 00 00 00 50 18
  ff ff 00 00 00 00 47 45 54 20 2f`);

const v4Tcp = () => ipv4({ protocol: PROTO.TCP, src: '10.0.0.10', dst: '10.0.1.21' }, tcp({ sport: 51234, dport: 10250 }, ascii('GET /')));
const v6Tcp = () => ipv6({ nextHeader: PROTO.TCP, src: 'fd00::10', dst: 'fd00::1:21' }, tcp({ sport: 40000, dport: 6443 }, ascii('hi')));

function expectV4(r: ReturnType<typeof decodeOnce>): void {
  expect(r.status).toBe(DecodeStatus.OK);
  expect(r.src).toBe('10.0.0.10');
  expect(r.dst).toBe('10.0.1.21');
  expect(r.out.srcPort).toBe(51234);
  expect(r.out.dstPort).toBe(10250);
  expect(r.payload).toBe('GET /');
  expect(r.anomalies.total).toBe(0);
}

group('Ethernet and VLANs', () => {
  it('decodes the hex fixture, and the builder produces the same bytes', () => {
    expect(ethernet(ETH.IPV4, v4Tcp())).toEqual(ETHERNET_TCP);
    const r = decodeOnce(ETHERNET_TCP, LinkType.ETHERNET);
    expectV4(r);
    expect(r.out.ipVersion).toBe(4);
    expect(r.out.protocol).toBe(6);
    expect(r.out.ttl).toBe(64);
    expect(r.out.tcpFlags).toBe(0x18);
    expect(r.out.seq).toBe(1000);
    expect(r.out.vlan).toBe(0);
  });

  it('excludes Ethernet padding from the payload (IP total length wins)', () => {
    const small = ethernet(ETH.IPV4, ipv4({ protocol: PROTO.TCP }, tcp({ sport: 1, dport: 2, flags: 0x10 })));
    const padded = concat(small, new Uint8Array(60 - small.length));
    const r = decodeOnce(padded);
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.out.payloadLength).toBe(0);
    expect(r.anomalies.total).toBe(0);
  });

  it('follows an 802.1Q tag', () => {
    const r = decodeOnce(ethernet(ETH.IPV4, v4Tcp(), [{ tpid: ETH.VLAN, vid: 100 }]));
    expectV4(r);
    expect(r.out.vlan).toBe(100);
  });

  it('follows QinQ (802.1ad outer, 802.1Q inner) and keeps the outer VLAN id', () => {
    const r = decodeOnce(ethernet(ETH.IPV4, v4Tcp(), [{ tpid: ETH.QINQ, vid: 200 }, { tpid: ETH.VLAN, vid: 10 }]));
    expectV4(r);
    expect(r.out.vlan).toBe(200);
  });

  it('follows the pre-standard 0x9100 outer tag', () => {
    const r = decodeOnce(ethernet(ETH.IPV6, v6Tcp(), [{ tpid: ETH.QINQ_OLD, vid: 7 }, { tpid: ETH.VLAN, vid: 8 }]));
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.src).toBe('fd00::10');
    expect(r.out.vlan).toBe(7);
  });

  it('counts too many VLAN tags', () => {
    const tags = [1, 2, 3, 4, 5].map((vid) => ({ tpid: ETH.VLAN, vid }));
    const r = decodeOnce(ethernet(ETH.IPV4, v4Tcp(), tags));
    expect(r.status).toBe(DecodeStatus.NOT_ANALYSED);
    expect(r.anomalies.get('link.vlan_too_deep')).toBe(1);
  });

  it('reads 802.3 + LLC/SNAP carrying IPv4', () => {
    const ip = v4Tcp();
    const snap = concat(bytes(0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00), ip);
    const frame = concat(bytes(2, 0, 0, 0, 0, 0x0b, 2, 0, 0, 0, 0, 0x0a, snap.length >> 8, snap.length & 0xff), snap);
    expectV4(decodeOnce(frame));
  });

  it('leaves ARP unanalysed without an anomaly, counts an unknown EtherType', () => {
    const arp = decodeOnce(ethernet(ETH.ARP, new Uint8Array(28)));
    expect(arp.status).toBe(DecodeStatus.NOT_ANALYSED);
    expect(arp.anomalies.total).toBe(0);
    const lldp = decodeOnce(ethernet(ETH.LLDP, new Uint8Array(20)));
    expect(lldp.status).toBe(DecodeStatus.NOT_ANALYSED);
    expect(lldp.anomalies.get('link.unknown_ethertype')).toBe(1);
  });

  it('counts a truncated Ethernet header and a truncated VLAN tag', () => {
    expect(decodeOnce(ETHERNET_TCP.subarray(0, 10)).anomalies.get('link.truncated')).toBe(1);
    const tagged = ethernet(ETH.IPV4, v4Tcp(), [{ tpid: ETH.VLAN, vid: 1 }]);
    const r = decodeOnce(tagged.subarray(0, 16));
    expect(r.status).toBe(DecodeStatus.MALFORMED);
    expect(r.anomalies.get('link.truncated')).toBe(1);
  });
});

/*
 * Ethernet / MPLS label 16 (bottom of stack, TTL 64) / IPv4 / TCP 10.0.0.10:51234 -> 10.0.1.21:10250 "GET /"
 * 0000  02 00 00 00 00 0b 02 00 00 00 00 0a 88 47 00 01
 * 0010  01 40 45 00 00 2d ...   (the IPv4 packet of ETHERNET_TCP follows)
 */
const MPLS_HEADER = fromHex('02 00 00 00 00 0b 02 00 00 00 00 0a 88 47 00 01 01 40');

group('MPLS', () => {
  it('follows one label to IPv4 (hex fixture) and a stack of three to IPv6', () => {
    const frame = ethernet(ETH.MPLS, mpls([16], v4Tcp()));
    expect(frame.subarray(0, MPLS_HEADER.length)).toEqual(MPLS_HEADER);
    expectV4(decodeOnce(frame));
    const r = decodeOnce(ethernet(ETH.MPLS, mpls([1000, 0xfffff, 17], v6Tcp())));
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.src).toBe('fd00::10');
    expect(r.out.dstPort).toBe(6443);
    expect(r.anomalies.total).toBe(0);
  });

  it('takes the payload from an explicit-null label, and follows the multicast EtherType', () => {
    expectV4(decodeOnce(ethernet(ETH.MPLS, mpls([0], v4Tcp()))));
    expect(decodeOnce(ethernet(ETH.MPLS, mpls([2], v6Tcp()))).src).toBe('fd00::10');
    expectV4(decodeOnce(ethernet(ETH.MPLS_MULTICAST, mpls([300], v4Tcp()))));
  });

  it('reads an Ethernet pseudowire after its control word; the VLAN of the carrying frame wins', () => {
    const inner = ethernet(ETH.IPV4, v4Tcp(), [{ tpid: ETH.VLAN, vid: 44 }]);
    const plain = decodeOnce(ethernet(ETH.MPLS, mpls([100, 200], pwControlWord(inner))));
    expectV4(plain);
    expect(plain.out.vlan).toBe(44);
    const tagged = decodeOnce(ethernet(ETH.MPLS, mpls([100], pwControlWord(inner)), [{ tpid: ETH.VLAN, vid: 7 }]));
    expectV4(tagged);
    expect(tagged.out.vlan).toBe(7);
  });

  it('reads MPLS behind VLAN tags and in Linux cooked captures', () => {
    expectV4(decodeOnce(ethernet(ETH.MPLS, mpls([16], v4Tcp()), [{ tpid: ETH.VLAN, vid: 9 }])));
    expectV4(decodeOnce(sll(ETH.MPLS, mpls([16, 17], v4Tcp())), LinkType.LINUX_SLL));
    expectV4(decodeOnce(sll2(ETH.MPLS, mpls([16], v4Tcp())), LinkType.LINUX_SLL2));
  });

  it('counts a stack deeper than it follows, a payload it cannot tell, and a stack cut short', () => {
    const deep = decodeOnce(ethernet(ETH.MPLS, mpls([1, 2, 3, 4, 5, 6, 7, 8, 9], v4Tcp())));
    expect(deep.status).toBe(DecodeStatus.NOT_ANALYSED);
    expect(deep.anomalies.get('link.mpls_too_deep')).toBe(1);
    const odd = decodeOnce(ethernet(ETH.MPLS, mpls([16], bytes(0x55, 1, 2, 3, 4, 5, 6, 7))));
    expect(odd.status).toBe(DecodeStatus.NOT_ANALYSED);
    expect(odd.anomalies.get('link.mpls_unknown_payload')).toBe(1);
    // No bottom-of-stack bit before the frame ends, and a label cut in half.
    const open = decodeOnce(ethernet(ETH.MPLS, mpls([16, 17], new Uint8Array(0), false)));
    expect(open.status).toBe(DecodeStatus.MALFORMED);
    expect(open.anomalies.get('link.truncated')).toBe(1);
    expect(decodeOnce(ethernet(ETH.MPLS, bytes(0, 1, 1))).anomalies.get('link.truncated')).toBe(1);
    expect(decodeOnce(ethernet(ETH.MPLS, mpls([16], new Uint8Array(0)))).anomalies.get('link.truncated')).toBe(1);
  });

  it('bounds pseudowires nested in pseudowires (a crafted frame must not recurse without end)', () => {
    let frame = ethernet(ETH.IPV4, v4Tcp());
    for (let i = 0; i < 2; i++) frame = ethernet(ETH.MPLS, mpls([16], pwControlWord(frame)));
    expectV4(decodeOnce(frame));
    for (let i = 0; i < 3000; i++) frame = ethernet(ETH.MPLS, mpls([16], pwControlWord(frame)));
    const r = decodeOnce(frame);
    expect(r.status).toBe(DecodeStatus.NOT_ANALYSED);
    expect(r.anomalies.get('link.mpls_too_deep')).toBe(1);
  });
});

group('other link types', () => {
  it('Linux cooked v1 (113) and v2 (276)', () => {
    expectV4(decodeOnce(sll(ETH.IPV4, v4Tcp()), LinkType.LINUX_SLL));
    expectV4(decodeOnce(sll2(ETH.IPV4, v4Tcp()), LinkType.LINUX_SLL2));
    const r6 = decodeOnce(sll2(ETH.IPV6, v6Tcp()), LinkType.LINUX_SLL2);
    expect(r6.status).toBe(DecodeStatus.OK);
    expect(r6.dst).toBe('fd00::1:21');
    expect(decodeOnce(sll(ETH.IPV4, v4Tcp()).subarray(0, 15), LinkType.LINUX_SLL).anomalies.get('link.truncated')).toBe(1);
    expect(decodeOnce(sll2(ETH.IPV4, v4Tcp()).subarray(0, 19), LinkType.LINUX_SLL2).anomalies.get('link.truncated')).toBe(1);
  });

  it('raw IP: 101 and the historical 12 / 14 by version nibble, 228 IPv4, 229 IPv6', () => {
    for (const lt of [LinkType.RAW, LinkType.RAW_BSD12, LinkType.RAW_BSD14, LinkType.IPV4]) expectV4(decodeOnce(v4Tcp(), lt));
    for (const lt of [LinkType.RAW, LinkType.IPV6]) {
      const r = decodeOnce(v6Tcp(), lt);
      expect(r.status).toBe(DecodeStatus.OK);
      expect(r.out.dstPort).toBe(6443);
      expect(r.payload).toBe('hi');
    }
    // LINKTYPE_IPV4 promises IPv4: an IPv6 packet there is a bad version.
    expect(decodeOnce(v6Tcp(), LinkType.IPV4).anomalies.get('ip.bad_version')).toBe(1);
    expect(decodeOnce(bytes(0x50, 1, 2), LinkType.RAW).anomalies.get('ip.bad_version')).toBe(1);
  });

  it('BSD NULL in both byte orders with AF 2, 24, 28, 30; LOOP (108) always big-endian', () => {
    expectV4(decodeOnce(nullHeader(2, false, v4Tcp()), LinkType.NULL));
    expectV4(decodeOnce(nullHeader(2, true, v4Tcp()), LinkType.NULL));
    for (const af of [24, 28, 30]) {
      for (const be of [false, true]) {
        const r = decodeOnce(nullHeader(af, be, v6Tcp()), LinkType.NULL);
        expect(r.status).toBe(DecodeStatus.OK);
        expect(r.src).toBe('fd00::10');
      }
    }
    expectV4(decodeOnce(nullHeader(2, true, v4Tcp()), LinkType.LOOP));
    expect(decodeOnce(nullHeader(30, true, v6Tcp()), LinkType.LOOP).status).toBe(DecodeStatus.OK);
    const unknown = decodeOnce(nullHeader(7, false, v4Tcp()), LinkType.NULL);
    expect(unknown.status).toBe(DecodeStatus.NOT_ANALYSED);
    expect(unknown.anomalies.get('link.unknown_address_family')).toBe(1);
    expect(decodeOnce(bytes(2, 0), LinkType.NULL).anomalies.get('link.truncated')).toBe(1);
  });

  it('NFLOG (239): walks TLVs to NFULA_PAYLOAD, either host byte order', () => {
    const prefix = { type: 10, value: ascii('k8s-drop\0') }; // NFULA_PREFIX, length 13 → padded to 16
    const hwproto = { type: 1, value: bytes(0x08, 0x00, 3, 0) }; // NFULA_PACKET_HDR
    for (const be of [false, true]) {
      const frame = nflog(2, [hwproto, prefix, { type: 9, value: v4Tcp() }], be);
      expectV4(decodeOnce(frame, LinkType.NFLOG));
    }
    const v6 = decodeOnce(nflog(10, [{ type: 9, value: v6Tcp() }]), LinkType.NFLOG);
    expect(v6.status).toBe(DecodeStatus.OK);
    expect(v6.payload).toBe('hi');
    // Metadata only: nothing to decode, nothing wrong.
    const none = decodeOnce(nflog(2, [prefix]), LinkType.NFLOG);
    expect(none.status).toBe(DecodeStatus.NOT_ANALYSED);
    expect(none.anomalies.total).toBe(0);
    // A TLV running past the frame.
    const bad = nflog(2, [{ type: 9, value: v4Tcp() }]);
    expect(decodeOnce(bad.subarray(0, 30), LinkType.NFLOG).anomalies.get('link.truncated')).toBe(1);
  });

  it('counts an unknown link type and skips the frame', () => {
    const r = decodeOnce(ETHERNET_TCP, 147);
    expect(r.status).toBe(DecodeStatus.NOT_ANALYSED);
    expect(r.anomalies.get('link.unknown_type')).toBe(1);
  });

  it('UDP over Ethernet', () => {
    const r = decodeOnce(ethernet(ETH.IPV4, ipv4({ protocol: PROTO.UDP }, udp(5353, 53, ascii('query')))));
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.out.protocol).toBe(17);
    expect(r.out.srcPort).toBe(5353);
    expect(r.payload).toBe('query');
  });
});
