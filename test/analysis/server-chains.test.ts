import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_LEAVES_PER_SERVER, ServerChains, type SeenChain } from '../../src/analysis/server-chains';
import type { CertificateInfo } from '../../src/model/records';

/** Only the leaf's sha256 matters to the index. */
function seen(leaf: string, ts: number, n: number): SeenChain {
  return { chain: [{ sha256: leaf } as CertificateInfo], flowId: `f${n}`, ts, frame: n };
}

describe('ServerChains', () => {
  it('tells which certificate a server presented at a time across a rotation', () => {
    const c = new ServerChains();
    expect(c.presentedAt(1)).toBeNull();
    // Leaf a from t=0 to t=100, then b from t=110 to t=200 (observed out of time order).
    c.add(seen('a', 50, 1));
    c.add(seen('b', 200, 2));
    c.add(seen('a', 0, 3));
    c.add(seen('a', 100, 4));
    c.add(seen('b', 110, 5));
    // Answered with the leaf's first sighting: a from f3 (t=0), b from f5 (t=110).
    expect(c.presentedAt(60)!.chain[0]!.sha256).toBe('a');
    expect(c.presentedAt(60)!.flowId).toBe('f3');
    expect(c.presentedAt(150)!.flowId).toBe('f5');
    expect(c.presentedAt(104)!.flowId).toBe('f3'); // between the runs: nearer to a's span
    expect(c.presentedAt(107)!.flowId).toBe('f5');
    expect(c.presentedAt(-5)!.flowId).toBe('f3');
    expect(c.presentedAt(999)!.flowId).toBe('f5');
  });

  it('breaks ties toward the leaf observed first and its earlier sighting', () => {
    const c = new ServerChains();
    c.add(seen('a', 10, 1));
    c.add(seen('b', 20, 2));
    c.add(seen('a', 10, 3));
    expect(c.presentedAt(15)!.flowId).toBe('f1');
    expect(c.presentedAt(10)!.flowId).toBe('f1');
  });

  it('marks a change only when an answer can change', () => {
    const clock = { now: 0 };
    const c = new ServerChains(clock);
    const step = (leaf: string, ts: number) => {
      clock.now++;
      c.add(seen(leaf, ts, clock.now));
    };
    step('a', 10);
    expect([c.changedAt, c.leavesChangedAt]).toEqual([1, 1]);
    // One leaf: later sightings leave every answer as it was (its first sighting).
    step('a', 20);
    step('a', 30);
    expect([c.changedAt, c.leavesChangedAt]).toEqual([1, 1]);
    expect(c.presentedAt(25)!.flowId).toBe('f1');
    step('a', 5); // an earlier first sighting
    expect([c.changedAt, c.leavesChangedAt]).toEqual([4, 4]);
    step('b', 40); // a rotation: which leaf a time belongs to now rests on where each span ends
    expect([c.changedAt, c.leavesChangedAt]).toEqual([5, 5]);
    step('a', 35);
    expect([c.changedAt, c.leavesChangedAt]).toEqual([6, 5]);
    expect(c.presentedAt(36)!.flowId).toBe('f4');
  });

  it('finds the first chain with another leaf', () => {
    const c = new ServerChains();
    c.add(seen('a', 1, 1));
    c.add(seen('a', 2, 2));
    expect(c.firstOtherLeaf('a')).toBeNull();
    c.add(seen('b', 3, 3));
    c.add(seen('c', 0, 4));
    expect(c.firstOtherLeaf('a')!.flowId).toBe('f3');
    expect(c.firstOtherLeaf('b')!.flowId).toBe('f1');
  });

  it('keeps memory flat however many connections show the same certificates', () => {
    const c = new ServerChains();
    for (let i = 0; i < 100_000; i++) c.add(seen(i % 2 === 0 ? 'a' : 'b', i, i));
    expect(c.observations).toBe(100_000);
    expect(c.leaves).toBe(2);
    for (let i = 0; i < MAX_LEAVES_PER_SERVER + 10; i++) c.add(seen(`leaf${i}`, i, i));
    expect(c.leaves).toBe(MAX_LEAVES_PER_SERVER);
    expect(c.dropped).toBe(12);
  });

  it('always answers with a sighting that was added, of a leaf presented at that time when there is one', () => {
    const obs = fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 20 })), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(obs, fc.integer({ min: -5, max: 25 }), (list, q) => {
        const c = new ServerChains();
        const added = list.map(([leaf, ts], i) => seen(leaf, ts, i));
        for (const s of added) c.add(s);
        const r = c.presentedAt(q)!;
        expect(added).toContain(r);
        const exact = added.filter((s) => s.ts === q).map((s) => s.chain[0]!.sha256);
        if (exact.length > 0) {
          // Some leaf was seen exactly at q; the answer's leaf was seen on both sides of q (or at it).
          const times = added.filter((s) => s.chain[0]!.sha256 === r.chain[0]!.sha256).map((s) => s.ts);
          expect(Math.min(...times)).toBeLessThanOrEqual(q);
          expect(Math.max(...times)).toBeGreaterThanOrEqual(q);
        }
      }),
    );
  });
});
