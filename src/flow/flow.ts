import { AnomalyCounter, type AnomalyCode } from '../anomalies';
import type { AppSession } from '../model/flow-record';
import type { Direction } from './direction';
import type { PacketStamp } from './packet-stamp';
import type { StreamHandler } from './stream-handler';
import { EndpointState, HISTORY_CHARS, HISTORY_CHARS_RESP, HistoryLetter } from './tcp-state';
import type { AnomalyTarget, TcpReassembler } from './tcp-reassembler';
import type { DnsLog } from '../../dissectors/dns/dns-log';

/**
 * One bidirectional flow. Created once per flow by the flow table and updated in place per packet
 * (every field initialised here so the shape is stable). It is also the handler reassembly delivers
 * to: it accounts gaps and forwards to the application session, which is detached if it throws.
 */
export class Flow implements StreamHandler, AnomalyTarget {
  /** Sequence number within the engine (ids are built from it when a record is made). */
  n = 0;
  /** Flow table hash (30 bits). */
  hash = 0;
  ipVersion: 4 | 6 = 4;
  protocol = 0;
  readonly clientAddr = new Uint8Array(16);
  readonly serverAddr = new Uint8Array(16);
  clientPort = 0;
  serverPort = 0;
  // Lookup keys of the endpoints, set by the flow table (see FlowTable.hashOf).
  clientKey = 0;
  clientPortKey = 0;
  serverKey = 0;
  serverPortKey = 0;
  /** Roles were inferred from ports because no SYN / SYN-ACK opened the flow (TCP). */
  midstream = false;

  packets0 = 0;
  packets1 = 0;
  bytes0 = 0;
  bytes1 = 0;
  payload0 = 0;
  payload1 = 0;
  missing0 = 0;
  missing1 = 0;
  firstTs = 0;
  lastTs = 0;
  firstFrame = 0;
  lastFrame = 0;

  history = '';
  historyMask = 0;
  state0: number = EndpointState.INACTIVE;
  state1: number = EndpointState.INACTIVE;
  /** Reported already (FIN both ways or RST); kept briefly so trailing packets attach here. */
  closed = false;

  vlan = 0;
  tunnelType = 0;
  tunnelId = -1;
  outerIpVersion = 0;
  outerSrc: Uint8Array | null = null;
  outerDst: Uint8Array | null = null;

  // Table links: hash chain, and the LRU (open) or linger (closed) list.
  bucketNext: Flow | null = null;
  listPrev: Flow | null = null;
  listNext: Flow | null = null;
  /** When the flow was last moved to the tail of the activity list: packet count and capture time. */
  listStamp = 0;
  listTs = 0;

  reassembler: TcpReassembler | null = null;
  /** Receives the stream; null when there is none or it was detached after throwing. */
  session: AppSession | null = null;
  /** Asked for evidence at the end; kept after a detach so what was found is not lost. */
  describer: AppSession | null = null;
  anomalies: AnomalyCounter | null = null;
  /** DNS transactions of a UDP flow on port 53 (null: none). */
  dns: DnsLog | null = null;
  communityId: string | null = null;
  /**
   * Initial sequence numbers of the client's SYN and the server's SYN-ACK; for a connection picked
   * up midstream, the client's and the server's sequence numbers as its first packet gives them
   * (-1: not seen).
   */
  clientIsn = -1;
  serverIsn = -1;
  /** Shared with the flow that is this connection seen on the other side of a NAT (NatLinker). */
  natLink: string | null = null;
  /** This flow is the view of such a connection captured second: connection counts leave it out. */
  natRepeat = false;

  constructor(private readonly captureAnomalies: AnomalyCounter) {}

  /** Counts an anomaly for this flow and for the capture. */
  add(code: AnomalyCode, n = 1): void {
    if (this.anomalies === null) this.anomalies = new AnomalyCounter();
    this.anomalies.add(code, n);
    this.captureAnomalies.add(code, n);
  }

  addHistory(dir: Direction, letter: number): void {
    const bit = 1 << (letter + (dir << 3));
    if ((this.historyMask & bit) !== 0) return;
    this.historyMask |= bit;
    this.history += dir === 0 ? HISTORY_CHARS[letter] : HISTORY_CHARS_RESP[letter];
  }

  onData(dir: Direction, data: Uint8Array, start: number, end: number, at: PacketStamp): void {
    const s = this.session;
    if (s === null) return;
    try {
      s.onData(dir, data, start, end, at);
    } catch {
      this.detach();
    }
  }

  onGap(dir: Direction, bytes: number): void {
    if (dir === 0) this.missing0 += bytes;
    else this.missing1 += bytes;
    this.addHistory(dir, HistoryLetter.GAP);
    const s = this.session;
    if (s === null) return;
    try {
      s.onGap(dir, bytes);
    } catch {
      this.detach();
    }
  }

  onEnd(dir: Direction): void {
    const s = this.session;
    if (s === null) return;
    try {
      s.onEnd(dir);
    } catch {
      this.detach();
    }
  }

  /** A session that threw is not called again for this flow; what it found so far is kept. */
  private detach(): void {
    this.add('dissector.exception');
    this.session = null;
  }
}
