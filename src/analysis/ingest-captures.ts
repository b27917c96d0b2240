import type { Db } from '../store/store';
import { FlowWriter } from '../store/store';
import { analyzeCapture, type AnalyzeCaptureOptions, type CaptureAnalysis } from '../pipeline/analyze-file';
import { analysisThreads, analyzeCaptureOnWorker } from '../pipeline/analyze-on-worker';
import { keyLogSessionFactory } from '../../dissectors/app-session';
import { KeyLog } from '../../dissectors/tls/decrypt/key-log';
import type { FlowRecord } from '../model/flow-record';
import { STDIN_CAPTURE } from '../model/records';
import type { Verdict } from '../model/analysis';
import { decoderOptionsFor, forcedAppPorts, storedDecodeAs, type DecodeAsRule } from '../decode/decode-as';

export interface IngestedCapture extends CaptureAnalysis {
  file: string;
  captureId: number;
  /** Set when the same content was already in the database: nothing new was stored. */
  duplicateOf: number | null;
  flowsStored: number;
  /**
   * The capture was read twice: TLS secrets in a Decryption Secrets Block after its first packets
   * were applied to every connection by a second reading (its flows were stored again).
   */
  readTwice: boolean;
  /** Captures of the same content stored decoded with other `--decode-as` rules (ids, with their rules as stored). */
  otherDecodings: { id: number; decodeAs: string | null }[];
}

export interface IngestOptions {
  onProgress?: (file: string, bytesRead: number, packets: number) => void;
  idleTimeout?: number;
  maxFlows?: number;
  keepDuplicates?: boolean;
  /** `--decode-as` rules: tunnels on UDP ports, dissectors on TCP ports (stored with each capture). */
  decodeAs?: DecodeAsRule[];
  /**
   * Threads in all: 1 everything on this thread; 2 each file read and dissected on a thread of its
   * own; n more: n − 1 threads share each file's connections (see analysisThreads).
   */
  threads?: number;
  signal?: AbortSignal;
  /**
   * TLS secrets (`--keylog` files) for the whole run; the captures' Decryption Secrets Blocks are
   * added to it as they are read (default: a store of the DSBs alone).
   */
  keyLog?: KeyLog;
  /**
   * Classifies each flow as it is stored (its capture may yet turn out a duplicate); without it flows
   * are stored unclassified, for a later classification pass.
   */
  classify?: (rec: FlowRecord) => Verdict;
  /** A line for the user about a capture (a second reading, for instance). */
  onNote?: (line: string) => void;
}

/**
 * Reads captures into the store: every flow with its dissected evidence, in batched transactions.
 * A capture is 'ingesting' until it is finished; a process killed before that leaves it to be marked
 * 'incomplete' by the next open, with every batch before the kill intact.
 */
export async function ingestCaptures(db: Db, files: string[], opts: IngestOptions = {}): Promise<IngestedCapture[]> {
  const out: IngestedCapture[] = [];
  const keyLog = opts.keyLog ?? new KeyLog();
  const forcedPorts = forcedAppPorts(opts.decodeAs ?? []);
  const sessionFactory = keyLogSessionFactory(keyLog, forcedPorts);
  const insertCapture = db.prepare(`INSERT INTO captures (file, status, pid, started_at, decode_as) VALUES (?, 'ingesting', ?, ?, ?)`);
  const decodeAs = storedDecodeAs(opts.decodeAs ?? []);
  const decoder = decoderOptionsFor(opts.decodeAs ?? []);
  for (const file of files) {
    const captureId = Number(insertCapture.run(file === '-' ? STDIN_CAPTURE : file, process.pid, new Date().toISOString(), decodeAs).lastInsertRowid);
    const read = async (classify: IngestOptions['classify']): Promise<{ result: CaptureAnalysis; writer: FlowWriter }> => {
      // Classification reads flows back from the database: no key → id map is needed here. The
      // writer classifies the flows as it writes them, a queue at a time.
      const writer = new FlowWriter(db, captureId, { trackIds: false, classify });
      const threads = analysisThreads(file, opts.threads);
      try {
        const analyse = threads === 0 ? analyzeCapture : (f: string, o: AnalyzeCaptureOptions) => analyzeCaptureOnWorker(f, o, threads);
        const result = await analyse(file, {
          sessionFactory,
          keyLog,
          onFlowEnd: (rec) => writer.add(rec),
          flowIdPrefix: `c${captureId}f`,
          captureIndex: captureId,
          idleTimeout: opts.idleTimeout,
          maxFlows: opts.maxFlows,
          keepDuplicates: opts.keepDuplicates,
          decoder,
          forcedPorts,
          signal: opts.signal,
          onProgress: opts.onProgress ? (n: number, packets: number) => opts.onProgress!(file, n, packets) : undefined,
        });
        return { result, writer };
      } finally {
        // Whatever was stored before a failure is kept.
        writer.flush();
      }
    };
    let { result, writer } = await read(opts.classify);
    // Secrets that came after the connections they belong to (a Decryption Secrets Block after the
    // first packets, as merged captures have): the file is read again with every secret known from
    // the start. Its flows are stored anew, unclassified: the caller classifies the whole database.
    const readTwice = result.lateSecrets && file !== '-' && !result.info.aborted;
    if (readTwice) {
      opts.onNote?.(`${file}: TLS secrets came after the connections they belong to; reading it again with them`);
      db.prepare(`DELETE FROM flows WHERE capture_id = ?`).run(captureId);
      ({ result, writer } = await read(undefined));
    }
    const { info, stats } = result;
    // The same content decoded the same way; decoded otherwise (--decode-as), it is another analysis.
    const dup = info.sha256
      ? (db.prepare(`SELECT id FROM captures WHERE sha256 = ? AND id != ? AND status IN ('complete','damaged') AND decode_as IS ?`)
          .pluck().get(info.sha256, captureId, decodeAs) as number | undefined)
      : undefined;
    const otherDecodings = info.sha256
      ? (db.prepare(`SELECT id, decode_as AS decodeAs FROM captures WHERE sha256 = ? AND id != ? AND status IN ('complete','damaged') AND decode_as IS NOT ?`)
          .all(info.sha256, captureId, decodeAs) as { id: number; decodeAs: string | null }[])
      : [];
    if (dup !== undefined) {
      db.prepare(`DELETE FROM captures WHERE id = ?`).run(captureId);
      out.push({ ...result, file, captureId: dup, duplicateOf: dup, flowsStored: 0, readTwice, otherDecodings });
      continue;
    }
    const anomalies = stats.anomalies.toJSON();
    const linkTypes = [...stats.linkTypes.keys()].sort((a, b) => a - b);
    db.transaction(() => {
      db.prepare(
        `UPDATE captures SET sha256 = ?, format = ?, compressed = ?, status = ?, packets = ?, bytes = ?, flows = ?,
           first_ts = ?, last_ts = ?, link_types = ?, anomalies = ?, error = ?, finished_at = ? WHERE id = ?`,
      ).run(
        info.sha256 || null, info.format, info.compressed ? 1 : 0, info.error || info.aborted ? (info.error ? 'damaged' : 'incomplete') : 'complete',
        stats.packets, stats.bytes, writer.written, info.firstTs, info.lastTs, JSON.stringify(linkTypes), JSON.stringify(anomalies),
        info.error ? info.error.message : null, new Date().toISOString(), captureId,
      );
      const ins = db.prepare(`INSERT INTO anomalies (capture_id, code, count) VALUES (?,?,?)`);
      for (const [code, count] of Object.entries(anomalies)) ins.run(captureId, code, count);
    })();
    out.push({ ...result, file, captureId, duplicateOf: null, flowsStored: writer.written, readTwice, otherDecodings });
  }
  return out;
}
