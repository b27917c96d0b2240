import { describe as group, expect, it } from 'vitest';
import { formatIp } from '../../src/decode/address';
import { DecodeStatus, TunnelType } from '../../src/decode/packet';
import { LinkType } from '../../src/ingest/frame';
import {
  ascii, bytes, decodeOnce, erspan2, erspan3, ETH, ethernet, fromHex, geneve, gre, ipv4, ipv6, mpls, PROTO, pwControlWord, tcp, tzsp,
  udp, vxlan, vxlanGpe, type Decoded,
} from './builders';

/*
 * VXLAN: Ethernet / IPv4 192.168.0.11 -> 192.168.0.12 / UDP 54321 -> 4789 / VXLAN VNI 42 /
 *        Ethernet / IPv4 10.244.1.5 -> 10.96.0.1 / TCP 40000 -> 443 "hi"
 * 0000  02 00 00 00 00 0b 02 00 00 00 00 0a 08 00 45 00
 * 0010  00 5c 00 01 00 00 40 11 f9 28 c0 a8 00 0b c0 a8
 * 0020  00 0c d4 31 12 b5 00 48 00 00 08 00 00 00 00 00
 * 0030  2a 00 02 00 00 00 00 0b 02 00 00 00 00 0a 08 00
 * 0040  45 00 00 2a 12 34 00 00 40 06 52 41 0a f4 01 05
 * 0050  0a 60 00 01 9c 40 01 bb 00 00 03 e8 00 00 00 00
 * 0060  50 18 ff ff 00 00 00 00 68 69
 */
const VXLAN_FRAME = fromHex(`
  02 00 00 00 00 0b 02 00 00 00 00 0a 08 00 45 00  00 5c 00 01 00 00 40 11 f9 28 c0 a8 00 0b c0 a8
  00 0c d4 31 12 b5 00 48 00 00 08 00 00 00 00 00  2a 00 02 00 00 00 00 0b 02 00 00 00 00 0a 08 00
  45 00 00 2a 12 34 00 00 40 06 52 41 0a f4 01 05  0a 60 00 01 9c 40 01 bb 00 00 03 e8 00 00 00 00
  50 18 ff ff 00 00 00 00 68 69`);

const OUTER = { src: '192.168.0.11', dst: '192.168.0.12' };
const innerIp = () => ipv4({ protocol: PROTO.TCP, src: '10.244.1.5', dst: '10.96.0.1' }, tcp({ sport: 40000, dport: 443 }, ascii('hi')));
const innerEth = () => ethernet(ETH.IPV4, innerIp());
const outerUdp = (dport: number, payload: Uint8Array) => ethernet(ETH.IPV4, ipv4({ protocol: PROTO.UDP, ...OUTER, id: 1 }, udp(54321, dport, payload)));
const outerGre = (payload: Uint8Array) => ethernet(ETH.IPV4, ipv4({ protocol: PROTO.GRE, ...OUTER }, payload));

function expectInner(r: Decoded, type: number, id: number, depth = 1): void {
  expect(r.status).toBe(DecodeStatus.OK);
  expect(r.src).toBe('10.244.1.5');
  expect(r.dst).toBe('10.96.0.1');
  expect(r.out.srcPort).toBe(40000);
  expect(r.out.dstPort).toBe(443);
  expect(r.payload).toBe('hi');
  expect(r.out.tunnelType).toBe(type);
  expect(r.out.tunnelId).toBe(id);
  expect(r.out.tunnelDepth).toBe(depth);
  expect(r.out.outerIpVersion).toBe(4);
  expect(formatIp(r.out.outerSrc, 4)).toBe(OUTER.src);
  expect(formatIp(r.out.outerDst, 4)).toBe(OUTER.dst);
  expect(r.anomalies.total).toBe(0);
}

group('UDP tunnels', () => {
  it('VXLAN on 4789 (hex fixture) and on the Linux default 8472', () => {
    expect(outerUdp(4789, vxlan(42, innerEth()))).toEqual(VXLAN_FRAME);
    expectInner(decodeOnce(VXLAN_FRAME), TunnelType.VXLAN, 42);
    expectInner(decodeOnce(outerUdp(8472, vxlan(0xabcdef, innerEth()))), TunnelType.VXLAN, 0xabcdef);
  });

  it('VXLAN without the I flag stays plain UDP (counted); decodeTunnels: false leaves it alone', () => {
    const r = decodeOnce(outerUdp(4789, vxlan(42, innerEth(), 0x00)));
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.out.dstPort).toBe(4789);
    expect(r.out.tunnelDepth).toBe(0);
    expect(r.anomalies.get('tunnel.bad_vxlan')).toBe(1);
    const off = decodeOnce(VXLAN_FRAME, LinkType.ETHERNET, { decodeTunnels: false });
    expect(off.out.dstPort).toBe(4789);
    expect(off.src).toBe('192.168.0.11');
  });

  it('VXLAN on a configured port, and the inner VLAN when the outer has none', () => {
    const tagged = ethernet(ETH.IPV4, innerIp(), [{ tpid: ETH.VLAN, vid: 33 }]);
    const r = decodeOnce(outerUdp(9999, vxlan(1, tagged)), LinkType.ETHERNET, { vxlanPorts: [9999] });
    expectInner(r, TunnelType.VXLAN, 1);
    expect(r.out.vlan).toBe(33);
  });

  it('VXLAN-GPE on 4790: Ethernet, IPv4, IPv6 and MPLS inside; NSH not decoded; bad flags stay plain UDP', () => {
    expectInner(decodeOnce(outerUdp(4790, vxlanGpe(77, 3, innerEth()))), TunnelType.VXLAN_GPE, 77);
    expectInner(decodeOnce(outerUdp(4790, vxlanGpe(78, null, innerEth()))), TunnelType.VXLAN_GPE, 78); // no P flag: Ethernet
    expectInner(decodeOnce(outerUdp(4790, vxlanGpe(79, 1, innerIp()))), TunnelType.VXLAN_GPE, 79);
    const v6 = decodeOnce(outerUdp(4790, vxlanGpe(80, 2, ipv6({ nextHeader: PROTO.TCP, src: 'fd00::1', dst: 'fd00::2' }, tcp({ sport: 4000, dport: 6443 })))));
    expect([v6.status, v6.out.ipVersion, v6.out.dstPort, v6.out.tunnelType]).toEqual([DecodeStatus.OK, 6, 6443, TunnelType.VXLAN_GPE]);
    expectInner(decodeOnce(outerUdp(4790, vxlanGpe(81, 5, mpls([1000], innerIp())))), TunnelType.VXLAN_GPE, 81);
    const nsh = decodeOnce(outerUdp(4790, vxlanGpe(82, 4, innerEth())));
    expect(nsh.anomalies.get('tunnel.unknown_payload')).toBe(1);
    for (const flags of [0x04, 0x08 | 0x04 | 0x10]) { // no I flag; version 1
      const bad = decodeOnce(outerUdp(4790, vxlanGpe(83, 3, innerEth(), flags)));
      expect([bad.status, bad.out.dstPort, bad.out.tunnelDepth]).toEqual([DecodeStatus.OK, 4790, 0]);
      expect(bad.anomalies.get('tunnel.bad_vxlan_gpe')).toBe(1);
    }
    // VXLAN's own port keeps VXLAN's header: a GPE header there is read as VXLAN.
    expect(decodeOnce(outerUdp(4789, vxlanGpe(84, 3, innerEth()))).out.tunnelType).toBe(TunnelType.VXLAN);
  });

  it('Geneve: Ethernet payload after options, IPv4 payload, bad version', () => {
    const options = bytes(0x01, 0x02, 0x80, 0x01, 0xde, 0xad, 0xbe, 0xef); // one 4-byte option, class 0x0102
    expectInner(decodeOnce(outerUdp(6081, geneve(7, 0x6558, innerEth(), options))), TunnelType.GENEVE, 7);
    expectInner(decodeOnce(outerUdp(6081, geneve(8, 0x0800, innerIp()))), TunnelType.GENEVE, 8);
    const v1 = decodeOnce(outerUdp(6081, geneve(8, 0x0800, innerIp(), undefined, 1)));
    expect(v1.out.dstPort).toBe(6081);
    expect(v1.anomalies.get('tunnel.bad_geneve')).toBe(1);
    const unk = decodeOnce(outerUdp(6081, geneve(8, 0x880b, innerIp()))); // PPP
    expect(unk.status).toBe(DecodeStatus.NOT_ANALYSED);
    expect(unk.anomalies.get('tunnel.unknown_payload')).toBe(1);
    // Options length pointing past the packet.
    const cut = geneve(8, 0x0800, new Uint8Array(0));
    cut[0] = 0x3f;
    expect(decodeOnce(outerUdp(6081, cut)).anomalies.get('tunnel.truncated')).toBe(1);
  });

  it('TZSP: tagged fields walked to END, Ethernet inside', () => {
    const tags = bytes(0x00, 0x0a, 0x01, 0xc4, 0x00); // PADDING, RAW_RSSI (len 1), PADDING
    expectInner(decodeOnce(outerUdp(37008, tzsp(innerEth(), { tags }))), TunnelType.TZSP, -1);
    const wifi = decodeOnce(outerUdp(37008, tzsp(new Uint8Array(30), { encapsulation: 18 })));
    expect(wifi.status).toBe(DecodeStatus.NOT_ANALYSED);
    expect(wifi.anomalies.get('tunnel.unknown_payload')).toBe(1);
    const noEnd = decodeOnce(outerUdp(37008, bytes(1, 0, 0, 1, 0x0a, 0x05, 1)));
    expect(noEnd.anomalies.get('tunnel.truncated')).toBe(1);
  });
});

group('GRE and ERSPAN', () => {
  it('GRE carrying IPv4 and IPv6', () => {
    expectInner(decodeOnce(outerGre(gre({ protocol: 0x0800 }, innerIp()))), TunnelType.GRE, -1);
    const v6 = decodeOnce(outerGre(gre({ protocol: 0x86dd }, ipv6({ nextHeader: PROTO.TCP }, tcp({ sport: 1, dport: 2 })))));
    expect(v6.status).toBe(DecodeStatus.OK);
    expect(v6.out.ipVersion).toBe(6);
    expect(v6.out.outerIpVersion).toBe(4);
  });

  it('GRE with checksum, key and sequence, transparent Ethernet bridging', () => {
    expectInner(decodeOnce(outerGre(gre({ protocol: 0x6558, checksum: true, key: 0xfeedf00d, sequence: 5 }, innerEth()))), TunnelType.GRE, 0xfeedf00d);
  });

  it('ERSPAN type I: GRE 0x88BE without sequence, no ERSPAN header', () => {
    expectInner(decodeOnce(outerGre(gre({ protocol: 0x88be }, innerEth()))), TunnelType.ERSPAN, -1);
  });

  it('ERSPAN type II: sequence bit and an 8-byte header with the session id', () => {
    expectInner(decodeOnce(outerGre(gre({ protocol: 0x88be, sequence: 1 }, erspan2(0x155, innerEth(), 12)))), TunnelType.ERSPAN, 0x155);
    const bad = erspan2(1, innerEth());
    bad[0] = 0x20;
    expect(decodeOnce(outerGre(gre({ protocol: 0x88be, sequence: 1 }, bad))).anomalies.get('tunnel.bad_erspan')).toBe(1);
  });

  it('ERSPAN type III: 12-byte header, optional platform subheader, Ethernet or IP frame type', () => {
    expectInner(decodeOnce(outerGre(gre({ protocol: 0x22eb, sequence: 9 }, erspan3(3, innerEth())))), TunnelType.ERSPAN, 3);
    expectInner(decodeOnce(outerGre(gre({ protocol: 0x22eb, sequence: 9 }, erspan3(1023, innerEth(), { subheader: true })))), TunnelType.ERSPAN, 1023);
    expectInner(decodeOnce(outerGre(gre({ protocol: 0x22eb, sequence: 9 }, erspan3(4, innerIp(), { frameType: 2 })))), TunnelType.ERSPAN, 4);
    const short = decodeOnce(outerGre(gre({ protocol: 0x22eb, sequence: 9 }, bytes(0x20, 0, 0, 1))));
    expect(short.anomalies.get('tunnel.truncated')).toBe(1);
  });

  it('unknown GRE protocol, GRE version 1, truncated key', () => {
    const ppp = decodeOnce(outerGre(gre({ protocol: 0x880b }, new Uint8Array(8))));
    expect(ppp.status).toBe(DecodeStatus.NOT_ANALYSED);
    expect(ppp.anomalies.get('tunnel.unknown_gre_protocol')).toBe(1);
    const v1 = decodeOnce(outerGre(bytes(0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 0)));
    expect(v1.anomalies.get('tunnel.bad_gre')).toBe(1);
    expect(decodeOnce(outerGre(bytes(0x20, 0x00, 0x08, 0x00, 0, 0))).anomalies.get('tunnel.truncated')).toBe(1);
  });
});

group('MPLS in tunnels', () => {
  it('MPLS over GRE (0x8847): IP after the labels, or an Ethernet pseudowire', () => {
    expectInner(decodeOnce(outerGre(gre({ protocol: 0x8847, key: 12 }, mpls([24, 25], innerIp())))), TunnelType.GRE, 12);
    expectInner(decodeOnce(outerGre(gre({ protocol: 0x8847 }, mpls([24], pwControlWord(innerEth()))))), TunnelType.GRE, -1);
  });

  it('MPLS in UDP (RFC 7510, port 6635, as Tungsten Fabric carries pod traffic)', () => {
    expectInner(decodeOnce(outerUdp(6635, mpls([299776], innerIp()))), TunnelType.MPLS_UDP, -1);
    expectInner(decodeOnce(outerUdp(6635, mpls([16, 17], pwControlWord(innerEth())))), TunnelType.MPLS_UDP, -1);
    expectInner(decodeOnce(outerUdp(7000, mpls([16], innerIp())), LinkType.ETHERNET, { mplsUdpPorts: [7000] }), TunnelType.MPLS_UDP, -1);
  });

  it('other traffic to port 6635 stays plain UDP: no stack ending on IP or a control word', () => {
    for (const payload of [bytes(1, 2, 3, 4, 5, 6, 7, 8), mpls([16], bytes(0x55, 0, 0, 0)), mpls([16], new Uint8Array(0)), new Uint8Array(64).fill(0x10)]) {
      const r = decodeOnce(outerUdp(6635, payload));
      expect(r.status).toBe(DecodeStatus.OK);
      expect(r.out.tunnelDepth).toBe(0);
      expect(r.out.dstPort).toBe(6635);
      expect(r.out.payloadLength).toBe(payload.length);
      expect(r.anomalies.total).toBe(0);
    }
  });

  it('Geneve carrying MPLS', () => {
    expectInner(decodeOnce(outerUdp(6081, geneve(3, 0x8847, mpls([40], innerIp())))), TunnelType.GENEVE, 3);
  });
});

group('IP-in-IP and nesting', () => {
  it('IPv4 in IPv4 (4), IPv6 in IPv4 (41), IPv4 in IPv6 (4)', () => {
    expectInner(decodeOnce(ethernet(ETH.IPV4, ipv4({ protocol: PROTO.IPIP, ...OUTER }, innerIp()))), TunnelType.IPIP, -1);
    const six = decodeOnce(ethernet(ETH.IPV4, ipv4({ protocol: PROTO.IPV6, ...OUTER }, ipv6({ nextHeader: PROTO.TCP, src: 'fd00::a' }, tcp({ sport: 5, dport: 6 })))));
    expect(six.status).toBe(DecodeStatus.OK);
    expect(six.src).toBe('fd00::a');
    expect(six.out.tunnelType).toBe(TunnelType.IPIP);
    const v4in6 = decodeOnce(ethernet(ETH.IPV6, ipv6({ nextHeader: PROTO.IPIP, src: '2001:db8::1', dst: '2001:db8::2' }, innerIp())));
    expect(v4in6.status).toBe(DecodeStatus.OK);
    expect(v4in6.src).toBe('10.244.1.5');
    expect(v4in6.out.outerIpVersion).toBe(6);
    expect(formatIp(v4in6.out.outerSrc, 6)).toBe('2001:db8::1');
  });

  it('VXLAN inside GRE: the inner packet fills the result, the outermost tunnel is kept', () => {
    const vx = ipv4({ protocol: PROTO.UDP, src: '172.16.0.1', dst: '172.16.0.2' }, udp(1000, 4789, vxlan(5, innerEth())));
    const r = decodeOnce(outerGre(gre({ protocol: 0x0800, key: 7 }, vx)));
    expectInner(r, TunnelType.GRE, 7, 2);
  });

  it('nesting beyond MAX_TUNNEL_DEPTH is counted, not followed', () => {
    let p = innerIp();
    for (let i = 0; i < 5; i++) p = ipv4({ protocol: PROTO.IPIP, ...OUTER }, p);
    const r = decodeOnce(p, LinkType.RAW);
    expect(r.status).toBe(DecodeStatus.NOT_ANALYSED);
    expect(r.anomalies.get('tunnel.too_deep')).toBe(1);
    const ok = decodeOnce(p, LinkType.RAW, { maxTunnelDepth: 5 });
    expect(ok.status).toBe(DecodeStatus.OK);
    expect(ok.out.tunnelDepth).toBe(5);
  });

  it('a truncated VXLAN header', () => {
    const r = decodeOnce(outerUdp(4789, bytes(0x08, 0, 0)));
    expect(r.status).toBe(DecodeStatus.MALFORMED);
    expect(r.anomalies.get('tunnel.truncated')).toBe(1);
  });
});
