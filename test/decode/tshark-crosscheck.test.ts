import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe as group, expect, it } from 'vitest';
import { AnomalyCounter } from '../../src/anomalies';
import { formatIp } from '../../src/decode/address';
import { DecodedPacket, DecodeStatus } from '../../src/decode/packet';
import { PacketDecoder } from '../../src/decode/packet-decoder';
import { LinkType } from '../../src/ingest/frame';
import {
  ascii, bytes, concat, erspan2, erspan3, ETH, ethernet, ext6, geneve, gre, ipv4, ipv6, mpls, nflog, nullHeader, PROTO, pwControlWord,
  sll, sll2, tcp, tzsp, udp, vxlan, vxlanGpe,
} from './builders';

const hasTshark = ['/usr/bin/tshark', '/usr/local/bin/tshark'].some((p) => existsSync(p));

/** Minimal pcapng writer: one section, one interface per link type, EPBs with µs timestamps. */
function writePcapng(frames: Array<{ linkType: number; data: Uint8Array }>): Uint8Array {
  const le32 = (v: number) => bytes(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
  const le16 = (v: number) => bytes(v & 0xff, (v >> 8) & 0xff);
  const block = (type: number, body: Uint8Array) => {
    const len = 12 + body.length;
    return concat(le32(type), le32(len), body, le32(len));
  };
  const parts: Uint8Array[] = [block(0x0a0d0d0a, concat(le32(0x1a2b3c4d), le16(1), le16(0), bytes(255, 255, 255, 255, 255, 255, 255, 255)))];
  const ifaces: number[] = [];
  for (const f of frames) {
    if (!ifaces.includes(f.linkType)) {
      ifaces.push(f.linkType);
      parts.push(block(1, concat(le16(f.linkType), le16(0), le32(262144))));
    }
  }
  frames.forEach((f, i) => {
    const pad = new Uint8Array((4 - (f.data.length % 4)) % 4);
    parts.push(block(6, concat(le32(ifaces.indexOf(f.linkType)), le32(0), le32(i * 1000), le32(f.data.length), le32(f.data.length), f.data, pad)));
  });
  return concat(...parts);
}

const seg = (sport: number, dport: number) => tcp({ sport, dport }, ascii('payload'));
const v4 = (src: string, dst: string, sport: number, dport: number) => ipv4({ protocol: PROTO.TCP, src, dst }, seg(sport, dport));
const v6 = (src: string, dst: string, sport: number, dport: number) => ipv6({ nextHeader: PROTO.TCP, src, dst }, seg(sport, dport));
const OUT = { src: '192.168.7.1', dst: '192.168.7.2' };
const PSEUDOWIRE_LABEL = 100;
const eth4 = (p: Uint8Array) => ethernet(ETH.IPV4, p);

function fixtures(): Array<{ linkType: number; data: Uint8Array }> {
  const E = LinkType.ETHERNET;
  const fragSeg = tcp({ sport: 33333, dport: 2379 }, ascii('x'.repeat(40)));
  return [
    { linkType: E, data: eth4(v4('10.0.0.10', '10.0.1.21', 51234, 10250)) },
    { linkType: E, data: ethernet(ETH.IPV6, v6('fd00::10', 'fd00::1:21', 40000, 6443)) },
    { linkType: E, data: ethernet(ETH.IPV4, v4('10.1.0.1', '10.1.0.2', 1111, 2222), [{ tpid: ETH.VLAN, vid: 10 }]) },
    { linkType: E, data: ethernet(ETH.IPV4, v4('10.2.0.1', '10.2.0.2', 1112, 2223), [{ tpid: ETH.QINQ, vid: 20 }, { tpid: ETH.VLAN, vid: 30 }]) },
    { linkType: E, data: eth4(ipv4({ protocol: PROTO.UDP, ...OUT }, udp(50000, 4789, vxlan(42, eth4(v4('10.244.0.5', '10.96.0.1', 40001, 443)))))) },
    { linkType: E, data: eth4(ipv4({ protocol: PROTO.UDP, ...OUT }, udp(50001, 6081, geneve(9, 0x6558, eth4(v4('10.244.0.6', '10.96.0.1', 40002, 443)), bytes(0, 1, 0x80, 1, 1, 2, 3, 4))))) },
    { linkType: E, data: eth4(ipv4({ protocol: PROTO.GRE, ...OUT }, gre({ protocol: 0x6558, key: 77 }, eth4(v4('10.3.0.1', '10.3.0.2', 3333, 10250))))) },
    { linkType: E, data: eth4(ipv4({ protocol: PROTO.GRE, ...OUT }, gre({ protocol: 0x88be, sequence: 1 }, erspan2(5, eth4(v4('10.4.0.1', '10.4.0.2', 4444, 2379)))))) },
    { linkType: E, data: eth4(ipv4({ protocol: PROTO.GRE, ...OUT }, gre({ protocol: 0x22eb, sequence: 2 }, erspan3(6, eth4(v4('10.5.0.1', '10.5.0.2', 5555, 2380)), { subheader: true })))) },
    { linkType: E, data: eth4(ipv4({ protocol: PROTO.GRE, ...OUT }, gre({ protocol: 0x0800, key: 8 }, ipv4({ protocol: PROTO.UDP, src: '172.16.0.1', dst: '172.16.0.2' }, udp(999, 4789, vxlan(3, eth4(v4('10.6.0.1', '10.6.0.2', 6666, 8132)))))))) },
    { linkType: E, data: eth4(ipv4({ protocol: PROTO.IPIP, ...OUT }, v4('10.7.0.1', '10.7.0.2', 7777, 22))) },
    { linkType: E, data: eth4(ipv4({ protocol: PROTO.UDP, ...OUT }, udp(50002, 37008, tzsp(eth4(v4('10.8.0.1', '10.8.0.2', 8888, 10255)), { tags: bytes(0, 0x0a, 1, 0xc4) })))) },
    { linkType: E, data: ethernet(ETH.IPV6, ipv6({ nextHeader: PROTO.HOP, src: 'fd00::a', dst: 'fd00::b' }, concat(ext6(PROTO.DEST, bytes(1, 4, 0, 0, 0, 0)), ext6(PROTO.TCP, bytes(1, 4, 0, 0, 0, 0)), seg(9999, 6443)))) },
    { linkType: E, data: eth4(ipv4({ protocol: PROTO.TCP, src: '10.9.0.1', dst: '10.9.0.2', id: 500, moreFragments: true }, fragSeg.subarray(0, 32))) },
    { linkType: E, data: eth4(ipv4({ protocol: PROTO.TCP, src: '10.9.0.1', dst: '10.9.0.2', id: 500, fragmentOffset: 32 }, fragSeg.subarray(32))) },
    { linkType: E, data: ethernet(ETH.MPLS, mpls([16, 17], v4('10.14.0.1', '10.14.0.2', 1414, 6443))) },
    { linkType: E, data: ethernet(ETH.MPLS, mpls([2], v6('fd00::14:1', 'fd00::14:2', 1415, 6443))) },
    { linkType: E, data: ethernet(ETH.MPLS, mpls([PSEUDOWIRE_LABEL], pwControlWord(eth4(v4('10.15.0.1', '10.15.0.2', 1515, 10250))))) },
    { linkType: E, data: eth4(ipv4({ protocol: PROTO.GRE, ...OUT }, gre({ protocol: 0x8847 }, mpls([300], v4('10.16.0.1', '10.16.0.2', 1616, 2379))))) },
    { linkType: E, data: eth4(ipv4({ protocol: PROTO.UDP, ...OUT }, udp(50003, 6635, mpls([299776, 24], v4('10.17.0.1', '10.17.0.2', 1717, 8132))))) },
    { linkType: E, data: eth4(ipv4({ protocol: PROTO.UDP, ...OUT }, udp(50004, 4790, vxlanGpe(500, 3, eth4(v4('10.18.0.1', '10.18.0.2', 1818, 6443)))))) },
    { linkType: E, data: eth4(ipv4({ protocol: PROTO.UDP, ...OUT }, udp(50005, 4790, vxlanGpe(501, 1, v4('10.19.0.1', '10.19.0.2', 1919, 10250))))) },
    { linkType: E, data: eth4(ipv4({ protocol: PROTO.UDP, ...OUT }, udp(50006, 4790, vxlanGpe(502, 2, v6('fd00::19:1', 'fd00::19:2', 1920, 2379))))) },
    { linkType: LinkType.LINUX_SLL, data: sll(ETH.IPV4, v4('10.10.0.1', '10.10.0.2', 1010, 6443)) },
    { linkType: LinkType.LINUX_SLL2, data: sll2(ETH.IPV6, v6('fd00::10:1', 'fd00::10:2', 2020, 6443)) },
    { linkType: LinkType.RAW, data: v4('10.11.0.1', '10.11.0.2', 3030, 443) },
    { linkType: LinkType.NULL, data: nullHeader(2, false, v4('127.0.0.1', '127.0.0.1', 4040, 6443)) },
    { linkType: LinkType.LOOP, data: nullHeader(24, true, v6('::1', '::1', 5050, 2379)) },
    { linkType: LinkType.IPV4, data: v4('10.12.0.1', '10.12.0.2', 6060, 443) },
    { linkType: LinkType.IPV6, data: v6('fd00::12:1', 'fd00::12:2', 7070, 443) },
    { linkType: LinkType.NFLOG, data: nflog(2, [{ type: 1, value: bytes(8, 0, 3, 0) }, { type: 9, value: v4('10.13.0.1', '10.13.0.2', 8080, 10250) }]) },
  ];
}

const dir = mkdtempSync(join(tmpdir(), 'planewatch-decode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

group.skipIf(!hasTshark)('cross-check against tshark', () => {
  it('innermost addresses and ports agree for every link type and tunnel', () => {
    const frames = fixtures();
    const file = join(dir, 'fixtures.pcapng');
    writeFileSync(file, writePcapng(frames));
    // Wireshark decodes an MPLS pseudowire only where it is told which label carries one.
    const text = execFileSync('tshark', ['-r', file, '-d', `mpls.label==${PSEUDOWIRE_LABEL},pwethcw`, '-T', 'fields', '-E', 'occurrence=l', '-E', 'separator=|',
      '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ipv6.src', '-e', 'ipv6.dst', '-e', 'tcp.srcport', '-e', 'tcp.dstport'], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
    const rows = text.trimEnd().split('\n').map((l) => l.split('|'));
    expect(rows).toHaveLength(frames.length);

    const anomalies = new AnomalyCounter();
    const decoder = new PacketDecoder(anomalies);
    const out = new DecodedPacket();
    let compared = 0;
    frames.forEach((f, i) => {
      const status = decoder.decode(f.data, f.linkType, i, out);
      const [ip4s, ip4d, ip6s, ip6d, sport, dport] = rows[i]!;
      if (status === DecodeStatus.FRAGMENT_HELD) return; // tshark shows the transport on the last fragment too
      expect(status, `frame ${i + 1}`).toBe(DecodeStatus.OK);
      // tshark's "last occurrence" of ip.src is the innermost IPv4 header; for IPv6-inner use ipv6.*.
      const want = out.ipVersion === 4 ? [ip4s, ip4d] : [ip6s, ip6d];
      expect([formatIp(out.src, out.ipVersion), formatIp(out.dst, out.ipVersion), String(out.srcPort), String(out.dstPort)], `frame ${i + 1}`)
        .toEqual([...want, sport, dport]);
      compared++;
    });
    expect(compared).toBe(frames.length - 1);
    expect(anomalies.total).toBe(0);
  });
});
