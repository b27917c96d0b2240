import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Http1MessageReader, type Http1Message } from '../../src/export/http1-messages';
import type { Direction } from '../../src/flow/direction';
import { recordingProxy, type Chunk } from '../dissectors/loopback-recorder';

/** Runs `exchange` against a node:http server through a recording relay; returns what each side sent. */
async function record(handler: http.RequestListener, exchange: (port: number, agent: http.Agent) => Promise<void>): Promise<Chunk[]> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const proxy = await recordingProxy((server.address() as AddressInfo).port);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await exchange(proxy.port, agent);
  } finally {
    agent.destroy();
    await new Promise((r) => setTimeout(r, 50));
    await proxy.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
  return proxy.chunks;
}

function get(port: number, agent: http.Agent, path: string, method = 'GET', body?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent, headers: { 'accept-encoding': 'gzip' } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end(body);
  });
}

function read(chunks: Chunk[], split = false): { messages: Http1Message[]; reader: Http1MessageReader } {
  const messages: Http1Message[] = [];
  const reader = new Http1MessageReader((m) => messages.push({ ...m, body: m.body === null ? null : Buffer.from(m.body) }));
  let frame = 0;
  for (const c of chunks) {
    // Byte by byte when asked: every boundary falls inside something.
    const pieces = split ? [...c.bytes].map((b) => Uint8Array.of(b)) : [c.bytes];
    for (const p of pieces) reader.data({ dir: c.dir as Direction, data: p, ts: 1000 + frame, frame: ++frame });
  }
  reader.end();
  return { messages, reader };
}

describe('Http1MessageReader on node:http conversations', () => {
  const pods = JSON.stringify({ kind: 'PodList', items: Array.from({ length: 50 }, (_, i) => ({ metadata: { name: `web-${i}` } })) });

  it('reads keep-alive messages: Content-Length, chunked, gzip decoded, HEAD without a body, a request body', async () => {
    const chunks = await record(
      (req, res) => {
        if (req.url === '/gzip') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
          const z = gzipSync(pods);
          res.write(z.subarray(0, 50)); // chunked, in two chunks
          res.end(z.subarray(50));
        } else if (req.method === 'HEAD') {
          res.writeHead(200, { 'content-length': '1234' });
          res.end();
        } else {
          let n = 0;
          req.on('data', (d: Buffer) => (n += d.length));
          req.on('end', () => res.end(`got ${n}`));
        }
      },
      async (port, agent) => {
        await get(port, agent, '/gzip');
        await get(port, agent, '/head', 'HEAD');
        await get(port, agent, '/post', 'POST', '{"a":1}');
      },
    );
    for (const split of [false, true]) {
      const { messages, reader } = read(chunks, split);
      expect(reader.notHttp1).toBe(false);
      expect(messages.map((m) => [m.dir, m.head[0]])).toEqual([
        [0, 'GET /gzip HTTP/1.1'], [1, 'HTTP/1.1 200 OK'],
        [0, 'HEAD /head HTTP/1.1'], [1, 'HTTP/1.1 200 OK'],
        [0, 'POST /post HTTP/1.1'], [1, 'HTTP/1.1 200 OK'],
      ]);
      const [, gz, , head, post, got] = messages;
      expect(gz!.info).toMatch(new RegExp(`^\\d+ bytes, chunked, gzip decoded to ${pods.length}$`));
      expect(Buffer.from(gz!.body!).toString()).toBe(pods);
      expect(gz!.head).toContain('content-encoding: gzip');
      // HEAD: the response's Content-Length describes a body that is not sent.
      expect(head!.body).toBeNull();
      expect(head!.info).toBe('');
      expect(Buffer.from(post!.body!).toString()).toBe('{"a":1}');
      expect(Buffer.from(got!.body!).toString()).toBe('got 7');
      // Each message is dated by the frame its first byte came in.
      const frames = messages.map((m) => m.frame);
      for (let i = 1; i < frames.length; i++) expect(frames[i]).toBeGreaterThan(frames[i - 1]!);
    }
  });

  it('stops at a 101 (an upgrade) and at a gap, and leaves bytes that are not HTTP/1 to the text view', () => {
    const upgrade: Chunk[] = [
      { dir: 0, bytes: Buffer.from('GET /exec HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n') },
      { dir: 1, bytes: Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: SPDY/3.1\r\n\r\n\x80\x03\x00\x01', 'latin1') },
      { dir: 0, bytes: Buffer.from('\x80\x03\x00\x01binary', 'latin1') },
    ];
    const u = read(upgrade).messages;
    expect(u.map((m) => [m.dir, m.notice, m.head[0] ?? null, m.info])).toEqual([
      [0, false, 'GET /exec HTTP/1.1', ''],
      [1, false, 'HTTP/1.1 101 Switching Protocols', 'switching protocols: what follows on this connection is not HTTP/1'],
      [0, true, null, '10 bytes not read as HTTP'],
      [1, true, null, '4 bytes not read as HTTP'],
    ]);
    const r = new Http1MessageReader(() => undefined);
    r.data({ dir: 0, data: Buffer.from('\x16\x03\x01\x02\x00'), ts: 0, frame: 1 });
    expect(r.notHttp1).toBe(true);
    const messages: Http1Message[] = [];
    const g = new Http1MessageReader((m) => messages.push(m));
    g.data({ dir: 1, data: Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), ts: 0, frame: 1 });
    g.gap(1, 7);
    g.end();
    expect(messages.map((m) => m.info)).toEqual(['7 bytes missing: the rest of this side is not read as HTTP']);
  });
});
