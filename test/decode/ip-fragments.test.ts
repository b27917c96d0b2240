import { describe as group, expect, it } from 'vitest';
import { AnomalyCounter } from '../../src/anomalies';
import { DecodedPacket, DecodeStatus } from '../../src/decode/packet';
import { PacketDecoder, type PacketDecoderOptions } from '../../src/decode/packet-decoder';
import { LinkType } from '../../src/ingest/frame';
import { ascii, concat, describe, frag6, ipv4, ipv6, PROTO, tcp, udp } from './builders';

/** One decoder fed a sequence of raw-IP packets. */
function session(opts?: PacketDecoderOptions) {
  const anomalies = new AnomalyCounter();
  const decoder = new PacketDecoder(anomalies, opts);
  const out = new DecodedPacket();
  return {
    anomalies,
    decoder,
    feed(p: Uint8Array, ts = 0) {
      return describe(decoder.decode(p, LinkType.RAW, ts, out, p.length), out, anomalies);
    },
  };
}

// A UDP datagram of 8 + 40 bytes split into 8-byte-aligned fragments.
const TEXT = 'abcdefghijklmnopqrstuvwxyz0123456789ABCD'; // 40 bytes
const UDP_DGRAM = udp(5000, 6000, ascii(TEXT));

function v4Fragments(data: Uint8Array, size: number, id = 77): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += size) {
    const piece = data.subarray(off, Math.min(off + size, data.length));
    out.push(ipv4({ protocol: PROTO.UDP, id, fragmentOffset: off, moreFragments: off + size < data.length }, piece));
  }
  return out;
}

function v6Fragments(data: Uint8Array, size: number, id = 0xdeadbeef): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += size) {
    const piece = data.subarray(off, Math.min(off + size, data.length));
    out.push(ipv6({ nextHeader: PROTO.FRAGMENT }, concat(frag6(PROTO.UDP, off, off + size < data.length, id), piece)));
  }
  return out;
}

group('IPv4 fragment reassembly', () => {
  it('in order: held until the last, then decodes as usual from the rebuilt datagram', () => {
    const s = session();
    const frags = v4Fragments(UDP_DGRAM, 16);
    expect(frags).toHaveLength(3);
    expect(s.feed(frags[0]!).status).toBe(DecodeStatus.FRAGMENT_HELD);
    expect(s.feed(frags[1]!).status).toBe(DecodeStatus.FRAGMENT_HELD);
    const r = s.feed(frags[2]!);
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.out.reassembled).toBe(true);
    expect(r.out.srcPort).toBe(5000);
    expect(r.out.dstPort).toBe(6000);
    expect(r.payload).toBe(TEXT);
    expect(r.src).toBe('10.0.0.1');
    expect(r.anomalies.total).toBe(0); // the rebuilt header has a valid checksum
    expect(s.decoder.pendingFragments).toBe(0);
  });

  it('reversed order', () => {
    const s = session();
    const frags = v4Fragments(UDP_DGRAM, 8).reverse();
    for (let i = 0; i < frags.length - 1; i++) expect(s.feed(frags[i]!).status).toBe(DecodeStatus.FRAGMENT_HELD);
    const r = s.feed(frags[frags.length - 1]!);
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.payload).toBe(TEXT);
  });

  it('overlaps: first copy wins, counted', () => {
    const s = session();
    const [a, b, c] = v4Fragments(UDP_DGRAM, 16);
    // A rogue fragment covering bytes 8..24 with different data, arriving after the first.
    const evil = ipv4({ protocol: PROTO.UDP, id: 77, fragmentOffset: 8, moreFragments: true }, ascii('XXXXXXXXXXXXXXXX'));
    s.feed(a!);
    s.feed(evil);
    s.feed(c!);
    const r = s.feed(b!);
    expect(r.status).toBe(DecodeStatus.OK);
    // Bytes 8..16 came from `a` (first), 16..24 from `evil` (first for those bytes).
    expect(r.payload).toBe('abcdefgh' + 'XXXXXXXX' + TEXT.slice(16));
    expect(r.anomalies.get('ip.fragment_overlap')).toBe(2);
  });

  it('duplicate fragments are counted as overlap and change nothing', () => {
    const s = session();
    const frags = v4Fragments(UDP_DGRAM, 16);
    s.feed(frags[0]!);
    s.feed(frags[0]!);
    s.feed(frags[1]!);
    const r = s.feed(frags[2]!);
    expect(r.payload).toBe(TEXT);
    expect(r.anomalies.get('ip.fragment_overlap')).toBe(1);
  });

  it('keeps datagrams of different ids and sources apart', () => {
    const s = session();
    const a = v4Fragments(UDP_DGRAM, 24, 1);
    const other = udp(7, 8, ascii('ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ'));
    const b = v4Fragments(other, 24, 2);
    s.feed(a[0]!);
    s.feed(b[0]!);
    expect(s.decoder.pendingFragments).toBe(2);
    expect(s.feed(b[1]!).out.dstPort).toBe(8);
    expect(s.feed(a[1]!).payload).toBe(TEXT);
  });

  it('incomplete datagrams time out by capture time, and flush() counts the rest', () => {
    const s = session({ fragments: { timeoutSeconds: 30 } });
    const frags = v4Fragments(UDP_DGRAM, 16);
    s.feed(frags[0]!, 100);
    s.feed(ipv4({ protocol: PROTO.TCP, id: 9 }, tcp({ sport: 1, dport: 2 })), 129);
    expect(s.decoder.pendingFragments).toBe(1);
    s.feed(ipv4({ protocol: PROTO.TCP, id: 9 }, tcp({ sport: 1, dport: 2 })), 131);
    expect(s.decoder.pendingFragments).toBe(0);
    expect(s.anomalies.get('ip.fragment_timeout')).toBe(1);
    // The late remainder cannot complete the dropped datagram.
    expect(s.feed(frags[1]!, 132).status).toBe(DecodeStatus.FRAGMENT_HELD);
    expect(s.feed(frags[2]!, 133).status).toBe(DecodeStatus.FRAGMENT_HELD);
    s.decoder.flush();
    expect(s.anomalies.get('ip.fragment_timeout')).toBe(2);
    expect(s.decoder.pendingFragments).toBe(0);
  });

  it('limits: datagrams held, datagram size, fragments per datagram, total bytes', () => {
    const s = session({ fragments: { maxDatagrams: 4 } });
    for (let id = 0; id < 10; id++) s.feed(v4Fragments(UDP_DGRAM, 16, id)[0]!);
    expect(s.decoder.pendingFragments).toBe(4);
    expect(s.anomalies.get('ip.fragment_limit')).toBe(6);

    // Offset + length beyond 65535: "ping of death".
    const big = session();
    const pod = ipv4({ protocol: PROTO.UDP, id: 5, fragmentOffset: 65528, moreFragments: false }, new Uint8Array(100));
    expect(big.feed(pod).status).toBe(DecodeStatus.MALFORMED);
    expect(big.anomalies.get('ip.fragment_limit')).toBe(1);

    const many = session({ fragments: { maxFragmentsPerDatagram: 3 } });
    const tiny = v4Fragments(UDP_DGRAM, 8);
    for (const f of tiny.slice(0, 4)) many.feed(f);
    expect(many.anomalies.get('ip.fragment_limit')).toBe(1);
    expect(many.decoder.pendingFragments).toBe(0);

    const bytesCap = session({ fragments: { maxBufferBytes: 3 * 2048 } });
    for (let id = 0; id < 5; id++) bytesCap.feed(v4Fragments(UDP_DGRAM, 16, id)[0]!);
    expect(bytesCap.decoder.pendingFragments).toBe(3);
    expect(bytesCap.anomalies.get('ip.fragment_limit')).toBe(2);
  });

  it('a fragment cut by the snaplen cannot be reassembled', () => {
    const f = v4Fragments(UDP_DGRAM, 16)[0]!;
    const anomalies = new AnomalyCounter();
    const d = new PacketDecoder(anomalies);
    const st = d.decode(f.subarray(0, f.length - 4), LinkType.RAW, 0, new DecodedPacket(), f.length);
    expect(st).toBe(DecodeStatus.MALFORMED);
    expect(anomalies.get('ip.fragment_truncated')).toBe(1);
    expect(d.pendingFragments).toBe(0);
  });

  it('a fragmented TCP segment reassembles into TCP', () => {
    const s = session();
    const seg = tcp({ sport: 51000, dport: 2379, flags: 0x18 }, ascii('etcd-request-body-that-is-long'));
    const frags: Uint8Array[] = [];
    for (let off = 0; off < seg.length; off += 24) {
      frags.push(ipv4({ protocol: PROTO.TCP, id: 3, fragmentOffset: off, moreFragments: off + 24 < seg.length }, seg.subarray(off, off + 24)));
    }
    let r = s.feed(frags[0]!);
    for (const f of frags.slice(1)) r = s.feed(f);
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.out.dstPort).toBe(2379);
    expect(r.payload).toBe('etcd-request-body-that-is-long');
  });
});

group('IPv6 fragment reassembly', () => {
  it('in order and reversed', () => {
    for (const reverse of [false, true]) {
      const s = session();
      const frags = v6Fragments(UDP_DGRAM, 16);
      if (reverse) frags.reverse();
      for (let i = 0; i < frags.length - 1; i++) expect(s.feed(frags[i]!).status).toBe(DecodeStatus.FRAGMENT_HELD);
      const r = s.feed(frags[frags.length - 1]!);
      expect(r.status).toBe(DecodeStatus.OK);
      expect(r.out.ipVersion).toBe(6);
      expect(r.out.protocol).toBe(17);
      expect(r.src).toBe('fd00::1');
      expect(r.payload).toBe(TEXT);
      expect(r.out.reassembled).toBe(true);
    }
  });

  it('overlap first-wins and timeout', () => {
    const s = session();
    const [a, b, c] = v6Fragments(UDP_DGRAM, 16);
    const evil = ipv6({ nextHeader: PROTO.FRAGMENT }, concat(frag6(PROTO.UDP, 8, true, 0xdeadbeef), ascii('YYYYYYYYYYYYYYYY')));
    s.feed(a!);
    s.feed(evil);
    s.feed(c!);
    const r = s.feed(b!);
    expect(r.payload).toBe(TEXT.slice(0, 8) + 'YYYYYYYY' + TEXT.slice(16));
    expect(r.anomalies.get('ip.fragment_overlap')).toBe(2);

    const t = session();
    t.feed(a!, 10);
    t.feed(ipv6({ nextHeader: PROTO.UDP }, udp(1, 2, ascii('x'))), 100);
    expect(t.anomalies.get('ip.fragment_timeout')).toBe(1);
  });
});
