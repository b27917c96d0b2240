import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { http1Factory, MAX_HEADER_BYTES } from '../../../dissectors/http/http1-dissector';
import { http2Factory } from '../../../dissectors/http2/http2-dissector';
import { seg, type Segment } from './helpers';
import type { DissectorFactory } from '../../../dissectors/types';
import { stampOf } from '../../../src/flow/packet-stamp';

const REAL: Segment[] = [
  seg(0, 'POST /api/v1/namespaces/default/pods HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nbody\r\n0\r\nT: v\r\n\r\nGET /exec/a/b/c HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n'),
  seg(1, 'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00'),
  seg(0, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x03\x01\x05\x00\x00\x00\x03\x82\x86\x84'),
];

function mutate(base: Segment[], edits: Array<[number, number, number]>): Segment[] {
  const out = base.map((s) => ({ dir: s.dir, bytes: new Uint8Array(s.bytes) }));
  for (const [si, off, val] of edits) {
    const s = out[si % out.length]!;
    if (s.bytes.length > 0) s.bytes[off % s.bytes.length] = val;
  }
  return out;
}

function feedAll(factory: DissectorFactory, segs: Segment[], cuts: number[]): void {
  const d = factory.create(() => {});
  let c = 0;
  for (const s of segs) {
    let off = 0;
    while (off < s.bytes.length) {
      const n = Math.max(1, Math.min(s.bytes.length - off, cuts[c++ % cuts.length] ?? 7));
      d.feed(s.dir, s.bytes, off, off + n, stampOf(0, 1));
      off += n;
    }
  }
  d.gap(0, 5);
  d.end(0);
  d.end(1);
  const r = d.result() as unknown[];
  expect(Array.isArray(r)).toBe(true);
  const internals = d as unknown as { dirs?: Array<{ headBuf?: Uint8Array; buf?: Uint8Array; block?: Uint8Array }> };
  for (const dir of internals.dirs ?? []) {
    if (dir.headBuf) expect(dir.headBuf.length).toBeLessThanOrEqual(MAX_HEADER_BYTES);
    if (dir.buf) expect(dir.buf.length).toBeLessThanOrEqual(65536);
    if (dir.block) expect(dir.block.length).toBeLessThanOrEqual(65536);
  }
}

const segArb = fc.array(fc.record({ dir: fc.constantFrom<0 | 1>(0, 1), bytes: fc.uint8Array({ maxLength: 300 }) }), { maxLength: 6 });
const cutsArb = fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 });
const editsArb = fc.array(fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 });

describe('HTTP/1 and HTTP/2 fuzzing', () => {
  for (const factory of [http1Factory, http2Factory]) {
    it(`${factory.id}: probe and feed never throw on random bytes`, () => {
      fc.assert(fc.property(segArb, cutsArb, (segs, cuts) => {
        for (const s of segs) factory.probe(s.dir, s.bytes, 0, s.bytes.length);
        feedAll(factory, segs, cuts);
      }), { numRuns: 300 });
    });

    it(`${factory.id}: mutations of a real conversation never throw and stay within caps`, () => {
      fc.assert(fc.property(editsArb, cutsArb, (edits, cuts) => {
        feedAll(factory, mutate(REAL, edits), cuts);
        const pre = mutate(REAL, edits).slice(2);
        feedAll(factory, pre, cuts);
      }), { numRuns: 300 });
    });
  }
});
