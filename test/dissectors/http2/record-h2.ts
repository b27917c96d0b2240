import http2 from 'node:http2';
import { Duplex } from 'node:stream';
import type { Segment } from '../http/helpers';

/**
 * Runs a real node:http2 client and server over an in-memory socket pair and records the bytes
 * each side wrote, in order, as they would appear in a capture.
 */
class Pipe extends Duplex {
  peer: Pipe | null = null;
  constructor(private readonly dir: 0 | 1, private readonly log: Segment[]) {
    super();
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.log.push({ dir: this.dir, bytes: new Uint8Array(chunk) });
    const peer = this.peer;
    setImmediate(() => { peer?.push(chunk); cb(); });
  }
  override _final(cb: () => void): void {
    const peer = this.peer;
    setImmediate(() => { peer?.push(null); cb(); });
  }
  // http2 calls these on net.Socket-like objects.
  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }
  setTimeout(): this { return this; }
  ref(): this { return this; }
  unref(): this { return this; }
}

export type Exchange = (client: http2.ClientHttp2Session) => Promise<void>;

export async function recordHttp2(
  handler: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
  exchange: Exchange,
): Promise<Segment[]> {
  const log: Segment[] = [];
  const c = new Pipe(0, log);
  const s = new Pipe(1, log);
  c.peer = s;
  s.peer = c;
  const server = http2.createServer();
  server.on('stream', handler);
  server.emit('connection', s);
  const client = http2.connect('http://kube-apiserver:6443', { createConnection: () => c as unknown as import('node:net').Socket });
  await exchange(client);
  await new Promise<void>((resolve) => client.close(() => resolve()));
  await new Promise((r) => setTimeout(r, 20));
  server.close();
  return log;
}

/** Sends a request and waits for the whole response. */
export function request(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = client.request(headers, { endStream: body === undefined });
    let status = 0;
    req.on('response', (h) => { status = Number(h[':status']); });
    req.on('data', () => {});
    req.on('end', () => resolve(status));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}
