/**
 * Messages between the analysis thread (src/pipeline/analysis-worker.ts: reader, decoder, flow table,
 * reassembly, dissectors) and the thread that started it (classification and storing), and the
 * plain form the result of a capture takes between them.
 */
import { AnomalyCounter, type AnomalyCode } from '../anomalies';
import type { CaptureInfo } from '../ingest/capture-info';
import type { PacketDecoderOptions } from '../decode/packet-decoder';
import type { DissectorId } from '../../dissectors/types';
import { CaptureError } from '../ingest/capture-error';
import type { ExportedSecret } from '../../dissectors/tls/decrypt/key-log';
import type { FlowRecord } from '../model/flow-record';
import type { CertificateInfo } from '../model/records';
import type { CaptureAnalysis } from './analyze-file';
import { EngineStats } from './engine-stats';
import type { Shard } from './shard';

/** Flow records sent in one message (one structured clone, one wake-up of the receiver). */
export const FLOW_BATCH = 256;
/**
 * Batches sent and not yet handled by the receiver beyond which the analysis thread waits: memory
 * stays bounded when storing is slower than reading (many short connections).
 */
export const MAX_BATCHES_IN_FLIGHT = 16;

export interface StartMessage {
  type: 'start';
  file: string;
  idleTimeout?: number;
  maxFlows?: number;
  keepDuplicates?: boolean;
  /** Tunnel ports and other decoding choices (plain data). */
  decoder?: PacketDecoderOptions;
  /** TCP ports handed to a dissector (or none) without probing: `--decode-as tcp.port==N,KIND`. */
  forcedPorts?: ReadonlyMap<number, DissectorId | null>;
  flowIdPrefix?: string;
  captureIndex?: number;
  /** The connections this thread analyses when several share the capture (see shard.ts). */
  shard?: Shard;
  /** The run's TLS secrets so far (key log files, earlier captures' Decryption Secrets Blocks). */
  secrets: ExportedSecret[];
  /** Int32Array[0]: batches in flight (the sender adds, the receiver subtracts and notifies). */
  inFlight: SharedArrayBuffer;
}

export interface AbortMessage {
  type: 'abort';
}

export type ToWorker = StartMessage | AbortMessage;

export type FromWorker =
  | { type: 'flows'; records: FlowRecord[] }
  | { type: 'progress'; bytes: number; packets: number }
  /** `rawBytes`: bytes of the file read (the parent hashes as many: the result's sha256 is ''). */
  | { type: 'done'; result: PlainAnalysis; rawBytes: number }
  | { type: 'failed'; message: string; stack?: string };

interface PlainError {
  file: string;
  offset: number;
  code: string;
  message: string;
}

/** CaptureAnalysis without classes (counters and the error as plain data). */
export interface PlainAnalysis {
  info: Omit<CaptureInfo, 'anomalies' | 'error'> & { error: PlainError | null };
  stats: Omit<EngineStats, 'anomalies'>;
  anomalies: Record<string, number>;
  lateSecrets: boolean;
}

export function toPlain(a: CaptureAnalysis): PlainAnalysis {
  const { anomalies: _counted, error, ...info } = a.info;
  const { anomalies: _same, ...stats } = a.stats;
  return {
    info: { ...info, error: error === null ? null : { file: error.file, offset: error.offset, code: error.code, message: error.message } },
    stats: { ...stats, linkTypes: new Map(stats.linkTypes) },
    anomalies: a.stats.anomalies.toJSON(),
    lateSecrets: a.lateSecrets,
  };
}

export function fromPlain(p: PlainAnalysis): CaptureAnalysis {
  // One counter per capture, shared by the reader's info and the engine's stats, as analyzeCapture has it.
  const anomalies = new AnomalyCounter();
  for (const [code, n] of Object.entries(p.anomalies)) anomalies.add(code as AnomalyCode, n);
  const stats = new EngineStats(anomalies);
  const { linkTypes, ...counts } = p.stats;
  Object.assign(stats, counts);
  for (const [k, v] of linkTypes) stats.linkTypes.set(k, v);
  const e = p.info.error;
  const error = e === null ? null : Object.assign(new CaptureError(e.file, e.offset, e.code, ''), { message: e.message });
  return { info: { ...p.info, error, anomalies }, stats, lateSecrets: p.lateSecrets };
}

/** Distinct certificates RecordInterner keeps; beyond, it starts over. */
export const MAX_INTERNED = 4096;
/** Lists of hello fields RecordInterner compares a new one with, per field. */
const RECENT_LISTS = 8;

function sameNumbers(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Makes the records of a batch share one object per distinct certificate and per distinct list of
 * hello fields (offered ciphers, extensions …), which thousands of connections repeat: the
 * structured clone of a message writes an object it meets again as a back-reference, so each is
 * copied once per batch instead of once per record. Records are changed in place; what they hold is
 * equal to what they held.
 */
export class RecordInterner {
  private readonly certificates = new Map<string, CertificateInfo>();
  /** Per field of the hello, the lists seen last (a few client and server implementations repeat). */
  private readonly lists: number[][][] = Array.from({ length: 7 }, () => []);

  intern(rec: FlowRecord): void {
    const tls = rec.tls;
    if (tls === null) return;
    this.certificateList(tls.serverCertificates);
    this.certificateList(tls.clientCertificates);
    tls.clientCiphers = this.list(0, tls.clientCiphers);
    tls.clientExtensions = this.list(1, tls.clientExtensions);
    tls.serverExtensions = this.list(2, tls.serverExtensions);
    tls.supportedGroups = this.list(3, tls.supportedGroups);
    tls.signatureAlgorithms = this.list(4, tls.signatureAlgorithms);
    tls.supportedVersions = this.list(5, tls.supportedVersions);
    tls.ecPointFormats = this.list(6, tls.ecPointFormats);
  }

  private certificateList(list: CertificateInfo[]): void {
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      const known = this.certificates.get(c.sha256);
      // The same DER parses to the same fields: one object stands for every copy.
      if (known !== undefined && known.der === c.der) list[i] = known;
      else this.remember(this.certificates, c.sha256, c);
    }
  }

  /** An equal list seen lately (compared number by number: cheaper than a key), or `a` remembered. */
  private list(field: number, a: number[]): number[] {
    if (a.length === 0) return a;
    const recent = this.lists[field]!;
    for (let i = 0; i < recent.length; i++) {
      const r = recent[i]!;
      if (sameNumbers(r, a)) {
        if (i > 0) {
          recent[i] = recent[0]!;
          recent[0] = r;
        }
        return r;
      }
    }
    if (recent.length >= RECENT_LISTS) recent.pop();
    recent.unshift(a);
    return a;
  }

  private remember<T>(m: Map<string, T>, key: string, value: T): void {
    if (m.size >= MAX_INTERNED) m.clear();
    m.set(key, value);
  }
}
