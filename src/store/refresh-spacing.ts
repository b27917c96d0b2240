/**
 * How often a reader recomputes a view of a database that keeps changing (a live run commits every
 * few seconds): the dashboard's aggregates, the TUI's lists. A view that costs much (the map of a
 * million flows, over a second) is recomputed at most MAX_REFRESH_SHARE of the time, so that the
 * reader keeps answering what is cheap meanwhile.
 */

/** Share of the time one view may take to be recomputed. */
export const MAX_REFRESH_SHARE = 0.1;

/**
 * Whether a view computed at `at` (ms), which took `costMs`, may be computed again at `now`: at
 * least `minMs` later, and late enough for its cost to be MAX_REFRESH_SHARE of the time since.
 */
export function mayRecompute(at: number, costMs: number, now: number, minMs = 0): boolean {
  return now - at >= Math.max(minMs, costMs / MAX_REFRESH_SHARE);
}
