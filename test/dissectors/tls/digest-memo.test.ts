import { describe, expect, it } from 'vitest';
import { memoizeDigest } from '../../../dissectors/tls/digest-memo';

describe('memoizeDigest', () => {
  it('computes each input once, answers exactly as the digest, and stays bounded', () => {
    let calls = 0;
    const digest = memoizeDigest((s) => {
      calls++;
      return `d(${s})`;
    }, 3);
    expect(digest('a')).toBe('d(a)');
    expect(digest('a')).toBe('d(a)');
    expect(calls).toBe(1);
    for (const s of ['b', 'c', 'd', 'e']) expect(digest(s)).toBe(`d(${s})`);
    expect(calls).toBe(5);
    // The memo started over when full: 'a' is computed again, with the same answer.
    expect(digest('a')).toBe('d(a)');
    expect(calls).toBe(6);
  });
});
