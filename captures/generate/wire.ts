/**
 * An in-memory wire: two connected Duplex ends. Every write is first recorded on the TcpConnection
 * (so the capture shows it in the order the stacks produced it), then delivered to the other end.
 * Node 20 has no stream.duplexPair, hence this small pair.
 */
import { Duplex } from 'node:stream';
import type { TcpConnection } from './capture.js';

/** Rewrites what the client sends (used to make a client reject a handshake); null drops it. */
export type WriteFilter = (chunk: Buffer, index: number) => Buffer | null;

export class WireEnd extends Duplex {
  peer: WireEnd | null = null;
  writes = 0;
  private readonly pending: Buffer[] = [];

  constructor(
    private readonly wire: Wire,
    private readonly isClient: boolean,
  ) {
    super({ allowHalfOpen: true });
  }

  override _read(): void {}

  // Socket methods node:http and node:http2 call on their transports; meaningless on a memory wire.
  setKeepAlive(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }

  /**
   * Writes made in the same turn of the event loop leave as one burst, as a kernel socket buffer
   * would send them (node:http2 writes every frame separately).
   */
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending.push(chunk);
    if (this.pending.length === 1) setImmediate(() => this.flushPending());
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    setImmediate(() => {
      this.flushPending();
      this.peer?.push(null);
      cb();
    });
  }

  private flushPending(): void {
    if (this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending.length = 0;
    const out = this.wire.record(this.isClient, chunk, this.writes++);
    if (out && this.peer && !this.wire.conn.isClosed) this.peer.push(out);
  }
}

export class Wire {
  readonly client: WireEnd;
  readonly server: WireEnd;
  clientFilter: WriteFilter | null = null;
  /** Count of writes from either side; `settle()` waits until it stops moving. */
  activity = 0;

  constructor(readonly conn: TcpConnection) {
    this.client = new WireEnd(this, true);
    this.server = new WireEnd(this, false);
    this.client.peer = this.server;
    this.server.peer = this.client;
  }

  record(fromClient: boolean, chunk: Buffer, index: number): Buffer | null {
    this.activity++;
    let out: Buffer | null = chunk;
    if (fromClient && this.clientFilter) out = this.clientFilter(chunk, index);
    if (out) this.conn.data(fromClient, out);
    return out;
  }

  /** Wait until neither side has written anything for a while (handshakes, tickets, GOAWAY…). */
  async settle(): Promise<void> {
    let last = -1;
    while (last !== this.activity) {
      last = this.activity;
      for (let i = 0; i < 8; i++) await new Promise<void>((r) => setImmediate(r));
      await new Promise<void>((r) => setTimeout(r, 2));
    }
  }
}

/**
 * A plain Duplex in front of a TLS socket. node:http2 cannot drive a TLSSocket that itself runs over a
 * JavaScript stream, so the HTTP/2 session talks to this bridge and the bridge to the TLS socket.
 */
export class Bridge extends Duplex {
  constructor(private readonly inner: Duplex) {
    super({ allowHalfOpen: true });
    inner.on('data', (c: Buffer) => this.push(c));
    inner.on('end', () => this.push(null));
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.inner.write(chunk, () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    cb();
  }

  setKeepAlive(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}
