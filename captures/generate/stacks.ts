/**
 * Drives real protocol implementations over a Wire: node:tls, node:http, node:http2 and ssh2.
 * Each helper runs one exchange to completion; the Wire records whatever the stacks write.
 */
import http from 'node:http';
import http2 from 'node:http2';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { Capture } from './capture.js';
import type { Pki } from './pki.js';
import { Bridge, type Wire } from './wire.js';

export type TlsVersion = '1.0' | '1.1' | '1.2' | '1.3';
const PROTO: Record<TlsVersion, tls.SecureVersion> = { '1.0': 'TLSv1', '1.1': 'TLSv1.1', '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' };

export interface TlsSetup {
  version: TlsVersion;
  /** Server name sent by the client; omitted (as Go does for IP literals) when undefined. */
  sni?: string;
  alpn?: string[];
  /** PKI name of the server certificate. */
  serverCert: string;
  /** Send only the leaf (kubelet self-signed certificates), not leaf + issuer. */
  leafOnly?: boolean;
  clientCert?: string;
  /** Server asks for a client certificate (CertificateRequest). */
  requestCert?: boolean;
  /** Allow TLS 1.0/1.1 and SHA-1/RSA-1024 (OpenSSL security level 0). */
  legacy?: boolean;
}

export interface TlsPair {
  client: tls.TLSSocket;
  server: tls.TLSSocket;
}

/** Handshake node:tls client and server over the wire; the client's key log goes into the capture. */
export async function tlsHandshake(wire: Wire, cap: Capture, pki: Pki, s: TlsSetup, expectFailure = false): Promise<TlsPair> {
  const v = PROTO[s.version];
  const ciphers = s.legacy ? 'DEFAULT:@SECLEVEL=0' : undefined;
  const server = new tls.TLSSocket(wire.server, {
    isServer: true,
    secureContext: tls.createSecureContext({
      key: pki.get(s.serverCert).keyPem,
      cert: pki.chain(s.serverCert, s.leafOnly),
      minVersion: v,
      maxVersion: v,
      ciphers,
    }),
    requestCert: s.requestCert ?? false,
    rejectUnauthorized: false,
    ALPNProtocols: s.alpn,
  });
  const client = tls.connect({
    socket: wire.client,
    servername: s.sni,
    ALPNProtocols: s.alpn,
    key: s.clientCert ? pki.get(s.clientCert).keyPem : undefined,
    cert: s.clientCert ? pki.chain(s.clientCert) : undefined,
    minVersion: v,
    maxVersion: v,
    ciphers,
    rejectUnauthorized: false,
    // Stop Node from sending "localhost" as SNI when none is wanted.
    checkServerIdentity: () => undefined,
  });
  client.on('keylog', (line) => cap.keyLog.push(line.toString('latin1').trimEnd()));
  client.on('error', () => {});
  server.on('error', () => {});
  if (expectFailure) {
    await wire.settle();
    return { client, server };
  }
  await Promise.all([
    new Promise<void>((r) => client.once('secureConnect', () => r())),
    new Promise<void>((r) => server.once('secure', () => r())),
  ]);
  return { client, server };
}

/** End a TLS session the way Go and Node do: close_notify from the client, then the TCP close. */
export async function tlsClose(wire: Wire, pair: TlsPair): Promise<void> {
  pair.client.end();
  await wire.settle();
}

export interface HttpCall {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Answer with 101 Switching Protocols (exec/attach/portforward over SPDY). */
  upgrade?: string;
  status?: number;
  responseHeaders?: Record<string, string>;
  responseBody?: string;
}

export function httpDate(cap: Capture): string {
  return new Date(Math.floor(cap.nowUs / 1000)).toUTCString();
}

/** HTTP/1.1 over one connection: node:http client (keep-alive agent) and node:http server. */
export async function http1Exchange(wire: Wire, cap: Capture, clientSock: Duplex, serverSock: Duplex, calls: HttpCall[]): Promise<void> {
  let current: HttpCall | null = null;
  const server = http.createServer((req, res) => {
    const c = current!;
    res.sendDate = false;
    req.resume();
    req.on('end', () => {
      res.writeHead(c.status ?? 200, { Date: httpDate(cap), ...(c.responseHeaders ?? { 'Content-Type': 'application/json' }) });
      res.end(c.responseBody ?? '');
    });
  });
  server.on('upgrade', (_req, socket: Duplex) => {
    const c = current!;
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        `Connection: Upgrade\r\nUpgrade: ${c.upgrade}\r\n` +
        'X-Stream-Protocol-Version: v4.channel.k8s.io\r\n' +
        `Date: ${httpDate(cap)}\r\n\r\n`,
    );
  });
  server.emit('connection', serverSock);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  (agent as unknown as { createConnection: () => Duplex }).createConnection = () => clientSock;
  for (const c of calls) {
    current = c;
    await new Promise<void>((resolve) => {
      const req = http.request({ agent, method: c.method, path: c.path, headers: c.headers, setHost: false });
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('upgrade', () => resolve());
      req.on('error', () => resolve());
      req.end(c.body);
    });
    await wire.settle();
  }
}

export interface H2Call {
  headers: Record<string, string>;
  body?: Buffer;
  responseHeaders: Record<string, string>;
  responseBody?: Buffer;
  trailers?: Record<string, string>;
}

/** HTTP/2 (h2 over TLS, or h2c with prior knowledge) with node:http2 on both sides. */
export async function http2Exchange(wire: Wire, authority: string, clientTransport: Duplex, serverTransport: Duplex, calls: H2Call[]): Promise<void> {
  const overTls = clientTransport instanceof tls.TLSSocket;
  const clientSock = overTls ? new Bridge(clientTransport) : clientTransport;
  const serverSock = overTls ? new Bridge(serverTransport) : serverTransport;
  let index = 0;
  const server = http2.createServer();
  server.on('stream', (stream) => {
    const c = calls[index++]!;
    stream.on('data', () => {});
    stream.on('end', () => {
      stream.respond(c.responseHeaders, { waitForTrailers: Boolean(c.trailers) });
      if (c.trailers) stream.on('wantTrailers', () => stream.sendTrailers(c.trailers!));
      stream.end(c.responseBody);
    });
  });
  server.emit('connection', serverSock);
  const session = http2.connect(authority, { createConnection: () => clientSock });
  session.on('error', () => {});
  for (const c of calls) {
    await new Promise<void>((resolve) => {
      const req = session.request(c.headers);
      req.on('data', () => {});
      req.on('end', () => resolve());
      req.on('error', () => resolve());
      req.end(c.body);
    });
    await wire.settle();
  }
  session.close();
  await wire.settle();
}

export interface SshKeys {
  hostKey: string;
  clientKey: string;
}

/** ssh2 client and server; the client opens a direct-tcpip channel and sends HTTP through it. */
export async function sshTunnel(wire: Wire, cap: Capture, keys: SshKeys, target: { host: string; port: number }, call: HttpCall): Promise<void> {
  const server = new ssh2.Server({ hostKeys: [keys.hostKey] }, (conn: any) => {
    conn.on('authentication', (ctx: any) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])));
    conn.on('error', () => {});
    conn.on('tcpip', (accept: () => Duplex) => {
      const ch = accept();
      const httpServer = http.createServer((req, res) => {
        res.sendDate = false;
        req.resume();
        req.on('end', () => {
          res.writeHead(call.status ?? 200, { Date: httpDate(cap), ...(call.responseHeaders ?? {}) });
          res.end(call.responseBody ?? '');
        });
      });
      httpServer.emit('connection', ch);
    });
  });
  server.injectSocket(wire.server);
  const client = new ssh2.Client();
  client.on('error', () => {});
  await new Promise<void>((resolve) => {
    client.on('ready', () => resolve());
    // chacha20-poly1305 is OpenSSH's first choice; Wireshark 4.0 misreads ssh2's AES-GCM packets as malformed.
    client.connect({ sock: wire.client, username: 'root', privateKey: keys.clientKey, hostVerifier: () => true, algorithms: { cipher: ['chacha20-poly1305@openssh.com'] } });
  });
  await wire.settle();
  const channel = await new Promise<Duplex>((resolve, reject) =>
    client.forwardOut('127.0.0.1', 0, target.host, target.port, (err, stream) => (err ? reject(err) : resolve(stream))),
  );
  await new Promise<void>((resolve) => {
    const agent = new http.Agent({ keepAlive: false });
    (agent as unknown as { createConnection: () => Duplex }).createConnection = () => channel;
    const req = http.request({ agent, method: call.method, path: call.path, headers: call.headers, setHost: false });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', () => resolve());
    req.end();
  });
  await wire.settle();
  client.end();
  await wire.settle();
}
