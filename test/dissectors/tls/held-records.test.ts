import { describe, expect, it } from 'vitest';
import { HeldRecords, MAX_HELD_BYTES } from '../../../dissectors/tls/held-records';
import { ByteBudget } from '../../../src/byte-budget';

describe('protected records held until their keys are logged', () => {
  it('keep each record whole however its body arrives, with its own frame and time', () => {
    const held = new HeldRecords();
    const body = Uint8Array.from({ length: 10_000 }, (_, i) => i & 0xff);
    expect(held.begin(23, 3, 3, body.length, 7, 1.5)).toBe(true);
    held.append(body, 0, 3000);
    expect(held.complete).toBe(false);
    held.append(body, 3000, body.length);
    expect(held.complete).toBe(true);
    expect(held.begin(23, 3, 3, 2, 9, 1.75)).toBe(true);
    held.append(Uint8Array.of(0xaa, 0xbb, 0xcc), 0, 3); // a chunk may run past the record: the rest is not its
    expect(held.records).toEqual([
      { type: 23, major: 3, minor: 3, start: 0, length: 10_000, frame: 7, ts: 1.5 },
      { type: 23, major: 3, minor: 3, start: 10_000, length: 2, frame: 9, ts: 1.75 },
    ]);
    expect(held.bytes.subarray(0, 10_000)).toEqual(body);
    expect([...held.bytes.subarray(10_000, 10_002)]).toEqual([0xaa, 0xbb]);
  });

  it('refuse a record that would pass the cap', () => {
    const held = new HeldRecords();
    expect(held.begin(23, 3, 3, MAX_HELD_BYTES - 10, 1, 0)).toBe(true);
    held.append(new Uint8Array(MAX_HELD_BYTES - 10), 0, MAX_HELD_BYTES - 10);
    expect(held.begin(23, 3, 3, 11, 2, 0)).toBe(false);
    expect(held.records).toHaveLength(1);
  });

  it('share one budget across connections, given back when let go', () => {
    const budget = new ByteBudget(1000);
    const a = new HeldRecords(budget);
    const b = new HeldRecords(budget);
    expect(a.begin(23, 3, 3, 600, 1, 0)).toBe(true);
    expect(b.begin(23, 3, 3, 500, 2, 0)).toBe(false);
    expect(budget.used).toBe(600);
    a.release();
    expect(budget.used).toBe(0);
    expect(a.records).toEqual([]);
    expect(b.begin(23, 3, 3, 500, 2, 0)).toBe(true);
    b.release();
    b.release();
    expect(budget.used).toBe(0);
  });
});
