/**
 * Valid conversations per dissector, for fuzzing by mutation: TLS 1.3 / 1.2 and HTTP/2 (h2c) recorded
 * from node:tls and node:http2 on loopback, HTTP/1 and SSH from byte fixtures.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { DissectorId } from '../../dissectors/types';
import { recordingProxy, type Chunk } from './loopback-recorder';
import { NEWKEYS, ascii, concat, kexInitPayload, sshPacket } from './ssh/fixtures';

export type Conversation = Chunk[];

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A throw-away P-256 certificate made with the openssl CLI, or null when it is not installed. */
function selfSigned(): { key: Buffer; cert: Buffer } | null {
  const dir = mkdtempSync(join(tmpdir(), 'planewatch-fuzz-'));
  try {
    const r = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-subj', '/CN=kube-apiserver', '-addext', 'subjectAltName=DNS:kubernetes.default.svc',
      '-days', '2', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
    ]);
    if (r.status !== 0) return null;
    return { key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) };
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function recordTls(creds: { key: Buffer; cert: Buffer }, maxVersion: tls.SecureVersion): Promise<Conversation> {
  const server = tls.createServer({ ...creds, ALPNProtocols: ['h2', 'http/1.1'] }, (s) => {
    s.on('data', (b) => s.end(b));
    s.on('error', () => {});
  });
  const proxy = await recordingProxy(await listen(server));
  await new Promise<void>((resolve) => {
    const c = tls.connect({
      port: proxy.port,
      host: '127.0.0.1',
      servername: 'kubernetes.default.svc',
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      maxVersion,
    });
    c.on('secureConnect', () => c.write('GET /healthz HTTP/1.1\r\n\r\n'));
    c.on('data', () => c.end());
    c.on('close', () => resolve());
    c.on('error', () => resolve());
  });
  await new Promise((r) => setTimeout(r, 20));
  await proxy.close();
  await closeServer(server);
  return proxy.chunks;
}

async function recordH2c(): Promise<Conversation> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const grpc = String(headers['content-type'] ?? '').startsWith('application/grpc');
    stream.respond({ ':status': 200, 'content-type': grpc ? 'application/grpc' : 'application/json' });
    stream.end(grpc ? Buffer.from([0, 0, 0, 0, 2, 8, 1]) : '{"kind":"PodList","items":[]}');
  });
  const proxy = await recordingProxy(await listen(server));
  const client = http2.connect(`http://127.0.0.1:${proxy.port}`);
  client.on('error', () => {});
  const request = (headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<void> =>
    new Promise((resolve) => {
      const req = client.request(headers);
      req.on('error', () => resolve());
      req.on('data', () => {});
      req.on('end', () => resolve());
      req.end(body);
    });
  await request({ ':method': 'GET', ':path': '/api/v1/namespaces/default/pods', 'user-agent': 'kubectl/v1.30.0', authorization: 'Bearer abc' });
  await request(
    { ':method': 'POST', ':path': '/etcdserverpb.KV/Range', 'content-type': 'application/grpc', te: 'trailers' },
    Buffer.from([0, 0, 0, 0, 2, 10, 0]),
  );
  await new Promise<void>((resolve) => client.close(() => resolve()));
  await new Promise((r) => setTimeout(r, 20));
  await proxy.close();
  await closeServer(server);
  return proxy.chunks;
}

function http1(): Conversation[] {
  const c = (dir: 0 | 1, s: string): Chunk => ({ dir, bytes: ascii(s) });
  return [
    [
      c(0, 'GET /containerLogs/kube-system/etcd-0/etcd?follow=true HTTP/1.1\r\nHost: 10.0.1.21:10250\r\nUser-Agent: kube-apiserver/v1.30\r\nAuthorization: Bearer secret\r\n\r\n'),
      c(1, 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: y\r\n\r\n'),
      c(0, 'POST /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\n\r\nabcdeHEAD /healthz HTTP/1.1\r\nHost: api\r\n\r\n'),
      c(1, 'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n'),
    ],
    [
      c(0, 'POST /exec/default/pod/c?command=sh HTTP/1.1\r\nHost: node:10250\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n'),
      c(1, 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n\x80\x03\x00\x01'),
    ],
  ];
}

function ssh(): Conversation[] {
  const kex = sshPacket(
    kexInitPayload([
      'curve25519-sha256,ext-info-c', 'ssh-ed25519,rsa-sha2-512', 'aes128-ctr,aes256-gcm@openssh.com',
      'aes128-ctr', 'hmac-sha2-256', 'hmac-sha2-256', 'none', 'none,zlib@openssh.com', '', '',
    ]),
  );
  return [
    [
      { dir: 1, bytes: ascii('Welcome\r\nSSH-2.0-OpenSSH_9.2p1\r\n') },
      { dir: 0, bytes: ascii('SSH-2.0-OpenSSH_9.6\r\n') },
      { dir: 0, bytes: kex },
      { dir: 1, bytes: kex },
      { dir: 0, bytes: sshPacket(concat(new Uint8Array([30]), new Uint8Array(36).fill(9))) },
      { dir: 1, bytes: concat(NEWKEYS, new Uint8Array(64).fill(0xaa)) },
      { dir: 0, bytes: concat(NEWKEYS, new Uint8Array(80).fill(0xbb)) },
    ],
    [
      { dir: 1, bytes: ascii('SSH-1.99-Cisco-1.25\r\n') },
      { dir: 0, bytes: ascii('SSH-2.0-PuTTY\n') },
      { dir: 0, bytes: kex },
    ],
  ];
}

/** DNS over TCP: a query and its answer, each after its two-byte length (RFC 7766), then a second query. */
function dnsTcp(): Conversation[] {
  const name = [10, ...Buffer.from('kubernetes'), 7, ...Buffer.from('default'), 3, ...Buffer.from('svc'), 0];
  const query = (id: number) => new Uint8Array([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, ...name, 0, 1, 0, 1]);
  const answer = new Uint8Array([0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, ...name, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 96, 0, 1]);
  const framed = (m: Uint8Array) => concat(new Uint8Array([m.length >> 8, m.length & 0xff]), m);
  return [[
    { dir: 0, bytes: framed(query(0x1234)) },
    { dir: 1, bytes: framed(answer) },
    { dir: 0, bytes: framed(query(0x1235)) },
  ]];
}

/** Seed conversations for each dissector id (TLS and h2c recorded live on loopback). */
export async function loadSeeds(): Promise<Record<DissectorId, Conversation[]>> {
  const seeds: Record<DissectorId, Conversation[]> = { tls: [], http: http1(), http2: [], ssh: ssh(), dns: dnsTcp() };
  const creds = selfSigned();
  if (creds !== null) {
    seeds.tls.push(await recordTls(creds, 'TLSv1.3'));
    seeds.tls.push(await recordTls(creds, 'TLSv1.2'));
  }
  seeds.http2.push(await recordH2c());
  return seeds;
}
