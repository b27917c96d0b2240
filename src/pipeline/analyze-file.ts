import type { Readable } from 'node:stream';
import { AnomalyCounter } from '../anomalies';
import type { CaptureInfo } from '../ingest/capture-info';
import { SECRETS_TLS_KEY_LOG, type CaptureSecret } from '../ingest/pcapng-reader';
import { readCapture } from '../ingest/read-capture';
import type { KeyLog } from '../../dissectors/tls/decrypt/key-log';
import { Engine, type EngineOptions } from './engine';
import type { DissectorId } from '../../dissectors/types';
import type { EngineStats } from './engine-stats';

export interface AnalyzeCaptureOptions extends EngineOptions {
  /** Raw bytes read and frames analysed so far, after every chunk. */
  onProgress?: (rawBytesRead: number, packets: number) => void;
  /** Stream read when the file is '-' (default: standard input). */
  input?: Readable;
  signal?: AbortSignal;
  /**
   * TLS key log store: the capture's Decryption Secrets Blocks are added to it as they are read, so
   * connections after them can be decrypted (the session factory must share the same store).
   */
  keyLog?: KeyLog;
  /** false: the capture's SHA-256 is not computed (`info.sha256` is ''). Default true. */
  hash?: boolean;
  /**
   * `--decode-as tcp.port==N,KIND` (AppSessionOptions.forcedPorts): not read here, where the session
   * factory already holds them, but by an analysis thread, which makes its own factory.
   */
  forcedPorts?: ReadonlyMap<number, DissectorId | null>;
}

export interface CaptureAnalysis {
  info: CaptureInfo;
  /** Engine counters; `stats.anomalies` holds the reader's anomalies too (one counter per capture). */
  stats: EngineStats;
  /**
   * A Decryption Secrets Block brought secrets of connections already past their handshake: they
   * could not use them (a second reading of the file can).
   */
  lateSecrets: boolean;
}

/**
 * Reads one capture through the engine: every readable frame is analysed, open flows are flushed
 * at the end, and damage is returned in `info.error` (never thrown).
 */
export async function analyzeCapture(file: string, opts: AnalyzeCaptureOptions): Promise<CaptureAnalysis> {
  const anomalies = opts.anomalies ?? new AnomalyCounter();
  const engine = new Engine({ ...opts, anomalies });
  const keyLog = opts.keyLog;
  let lateSecrets = false;
  const info = await readCapture(file, (frame) => engine.processFrame(frame), {
    // With shards every one reads the whole file: what the reader counts is shard 0's.
    anomalies: (opts.shard?.index ?? 0) === 0 ? anomalies : new AnomalyCounter(),
    onProgress: opts.onProgress ? (n: number) => opts.onProgress!(n, engine.stats.packets) : undefined,
    input: opts.input,
    signal: opts.signal,
    hash: opts.hash,
    onSecrets: keyLog
      ? (secret: CaptureSecret) => {
          if (secret.type !== SECRETS_TLS_KEY_LOG) return;
          const late = keyLog.lateSecrets;
          keyLog.addBytes(secret.data);
          if (keyLog.lateSecrets > late) lateSecrets = true;
        }
      : undefined,
  });
  engine.finish();
  return { info, stats: engine.getStats(), lateSecrets };
}
