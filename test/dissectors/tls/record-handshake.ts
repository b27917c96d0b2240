/**
 * Runs a real node:tls client and server over an in-memory duplex pair and records the bytes each
 * side writes, in order. Gives genuine OpenSSL handshakes without sockets or pcaps.
 */
import { readFileSync } from 'node:fs';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Direction } from '../../../src/flow/direction';
import type { Dissector } from '../../../dissectors/types';
import { stampOf } from '../../../src/flow/packet-stamp';

export interface Chunk {
  dir: Direction;
  bytes: Uint8Array;
}

export interface Recording {
  chunks: Chunk[];
  clientError: string | null;
  serverError: string | null;
  session: Buffer | null;
}

const FIXTURES = new URL('./fixtures/', import.meta.url);
export function fixture(name: string): Buffer {
  return readFileSync(new URL(name, FIXTURES));
}

function transportPair(log: Chunk[]): [Duplex, Duplex] {
  // eslint-disable-next-line prefer-const
  let server: Duplex;
  const client: Duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      log.push({ dir: 0, bytes: new Uint8Array(chunk) });
      server.push(chunk);
      cb();
    },
    final(cb) {
      server.push(null);
      cb();
    },
  });
  server = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      log.push({ dir: 1, bytes: new Uint8Array(chunk) });
      client.push(chunk);
      cb();
    },
    final(cb) {
      client.push(null);
      cb();
    },
  });
  return [client, server];
}

export interface HandshakeOptions {
  server: tls.TLSSocketOptions;
  client: tls.ConnectionOptions;
  /** Bytes the client sends once connected (the server answers with the same length + 1). */
  request?: string;
}

export function recordHandshake(opts: HandshakeOptions): Promise<Recording> {
  const chunks: Chunk[] = [];
  const [ct, st] = transportPair(chunks);
  const rec: Recording = { chunks, clientError: null, serverError: null, session: null };
  return new Promise((resolve) => {
    let closed = 0;
    const done = (): void => {
      if (++closed === 2) setImmediate(() => resolve(rec));
    };
    const server = new tls.TLSSocket(st, { isServer: true, ...opts.server });
    const client = tls.connect({ socket: ct, ...opts.client });
    const timer = setTimeout(() => {
      client.destroy();
      server.destroy();
      resolve(rec);
    }, 5000);
    client.on('session', (s: Buffer) => (rec.session = s));
    client.on('secureConnect', () => client.write(opts.request ?? 'ping'));
    client.on('data', () => client.end());
    client.on('error', (e) => (rec.clientError = (e as NodeJS.ErrnoException).code ?? e.message));
    server.on('data', (d: Buffer) => server.end(Buffer.concat([d, Buffer.from('!')])));
    server.on('error', (e) => (rec.serverError = (e as NodeJS.ErrnoException).code ?? e.message));
    client.on('close', done);
    server.on('close', done);
    void timer;
    client.on('close', () => closed === 2 && clearTimeout(timer));
    server.on('close', () => closed === 2 && clearTimeout(timer));
  });
}

/** Feeds a recording into a dissector; `split` cuts each chunk into pieces of at most that size. */
export function feedRecording(d: Dissector, chunks: readonly Chunk[], split = Infinity): void {
  chunks.forEach((c, i) => {
    const step = Math.max(1, Math.min(split, c.bytes.length));
    for (let o = 0; o < c.bytes.length; o += step) {
      d.feed(c.dir, c.bytes, o, Math.min(c.bytes.length, o + step), stampOf(1000 + i, i + 1));
    }
  });
}

/** Feeds a recording cut once at global offset `at` (a chunk straddling it is fed in two parts). */
export function feedSplitAt(d: Dissector, chunks: readonly Chunk[], at: number): void {
  let pos = 0;
  chunks.forEach((c, i) => {
    const len = c.bytes.length;
    const cut = at - pos;
    if (cut > 0 && cut < len) {
      d.feed(c.dir, c.bytes, 0, cut, stampOf(1000 + i, i + 1));
      d.feed(c.dir, c.bytes, cut, len, stampOf(1000 + i, i + 1));
    } else d.feed(c.dir, c.bytes, 0, len, stampOf(1000 + i, i + 1));
    pos += len;
  });
}

/** Server and client material from the fixtures. */
export const material = {
  ca: () => fixture('ca-rsa.pem'),
  otherCa: () => fixture('other-ca.pem'),
  serverCert: () => fixture('server-rsa.pem'),
  serverKey: () => fixture('server-rsa.key'),
  clientCert: () => fixture('client-rsa.pem'),
  clientKey: () => fixture('client-rsa.key'),
};

/**
 * `openssl s_client` (loopback) against a node:tls server, recorded on the server side. OpenSSL
 * verifies during the handshake and sends a real alert (e.g. unknown_ca) where Node would not.
 */
export async function recordOpensslClient(server: tls.TLSSocketOptions, clientArgs: string[]): Promise<Recording> {
  const { createServer } = await import('node:net');
  const { execFile } = await import('node:child_process');
  const chunks: Chunk[] = [];
  const rec: Recording = { chunks, clientError: null, serverError: null, session: null };
  const srv = createServer((raw) => {
    const inner = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        chunks.push({ dir: 1, bytes: new Uint8Array(chunk) });
        raw.write(chunk, () => cb());
      },
      final(cb) {
        raw.end();
        cb();
      },
    });
    raw.on('data', (d: Buffer) => {
      chunks.push({ dir: 0, bytes: new Uint8Array(d) });
      inner.push(d);
    });
    raw.on('end', () => inner.push(null));
    raw.on('error', () => inner.destroy());
    const s = new tls.TLSSocket(inner, { isServer: true, ...server });
    s.on('error', (e) => (rec.serverError = (e as NodeJS.ErrnoException).code ?? e.message));
    s.on('data', () => s.end('pong'));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((resolve) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...clientArgs], { timeout: 5000 }, (err) => {
      if (err) rec.clientError = String(err.code ?? 'error');
      resolve();
    });
    child.stdin?.end('ping\n');
  });
  await new Promise((r) => setTimeout(r, 50));
  await new Promise<void>((r) => srv.close(() => r()));
  return rec;
}
