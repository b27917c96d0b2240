/**
 * Micro-benchmark of the HTTP/1 and HTTP/2 dissectors (not a test): requests/s and MB/s over
 * pipelined requests with bodies, fed in TCP-segment-sized chunks.
 *   npx tsx bench/dissectors/http-bench.ts
 */
import { http1Factory } from '../../dissectors/http/http1-dissector';
import { http2Factory, CLIENT_PREFACE } from '../../dissectors/http2/http2-dissector';
import type { DissectorFactory } from '../../dissectors/types';
import { stampOf } from '../../src/flow/packet-stamp';

const SEGMENT = 1448;

function http1Streams(n: number): [Uint8Array, Uint8Array] {
  const req = 'GET /api/v1/namespaces/default/pods?limit=500 HTTP/1.1\r\nHost: 10.96.0.1\r\nUser-Agent: kubectl/v1.29.0\r\nAuthorization: Bearer abc.def.ghi\r\nAccept: application/json\r\n\r\n';
  const body = 'x'.repeat(2000);
  const resp = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  return [Buffer.from(req.repeat(n), 'latin1'), Buffer.from(resp.repeat(n), 'latin1')];
}

function http2Streams(n: number): [Uint8Array, Uint8Array] {
  // Client: preface, then HEADERS (GET, http, literal :path without indexing) + END_STREAM per stream.
  // Server: HEADERS :status 200 + DATA of 2000 bytes with END_STREAM per stream.
  const c: number[] = [...CLIENT_PREFACE];
  const s: number[] = [0, 0, 0, 4, 0, 0, 0, 0, 0];
  const path = Buffer.from('/api/v1/namespaces/default/pods');
  for (let i = 0; i < n; i++) {
    const id = 2 * i + 1;
    const idb = [(id >>> 24) & 0x7f, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff];
    const block = [0x82, 0x86, 0x04, path.length, ...path];
    c.push(0, 0, block.length, 1, 5, ...idb, ...block);
    s.push(0, 0, 1, 1, 4, ...idb, 0x88);
    s.push(0, 2000 >> 8, 2000 & 0xff, 0, 1, ...idb, ...new Array<number>(2000).fill(120));
  }
  return [new Uint8Array(c), new Uint8Array(s)];
}

function bench(name: string, factory: DissectorFactory, streams: [Uint8Array, Uint8Array], n: number): void {
  const total = streams[0].length + streams[1].length;
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const d = factory.create(() => {});
    const t0 = process.hrtime.bigint();
    // Interleave directions segment by segment as a capture would.
    let o0 = 0;
    let o1 = 0;
    while (o0 < streams[0].length || o1 < streams[1].length) {
      if (o0 < streams[0].length) {
        const e = Math.min(streams[0].length, o0 + SEGMENT);
        d.feed(0, streams[0], o0, e, stampOf(0, 0));
        o0 = e;
      }
      if (o1 < streams[1].length) {
        const e = Math.min(streams[1].length, o1 + SEGMENT);
        d.feed(1, streams[1], o1, e, stampOf(0, 0));
        o1 = e;
      }
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const got = (d.result() as unknown[]).length;
    if (got !== Math.min(n, 1000)) throw new Error(`${name}: expected ${Math.min(n, 1000)} records, got ${got}`);
    best = Math.min(best, secs);
  }
  console.log(`${name.padEnd(8)} ${(n / best).toFixed(0).padStart(10)} requests/s ${(total / best / 1e6).toFixed(1).padStart(8)} MB/s  (${n} requests, ${(total / 1e6).toFixed(1)} MB)`);
}

const N = 20000;
bench('http/1', http1Factory, http1Streams(N), N);
bench('http/2', http2Factory, http2Streams(N), N);
