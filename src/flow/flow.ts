import { AnomalyCounter, type AnomalyCode } from '../anomalies';
import type { AppSession } from '../model/flow-record';
import type { Direction } from './direction';
import type { OuterTunnel } from './outer-tunnel';
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
  /**
   * An IPv6 flow's addresses, client's then server's (32 bytes); null for IPv4, whose addresses the
   * lookup keys hold exactly. Two typed arrays per flow cost more than the rest of a closed flow, and
   * a capture of a scan or a flood holds hundreds of thousands of flows (see clientAddr).
   */
  addr6: Uint8Array | null = null;
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
  /**
   * Reported already (FINs both ways acknowledged, or RST); kept briefly so trailing packets attach
   * here.
   */
  closed = false;
  /**
   * The FINs of a TCP connection: bit 1 << direction set when that side's FIN was seen (`finSeen`)
   * and when the other side acknowledged it (`finAcked`); `finEnd0`/`finEnd1`, the sequence number
   * after each FIN. A connection closed by FINs ends when both are acknowledged.
   */
  finSeen = 0;
  finAcked = 0;
  finEnd0 = 0;
  finEnd1 = 0;
  /** FINs seen both ways, not both acknowledged yet (FlowTable.markClosing). */
  awaitingFinAcks = false;
  /** Capture time at which it began to wait. */
  closingSince = 0;

  vlan = 0;
  /** The outermost tunnel its first packet came in; null for none. */
  tunnel: OuterTunnel | null = null;
  /** The direction (0: from the client) of that first packet. */
  tunnelDir = 0;
  /**
   * A tunnelled flow whose other direction has not come through a tunnel yet: its first packet that
   * does gives `otherTunnel` (a VTEP sends the replies in an outer connection of its own).
   */
  otherTunnelPending = false;
  otherTunnel: OuterTunnel | null = null;

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

  /**
   * Opens the application session when the first bytes (or gap) of the connection are delivered,
   * then is cleared: a connection attempt, a scan's probe or a refused connection never carries a
   * byte, and a session made for each would hold memory for nothing (see Engine.openSession).
   */
  sessionOpener: SessionOpener | null = null;
  /** Position in the flow table's queue of connection attempts (-1: not queued). */
  attemptSlot = -1;

  constructor(private readonly captureAnomalies: AnomalyCounter) {}

  /** The client's address: 4 bytes (IPv4) or 16 (IPv6), a new array (made when a flow is reported). */
  get clientAddr(): Uint8Array {
    return this.addr6 !== null ? this.addr6.slice(0, 16) : ipv4FromKeys(this.clientKey, this.clientPortKey);
  }

  /** The server's address, as clientAddr. */
  get serverAddr(): Uint8Array {
    return this.addr6 !== null ? this.addr6.slice(16, 32) : ipv4FromKeys(this.serverKey, this.serverPortKey);
  }

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
    const s = this.session ?? this.openSession();
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
    const s = this.session ?? this.openSession();
    if (s === null) return;
    try {
      s.onGap(dir, bytes);
    } catch {
      this.detach();
    }
  }

  /** An end without a byte before it opens no session: it would have had nothing to say. */
  onEnd(dir: Direction): void {
    const s = this.session;
    if (s === null) return;
    try {
      s.onEnd(dir);
    } catch {
      this.detach();
    }
  }

  private openSession(): AppSession | null {
    const o = this.sessionOpener;
    if (o === null) return null;
    this.sessionOpener = null;
    o.openSession(this);
    return this.session;
  }

  /** A session that threw is not called again for this flow; what it found so far is kept. */
  private detach(): void {
    this.add('dissector.exception');
    this.session = null;
  }
}

/** Makes a flow's application session when its first bytes arrive (sets `session` and `describer`). */
export interface SessionOpener {
  openSession(flow: Flow): void;
}

/**
 * The IPv4 address of a flow endpoint from its lookup keys (see FlowTable.hashOf): the key holds the
 * address's 30 high bits, the port key its 2 low bits above the port. Padded to 16 bytes with zeros,
 * as the decoder's address arrays are.
 */
function ipv4FromKeys(key: number, portKey: number): Uint8Array {
  const w = ((key << 2) | ((portKey >>> 16) & 3)) >>> 0;
  const a = new Uint8Array(16);
  a[0] = w >>> 24;
  a[1] = (w >>> 16) & 0xff;
  a[2] = (w >>> 8) & 0xff;
  a[3] = w & 0xff;
  return a;
}
