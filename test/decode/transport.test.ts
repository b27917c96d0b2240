import { describe as group, expect, it } from 'vitest';
import { DecodeStatus, TcpFlag } from '../../src/decode/packet';
import { LinkType } from '../../src/ingest/frame';
import { ascii, bytes, decodeOnce, ipv4, ipv6, PROTO, tcp, udp } from './builders';

const raw = (p: Uint8Array, origLen?: number) => decodeOnce(p, LinkType.RAW, undefined, origLen);

group('TCP', () => {
  it('SYN options: MSS, SACK permitted, timestamps, NOP, window scale', () => {
    // MSS 1460 | SACK-permitted | TS val/ecr | NOP | WS 7  (20 bytes of options, Linux's SYN layout)
    const options = bytes(
      0x02, 0x04, 0x05, 0xb4,
      0x04, 0x02, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0,
      0x01, 0x03, 0x03, 0x07,
    );
    const r = raw(ipv4({ protocol: PROTO.TCP }, tcp({ sport: 51000, dport: 6443, seq: 0xfffffff0, flags: TcpFlag.SYN, window: 64240, options })));
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.out.mss).toBe(1460);
    expect(r.out.windowScale).toBe(7);
    expect(r.out.seq).toBe(0xfffffff0); // unsigned, no sign flip
    expect(r.out.window).toBe(64240);
    expect(r.out.tcpFlags).toBe(TcpFlag.SYN);
    expect(r.out.payloadLength).toBe(0);
    expect(r.anomalies.total).toBe(0);
  });

  it('ignores MSS / window scale outside a SYN, clamps a shift above 14', () => {
    const opts = bytes(0x02, 0x04, 0x05, 0xb4, 0x03, 0x03, 0x0e, 0x00);
    const ack = raw(ipv4({ protocol: PROTO.TCP }, tcp({ sport: 1, dport: 2, flags: TcpFlag.ACK, options: opts })));
    expect(ack.out.mss).toBe(0);
    expect(ack.out.windowScale).toBe(-1);
    const big = bytes(0x03, 0x03, 0x1f, 0x00);
    const syn = raw(ipv4({ protocol: PROTO.TCP }, tcp({ sport: 1, dport: 2, flags: TcpFlag.SYN | TcpFlag.ACK, options: big })));
    expect(syn.out.windowScale).toBe(14);
  });

  it('counts malformed options (zero length, wrong MSS length, running past the header)', () => {
    for (const options of [bytes(0x08, 0x00, 0, 0), bytes(0x02, 0x03, 0x05, 0x01), bytes(0x01, 0x08, 0x0a, 0)]) {
      const r = raw(ipv4({ protocol: PROTO.TCP }, tcp({ sport: 1, dport: 2, flags: TcpFlag.SYN, options }, ascii('x'))));
      expect(r.status).toBe(DecodeStatus.OK);
      expect(r.anomalies.get('tcp.bad_option')).toBe(1);
      expect(r.payload).toBe('x');
    }
  });

  it('data offset below 5 or beyond the segment', () => {
    const low = raw(ipv4({ protocol: PROTO.TCP }, tcp({ sport: 1, dport: 2, dataOffset: 4 })));
    expect(low.status).toBe(DecodeStatus.MALFORMED);
    expect(low.anomalies.get('tcp.bad_data_offset')).toBe(1);
    const high = raw(ipv4({ protocol: PROTO.TCP }, tcp({ sport: 1, dport: 2, dataOffset: 15 }, ascii('abc'))));
    expect(high.anomalies.get('tcp.bad_data_offset')).toBe(1);
    const short = raw(ipv4({ protocol: PROTO.TCP }, bytes(0, 1, 0, 2, 0, 0)));
    expect(short.anomalies.get('tcp.truncated')).toBe(1);
  });

  it('payload over IPv6 with the right bounds', () => {
    const r = raw(ipv6({ nextHeader: PROTO.TCP }, tcp({ sport: 2379, dport: 40000, flags: TcpFlag.PSH | TcpFlag.ACK, ack: 0x80000000 }, ascii('{"k":1}'))));
    expect(r.payload).toBe('{"k":1}');
    expect(r.out.ack).toBe(0x80000000);
    expect(r.out.data.length).toBeGreaterThanOrEqual(r.out.payloadOffset + r.out.payloadLength);
  });
});

group('UDP', () => {
  it('payload follows the UDP length, not trailing bytes', () => {
    const r = raw(ipv4({ protocol: PROTO.UDP }, udp(53, 33000, ascii('answer++'), 8 + 6)));
    expect(r.status).toBe(DecodeStatus.OK);
    expect(r.payload).toBe('answer');
    expect(r.anomalies.total).toBe(0);
  });

  it('length below 8 is malformed; beyond the datagram is counted unless snaplen cut it', () => {
    expect(raw(ipv4({ protocol: PROTO.UDP }, udp(1, 2, ascii('abc'), 7))).anomalies.get('udp.bad_length')).toBe(1);
    const long = raw(ipv4({ protocol: PROTO.UDP }, udp(1, 2, ascii('abc'), 30)));
    expect(long.status).toBe(DecodeStatus.OK);
    expect(long.payload).toBe('abc');
    expect(long.anomalies.get('udp.bad_length')).toBe(1);
    const full = ipv4({ protocol: PROTO.UDP }, udp(1, 2, ascii('abcdef')));
    const cut = raw(full.subarray(0, full.length - 2), full.length);
    expect(cut.payload).toBe('abcd');
    expect(cut.out.truncatedBytes).toBe(2);
    expect(cut.anomalies.total).toBe(0);
    expect(raw(ipv4({ protocol: PROTO.UDP }, bytes(0, 53, 0))).anomalies.get('udp.truncated')).toBe(1);
  });
});
