/**
 * Digests of fingerprint strings, remembered. The clients of a cluster send the same few
 * ClientHellos on thousands of connections, so JA3/JA4 hash the same strings again and again; a
 * digest computed once is looked up by its exact input afterwards. Bounded: when full, it starts over.
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
