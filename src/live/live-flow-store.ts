import { FlowWriter, type Db } from '../store/store';
import type { FlowRecord } from '../model/flow-record';
import type { Verdict } from '../model/analysis';

/** A flow open at least this long (capture time) is written as a snapshot while it lasts. */
export const SNAPSHOT_MIN_AGE_S = 2;

/**
 * Writes live flows: every flow when it ends, and long-lived ones periodically as snapshots
 * (end_reason 'active'). A flow is one row whatever happens: writing a newer version of a flow
 * replaces the older row in the same transaction (its children and findings go with it by cascade,
 * and the newer version is stored with its own verdict).
 */
export class LiveFlowStore {
  private readonly writer: FlowWriter;
  private pending: FlowRecord[] = [];
  /** Open flows already written as snapshots → their packet count then (unchanged flows are skipped). */
  private readonly snapshotted = new Map<string, number>();
  private readonly deleteFlow;
  /** Rows written or replaced since the last classification pass. */
  changed = 0;

  /** `verdictOf` classifies each version of a flow as it is written (null: stored unclassified). */
  constructor(
    private readonly db: Db,
    captureId: number,
    private readonly verdictOf: ((rec: FlowRecord) => Verdict) | null = null,
  ) {
    this.writer = new FlowWriter(db, captureId);
    this.deleteFlow = db.prepare(`DELETE FROM flows WHERE id = ?`);
  }

  /** Engine callback: a flow ended. */
  ended(rec: FlowRecord): void {
    this.pending.push(rec);
  }

  /** Queues snapshots of open flows that are old enough and changed since they were last written. */
  snapshot(open: FlowRecord[]): void {
    for (const rec of open) {
      if (rec.lastTs - rec.firstTs < SNAPSHOT_MIN_AGE_S && !this.snapshotted.has(rec.id)) continue;
      const n = rec.packets[0] + rec.packets[1];
      if (this.snapshotted.get(rec.id) === n) continue;
      this.pending.push(rec);
    }
  }

  /** Writes what is pending in one transaction; returns the number of rows written. */
  flush(): number {
    if (this.pending.length === 0) return 0;
    // The latest version of each flow wins (a snapshot and the end of the same flow may both be queued).
    const latest = new Map<string, FlowRecord>();
    for (const rec of this.pending) latest.set(rec.id, rec);
    this.pending = [];
    const ids = this.writer.ids;
    try {
      this.db.transaction(() => {
        for (const rec of latest.values()) {
          const old = ids.get(rec.id);
          if (old !== undefined) this.deleteFlow.run(old);
          this.writer.add(rec, this.verdictOf === null ? null : this.verdictOf(rec));
        }
        this.writer.flush();
      })();
    } catch (e) {
      this.writer.forgetWritten();
      throw e;
    }
    for (const rec of latest.values()) {
      if (rec.endReason === 'active') this.snapshotted.set(rec.id, rec.packets[0] + rec.packets[1]);
      else {
        // Ended for good: nothing will replace it, so its id need not be remembered (memory stays flat).
        this.snapshotted.delete(rec.id);
        ids.delete(rec.id);
      }
    }
    this.changed += latest.size;
    return latest.size;
  }

  /** Flows written by this run (each counted once). */
  get written(): number {
    return this.writer.written;
  }
}
