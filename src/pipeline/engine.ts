import { AnomalyCounter, type AnomalyCode } from '../anomalies';
import { formatIp } from '../decode/address';
import { DecodeStatus, DecodedPacket, TcpFlag } from '../decode/packet';
import { PacketDecoder, type PacketDecoderOptions } from '../decode/packet-decoder';
import { DuplicateFilter } from '../flow/duplicate-filter';
import type { Flow, SessionOpener } from '../flow/flow';
import { FlowTable, type FlowExpiry } from '../flow/flow-table';
import { NatLinker } from '../flow/nat-linker';
import { noteOtherTunnel } from '../flow/outer-tunnel';
import { MutableStamp } from '../flow/packet-stamp';
import { MAX_OOO_BYTES_GLOBAL, TcpReassembler } from '../flow/tcp-reassembler';
import { ByteBudget } from '../byte-budget';
import { EndpointState } from '../flow/tcp-state';
import type { Frame } from '../ingest/frame';
import type { AppEvidence, AppSession, FlowMeta, FlowRecord } from '../model/flow-record';
import { EngineStats } from './engine-stats';
import { buildFlowRecord, unknownEvidence } from './flow-record-builder';
import { shardOfPorts, type Shard } from './shard';
import { DnsLog } from '../../dissectors/dns/dns-log';
import { DNS_PORT } from '../../dissectors/dns/dns-message';

export const DEFAULT_IDLE_TIMEOUT = 300;
export const DEFAULT_MAX_FLOWS = 200_000;

export interface EngineOptions {
  /** Seconds of capture time without packets after which a flow ends (default 300). */
  idleTimeout?: number;
  /** Flows kept at most; the least recently active is evicted beyond (default 200 000). */
  maxFlows?: number;
  /** Makes the application session of a new TCP connection (null: none). */
  sessionFactory?: (meta: FlowMeta) => AppSession | null;
  /** Receives every flow once, when it ends. */
  onFlowEnd: (rec: FlowRecord) => void;
  /** Flow ids are `${flowIdPrefix}${n}`, n counting from 1 (default ''). */
  flowIdPrefix?: string;
  /** Index of the capture in the analysis run, stored in every record (default 0). */
  captureIndex?: number;
  /** Counter the capture's anomalies go to (default: a fresh one in `stats`). */
  anomalies?: AnomalyCounter;
  /**
   * Analyse copies of a packet captured on several interfaces as packets of their own (default:
   * each is counted once, see DuplicateFilter).
   */
  keepDuplicates?: boolean;
  /**
   * Analyse only this shard's connections (see shard.ts). Every frame is still decoded; what the
   * capture's frames count (packets, bytes, link types, decoding anomalies) is counted by shard 0
   * alone, so that the shards' counters add up to one thread's.
   */
  shard?: Shard;
  /** How frames are decoded: tunnel ports (`--decode-as`), fragment limits (default: the decoder's defaults). */
  decoder?: PacketDecoderOptions;
}

const PROTO_TCP = 6;
const PROTO_UDP = 17;
const SYN_ACK = TcpFlag.SYN | TcpFlag.ACK;

/**
 * Decoder + flow table + TCP reassembly + application sessions for one capture. Frames go in one at
 * a time; finished flows come out through `onFlowEnd`. Nothing here throws on bad input, and an
 * exception from a session is caught at this boundary (counted, session detached).
 */
export class Engine implements FlowExpiry, SessionOpener {
  readonly stats: EngineStats;
  private readonly decoder: PacketDecoder;
  private readonly pkt = new DecodedPacket();
  /** Time and frame number of the packet being analysed (see PacketStamp: nothing boxed per packet). */
  private readonly now = new MutableStamp();
  private readonly duplicates: DuplicateFilter | null;
  private readonly natLinker = new NatLinker();
  private readonly table: FlowTable;
  private readonly budget = new ByteBudget(MAX_OOO_BYTES_GLOBAL);
  private readonly onFlowEnd: (rec: FlowRecord) => void;
  private readonly sessionFactory: ((meta: FlowMeta) => AppSession | null) | null;
  private readonly idPrefix: string;
  private readonly captureIndex: number;
  private lastLinkType = -1;
  private lastLinkCount = 0;
  /** Shards analysing this capture (1: this engine analyses every connection), and this one's index. */
  private readonly shardCount: number;
  private readonly shardIndex: number;

  constructor(opts: EngineOptions) {
    this.stats = new EngineStats(opts.anomalies ?? new AnomalyCounter());
    this.shardCount = opts.shard?.count ?? 1;
    this.shardIndex = opts.shard?.index ?? 0;
    // Every shard decodes every frame: the decoder's anomalies are shard 0's to count.
    this.decoder = new PacketDecoder(this.shardIndex === 0 ? this.stats.anomalies : new AnomalyCounter(), opts.decoder);
    this.table = new FlowTable(
      { idleTimeout: opts.idleTimeout ?? DEFAULT_IDLE_TIMEOUT, maxFlows: Math.max(1, opts.maxFlows ?? DEFAULT_MAX_FLOWS) },
      this,
      this.stats.anomalies,
    );
    this.onFlowEnd = opts.onFlowEnd;
    this.sessionFactory = opts.sessionFactory ?? null;
    this.idPrefix = opts.flowIdPrefix ?? '';
    this.captureIndex = opts.captureIndex ?? 0;
    this.duplicates = opts.keepDuplicates === true ? null : new DuplicateFilter(this.pkt);
  }

  /** Analyses one frame; `frame` and its bytes are not kept beyond the call. */
  processFrame(frame: Frame): void {
    const stats = this.stats;
    stats.packets++;
    stats.bytes += frame.end - frame.start;
    if (frame.linkType === this.lastLinkType) this.lastLinkCount++;
    else this.switchLinkType(frame.linkType);
    const now = this.now.set(frame.ts, frame.number);
    const pkt = this.pkt;
    const st = this.decoder.decodeBytes(frame.buf, frame.start, frame.end, frame.linkType, now, pkt, frame.origLen);
    if (st !== DecodeStatus.OK) return;
    const proto = pkt.protocol;
    if (proto !== PROTO_TCP && proto !== PROTO_UDP) return;
    if (this.shardCount > 1 && shardOfPorts(pkt.srcPort, pkt.dstPort, this.shardCount) !== this.shardIndex) {
      // Another shard's connection; its time still moves this shard's clock (idle expiry).
      this.table.tick(now);
      return;
    }
    if (this.duplicates !== null && this.duplicates.isDuplicate(now)) {
      stats.anomalies.add('packet.duplicate');
      return;
    }
    stats.analysedPackets++;
    const table = this.table;
    const flow = table.process(pkt, now);
    if (table.isNew) {
      this.startFlow(flow);
      // Picked up midstream: its first packet identifies it as a SYN-ACK would (see FlowTable.create).
      if (flow.midstream && flow.clientIsn >= 0) this.natLinker.handshake(flow);
    }
    if (flow.otherTunnelPending && table.dir !== flow.tunnelDir && pkt.tunnelDepth > 0) noteOtherTunnel(flow, pkt);
    if (flow.closed) {
      if (proto === PROTO_TCP && pkt.payloadLength + pkt.truncatedBytes > 0) stats.anomalies.add('tcp.data_after_close');
      return;
    }
    if (proto !== PROTO_TCP) {
      // UDP payloads are counted; DNS messages are read for the names they give addresses.
      if (pkt.payloadLength > 0 && (pkt.srcPort === DNS_PORT || pkt.dstPort === DNS_PORT)) this.readDns(flow, now);
      return;
    }
    // The SYN-ACK completes both initial sequence numbers: the same connection behind a NAT shares them.
    if ((pkt.tcpFlags & SYN_ACK) === SYN_ACK && table.dir === 1) this.natLinker.handshake(flow);
    // `| 0`: the sequence number as a small integer (an unsigned one from 2^31 up would be boxed).
    flow.reassembler!.segment(table.dir, pkt.seq | 0, pkt.tcpFlags, pkt.data, pkt.payloadOffset, pkt.payloadLength,
      pkt.truncatedBytes, now);
    if (flow.state0 === EndpointState.RESET || flow.state1 === EndpointState.RESET) this.endFlow(flow, 'rst');
    else if (flow.finSeen === 3) {
      // FINs both ways: the connection ends when both are acknowledged (those ACKs are its packets).
      if (flow.finAcked === 3) this.endFlow(flow, 'fin');
      else if (!flow.awaitingFinAcks) table.markClosing(flow, now);
    }
  }

  /**
   * End of input: every open flow ends with 'eof', one waiting for the ACKs of its FINs with 'fin'
   * (pending gaps and ends delivered first).
   */
  finish(): void {
    this.decoder.flush();
    for (const f of this.table.openFlows()) {
      this.finalize(f, 'eof');
      this.table.remove(f);
    }
    this.flushLinkType();
  }

  /** Ends flows idle at capture time `now` without waiting for a packet (live mode's clock). */
  expireIdle(now: number): void {
    this.table.sweep(now);
  }

  /** Records of the flows open now (endReason 'active'), for live views. */
  snapshot(): FlowRecord[] {
    const out: FlowRecord[] = [];
    for (const f of this.table.openFlows()) {
      out.push(buildFlowRecord(f, this.describe(f), 'active', this.idOf(f), this.captureIndex));
    }
    return out;
  }

  /** Counters so far (link types and active flows brought up to date). */
  getStats(): EngineStats {
    this.flushLinkType();
    this.stats.activeFlows = this.table.activeFlows;
    return this.stats;
  }

  /** FlowExpiry: the table ends a flow for idleness or to make room. */
  expire(flow: Flow, reason: 'idle' | 'evicted'): void {
    this.finalize(flow, reason);
  }

  private startFlow(flow: Flow): void {
    const stats = this.stats;
    stats.flows++;
    if (flow.protocol !== PROTO_TCP) {
      stats.udpFlows++;
      return;
    }
    stats.tcpConnections++;
    flow.reassembler = new TcpReassembler(flow, flow, this.budget);
    if (this.sessionFactory !== null) flow.sessionOpener = this;
  }

  /** SessionOpener: the connection's first bytes (or gap) are about to be delivered. */
  openSession(flow: Flow): void {
    if (this.sessionFactory === null) return;
    const meta: FlowMeta = {
      client: { ip: formatIp(flow.clientAddr, flow.ipVersion), port: flow.clientPort },
      server: { ip: formatIp(flow.serverAddr, flow.ipVersion), port: flow.serverPort },
      transport: 'tcp',
    };
    try {
      const s = this.sessionFactory(meta);
      flow.session = s;
      flow.describer = s;
    } catch {
      flow.add('dissector.exception');
    }
  }

  private readDns(flow: Flow, now: MutableStamp): void {
    const pkt = this.pkt;
    const log = (flow.dns ??= new DnsLog());
    const start = pkt.payloadOffset;
    const code = log.add(pkt.data, start, start + pkt.payloadLength, now.ts, now.frame, pkt.truncatedBytes > 0);
    if (code !== null) flow.add(code); // the flow's and the capture's
  }

  /**
   * FINs both ways, both acknowledged, or RST: report at once; the flow lingers closed for
   * trailing packets.
   */
  private endFlow(flow: Flow, reason: 'fin' | 'rst'): void {
    this.finalize(flow, reason);
    this.table.markClosed(flow);
  }

  private finalize(flow: Flow, reason: FlowRecord['endReason']): void {
    if (flow.awaitingFinAcks) {
      // Closed by FINs both ways, whatever ended the wait for their ACKs (their absence, the end
      // of the capture, room needed in the table).
      flow.awaitingFinAcks = false;
      if (reason !== 'rst') reason = 'fin';
    }
    if (flow.reassembler !== null) flow.reassembler.close();
    const evidence = this.describe(flow);
    this.collectSessionAnomalies(flow);
    const rec = buildFlowRecord(flow, evidence, reason, this.idOf(flow), this.captureIndex);
    // Nothing more is delivered to a reported flow: let its buffers and session go.
    flow.reassembler = null;
    flow.session = null;
    flow.describer = null;
    flow.sessionOpener = null;
    this.onFlowEnd(rec);
  }

  /**
   * `${flowIdPrefix}${n}`: n counts the flows from 1, and with shards interleaves them (shard i of k
   * numbers its j-th flow (j-1)·k+i+1), so ids stay unique and short.
   */
  private idOf(flow: Flow): string {
    const n = this.shardCount === 1 ? flow.n : (flow.n - 1) * this.shardCount + this.shardIndex + 1;
    return `${this.idPrefix}${n}`;
  }

  /** The dissectors count their anomalies in the session: they belong to the flow and the capture. */
  private collectSessionAnomalies(flow: Flow): void {
    const counted = flow.session?.anomalies;
    if (!counted) return;
    for (const [code, n] of Object.entries(counted.toJSON())) {
      flow.add(code as AnomalyCode, n);
      this.stats.anomalies.add(code as AnomalyCode, n);
    }
  }

  private describe(flow: Flow): AppEvidence {
    const d = flow.describer;
    if (d === null) return unknownEvidence();
    try {
      return d.describe();
    } catch {
      flow.add('dissector.exception');
      flow.session = null;
      flow.describer = null;
      return unknownEvidence();
    }
  }

  private switchLinkType(linkType: number): void {
    this.flushLinkType();
    this.lastLinkType = linkType;
    this.lastLinkCount = 1;
  }

  private flushLinkType(): void {
    if (this.lastLinkCount === 0) return;
    const m = this.stats.linkTypes;
    m.set(this.lastLinkType, (m.get(this.lastLinkType) ?? 0) + this.lastLinkCount);
    this.lastLinkCount = 0;
  }
}
