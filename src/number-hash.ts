/**
 * Hashing of small number lists for the memo tables that must not build a string per lookup (TLS
 * hello fingerprints). A hit is always confirmed by comparing the lists (`sameList`): the hash only
 * picks the bucket.
 */

/** Mixes one 32-bit value into the hash `h`. */
export function mix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x01000193);
  return (h ^ (h >>> 15)) | 0;
}

/** Mixes a list (its length first, so lists that only concatenate alike still differ). */
export function mixList(h: number, list: readonly number[]): number {
  h = mix(h, list.length + 0x10000);
  for (let i = 0; i < list.length; i++) h = mix(h, list[i]!);
  return h;
}

export function sameList(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
