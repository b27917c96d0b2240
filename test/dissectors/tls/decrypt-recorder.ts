/**
 * Records a real node:tls connection (client and server over an in-memory duplex pair) together with
 * the client's NSS key log lines, carrying one HTTP/1.1 request and its response: what a capture and
 * its SSLKEYLOGFILE would hold.
 */
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Chunk } from './record-handshake';

export interface KeyedRecording {
  chunks: Chunk[];
  keyLog: string;
  clientError: string | null;
  serverError: string | null;
}

export interface KeyedOptions {
  server: tls.TLSSocketOptions;
  client: tls.ConnectionOptions;
  /** Raw request bytes the client sends once connected. */
  request: string;
  /** Raw response bytes the server sends after the request arrived. */
  response: string;
}

export function recordKeyed(opts: KeyedOptions): Promise<KeyedRecording> {
  const chunks: Chunk[] = [];
  let server: Duplex;
  const client: Duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      chunks.push({ dir: 0, bytes: new Uint8Array(chunk) });
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
      chunks.push({ dir: 1, bytes: new Uint8Array(chunk) });
      client.push(chunk);
      cb();
    },
    final(cb) {
      client.push(null);
      cb();
    },
  });
  const rec: KeyedRecording = { chunks, keyLog: '', clientError: null, serverError: null };
  return new Promise((resolve) => {
    let closed = 0;
    const s = new tls.TLSSocket(server, { isServer: true, ...opts.server });
    const c = tls.connect({ socket: client, ...opts.client });
    const timer = setTimeout(() => {
      c.destroy();
      s.destroy();
    }, 5000);
    const done = (): void => {
      if (++closed === 2) {
        clearTimeout(timer);
        setImmediate(() => resolve(rec));
      }
    };
    c.on('keylog', (line: Buffer) => (rec.keyLog += line.toString('latin1')));
    c.on('secureConnect', () => c.write(opts.request));
    let got = '';
    c.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.length >= opts.response.length) c.end();
    });
    s.once('data', () => s.write(opts.response));
    s.on('end', () => s.end());
    c.on('error', (e) => (rec.clientError = (e as NodeJS.ErrnoException).code ?? e.message));
    s.on('error', (e) => (rec.serverError = (e as NodeJS.ErrnoException).code ?? e.message));
    c.on('close', done);
    s.on('close', done);
  });
}
