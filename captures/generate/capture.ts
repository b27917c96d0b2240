/**
 * The recorder: a virtual clock and a packet list, and per connection the TCP bookkeeping that turns
 * "side X wrote these bytes" into segments a real Linux stack would have sent: three-way handshake
 * with Linux options, MSS-sized segments carrying timestamps, delayed ACKs, FIN or RST close.
 */
import { Prng } from './prng.js';
import {
  buildTcp, buildUdp, synOptions, tsOptions,
  TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN,
} from './ip-packet.js';

/** Payload per segment: 1500 MTU − 20 IP − 20 TCP − 12 timestamp option bytes. */
export const MSS_PAYLOAD = 1448;
const MSS_OPTION = 1460;
const WINDOW = 502; // scaled by 2^7 as announced in the SYN
const SYN_WINDOW = 64240;

export interface CapturedPacket {
  /** Microseconds since the epoch. */
  tsUs: number;
  /** IPv4 packet bytes. */
  ip: Buffer;
  /** True when sent by the connection's client (used for SLL2 packet type and interface splits). */
  fromClient: boolean;
}

export class Capture {
  readonly packets: CapturedPacket[] = [];
  readonly keyLog: string[] = [];
  readonly prng: Prng;
  nowUs: number;
  private ipId: number;

  constructor(prng: Prng, startUs: number) {
    this.prng = prng;
    this.nowUs = startUs;
    this.ipId = prng.int(1, 60000);
  }

  advance(minUs: number, maxUs: number): void {
    this.nowUs += this.prng.int(minUs, maxUs);
  }

  nextIpId(): number {
    this.ipId = (this.ipId + this.prng.int(1, 3)) & 0xffff;
    return this.ipId;
  }

  push(ip: Buffer, fromClient: boolean): void {
    this.packets.push({ tsUs: this.nowUs, ip, fromClient });
  }

  /** A UDP datagram (DNS) between two endpoints. */
  udp(src: string, sport: number, dst: string, dport: number, payload: Uint8Array, fromClient: boolean): void {
    this.push(buildUdp(src, dst, sport, dport, this.nextIpId(), payload), fromClient);
  }
}

class Side {
  seq: number;
  /** Next byte expected from the peer (what this side acknowledges). */
  rcvNxt = 0;
  /** Highest ack this side has sent. */
  ackSent = 0;
  tsBaseMs: number;
  constructor(
    readonly ip: string,
    readonly port: number,
    isn: number,
    tsBase: number,
  ) {
    this.seq = isn;
    this.tsBaseMs = tsBase;
  }
}

export type CloseKind = 'fin' | 'rst';

export class TcpConnection {
  readonly client: Side;
  readonly server: Side;
  /** Bytes each side sent as application data (for truth files and determinism checks). */
  readonly plaintextSizes: number[] = [];
  private closed = false;
  private readonly first: (Buffer | null)[] = [null, null];
  private unackedSegments = [0, 0];
  private pendingAck = [false, false];
  private lastFromClient: boolean | null = null;

  constructor(
    private readonly cap: Capture,
    clientIp: string,
    clientPort: number,
    serverIp: string,
    serverPort: number,
  ) {
    const p = cap.prng;
    this.client = new Side(clientIp, clientPort, p.u32(), p.u32());
    this.server = new Side(serverIp, serverPort, p.u32(), p.u32());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The first line a side sent (SSH identification strings). */
  firstLine(fromClient: boolean): string {
    const b = this.first[fromClient ? 0 : 1];
    if (!b) return '';
    const s = b.toString('latin1');
    const end = s.indexOf('\r\n');
    return end >= 0 ? s.slice(0, end) : s;
  }

  /** SYN, SYN-ACK, ACK. */
  open(): void {
    const c = this.client;
    const s = this.server;
    this.cap.advance(2000, 20000);
    this.emit(true, TCP_SYN, synOptions(MSS_OPTION, this.ts(c), 0), undefined, SYN_WINDOW);
    c.seq = (c.seq + 1) >>> 0;
    s.rcvNxt = c.seq;
    this.cap.advance(80, 400);
    this.emit(false, TCP_SYN | TCP_ACK, synOptions(MSS_OPTION, this.ts(s), this.ts(c)), undefined, 65160);
    s.seq = (s.seq + 1) >>> 0;
    c.rcvNxt = s.seq;
    this.cap.advance(30, 120);
    this.emit(true, TCP_ACK);
  }

  /** Application bytes written by one side; split into MSS segments. */
  data(fromClient: boolean, bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    this.flushAck(!fromClient);
    this.plaintextSizes.push(fromClient ? bytes.length : -bytes.length);
    const i = fromClient ? 0 : 1;
    if (!this.first[i]) this.first[i] = Buffer.from(bytes.subarray(0, 256));
    if (this.lastFromClient === fromClient) this.cap.advance(15, 120);
    else this.cap.advance(120, 1500);
    this.lastFromClient = fromClient;
    const from = fromClient ? this.client : this.server;
    const to = fromClient ? this.server : this.client;
    const receiver = fromClient ? 1 : 0;
    for (let off = 0; off < bytes.length; off += MSS_PAYLOAD) {
      const end = Math.min(bytes.length, off + MSS_PAYLOAD);
      if (off > 0) this.cap.advance(4, 25);
      this.emit(fromClient, TCP_ACK | (end === bytes.length ? TCP_PSH : 0), undefined, bytes.subarray(off, end));
      from.seq = (from.seq + (end - off)) >>> 0;
      to.rcvNxt = from.seq;
      // Linux acknowledges at least every second full-sized segment.
      if (++this.unackedSegments[receiver]! >= 2) {
        this.cap.advance(10, 60);
        this.emit(!fromClient, TCP_ACK);
        this.unackedSegments[receiver] = 0;
      }
    }
    this.pendingAck[receiver] = to.ackSent !== to.rcvNxt;
    this.pendingAck[fromClient ? 0 : 1] = false;
  }

  /** Orderly close (FIN from `byClient`, FIN back, last ACK) or an abort with RST. */
  close(kind: CloseKind, byClient = true): void {
    if (this.closed) return;
    this.flushAck(true);
    this.flushAck(false);
    this.cap.advance(200, 3000);
    const a = byClient ? this.client : this.server;
    const b = byClient ? this.server : this.client;
    if (kind === 'rst') {
      this.emit(byClient, TCP_RST | TCP_ACK);
    } else {
      this.emit(byClient, TCP_FIN | TCP_ACK);
      a.seq = (a.seq + 1) >>> 0;
      b.rcvNxt = a.seq;
      this.cap.advance(60, 400);
      this.emit(!byClient, TCP_FIN | TCP_ACK);
      b.seq = (b.seq + 1) >>> 0;
      a.rcvNxt = b.seq;
      this.cap.advance(30, 120);
      this.emit(byClient, TCP_ACK);
    }
    this.closed = true;
  }

  private flushAck(fromClient: boolean): void {
    const i = fromClient ? 0 : 1;
    if (!this.pendingAck[i]) return;
    this.cap.advance(40, 400); // delayed ACK
    this.emit(fromClient, TCP_ACK);
    this.pendingAck[i] = false;
    this.unackedSegments[i] = 0;
  }

  private ts(side: Side): number {
    return (side.tsBaseMs + Math.floor(this.cap.nowUs / 1000)) >>> 0;
  }

  private emit(fromClient: boolean, flags: number, options?: Buffer, payload?: Uint8Array, window = WINDOW): void {
    const from = fromClient ? this.client : this.server;
    const to = fromClient ? this.server : this.client;
    const opts = options ?? tsOptions(this.ts(from), this.ts(to));
    const ack = flags & TCP_ACK ? from.rcvNxt : 0;
    if (flags & TCP_ACK) from.ackSent = from.rcvNxt;
    this.cap.push(
      buildTcp({
        src: from.ip, dst: to.ip, sport: from.port, dport: to.port,
        seq: from.seq, ack, flags, window, ipId: this.cap.nextIpId(), options: opts, payload,
      }),
      fromClient,
    );
  }
}
