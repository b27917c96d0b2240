import type { CertificateInfo } from '../model/records';

export interface SeenChain {
  chain: CertificateInfo[];
  flowId: string;
  ts: number;
  frame: number;
}

/**
 * The certificate chains one server endpoint presented, indexed for the two questions the rules ask
 * of every flow: "which chain was seen nearest in time?" and "was a different leaf ever seen?".
 * A busy API server presents its chain on tens of thousands of connections; scanning that list per
 * flow made classification quadratic. Answers are exactly those of a scan in observation order.
 */
export class ServerChains {
  /** Every observation, in the order observed. */
  readonly all: SeenChain[] = [];
  /** First observation of each distinct leaf (SHA-256), in the order first seen. */
  private readonly firstByLeaf = new Map<string, SeenChain>();
  /** Indexes into `all` sorted by (ts, observation order); rebuilt lazily after new observations. */
  private byTime: Int32Array | null = null;

  add(seen: SeenChain): void {
    this.all.push(seen);
    const leaf = seen.chain[0]!.sha256;
    if (!this.firstByLeaf.has(leaf)) this.firstByLeaf.set(leaf, seen);
    this.byTime = null;
  }

  /** The earliest observed chain whose leaf is not `leafSha256`, or null. */
  firstOtherLeaf(leafSha256: string): SeenChain | null {
    // The earliest entry with another leaf is the first occurrence of that leaf.
    for (const [sha, seen] of this.firstByLeaf) if (sha !== leafSha256) return seen;
    return null;
  }

  /** The observation nearest to `ts`; among equally near ones, the one observed first. */
  nearest(ts: number): SeenChain | null {
    const all = this.all;
    if (all.length === 0) return null;
    const order = this.sorted();
    // First index whose ts >= the query.
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (all[order[mid]!]!.ts < ts) lo = mid + 1;
      else hi = mid;
    }
    // Candidates: the first of the group just below, and the first of the group at or above.
    let below = -1;
    if (lo > 0) {
      const t = all[order[lo - 1]!]!.ts;
      let i = lo - 1;
      while (i > 0 && all[order[i - 1]!]!.ts === t) i--;
      below = order[i]!;
    }
    const above = lo < order.length ? order[lo]! : -1;
    if (below < 0) return all[above]!;
    if (above < 0) return all[below]!;
    const db = Math.abs(all[below]!.ts - ts);
    const da = Math.abs(all[above]!.ts - ts);
    if (db !== da) return all[db < da ? below : above]!;
    return all[below < above ? below : above]!;
  }

  private sorted(): Int32Array {
    if (this.byTime !== null) return this.byTime;
    const all = this.all;
    const order = new Int32Array(all.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((a, b) => all[a]!.ts - all[b]!.ts || a - b);
    this.byTime = order;
    return order;
  }
}
