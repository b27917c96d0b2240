import type { Db } from '../store/store';
import { FlowWriter } from '../store/store';
import { readCapture } from '../ingest/read-capture';
import { Engine } from '../pipeline/engine';
import { defaultSessionFactory } from '../../dissectors/app-session';
import type { CaptureInfo } from '../ingest/capture-info';

export interface IngestedCapture {
  file: string;
  captureId: number;
  /** Set when the same content was already in the database: nothing new was stored. */
  duplicateOf: number | null;
  info: CaptureInfo;
  flows: number;
  tcpConnections: number;
  udpFlows: number;
}

export interface IngestOptions {
  onProgress?: (file: string, bytesRead: number, packets: number) => void;
  idleTimeout?: number;
  maxFlows?: number;
  signal?: AbortSignal;
}

/**
 * Reads captures into the store: every flow with its dissected evidence, in batched transactions.
 * A capture is 'ingesting' until it is finished; a process killed before that leaves it to be marked
 * 'incomplete' by the next open, with every batch before the kill intact.
 */
export async function ingestCaptures(db: Db, files: string[], opts: IngestOptions = {}): Promise<IngestedCapture[]> {
  const out: IngestedCapture[] = [];
  const insertCapture = db.prepare(`INSERT INTO captures (file, status, pid, started_at) VALUES (?, 'ingesting', ?, ?)`);
  for (const file of files) {
    const captureId = Number(insertCapture.run(file === '-' ? '(stdin)' : file, process.pid, new Date().toISOString()).lastInsertRowid);
    const writer = new FlowWriter(db, captureId);
    const engine = new Engine({
      sessionFactory: defaultSessionFactory,
      onFlowEnd: (rec) => writer.add(rec),
      flowIdPrefix: `c${captureId}f`,
      captureIndex: captureId,
      idleTimeout: opts.idleTimeout,
      maxFlows: opts.maxFlows,
    });
    const info = await readCapture(file, (frame) => engine.processFrame(frame), {
      onProgress: opts.onProgress ? (n: number) => opts.onProgress!(file, n, engine.stats.packets) : undefined,
      signal: opts.signal,
    });
    engine.finish();
    writer.flush();
    const stats = engine.stats;
    const dup = info.sha256
      ? (db.prepare(`SELECT id FROM captures WHERE sha256 = ? AND id != ? AND status IN ('complete','damaged')`).pluck().get(info.sha256, captureId) as number | undefined)
      : undefined;
    if (dup !== undefined) {
      db.prepare(`DELETE FROM captures WHERE id = ?`).run(captureId);
      out.push({ file, captureId: dup, duplicateOf: dup, info, flows: stats.flowsTotal, tcpConnections: stats.tcpConnections, udpFlows: stats.udpFlows });
      continue;
    }
    const anomalies = info.anomalies.toJSON();
    for (const [k, v] of Object.entries(stats.anomalies.toJSON())) anomalies[k] = (anomalies[k] ?? 0) + v;
    db.transaction(() => {
      db.prepare(
        `UPDATE captures SET sha256 = ?, format = ?, compressed = ?, status = ?, packets = ?, bytes = ?, flows = ?,
           first_ts = ?, last_ts = ?, link_types = ?, anomalies = ?, error = ?, finished_at = ? WHERE id = ?`,
      ).run(
        info.sha256 || null, info.format, info.compressed ? 1 : 0, info.error ? 'damaged' : 'complete', info.packets, info.bytes,
        writer.written, Number.isFinite(info.firstTs) ? info.firstTs : null, Number.isFinite(info.lastTs) ? info.lastTs : null,
        JSON.stringify(info.linkTypes), JSON.stringify(anomalies), info.error ? info.error.message : null, new Date().toISOString(), captureId,
      );
      const ins = db.prepare(`INSERT INTO anomalies (capture_id, code, count) VALUES (?,?,?)`);
      for (const [code, count] of Object.entries(anomalies)) ins.run(captureId, code, count);
    })();
    out.push({ file, captureId, duplicateOf: null, info, flows: writer.written, tcpConnections: stats.tcpConnections, udpFlows: stats.udpFlows });
  }
  return out;
}
