import type { CertificateInfo } from '../model/records';

export interface SeenChain {
  chain: CertificateInfo[];
  flowId: string;
  ts: number;
  frame: number;
}

/** Distinct leaf certificates remembered per server endpoint; more are counted, not kept. */
export const MAX_LEAVES_PER_SERVER = 256;

/** The span of time over which one server presented one leaf: its earliest and latest sightings. */
interface LeafRun {
  first: SeenChain;
  last: SeenChain;
}

/**
 * The certificate chains one server endpoint presented, summarised for the two questions the rules
 * ask of every flow: "which chain was this server presenting at time t?" and "was a different leaf
 * ever seen?".
 *
 * A busy API server presents its chain on hundreds of thousands of connections, so observations are
 * not kept one by one (memory would grow with the capture): each distinct leaf keeps the earliest and
 * the latest connection that showed it. A certificate rotation then reads as consecutive runs.
 */
export class ServerChains {
  /** One run per distinct leaf (SHA-256), in the order first observed. */
  private readonly runs = new Map<string, LeafRun>();
  observations = 0;
  /** Observations of leaves beyond MAX_LEAVES_PER_SERVER, which are not remembered. */
  dropped = 0;
  /**
   * The clock's reading when an answer of `presentedAt` may last have changed, and when one of
   * `firstOtherLeaf` may have. Both change with a new leaf or an earlier first sighting; the choice
   * between leaves also rests on their latest sightings, which move with nearly every connection to
   * a busy server, so those count only once there is more than one leaf to choose from.
   */
  changedAt = 0;
  leavesChangedAt = 0;

  constructor(private readonly clock: { readonly now: number } = { now: 0 }) {}

  add(seen: SeenChain): void {
    this.observations++;
    const leaf = seen.chain[0]!.sha256;
    const run = this.runs.get(leaf);
    if (run === undefined) {
      if (this.runs.size >= MAX_LEAVES_PER_SERVER) {
        this.dropped++;
        return;
      }
      this.runs.set(leaf, { first: seen, last: seen });
      this.changedAt = this.leavesChangedAt = this.clock.now;
      return;
    }
    // Ties keep the sighting observed first.
    if (seen.ts < run.first.ts) {
      run.first = seen;
      this.changedAt = this.leavesChangedAt = this.clock.now;
    }
    if (seen.ts > run.last.ts) {
      run.last = seen;
      if (this.runs.size > 1) this.changedAt = this.clock.now;
    }
  }

  /** Distinct leaves remembered. */
  get leaves(): number {
    return this.runs.size;
  }

  /** The earliest observed chain whose leaf is not `leafSha256`, or null. */
  firstOtherLeaf(leafSha256: string): SeenChain | null {
    for (const [sha, run] of this.runs) if (sha !== leafSha256) return run.first;
    return null;
  }

  /**
   * The chain the server was presenting at `ts`: the leaf whose span of sightings contains `ts`, or
   * else the one whose span ends nearest to it (ties: the nearer sighting, then the leaf observed
   * first). Answered with that leaf's first sighting, so that every connection judged by one leaf
   * cites the same one, however many connections show it later.
   */
  presentedAt(ts: number): SeenChain | null {
    let best: SeenChain | null = null;
    let bestGap = Infinity;
    let bestDistance = Infinity;
    for (const run of this.runs.values()) {
      const gap = ts < run.first.ts ? run.first.ts - ts : ts > run.last.ts ? ts - run.last.ts : 0;
      const distance = Math.min(Math.abs(run.first.ts - ts), Math.abs(run.last.ts - ts));
      if (gap < bestGap || (gap === bestGap && distance < bestDistance)) {
        best = run.first;
        bestGap = gap;
        bestDistance = distance;
      }
    }
    return best;
  }
}
