import type { Direction } from '../../src/flow/direction';
import type { PacketStamp } from '../../src/flow/packet-stamp';
import { ProbeResult, type AnomalySink, type Dissector, type DissectorFactory } from '../types';
import { DnsLog, type DnsTransaction } from './dns-log';

/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): each message after a two-byte length. Resolvers use it
 * for answers too large for a datagram, zone transfers, and by choice (NodeLocal DNSCache forwards
 * the cluster zone to CoreDNS over TCP by default). Messages go to the same per-flow log as UDP
 * datagrams do; a message longer than MAX_MESSAGE_BYTES is skipped by its length, unread.
 */

/** Longest message read; longer ones (a zone transfer's) are skipped. */
export const MAX_MESSAGE_BYTES = 16384;
/** A DNS header is 12 bytes. */
const HEADER_BYTES = 12;

const ST_LENGTH = 0;
const ST_MESSAGE = 1;
const ST_SKIP = 2;
const ST_DEAD = 3;

class DnsTcpDirection {
  state = ST_LENGTH;
  /** Bytes of the length prefix read so far, and its value. */
  lengthBytes = 0;
  length = 0;
  remaining = 0;
  readonly buf = new Uint8Array(MAX_MESSAGE_BYTES);
  bufLen = 0;
}

export class DnsTcpDissector implements Dissector<DnsTransaction[]> {
  readonly id = 'dns' as const;
  private readonly log = new DnsLog();
  private readonly dirs: [DnsTcpDirection, DnsTcpDirection] = [new DnsTcpDirection(), new DnsTcpDirection()];

  constructor(private readonly anomaly: AnomalySink) {}

  feed(dir: Direction, data: Uint8Array, start: number, end: number, at: PacketStamp): void {
    const d = this.dirs[dir];
    let pos = start;
    while (pos < end && d.state !== ST_DEAD) {
      if (d.state === ST_LENGTH) {
        d.length = (d.length << 8) | data[pos++]!;
        if (++d.lengthBytes < 2) continue;
        d.lengthBytes = 0;
        const length = d.length;
        d.length = 0;
        if (length < HEADER_BYTES) {
          // Not a DNS message: the stream's framing cannot be trusted from here.
          this.anomaly('dns.malformed');
          d.state = ST_DEAD;
        } else if (length > MAX_MESSAGE_BYTES) {
          d.remaining = length;
          d.state = ST_SKIP;
        } else {
          d.remaining = length;
          d.bufLen = 0;
          d.state = ST_MESSAGE;
        }
        continue;
      }
      const n = Math.min(d.remaining, end - pos);
      if (d.state === ST_MESSAGE) {
        d.buf.set(data.subarray(pos, pos + n), d.bufLen);
        d.bufLen += n;
      }
      d.remaining -= n;
      pos += n;
      if (d.remaining > 0) continue;
      if (d.state === ST_MESSAGE) {
        const code = this.log.add(d.buf, 0, d.bufLen, at.ts, at.frame, false);
        if (code !== null) this.anomaly(code);
      }
      d.state = ST_LENGTH;
    }
  }

  gap(dir: Direction, bytes: number): void {
    const d = this.dirs[dir];
    // A gap inside a message being skipped keeps the framing; anywhere else it is lost.
    if (d.state === ST_SKIP && bytes < d.remaining) d.remaining -= bytes;
    else d.state = ST_DEAD;
  }

  end(_dir: Direction): void {}

  result(): DnsTransaction[] {
    return this.log.transactions;
  }
}

/**
 * A client's first bytes look like a DNS query: a length that fits a message, then a header with the
 * QR bit clear, a standard query or notify opcode and one question. Strict, since it is tried on every
 * port: TLS (0x16 0x03…) and HTTP fail it on the length alone.
 */
export function probeDnsTcp(dir: Direction, data: Uint8Array, start: number, end: number): ProbeResult {
  if (dir !== 0) return ProbeResult.NO_MATCH;
  if (end - start < 2 + HEADER_BYTES) return ProbeResult.NEED_MORE;
  const length = (data[start]! << 8) | data[start + 1]!;
  if (length < HEADER_BYTES + 5 || length > 4096) return ProbeResult.NO_MATCH;
  const flags = data[start + 4]!;
  const qr = flags & 0x80;
  const opcode = (flags >> 3) & 0x0f;
  const qd = (data[start + 6]! << 8) | data[start + 7]!;
  const an = (data[start + 8]! << 8) | data[start + 9]!;
  if (qr !== 0 || (opcode !== 0 && opcode !== 4) || qd !== 1 || an > 1) return ProbeResult.NO_MATCH;
  return ProbeResult.MATCH;
}

export const dnsTcpFactory: DissectorFactory<DnsTransaction[]> = {
  id: 'dns',
  probe: probeDnsTcp,
  create: (anomaly: AnomalySink) => new DnsTcpDissector(anomaly),
};
