/** fast-check: random and mutated input never throws, never trips the internal catch, stays within caps. */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_CERTIFICATE_MESSAGE_BYTES, probeTls, TlsDissector, tlsFactory } from '../../../dissectors/tls/tls-dissector';
import { ProbeResult } from '../../../dissectors/types';
import { material as m, recordHandshake, type Chunk } from './record-handshake';
import { stampOf } from '../../../src/flow/packet-stamp';

let real: Chunk[] = [];
beforeAll(async () => {
  real = (
    await recordHandshake({
      server: { key: m.serverKey(), cert: m.serverCert(), ca: m.ca(), requestCert: true, maxVersion: 'TLSv1.2' },
      client: { key: m.clientKey(), cert: m.clientCert(), ca: m.ca(), servername: 'worker-1', maxVersion: 'TLSv1.2' },
    })
  ).chunks;
});

interface Internals {
  dirs: { hs: Uint8Array; hsLen: number }[];
}

function check(d: TlsDissector, anomalies: string[]): void {
  expect(anomalies).not.toContain('dissector.exception');
  for (const s of (d as unknown as Internals).dirs) {
    expect(s.hs.length).toBeLessThanOrEqual(MAX_CERTIFICATE_MESSAGE_BYTES + 4);
    expect(s.hsLen).toBeLessThanOrEqual(s.hs.length);
  }
  expect(() => JSON.stringify(d.result())).not.toThrow();
}

describe('TLS fuzz', () => {
  it('probe answers one of three values for any prefix', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom<0 | 1>(0, 1), (b, dir) => {
        const r = probeTls(dir, b, 0, b.length);
        expect([ProbeResult.NO_MATCH, ProbeResult.MATCH, ProbeResult.NEED_MORE]).toContain(r);
        if (b.length >= 6) expect(r).not.toBe(ProbeResult.NEED_MORE);
      }),
      { numRuns: 2000 },
    );
    expect(tlsFactory.probe(0, real[0].bytes, 0, real[0].bytes.length)).toBe(ProbeResult.MATCH);
    expect(tlsFactory.probe(1, real[1].bytes, 0, real[1].bytes.length)).toBe(ProbeResult.MATCH);
    expect(tlsFactory.probe(0, real[0].bytes, 0, 4)).toBe(ProbeResult.NEED_MORE);
    expect(tlsFactory.probe(0, Buffer.from('GET / HTTP/1.1\r\n'), 0, 16)).toBe(ProbeResult.NO_MATCH);
  });

  it('random records (valid headers, random bodies) in random pieces', () => {
    const recordArb = fc
      .tuple(fc.constantFrom(20, 21, 22, 23, 24), fc.integer({ min: 0, max: 4 }), fc.uint8Array({ maxLength: 300 }))
      .map(([t, v, body]) => Uint8Array.from([t, 3, v, body.length >> 8, body.length & 0xff, ...body]));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom<0 | 1>(0, 1), recordArb), { maxLength: 12 }), fc.integer({ min: 1, max: 50 }), (recs, step) => {
        const anomalies: string[] = [];
        const d = new TlsDissector((c) => anomalies.push(c));
        for (const [dir, r] of recs) for (let o = 0; o < r.length; o += step) d.feed(dir, r, o, Math.min(r.length, o + step), stampOf(0, 1));
        check(d, anomalies);
      }),
      { numRuns: 500 },
    );
  });

  it('handshake records with random messages (lengths near the caps)', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 4, 11, 13, 14, 255), fc.integer({ min: 0, max: 0xffffff }), fc.uint8Array({ maxLength: 200 }), (type, len, body) => {
        const anomalies: string[] = [];
        const d = new TlsDissector((c) => anomalies.push(c));
        const msg = [type, len >> 16, (len >> 8) & 0xff, len & 0xff, ...body];
        const rec = Uint8Array.from([22, 3, 3, msg.length >> 8, msg.length & 0xff, ...msg]);
        for (let i = 0; i < 3; i++) d.feed(1, rec, 0, rec.length, stampOf(0, 1));
        check(d, anomalies);
      }),
      { numRuns: 500 },
    );
  });

  it('mutated real handshakes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 700 }),
        (mutations, step) => {
          const chunks = real.map((c) => ({ dir: c.dir, bytes: Uint8Array.from(c.bytes) }));
          const total = chunks.reduce((n, c) => n + c.bytes.length, 0);
          for (const [pos, val] of mutations) {
            let p = pos % total;
            for (const c of chunks) {
              if (p < c.bytes.length) {
                c.bytes[p] = val;
                break;
              }
              p -= c.bytes.length;
            }
          }
          const anomalies: string[] = [];
          const d = new TlsDissector((c) => anomalies.push(c));
          for (const c of chunks) for (let o = 0; o < c.bytes.length; o += step) d.feed(c.dir, c.bytes, o, Math.min(c.bytes.length, o + step), stampOf(0, 1));
          d.gap(0, 10);
          d.end(0);
          d.end(1);
          check(d, anomalies);
        },
      ),
      { numRuns: 300 },
    );
  });
});
