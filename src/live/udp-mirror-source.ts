import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { Frame } from '../ingest/frame';
import { TunnelFrameBuilder, ipv4ToNumber, type MirrorKind } from './tunnel-frame';
import type { LiveCounters } from './live-status';

/** Datagrams waiting for the engine at most; beyond, new ones are dropped and counted as ours. */
export const MAX_QUEUED_DATAGRAMS = 65_536;
/** Bytes waiting for the engine at most. */
export const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** Time one drain turn may take before yielding to the socket and timers. */
const DRAIN_SLICE_MS = 20;
/** Kernel receive buffer asked for: mirror targets get bursts. */
const RECV_BUFFER_BYTES = 8 * 1024 * 1024;

export interface UdpListen {
  kind: MirrorKind;
  address: string;
  port: number;
}

/** Parses `[ADDR:]PORT` (IPv6 as `[::1]:PORT`); the address defaults to every IPv4 address. */
export function parseListen(kind: MirrorKind, text: string): UdpListen | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]:|([^:]+):)?(\d{1,5})$/.exec(text.trim());
  if (m === null) return null;
  const port = Number(m[3]);
  if (port > 65535) return null; // 0: any free port (reported once bound)
  return { kind, address: m[1] ?? m[2] ?? '0.0.0.0', port };
}

/**
 * Receives mirrored traffic (VXLAN, Geneve, TZSP) on a UDP socket, no libpcap. Datagrams go into a
 * bounded ring (the socket cannot be paused); the ring is drained into `sink` in time slices. When the
 * ring is full we drop and count: losing packets visibly beats growing without bound.
 */
export class UdpMirrorSource {
  private readonly socket: Socket;
  private readonly builder: TunnelFrameBuilder;
  private readonly msgs: (Buffer | null)[] = new Array<Buffer | null>(MAX_QUEUED_DATAGRAMS).fill(null);
  private readonly ts = new Float64Array(MAX_QUEUED_DATAGRAMS);
  private readonly src = new Uint32Array(MAX_QUEUED_DATAGRAMS);
  private readonly srcPort = new Uint16Array(MAX_QUEUED_DATAGRAMS);
  private head = 0;
  private count = 0;
  private queuedBytes = 0;
  private draining = false;
  private readonly dst: number;
  private closed = false;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;
  /** Set when the socket could not be bound. */
  failure: string | null = null;

  constructor(
    readonly listen: UdpListen,
    private readonly sink: (frame: Frame) => void,
    private readonly counters: LiveCounters,
  ) {
    this.builder = new TunnelFrameBuilder(listen.kind);
    this.dst = ipv4ToNumber(listen.address);
    this.socket = createSocket({ type: listen.address.includes(':') ? 'udp6' : 'udp4', recvBufferSize: RECV_BUFFER_BYTES });
    this.socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.enqueue(msg, rinfo));
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Binds the socket; resolves with the bound port, or null (and `failure`) when it cannot. */
  start(): Promise<number | null> {
    return new Promise((resolve) => {
      this.socket.once('error', (e) => {
        this.failure = `cannot listen for ${this.listen.kind} on ${this.listen.address}:${this.listen.port}: ${e.message}`;
        resolve(null);
        this.stop();
      });
      this.socket.bind(this.listen.port, this.listen.address, () => resolve(this.socket.address().port));
    });
  }

  /** Stops receiving; the queue is drained before `finished` resolves. */
  stop(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket.close();
    } catch {
      // already closed after a bind error
    }
    this.scheduleDrain();
  }

  /** Resolves once stopped and every queued datagram went to the sink. */
  get finished(): Promise<void> {
    return this.done;
  }

  private enqueue(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.count >= MAX_QUEUED_DATAGRAMS || this.queuedBytes + msg.length > MAX_QUEUED_BYTES) {
      this.counters.ourDrops++;
      return;
    }
    const i = (this.head + this.count) % MAX_QUEUED_DATAGRAMS;
    this.msgs[i] = msg; // Node gives each datagram its own buffer: kept, not copied.
    this.ts[i] = Date.now();
    this.src[i] = ipv4ToNumber(rinfo.address);
    this.srcPort[i] = rinfo.port;
    this.count++;
    this.queuedBytes += msg.length;
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    const until = Date.now() + DRAIN_SLICE_MS;
    let n = 0;
    while (this.count > 0) {
      const i = this.head;
      const msg = this.msgs[i]!;
      this.msgs[i] = null;
      this.head = (i + 1) % MAX_QUEUED_DATAGRAMS;
      this.count--;
      this.queuedBytes -= msg.length;
      const frame = this.builder.build(msg, this.src[i]!, this.dst, this.srcPort[i]!, this.ts[i]!);
      if (frame !== null) this.sink(frame);
      if ((++n & 255) === 0 && Date.now() >= until) break;
    }
    this.draining = false;
    if (this.count > 0) this.scheduleDrain();
    else if (this.closed) this.resolveDone();
  }
}
