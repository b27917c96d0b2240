import type { AnomalyCounter } from '../anomalies';
import { DecodeStatus } from './packet';
import { u16be } from './bytes';

const MIN_HEADER = 20;
const OPT_END = 0;
const OPT_NOP = 1;
const FLAG_MF = 0x2000;
const OFFSET_MASK = 0x1fff;

/**
 * IPv4 header checks (RFC 791). Results are left in fields; one instance is reused for every packet.
 * `end` respects the total length, so Ethernet padding never reaches the transport layer.
 */
export class Ipv4Header {
  headerLength = 0;
  totalLength = 0;
  protocol = 0;
  ttl = 0;
  id = 0;
  /** Fragment offset in bytes. */
  fragmentOffset = 0;
  moreFragments = false;
  /** Offset of the transport header. */
  payloadOffset = 0;
  /** End of the datagram within the buffer: min(total length, captured bytes). */
  end = 0;
  /** Declared bytes missing from the capture. */
  missing = 0;

  /** When true the header checksum is verified and `ip.bad_checksum` counted (never dropped). */
  constructor(private readonly anomalies: AnomalyCounter, private readonly verifyChecksum: boolean) {}

  /**
   * `snapTruncated` tells a frame cut by the capture's snaplen (expected, not an anomaly) from a
   * datagram whose total length claims bytes the frame never had (malformed).
   */
  parse(buf: Uint8Array, off: number, end: number, snapTruncated: boolean): number {
    if (end - off < MIN_HEADER) {
      this.anomalies.add('ip.truncated');
      return DecodeStatus.MALFORMED;
    }
    const vihl = buf[off];
    if (vihl >> 4 !== 4) {
      this.anomalies.add('ip.bad_version');
      return DecodeStatus.MALFORMED;
    }
    const hlen = (vihl & 0x0f) * 4;
    if (hlen < MIN_HEADER) {
      this.anomalies.add('ip.bad_header_length');
      return DecodeStatus.MALFORMED;
    }
    if (off + hlen > end) {
      this.anomalies.add(snapTruncated ? 'ip.truncated' : 'ip.bad_header_length');
      return DecodeStatus.MALFORMED;
    }
    let total = u16be(buf, off + 2);
    if (total === 0) {
      // Captured on the sending host before TCP segmentation offload: the length is filled in later.
      this.anomalies.add('ip.zero_total_length');
      total = end - off;
    } else if (total < hlen) {
      this.anomalies.add('ip.bad_total_length');
      return DecodeStatus.MALFORMED;
    }
    this.missing = 0;
    if (off + total > end) {
      this.missing = off + total - end;
      if (!snapTruncated) this.anomalies.add('ip.bad_total_length');
      this.end = end;
    } else {
      this.end = off + total;
    }
    this.headerLength = hlen;
    this.totalLength = total;
    this.ttl = buf[off + 8];
    this.protocol = buf[off + 9];
    this.id = u16be(buf, off + 4);
    const frag = u16be(buf, off + 6);
    this.fragmentOffset = (frag & OFFSET_MASK) * 8;
    this.moreFragments = (frag & FLAG_MF) !== 0;
    this.payloadOffset = off + hlen;
    if (hlen > MIN_HEADER) this.checkOptions(buf, off + MIN_HEADER, off + hlen);
    if (this.verifyChecksum && !checksumOk(buf, off, hlen)) this.anomalies.add('ip.bad_checksum');
    return DecodeStatus.OK;
  }

  /** Walks the options only to validate their lengths: none of them changes how we decode. */
  private checkOptions(buf: Uint8Array, p: number, end: number): void {
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
      p += len;
    }
    if (p !== end) this.anomalies.add('ip.bad_option');
  }
}

/**
 * RFC 1071 ones'-complement sum over the header; a valid header sums to 0xffff. Bytes are summed
 * as even/odd lanes (the carry folds make this equal to summing 16-bit words), which is cheaper
 * than assembling each word.
 */
function checksumOk(buf: Uint8Array, off: number, hlen: number): boolean {
  let hi = 0;
  let lo = 0;
  const end = off + hlen;
  for (let i = off; i < end; i += 2) {
    hi += buf[i];
    lo += buf[i + 1];
  }
  let sum = (hi << 8) + lo;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}
