import type { AnomalyCounter } from '../anomalies';
import { DecodeStatus, type DecodedPacket } from './packet';
import { u16be } from './bytes';

const HEADER = 8;

/** UDP header (RFC 768) into the DecodedPacket; the payload follows the UDP length field. */
export class UdpDecoder {
  constructor(private readonly anomalies: AnomalyCounter) {}

  /** `missing` > 0: the IP layer declared more bytes than were captured (snaplen). */
  decode(buf: Uint8Array, off: number, end: number, missing: number, out: DecodedPacket): number {
    if (end - off < HEADER) {
      this.anomalies.add('udp.truncated');
      return DecodeStatus.MALFORMED;
    }
    const len = u16be(buf, off + 4);
    if (len < HEADER) {
      this.anomalies.add('udp.bad_length');
      return DecodeStatus.MALFORMED;
    }
    let stop = off + len;
    if (stop > end) {
      // Longer than the datagram: expected when the capture cut it, malformed otherwise.
      if (stop > end + missing) this.anomalies.add('udp.bad_length');
      stop = end;
    }
    out.srcPort = u16be(buf, off);
    out.dstPort = u16be(buf, off + 2);
    out.l4Checksum = u16be(buf, off + 6);
    out.data = buf;
    out.payloadOffset = off + HEADER;
    out.payloadLength = stop - (off + HEADER);
    return DecodeStatus.OK;
  }
}
