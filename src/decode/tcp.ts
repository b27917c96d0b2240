import type { AnomalyCounter } from '../anomalies';
import { DecodeStatus, TcpFlag, type DecodedPacket } from './packet';
import { u16be, u32be } from './bytes';

const MIN_HEADER = 20;
const OPT_END = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;
const OPT_WSCALE = 3;
/** RFC 7323: shifts above 14 are treated as 14. */
const MAX_WINDOW_SCALE = 14;

/**
 * TCP header (RFC 9293) into the DecodedPacket. `end` is the end of the segment as far as it was
 * captured; `missing` > 0 means the IP layer declared more bytes than the capture holds.
 */
export class TcpDecoder {
  constructor(private readonly anomalies: AnomalyCounter) {}

  decode(buf: Uint8Array, off: number, end: number, missing: number, out: DecodedPacket): number {
    if (end - off < MIN_HEADER) {
      this.anomalies.add('tcp.truncated');
      return DecodeStatus.MALFORMED;
    }
    const doff = (buf[off + 12] >> 4) * 4;
    if (doff < MIN_HEADER) {
      this.anomalies.add('tcp.bad_data_offset');
      return DecodeStatus.MALFORMED;
    }
    if (off + doff > end) {
      // Beyond what was captured but within the declared length is a snaplen cut, not a bad offset.
      this.anomalies.add(off + doff <= end + missing ? 'tcp.truncated' : 'tcp.bad_data_offset');
      return DecodeStatus.MALFORMED;
    }
    out.srcPort = u16be(buf, off);
    out.dstPort = u16be(buf, off + 2);
    out.seq = u32be(buf, off + 4);
    out.ack = u32be(buf, off + 8);
    out.tcpFlags = buf[off + 13];
    out.window = u16be(buf, off + 14);
    out.l4Checksum = u16be(buf, off + 16);
    out.mss = 0;
    out.windowScale = -1;
    if (doff > MIN_HEADER) this.parseOptions(buf, off + MIN_HEADER, off + doff, out);
    out.data = buf;
    out.payloadOffset = off + doff;
    out.payloadLength = end - (off + doff);
    return DecodeStatus.OK;
  }

  /** MSS and window scale are only meaningful in a SYN (RFC 9293 §3.7.1, RFC 7323 §2.2). */
  private parseOptions(buf: Uint8Array, p: number, end: number, out: DecodedPacket): void {
    const syn = (out.tcpFlags & TcpFlag.SYN) !== 0;
    while (p < end) {
      const kind = buf[p];
      if (kind === OPT_END) return;
      if (kind === OPT_NOP) {
        p++;
        continue;
      }
      if (p + 1 >= end) break;
      const len = buf[p + 1];
      if (len < 2 || p + len > end) break;
      if (kind === OPT_MSS) {
        if (len !== 4) break;
        if (syn) out.mss = u16be(buf, p + 2);
      } else if (kind === OPT_WSCALE) {
        if (len !== 3) break;
        if (syn) out.windowScale = Math.min(buf[p + 2], MAX_WINDOW_SCALE);
      }
      p += len;
    }
    if (p !== end) this.anomalies.add('tcp.bad_option');
  }
}
