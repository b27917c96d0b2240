import type { Direction } from '../../src/flow/direction';
import type { PacketStamp } from '../../src/flow/packet-stamp';
import type { SshInfo, SshKexLists } from '../../src/model/records';
import type { AnomalySink, Dissector, DissectorFactory } from '../types';
import {
  SSH_MSG_KEXINIT,
  SSH_MSG_NEWKEYS,
  hasshAlgorithms,
  hasshOf,
  hasshServerAlgorithms,
  parseKexInit,
} from './kexinit';
import { probeSsh } from './ssh-probe';

/** RFC 4253 §4.2: the identification line is at most 255 bytes including CR LF. */
export const MAX_BANNER_LINE = 255;
/** Lines a peer may send before its `SSH-` line before we give up on the direction. */
export const MAX_LINES_BEFORE_BANNER = 64;
/** Bytes a peer may send before its `SSH-` line (a line without LF would otherwise never end). */
export const MAX_PRE_BANNER_BYTES = 16 * 1024;
/** RFC 4253 §6.1: implementations must handle 35000-byte packets; larger lengths mean desync. */
export const MAX_PACKET_LENGTH = 35000;
/** packet_length (4) + padding_length (1) + message type (1). */
const PACKET_HEADER = 6;

const LF = 0x0a;
const CR = 0x0d;

/** Per-direction parser states (Suricata style: explicit, resumable at any byte). */
const ST_BANNER = 0;
const ST_HEADER = 1;
const ST_COLLECT = 2; // KEXINIT payload bytes being kept
const ST_SKIP = 3; // rest of a packet skipped by length
const ST_OPAQUE = 4; // encrypted, SSH-1, or lost framing: count bytes only

const utf8 = new TextDecoder('utf-8');

/** One direction of an SSH connection. Fields are all set here so the shape never changes. */
class SshHalf {
  state = ST_BANNER;
  bytes = 0;
  // Banner wait: the current line's first MAX_BANNER_LINE bytes.
  readonly line = new Uint8Array(MAX_BANNER_LINE);
  lineLen = 0;
  lineTotal = 0;
  linesBefore = 0;
  preBannerBytes = 0;
  banner: string | null = null;
  protocol: string | null = null;
  // Binary packets.
  readonly header = new Uint8Array(PACKET_HEADER);
  headerLen = 0;
  msgType = 0;
  payloadLeft = 0; // payload bytes after the type byte still to come in this packet
  paddingLeft = 0;
  packetFrame = 0;
  collect: Uint8Array | null = null;
  collectLen = 0;
  kexSeen = false;
  kex: SshKexLists | null = null;
  algorithms: string | null = null;
  fingerprint: string | null = null;
  /** Frame holding the (end of the) NEWKEYS packet header: encryption starts after it. */
  encryptedFrame = 0;
}

/** SSH 1.x other than 1.99 uses a different packet format we do not walk. */
function isSsh1(protocol: string | null): boolean {
  return protocol !== null && protocol.startsWith('1.') && protocol !== '1.99';
}

/**
 * SSH transport dissector: identification strings, KEXINIT lists both ways with HASSH and
 * HASSHServer, and where each direction switches to encryption (NEWKEYS). Afterwards, and for SSH-1,
 * it only counts bytes: encrypted packet lengths cannot be walked.
 */
export class SshDissector implements Dissector<SshInfo> {
  readonly id = 'ssh' as const;
  private readonly halves: [SshHalf, SshHalf];
  private readonly anomaly: AnomalySink;

  constructor(anomaly: AnomalySink) {
    this.anomaly = anomaly;
    this.halves = [new SshHalf(), new SshHalf()];
  }

  feed(dir: Direction, data: Uint8Array, start: number, end: number, at: PacketStamp): void {
    const h = this.halves[dir];
    if (end > data.length) end = data.length;
    if (start < 0) start = 0;
    if (end <= start) return;
    h.bytes += end - start;
    let i = start;
    while (i < end) {
      switch (h.state) {
        case ST_BANNER:
          i = this.feedBanner(dir, h, data, i, end);
          break;
        case ST_HEADER: {
          // Byte loop, not subarray(): no view object per packet header.
          const hd = h.header;
          while (i < end && h.headerLen < PACKET_HEADER) hd[h.headerLen++] = data[i++]!;
          if (h.headerLen === PACKET_HEADER) this.startPacket(h, at.frame);
          break;
        }
        case ST_COLLECT: {
          const take = Math.min(h.payloadLeft, end - i);
          h.collect!.set(data.subarray(i, i + take), h.collectLen);
          h.collectLen += take;
          h.payloadLeft -= take;
          i += take;
          if (h.payloadLeft === 0) {
            this.finishKexInit(h);
            this.afterPayload(h);
          }
          break;
        }
        case ST_SKIP: {
          const left = h.payloadLeft + h.paddingLeft;
          const take = Math.min(left, end - i);
          i += take;
          if (take === left) {
            h.payloadLeft = 0;
            h.paddingLeft = 0;
            this.endPacket(h);
          } else if (take <= h.payloadLeft) {
            h.payloadLeft -= take;
          } else {
            h.paddingLeft -= take - h.payloadLeft;
            h.payloadLeft = 0;
          }
          break;
        }
        default:
          return; // ST_OPAQUE: bytes already counted
      }
    }
  }

  gap(dir: Direction, _bytes: number): void {
    // Framing is lost; SSH has no resynchronisation point before encryption, and none after.
    this.halves[dir].state = ST_OPAQUE;
    this.halves[dir].collect = null;
  }

  end(_dir: Direction): void {
    // Nothing pending: a half-read banner or packet is simply not reported.
  }

  result(): SshInfo {
    const c = this.halves[0];
    const s = this.halves[1];
    return {
      clientBanner: c.banner,
      serverBanner: s.banner,
      clientProtocol: c.protocol,
      serverProtocol: s.protocol,
      hassh: c.fingerprint,
      hasshAlgorithms: c.algorithms,
      hasshServer: s.fingerprint,
      hasshServerAlgorithms: s.algorithms,
      clientKex: c.kex,
      serverKex: s.kex,
      encryptedFromFrame: [c.encryptedFrame, s.encryptedFrame],
      bytes: [c.bytes, s.bytes],
    };
  }

  /** Consumes banner-wait bytes up to and including one LF; returns the next index. */
  private feedBanner(dir: Direction, h: SshHalf, data: Uint8Array, i: number, end: number): number {
    let j = i;
    while (j < end && data[j] !== LF) j++;
    const n = j - i;
    const room = MAX_BANNER_LINE - h.lineLen;
    const take = n < room ? n : room;
    const line = h.line;
    for (let k = 0; k < take; k++) line[h.lineLen++] = data[i + k]!;
    h.lineTotal += n;
    if (j === end) {
      if (h.preBannerBytes + h.lineTotal > MAX_PRE_BANNER_BYTES) this.giveUpBanner(h);
      return end;
    }
    this.endLine(dir, h);
    return j + 1;
  }

  private giveUpBanner(h: SshHalf): void {
    this.anomaly('ssh.no_banner');
    h.state = ST_OPAQUE;
  }

  /** A full line (LF seen) in banner wait: either the identification string or a line before it. */
  private endLine(dir: Direction, h: SshHalf): void {
    const total = h.lineTotal + 1; // with the LF
    const l = h.line;
    const isBanner = h.lineLen >= 4 && l[0] === 0x53 && l[1] === 0x53 && l[2] === 0x48 && l[3] === 0x2d;
    if (!isBanner) {
      h.linesBefore++;
      h.preBannerBytes += total;
      h.lineLen = 0;
      h.lineTotal = 0;
      if (h.linesBefore > MAX_LINES_BEFORE_BANNER || h.preBannerBytes > MAX_PRE_BANNER_BYTES) this.giveUpBanner(h);
      return;
    }
    if (total > MAX_BANNER_LINE) this.anomaly('ssh.banner_too_long');
    let len = h.lineLen;
    // Strip the CR of CR LF only when the line was kept whole (else the CR was never stored).
    if (h.lineTotal === h.lineLen && len > 0 && l[len - 1] === CR) len--;
    h.banner = utf8.decode(l.subarray(0, len));
    // "SSH-protoversion-softwareversion SP comments"
    const dash = h.banner.indexOf('-', 4);
    h.protocol = dash > 4 ? h.banner.slice(4, dash) : h.banner.slice(4);
    h.lineLen = 0;
    h.lineTotal = 0;
    h.state = isSsh1(h.protocol) ? ST_OPAQUE : ST_HEADER;
    // A server offering 1.99 to an SSH-1 client speaks SSH-1 on this connection.
    const other = this.halves[dir === 0 ? 1 : 0];
    if (dir === 1 && h.state === ST_HEADER && isSsh1(other.protocol)) h.state = ST_OPAQUE;
    if (dir === 0 && isSsh1(h.protocol) && other.state !== ST_BANNER && !other.kexSeen) other.state = ST_OPAQUE;
  }

  private startPacket(h: SshHalf, frame: number): void {
    const hd = h.header;
    const packetLength = ((hd[0]! << 24) >>> 0) + (hd[1]! << 16) + (hd[2]! << 8) + hd[3]!;
    const padding = hd[4]!;
    h.headerLen = 0;
    // The payload must hold at least the type byte: packet_length >= padding_length + 2.
    if (packetLength > MAX_PACKET_LENGTH || packetLength < padding + 2) {
      this.anomaly('ssh.bad_packet_length');
      h.state = ST_OPAQUE;
      return;
    }
    h.msgType = hd[5]!;
    h.packetFrame = frame;
    h.payloadLeft = packetLength - padding - 2;
    h.paddingLeft = padding;
    if (h.msgType === SSH_MSG_KEXINIT && !h.kexSeen) {
      h.collect = new Uint8Array(h.payloadLeft);
      h.collectLen = 0;
      h.state = ST_COLLECT;
      if (h.payloadLeft === 0) {
        this.finishKexInit(h);
        this.afterPayload(h);
      }
      return;
    }
    h.state = ST_SKIP;
    if (h.payloadLeft + h.paddingLeft === 0) this.endPacket(h);
  }

  private finishKexInit(h: SshHalf): void {
    const buf = h.collect!;
    h.collect = null;
    h.kexSeen = true;
    const parsed = parseKexInit(buf, 0, h.collectLen);
    if (parsed === null) {
      this.anomaly('ssh.malformed_kexinit');
      return;
    }
    if (!parsed.complete) this.anomaly('ssh.malformed_kexinit');
    h.kex = parsed.lists;
    h.algorithms = h === this.halves[0] ? hasshAlgorithms(parsed) : hasshServerAlgorithms(parsed);
    h.fingerprint = hasshOf(h.algorithms);
  }

  /** Payload done; skip the padding (and, before NEWKEYS, there is no MAC). */
  private afterPayload(h: SshHalf): void {
    h.state = ST_SKIP;
    if (h.paddingLeft === 0) this.endPacket(h);
  }

  private endPacket(h: SshHalf): void {
    if (h.msgType === SSH_MSG_NEWKEYS) {
      h.encryptedFrame = h.packetFrame;
      h.state = ST_OPAQUE;
      return;
    }
    h.state = ST_HEADER;
  }
}

export const sshFactory: DissectorFactory<SshInfo> = {
  id: 'ssh',
  probe: probeSsh,
  create: (anomaly: AnomalySink) => new SshDissector(anomaly),
};
