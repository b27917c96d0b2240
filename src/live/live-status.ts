import { writerGone, type Db } from '../store/store';

/** Counters of one live run, updated in place by the sources and the live loop. */
export class LiveCounters {
  /** Frames handed to the engine. */
  packets = 0;
  bytes = 0;
  /** Packets the kernel dropped, as tcpdump reports them (0 for other sources). */
  kernelDrops = 0;
  /** Packets we discarded because our queue was full (we could not keep up). */
  ourDrops = 0;
  flows = 0;
  activeFlows = 0;
  /** Packets per second over the last status interval. */
  packetsPerSec = 0;
}

/** The `live_status` row as the TUI reads it. */
export interface LiveStatusRow {
  source: string;
  pid: number | null;
  capture_id: number | null;
  running: number;
  started_at: number;
  updated_at: number;
  packets: number;
  bytes: number;
  packets_per_sec: number;
  flows: number;
  active_flows: number;
  kernel_drops: number;
  our_drops: number;
  message: string | null;
}

/** Keeps the single `live_status` row up to date (schema migration 2). */
export class LiveStatusWriter {
  private readonly upsert;
  private readonly startedAt = Date.now() / 1000;

  constructor(
    db: Db,
    private readonly source: string,
    private readonly captureId: number,
  ) {
    this.upsert = db.prepare(`INSERT INTO live_status (id, source, pid, capture_id, running, started_at, updated_at, packets,
        bytes, packets_per_sec, flows, active_flows, kernel_drops, our_drops, message)
      VALUES (1,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
      ON CONFLICT(id) DO UPDATE SET source = excluded.source, pid = excluded.pid, capture_id = excluded.capture_id,
        running = excluded.running, started_at = excluded.started_at, updated_at = excluded.updated_at,
        packets = excluded.packets, bytes = excluded.bytes, packets_per_sec = excluded.packets_per_sec,
        flows = excluded.flows, active_flows = excluded.active_flows, kernel_drops = excluded.kernel_drops,
        our_drops = excluded.our_drops, message = excluded.message`);
  }

  write(c: LiveCounters, running: boolean, message: string | null = null): void {
    this.upsert.run(this.source, process.pid, this.captureId, running ? 1 : 0, this.startedAt, Date.now() / 1000, c.packets,
      c.bytes, c.packetsPerSec, c.flows, c.activeFlows, c.kernelDrops, c.ourDrops, message);
  }
}

/** Reads the live status row; null when no live run ever wrote to this database (or it predates it). */
export function readLiveStatus(db: Db): LiveStatusRow | null {
  let row: LiveStatusRow | undefined;
  try {
    row = db.prepare(`SELECT * FROM live_status WHERE id = 1`).get() as LiveStatusRow | undefined;
  } catch {
    return null; // older schema without the table
  }
  if (row === undefined) return null;
  // A live run killed before it could write its end: its process is gone, so it is not running.
  if (row.running === 1 && writerGone(row.pid)) {
    return { ...row, running: 0, message: row.message ?? 'the live capture stopped without finishing (its process is gone)' };
  }
  return row;
}
