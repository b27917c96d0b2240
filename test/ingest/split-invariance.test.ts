import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureParser } from '../../src/ingest/capture-parser.js';
import {
  concat,
  copyFrame,
  custom,
  dsb,
  epb,
  type FrameCopy,
  idb,
  isb,
  nrb,
  payload,
  pb,
  pcapFile,
  shb,
  spb,
  unknownBlock,
} from './build.js';

/** Reads `bytes` pushed in pieces cut at `cuts` (sorted offsets) and returns everything observable. */
function readSplit(bytes: Uint8Array, cuts: number[]) {
  const frames: FrameCopy[] = [];
  const p = new CaptureParser('split', (f) => frames.push(copyFrame(f)));
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    if (c > at) p.push(bytes.subarray(at, c));
    at = Math.max(at, c);
  }
  const err = p.end();
  return {
    frames,
    error: err?.message ?? null,
    anomalies: p.anomalies.toJSON(),
    keyLog: p.keyLog,
    secrets: p.secrets.map((s) => Buffer.from(s.data).toString('hex')),
    stats: [p.packets, p.bytes, p.truncatedFrames, p.firstTs, p.lastTs, p.offset],
  };
}

const everyByte = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

const pcap = pcapFile({ le: false, nsec: true }, [
  { sec: 1, frac: 5, data: payload(60, 1) },
  { sec: 2, frac: 6, data: payload(70_000, 2) }, // larger than the initial carry: the carry must grow
  { sec: 3, frac: 7, data: payload(1, 3), origLen: 1500 },
  { sec: 4, frac: 8, data: new Uint8Array(0) },
  { sec: 5, frac: 9, data: payload(1514, 4) },
]);

const pcapng = concat(
  shb(true),
  nrb(true),
  idb(true, 1, 128, { tsresol: 9 }),
  idb(true, 276, 0, { tsresol: 0x80 | 10 }),
  epb(true, 0, 1, 2, payload(128, 1), 1400),
  dsb(true, 0x544c534b, new TextEncoder().encode('CLIENT_RANDOM aa bb\n')),
  unknownBlock(true, 0x777, 5000),
  spb(true, payload(128, 2), 900),
  custom(true),
  shb(false),
  idb(false, 101, 0),
  pb(false, 0, 0, 99, payload(66_000, 3)),
  isb(false, 0),
  epb(false, 0, 0, 100, payload(3, 4)),
);

describe.each([
  ['pcap', pcap],
  ['pcapng', pcapng],
])('split invariance (%s)', (_name, bytes) => {
  const whole = readSplit(bytes, []);

  it('reads the whole input without error', () => {
    expect(whole.error).toBeNull();
    expect(whole.frames.length).toBeGreaterThanOrEqual(4);
  });

  it('gives identical results pushed one byte at a time', () => {
    expect(readSplit(bytes, everyByte(bytes.length))).toEqual(whole);
  });

  it('gives identical results for random splits', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }), (cuts) => {
        expect(readSplit(bytes, cuts.sort((a, b) => a - b))).toEqual(whole);
      }),
      { numRuns: 100 },
    );
  });

  it('reports the same cut-off record however a truncated input is split', () => {
    const cut = bytes.subarray(0, bytes.length - 37);
    const ref = readSplit(cut, []);
    expect(ref.error).toMatch(/last record cut off/);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: cut.length - 1 }), { maxLength: 20 }), (cuts) => {
        expect(readSplit(cut, cuts.sort((a, b) => a - b))).toEqual(ref);
      }),
      { numRuns: 60 },
    );
  });
});

describe('fuzzing', () => {
  it('never throws on mutated captures and reports damage as a CaptureError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(pcap.subarray(0, 3000), pcapng.subarray(0, 3000)),
        fc.array(fc.tuple(fc.nat(2999), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }),
        fc.array(fc.nat(2999), { maxLength: 6 }),
        (base, flips, cuts) => {
          const b = new Uint8Array(base);
          for (const [i, v] of flips) b[i] = v;
          const r = readSplit(b, [...new Set(cuts)].sort((x, y) => x - y));
          expect(r.frames.every((f) => f.data.length / 2 <= 262_144)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
