import type { DecodedPacket } from '../decode/packet';
import type { PacketStamp } from './packet-stamp';

/**
 * Copies of one packet captured at several points: `tcpdump -i any` on a node records a packet once
 * on each interface it crosses (a pod's veth, the bridge, the uplink), and a mirror of both
 * directions of two ports records it twice. Counted again, every copy would inflate the flow's
 * packets and bytes and read as a retransmission.
 *
 * A copy is the same IP packet within DUPLICATE_WINDOW_S: same addresses, ports, protocol, IPv4
 * identification, TCP sequence and acknowledgement numbers, flags, payload length and transport
 * checksum (which covers the payload and the TCP options). The TTL is left out: a routed copy has
 * one less. A real retransmission differs: it is sent at least a round trip later with a new IPv4
 * identification and, with TCP timestamps (Linux's default), a new checksum.
 *
 * Recent packets are remembered in a small table indexed by a hash of that signature (a new packet
 * takes its slot), so the test costs one hash and one comparison, and nothing is allocated.
 */
export const DUPLICATE_WINDOW_S = 0.005;
const SLOTS = 512;
const MASK = SLOTS - 1;

export class DuplicateFilter {
  private readonly src: Int32Array;
  private readonly dst: Int32Array;
  private readonly addr = new Int32Array(SLOTS);
  private readonly seq = new Int32Array(SLOTS);
  private readonly ack = new Int32Array(SLOTS);
  private readonly idSum = new Int32Array(SLOTS);
  private readonly shape = new Int32Array(SLOTS);
  private readonly ts = new Float64Array(SLOTS).fill(-Infinity);

  constructor(private readonly pkt: DecodedPacket) {
    // Word views of the packet's 16-byte address arrays, made once (each array starts its own buffer).
    this.src = new Int32Array(pkt.src.buffer, pkt.src.byteOffset, 4);
    this.dst = new Int32Array(pkt.dst.buffer, pkt.dst.byteOffset, 4);
  }

  /**
   * True when the decoded packet, captured at `at`, is a copy of one seen within the window; otherwise
   * it is remembered.
   */
  isDuplicate(at: PacketStamp): boolean {
    const ts = at.ts;
    const p = this.pkt;
    const s = this.src;
    const d = this.dst;
    let addr = s[0]! ^ Math.imul(d[0]!, 0x9e3779b1);
    if (p.ipVersion === 6) addr ^= Math.imul(s[1]! ^ s[2]! ^ s[3]!, 0x85ebca6b) ^ Math.imul(d[1]! ^ d[2]! ^ d[3]!, 0xc2b2ae35);
    addr ^= Math.imul((p.srcPort << 16) | p.dstPort, 0x27d4eb2f);
    const seq = p.seq | 0;
    const ack = p.ack | 0;
    const idSum = (p.ipId << 16) | p.l4Checksum;
    const shape = (p.payloadLength << 16) ^ (p.tcpFlags << 8) ^ p.protocol;
    let h = addr ^ Math.imul(seq, 0x165667b1) ^ Math.imul(ack ^ idSum, 0xd3a2646c) ^ shape;
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    const i = h & MASK;
    if (this.addr[i] === addr && this.seq[i] === seq && this.ack[i] === ack && this.idSum[i] === idSum && this.shape[i] === shape) {
      const dt = ts - this.ts[i]!;
      if (dt <= DUPLICATE_WINDOW_S && dt >= -DUPLICATE_WINDOW_S) return true;
    }
    this.addr[i] = addr;
    this.seq[i] = seq;
    this.ack[i] = ack;
    this.idSum[i] = idSum;
    this.shape[i] = shape;
    this.ts[i] = ts;
    return false;
  }
}
