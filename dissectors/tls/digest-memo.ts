/**
 * Digests of fingerprint strings, remembered. A cluster's servers answer thousands of connections
 * with the same few ServerHellos, so JA3S hashes the same strings again and again; a digest computed
 * once is looked up by its exact input afterwards. Bounded: when full, it starts over.
 */
export function memoizeDigest(digest: (input: string) => string, maxEntries = 4096): (input: string) => string {
  const memo = new Map<string, string>();
  return (input: string): string => {
    let out = memo.get(input);
    if (out === undefined) {
      out = digest(input);
      if (memo.size >= maxEntries) memo.clear();
      memo.set(input, out);
    }
    return out;
  };
}
