import fc from 'fast-check';
import { describe as group, expect, it } from 'vitest';
import { AnomalyCounter } from '../../src/anomalies';
import { DecodedPacket, DecodeStatus } from '../../src/decode/packet';
import { PacketDecoder } from '../../src/decode/packet-decoder';
import { LinkType } from '../../src/ingest/frame';
import { ascii, ETH, ethernet, frag6, gre, ipv4, ipv6, PROTO, tcp, udp, vxlan, concat } from './builders';

const LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 239, 276, 147, 65535];
const STATUSES: number[] = Object.values(DecodeStatus);

/** Checks the invariants every decode must keep, whatever the input. */
function checkResult(status: number, out: DecodedPacket): void {
  expect(STATUSES).toContain(status);
  if (status === DecodeStatus.OK) {
    expect(out.payloadOffset).toBeGreaterThanOrEqual(0);
    expect(out.payloadLength).toBeGreaterThanOrEqual(0);
    expect(out.payloadOffset + out.payloadLength).toBeLessThanOrEqual(out.data.length);
  }
}

// Valid frames to mutate: mutations near real structure reach deeper code than random bytes.
const SEEDS: Array<[Uint8Array, number]> = [
  [ethernet(ETH.IPV4, ipv4({ protocol: PROTO.TCP, options: Uint8Array.from([1, 1, 1, 0]) }, tcp({ sport: 1, dport: 2, options: Uint8Array.from([2, 4, 5, 0xb4]) }, ascii('abc')))), LinkType.ETHERNET],
  [ethernet(ETH.IPV4, ipv4({ protocol: PROTO.UDP }, udp(1, 4789, vxlan(1, ethernet(ETH.IPV6, ipv6({ nextHeader: PROTO.UDP }, udp(3, 4, ascii('x')))))))), LinkType.ETHERNET],
  [ipv4({ protocol: PROTO.GRE }, gre({ protocol: 0x88be, sequence: 1, key: 3 }, concat(Uint8Array.from([0x10, 0, 0, 1, 0, 0, 0, 0]), ethernet(ETH.IPV4, ipv4({ protocol: PROTO.TCP }, tcp({ sport: 5, dport: 6 })))))), LinkType.RAW],
  [ipv6({ nextHeader: PROTO.FRAGMENT }, concat(frag6(PROTO.UDP, 0, true, 1), udp(1, 2, ascii('0123456789abcdef')))), LinkType.RAW],
  [ipv4({ protocol: PROTO.UDP, moreFragments: true }, udp(1, 2, ascii('01234567'))), LinkType.RAW],
];

group('decoder robustness (property)', () => {
  it('random bytes with any link type never throw and keep payload bounds', () => {
    const anomalies = new AnomalyCounter();
    const decoder = new PacketDecoder(anomalies);
    const out = new DecodedPacket();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(...LINK_TYPES), fc.double({ min: 0, max: 1e6, noNaN: true }), (data, lt, ts) => {
        checkResult(decoder.decode(data, lt, ts, out), out);
      }),
      { numRuns: 3000 },
    );
  });

  it('mutated valid frames (byte flips, cuts, snaplen) never throw; reassembly stays bounded', () => {
    const anomalies = new AnomalyCounter();
    const decoder = new PacketDecoder(anomalies, { fragments: { maxDatagrams: 16 } });
    const out = new DecodedPacket();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: SEEDS.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        fc.boolean(),
        (seed, flips, cut, snap) => {
          const [frame, lt] = SEEDS[seed]!;
          const data = frame.slice();
          for (const [pos, v] of flips) data[pos % data.length] = v;
          const len = snap ? cut % (data.length + 1) : data.length;
          checkResult(decoder.decode(data.subarray(0, len), lt, 0, out, data.length), out);
          expect(decoder.pendingFragments).toBeLessThanOrEqual(16);
        },
      ),
      { numRuns: 3000 },
    );
    decoder.flush();
    expect(decoder.pendingFragments).toBe(0);
  });
});
