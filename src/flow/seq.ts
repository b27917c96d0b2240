/**
 * TCP sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4): two sequence numbers are compared by
 * the sign of their 32-bit difference, which stays correct across the wrap from 0xffffffff to 0.
 */

/** Signed distance a - b in sequence space (-2^31 .. 2^31-1). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** a comes before b in sequence space. */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/**
 * a + n as a 32-bit sequence number, held as a signed integer: V8 keeps those unboxed, where an
 * unsigned number from 2^31 up is a heap object whenever it is passed to a call. Compare results
 * with seqDiff/seqLt; `>>> 0` gives the unsigned value.
 */
export function seqAdd(a: number, n: number): number {
  return (a + n) | 0;
}
