import { Frame, LinkType } from '../ingest/frame';
import { UdpPort } from '../decode/tunnels';

export type MirrorKind = 'vxlan' | 'geneve' | 'tzsp';

/** Largest UDP payload a datagram can carry over IPv4. */
export const MAX_DATAGRAM = 65_507;
const IP_HEADER = 20;
const UDP_HEADER = 8;

/** The port the decoder recognises each tunnel by, whatever port we listen on. */
export const DECODER_PORT: Record<MirrorKind, number> = { vxlan: UdpPort.VXLAN, geneve: UdpPort.GENEVE, tzsp: UdpPort.TZSP };

/**
 * Puts a received tunnel datagram behind a synthetic IPv4 + UDP header (raw-IP link type) so the
 * ordinary packet decoder peels the tunnel exactly as it does in a capture file. One buffer and one
 * Frame are reused for every datagram.
 */
export class TunnelFrameBuilder {
  readonly frame = new Frame();
  private readonly buf = new Uint8Array(IP_HEADER + UDP_HEADER + MAX_DATAGRAM);
  private readonly dstPort: number;
  private number = 0;

  constructor(kind: MirrorKind) {
    this.dstPort = DECODER_PORT[kind];
    this.frame.linkType = LinkType.RAW;
  }

  /**
   * Builds the frame for `payload` sent by `src` (IPv4 as a 32-bit number; 0 when unknown or IPv6)
   * to `dst`, received at `tsMs`. Returns null for an oversized datagram.
   */
  build(payload: Uint8Array, src: number, dst: number, srcPort: number, tsMs: number): Frame | null {
    const n = payload.length;
    if (n > MAX_DATAGRAM) return null;
    const b = this.buf;
    const total = IP_HEADER + UDP_HEADER + n;
    b[0] = 0x45;
    b[1] = 0;
    b[2] = total >>> 8;
    b[3] = total & 0xff;
    b[4] = 0; b[5] = 0; b[6] = 0x40; b[7] = 0; // id 0, don't fragment
    b[8] = 64;
    b[9] = 17;
    b[10] = 0; b[11] = 0;
    writeU32(b, 12, src);
    writeU32(b, 16, dst);
    let sum = 0;
    for (let i = 0; i < IP_HEADER; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    const ck = ~sum & 0xffff;
    b[10] = ck >>> 8;
    b[11] = ck & 0xff;
    b[20] = srcPort >>> 8;
    b[21] = srcPort & 0xff;
    b[22] = this.dstPort >>> 8;
    b[23] = this.dstPort & 0xff;
    const ulen = UDP_HEADER + n;
    b[24] = ulen >>> 8;
    b[25] = ulen & 0xff;
    b[26] = 0; b[27] = 0; // no UDP checksum (allowed over IPv4)
    b.set(payload, IP_HEADER + UDP_HEADER);
    const f = this.frame;
    f.data = b.subarray(0, total);
    f.origLen = total;
    f.tsSec = Math.floor(tsMs / 1000);
    f.tsNsec = Math.round((tsMs - f.tsSec * 1000) * 1e6);
    if (f.tsNsec > 999_999_999) f.tsNsec = 999_999_999;
    f.number = ++this.number;
    return f;
  }
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** Dotted-quad IPv4 to a 32-bit number; 0 for anything else (IPv6 senders). */
export function ipv4ToNumber(ip: string): number {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip.startsWith('::ffff:') ? ip.slice(7) : ip);
  if (m === null) return 0;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}
