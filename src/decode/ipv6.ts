import type { AnomalyCounter } from '../anomalies';
import { DecodeStatus } from './packet';
import { u16be, u32be } from './bytes';

const FIXED_HEADER = 40;
/** Extension headers followed before the chain is declared malformed (real stacks send 0 to 3). */
export const MAX_IPV6_EXTENSION_HEADERS = 16;

export const IpProto = {
  HOP_BY_HOP: 0,
  IPIP: 4,
  TCP: 6,
  UDP: 17,
  IPV6: 41,
  ROUTING: 43,
  FRAGMENT: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  NO_NEXT: 59,
  DEST_OPTIONS: 60,
  MOBILITY: 135,
  HIP: 139,
  SHIM6: 140,
} as const;

/**
 * IPv6 fixed header and extension-header chain (RFC 8200). Stops at the first header that is not
 * an extension header (the transport), at a non-atomic fragment header (the rest is only whole in
 * the reassembled datagram), or at ESP / No Next Header (nothing readable follows).
 */
export class Ipv6Header {
  hopLimit = 0;
  /** Protocol of what follows the chain (or the fragment's next header when `isFragment`). */
  protocol = 0;
  payloadOffset = 0;
  /** End of the datagram within the buffer: min(payload length, captured bytes). */
  end = 0;
  /** Datagram length as declared (fixed header + payload length), or as captured when that is 0. */
  totalLength = 0;
  missing = 0;
  isFragment = false;
  fragmentOffset = 0;
  moreFragments = false;
  fragmentId = 0;

  constructor(private readonly anomalies: AnomalyCounter) {}

  parse(buf: Uint8Array, off: number, end: number, snapTruncated: boolean): number {
    if (end - off < FIXED_HEADER) {
      this.anomalies.add('ip.truncated');
      return DecodeStatus.MALFORMED;
    }
    if (buf[off] >> 4 !== 6) {
      this.anomalies.add('ip.bad_version');
      return DecodeStatus.MALFORMED;
    }
    const payloadLength = u16be(buf, off + 4);
    let next = buf[off + 6];
    this.hopLimit = buf[off + 7];
    this.isFragment = false;
    this.missing = 0;
    this.totalLength = FIXED_HEADER + payloadLength;
    if (payloadLength === 0 && end - off > FIXED_HEADER) {
      // Jumbogram (RFC 2675, length in a hop-by-hop option) or a large send captured before
      // segmentation offload (Linux BIG TCP leaves 0): trust the capture.
      if (next !== IpProto.HOP_BY_HOP) this.anomalies.add('ip.zero_total_length');
      this.totalLength = end - off;
      this.end = end;
    } else if (off + this.totalLength > end) {
      this.missing = off + this.totalLength - end;
      if (!snapTruncated) this.anomalies.add('ip.bad_total_length');
      this.end = end;
    } else {
      this.end = off + this.totalLength;
    }
    const limit = this.end;
    let p = off + FIXED_HEADER;
    for (let count = 0; ; count++) {
      if (count > MAX_IPV6_EXTENSION_HEADERS) return this.badChain(snapTruncated);
      switch (next) {
        case IpProto.HOP_BY_HOP:
        case IpProto.ROUTING:
        case IpProto.DEST_OPTIONS:
        case IpProto.MOBILITY:
        case IpProto.HIP:
        case IpProto.SHIM6: {
          if (limit - p < 8) return this.badChain(snapTruncated);
          const len = (buf[p + 1] + 1) * 8;
          if (p + len > limit) return this.badChain(snapTruncated);
          next = buf[p];
          p += len;
          break;
        }
        case IpProto.AH: {
          if (limit - p < 8) return this.badChain(snapTruncated);
          const len = (buf[p + 1] + 2) * 4;
          if (p + len > limit) return this.badChain(snapTruncated);
          next = buf[p];
          p += len;
          break;
        }
        case IpProto.FRAGMENT: {
          if (limit - p < 8) return this.badChain(snapTruncated);
          const fo = u16be(buf, p + 2);
          next = buf[p];
          this.fragmentOffset = fo & 0xfff8;
          this.moreFragments = (fo & 1) !== 0;
          this.fragmentId = u32be(buf, p + 4);
          p += 8;
          // An atomic fragment (offset 0, no more) is a whole datagram: keep walking.
          if (this.fragmentOffset !== 0 || this.moreFragments) {
            this.isFragment = true;
            this.protocol = next;
            this.payloadOffset = p;
            return DecodeStatus.OK;
          }
          break;
        }
        default:
          this.protocol = next;
          this.payloadOffset = p;
          return DecodeStatus.OK;
      }
    }
  }

  private badChain(snapTruncated: boolean): number {
    this.anomalies.add(snapTruncated && this.missing > 0 ? 'ip.truncated' : 'ipv6.bad_extension_header');
    return DecodeStatus.MALFORMED;
  }
}
