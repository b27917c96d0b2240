import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ServerChains, type SeenChain } from '../../src/analysis/server-chains';
import type { CertificateInfo } from '../../src/model/records';

/** Only the leaf's sha256 matters to the index. */
function seen(leaf: string, ts: number, n: number): SeenChain {
  return { chain: [{ sha256: leaf } as CertificateInfo], flowId: `f${n}`, ts, frame: n };
}

/** The definitions the index replaces: linear scans in observation order. */
function scanNearest(list: SeenChain[], ts: number): SeenChain | null {
  if (list.length === 0) return null;
  let best = list[0]!;
  for (const s of list) if (Math.abs(s.ts - ts) < Math.abs(best.ts - ts)) best = s;
  return best;
}
const scanOther = (list: SeenChain[], leaf: string) => list.find((s) => s.chain[0]!.sha256 !== leaf) ?? null;

describe('ServerChains', () => {
  it('answers nearest-in-time with the first observed among ties', () => {
    const c = new ServerChains();
    c.add(seen('a', 10, 1));
    c.add(seen('b', 20, 2));
    c.add(seen('c', 20, 3));
    c.add(seen('d', 0, 4));
    expect(c.nearest(15)!.flowId).toBe('f1'); // 10 and 20 equally near: f1 observed first
    expect(c.nearest(19)!.flowId).toBe('f2');
    expect(c.nearest(-5)!.flowId).toBe('f4');
    expect(c.nearest(100)!.flowId).toBe('f2');
    expect(new ServerChains().nearest(1)).toBeNull();
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

  it('agrees with a linear scan on any observations, queried between additions', () => {
    const obs = fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 20 })), { maxLength: 40 });
    fc.assert(
      fc.property(obs, fc.array(fc.integer({ min: -5, max: 25 }), { maxLength: 10 }), (list, queries) => {
        const c = new ServerChains();
        const plain: SeenChain[] = [];
        list.forEach(([leaf, ts], i) => {
          const s = seen(leaf, ts, i);
          c.add(s);
          plain.push(s);
          for (const q of queries) expect(c.nearest(q)).toBe(scanNearest(plain, q));
          for (const l of ['a', 'b', 'c']) expect(c.firstOtherLeaf(l)).toBe(scanOther(plain, l));
        });
      }),
    );
  });
});
