import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AnomalyCounter } from '../anomalies';
import { formatIp } from '../decode/address';
import { DecodeStatus, DecodedPacket } from '../decode/packet';
import { PacketDecoder, type PacketDecoderOptions } from '../decode/packet-decoder';
import { FdSink } from '../export/byte-sink';
import { PcapWriter } from '../export/pcap-writer';
import { MutableStamp } from '../flow/packet-stamp';
import type { Frame } from '../ingest/frame';

/** Packets kept per flow: the start of a connection holds the handshake and the requests. */
export const MAX_EVIDENCE_PACKETS = 64;
/** Bytes kept per flow. */
export const MAX_EVIDENCE_BYTES_PER_FLOW = 512 * 1024;
/** Flows whose packets are kept at once; the oldest are forgotten beyond. */
export const MAX_EVIDENCE_FLOWS = 4096;
/** Bytes kept over all flows. */
export const MAX_EVIDENCE_BYTES = 128 * 1024 * 1024;

/** The first packets of one flow. */
class PacketRing {
  readonly data: Uint8Array[] = [];
  readonly tsSec: number[] = [];
  readonly tsUsec: number[] = [];
  readonly origLen: number[] = [];
  bytes = 0;
  written = false;

  constructor(
    readonly key: string,
    readonly hash: number,
    readonly linkType: number,
  ) {}
}

/** Canonical text of a connection, the same from either direction. */
export function connectionKey(proto: string, ipA: string, portA: number, ipB: string, portB: number): string {
  const a = `${ipA}|${portA}`;
  const b = `${ipB}|${portB}`;
  return a < b ? `${proto}|${a}|${b}` : `${proto}|${b}|${a}`;
}

/**
 * `--evidence DIR`: keeps the first packets of every recent flow, and writes a flow's packets to
 * `DIR/<flow>.pcap` when it raises a finding, so incident responders get the packets behind it.
 * Decodes each frame itself (the engine keeps its flows private); allocation happens only for the
 * kept copies, which are capped per flow and in total.
 */
export class EvidenceRecorder {
  private readonly decoder: PacketDecoder;
  private readonly pkt = new DecodedPacket();
  private readonly now = new MutableStamp();
  private readonly byHash = new Map<number, PacketRing>();
  private readonly byKey = new Map<string, PacketRing>();
  private totalBytes = 0;
  /** Files written so far. */
  files = 0;

  /** `decoder`: decoded as the capture is (its `--decode-as` ports). */
  constructor(private readonly dir: string, decoder?: PacketDecoderOptions) {
    this.decoder = new PacketDecoder(new AnomalyCounter(), decoder);
    mkdirSync(dir, { recursive: true });
  }

  /** Records `frame` if its flow still has room. */
  add(frame: Frame): void {
    const p = this.pkt;
    if (this.decoder.decodeBytes(frame.buf, frame.start, frame.end, frame.linkType, this.now.set(frame.ts, frame.number), p, frame.origLen) !== DecodeStatus.OK) return;
    if (p.protocol !== 6 && p.protocol !== 17) return;
    const h = symmetricHash(p);
    let ring = this.byHash.get(h);
    if (ring === undefined) {
      const proto = p.protocol === 6 ? 'tcp' : 'udp';
      const key = connectionKey(proto, formatIp(p.src, p.ipVersion), p.srcPort, formatIp(p.dst, p.ipVersion), p.dstPort);
      ring = new PacketRing(key, h, frame.linkType);
      this.byHash.set(h, ring);
      const prev = this.byKey.get(key);
      if (prev !== undefined) this.forget(prev);
      this.byKey.set(key, ring);
      this.evict();
    }
    if (ring.written || ring.data.length >= MAX_EVIDENCE_PACKETS) return;
    const n = frame.caplen;
    if (ring.bytes + n > MAX_EVIDENCE_BYTES_PER_FLOW || frame.linkType !== ring.linkType) return;
    ring.data.push(frame.buf.slice(frame.start, frame.end));
    ring.tsSec.push(frame.tsSec);
    ring.tsUsec.push(Math.floor(frame.tsNsec / 1000));
    ring.origLen.push(frame.origLen);
    ring.bytes += n;
    this.totalBytes += n;
    this.evict();
  }

  /**
   * Writes the kept packets of a flow that raised a finding (once per flow). Returns the file written,
   * or null when the flow's packets are not (or no longer) kept.
   */
  write(flowKey: string, transport: string, clientIp: string, clientPort: number, serverIp: string, serverPort: number): string | null {
    const ring = this.byKey.get(connectionKey(transport, clientIp, clientPort, serverIp, serverPort));
    if (ring === undefined || ring.written || ring.data.length === 0) return null;
    const file = join(this.dir, `${flowKey.replace(/[^A-Za-z0-9_.-]/g, '_')}.pcap`);
    const sink = FdSink.open(file);
    const w = new PcapWriter(sink, ring.linkType);
    for (let i = 0; i < ring.data.length; i++) w.writePacket(ring.tsSec[i]!, ring.tsUsec[i]!, ring.data[i]!, ring.origLen[i]!);
    w.close(); // flushes and closes the sink
    ring.written = true;
    // The packets are on disk now: free them.
    this.totalBytes -= ring.bytes;
    ring.data.length = 0;
    ring.bytes = 0;
    this.files++;
    return file;
  }

  private evict(): void {
    while (this.byHash.size > MAX_EVIDENCE_FLOWS || this.totalBytes > MAX_EVIDENCE_BYTES) {
      const oldest = this.byKey.values().next().value as PacketRing | undefined;
      if (oldest === undefined) return;
      this.forget(oldest);
    }
  }

  private forget(ring: PacketRing): void {
    this.byKey.delete(ring.key);
    if (this.byHash.get(ring.hash) === ring) this.byHash.delete(ring.hash);
    this.totalBytes -= ring.bytes;
  }
}

/** Order-independent hash of the 5-tuple (collisions only mix two flows' evidence, rarely). */
function symmetricHash(p: DecodedPacket): number {
  const n = p.ipVersion === 4 ? 4 : 16;
  let a = 0x811c9dc5;
  let b = 0x811c9dc5;
  for (let i = 0; i < n; i++) {
    a = Math.imul(a ^ p.src[i]!, 0x01000193);
    b = Math.imul(b ^ p.dst[i]!, 0x01000193);
  }
  a = Math.imul(a ^ p.srcPort, 0x01000193);
  b = Math.imul(b ^ p.dstPort, 0x01000193);
  return ((a ^ b) + p.protocol) | 0;
}
