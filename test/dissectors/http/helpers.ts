import type { Direction } from '../../../src/flow/direction';
import type { AnomalyCode } from '../../../src/anomalies';
import type { Dissector, DissectorFactory } from '../../../dissectors/types';
import { stampOf } from '../../../src/flow/packet-stamp';

export interface Segment {
  dir: Direction;
  bytes: Uint8Array;
}

export function seg(dir: Direction, text: string): Segment {
  return { dir, bytes: new Uint8Array(Buffer.from(text, 'latin1')) };
}

export interface Run<R> {
  result: R;
  anomalies: AnomalyCode[];
  dissector: Dissector<R>;
}

/** Feeds each segment cut into pieces by `cut` (piece lengths), in order; frame = segment index + 1. */
export function run<R>(factory: DissectorFactory<R>, segments: Segment[], cut?: (len: number, index: number) => number[]): Run<R> {
  const anomalies: AnomalyCode[] = [];
  const d = factory.create((c) => anomalies.push(c));
  segments.forEach((s, i) => {
    const pieces = cut ? cut(s.bytes.length, i) : [s.bytes.length];
    let off = 0;
    for (const p of pieces) {
      // A fresh copy per piece: dissectors must not rely on the view outliving the call.
      const copy = new Uint8Array(s.bytes.subarray(off, off + p));
      d.feed(s.dir, copy, 0, copy.length, stampOf(1000 + i, i + 1));
      off += p;
    }
    if (off < s.bytes.length) {
      const copy = new Uint8Array(s.bytes.subarray(off));
      d.feed(s.dir, copy, 0, copy.length, stampOf(1000 + i, i + 1));
    }
  });
  d.end(0);
  d.end(1);
  return { result: d.result(), anomalies, dissector: d };
}

export const byteByByte = (len: number): number[] => new Array<number>(len).fill(1);

/** Whole, byte by byte, and every two-way split of every segment give the same result. */
export function expectSplitInvariant<R>(factory: DissectorFactory<R>, segments: Segment[], equal: (a: unknown, b: unknown) => void): void {
  const whole = run(factory, segments);
  equal(run(factory, segments, byteByByte).result, whole.result);
  for (let k = 0; k < segments.length; k++) {
    const len = segments[k]!.bytes.length;
    for (let at = 1; at < len; at++) {
      const r = run(factory, segments, (l, i) => (i === k ? [at, l - at] : [l]));
      equal(r.result, whole.result);
    }
  }
}

/** One buffer with all bytes of one direction, for single-direction split tests. */
export function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}
