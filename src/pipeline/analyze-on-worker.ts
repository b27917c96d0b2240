/**
 * One capture analysed on a thread of its own: the reader, decoder, flow table, reassembly and
 * dissectors run there (analysis-worker.ts) while this thread classifies and stores the flows that
 * come out, so the two halves of the pipeline overlap on two cores. The records arrive in the order
 * the flows ended, as from analyzeCapture: what is stored is the same either way.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SECRETS_TLS_KEY_LOG } from '../ingest/pcapng-reader';
import { AnomalyCounter, type AnomalyCode } from '../anomalies';
import type { AnalyzeCaptureOptions, CaptureAnalysis } from './analyze-file';
import { EngineStats } from './engine-stats';
import { fromPlain, type FromWorker, type StartMessage } from './worker-protocol';

/** Captures at least this large get threads of their own by default (start-up costs ~0.1 s). */
export const OWN_THREAD_MIN_BYTES = 32 * 1024 * 1024;

/** Cores the two threads need between them to gain on one (they use about 1.55 together). */
const MIN_CORES_FOR_TWO = 1.5;

/**
 * Analysis threads by default at most. The main thread classifies and stores for all of them: that
 * is about 40 % of a one-thread run's time on the benchmark's capture, so it should keep up with
 * about two (a machine with more than two cores is needed to measure it). Each reads the whole file
 * and keeps a heap of its own, about 50 MB more peak RSS per thread there: two keep the whole
 * process within 400 MB.
 */
export const MAX_DEFAULT_ANALYSIS_THREADS = 2;

/**
 * How many threads analyse `file` beside the main one (0: it is analysed on the main thread).
 * `threads` is the total: 1 none, 2 one, n ≥ 3 n − 1 sharing its connections (see shard.ts); standard
 * input is always read on the main thread. Unset: for a file of OWN_THREAD_MIN_BYTES or more, one per
 * core beyond the first (a container's CPU limit counts), at most MAX_DEFAULT_ANALYSIS_THREADS.
 */
export function analysisThreads(file: string, threads: number | undefined): number {
  if (file === '-' || threads === 1) return 0;
  if (threads !== undefined) return Math.max(1, Math.floor(threads) - 1);
  const cores = Math.min(availableParallelism(), cgroupCpuLimit());
  if (cores < MIN_CORES_FOR_TWO) return 0;
  try {
    if (statSync(file).size < OWN_THREAD_MIN_BYTES) return 0;
  } catch {
    return 0; // the reader reports what is wrong with it
  }
  return Math.max(1, Math.min(MAX_DEFAULT_ANALYSIS_THREADS, Math.floor(cores) - 1));
}

/**
 * The CPU limit of this process's control group in cores (Infinity without one): a container limited
 * to one core sees every core of its host in availableParallelism(), and two threads would only take
 * turns on it.
 */
export function cgroupCpuLimit(read: (path: string) => string | null = readSmall): number {
  // cgroup v2: "max 100000" or "QUOTA PERIOD".
  const v2 = read('/sys/fs/cgroup/cpu.max');
  if (v2 !== null) return cpuMaxCores(v2);
  // cgroup v1: a quota of -1 is no limit.
  const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us') ?? read('/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us'));
  const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us') ?? read('/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us'));
  return quota > 0 && period > 0 ? quota / period : Infinity;
}

/** Cores allowed by a cgroup v2 `cpu.max` line. */
export function cpuMaxCores(line: string): number {
  const [quota, period] = line.trim().split(/\s+/);
  const q = Number(quota);
  const p = Number(period ?? 100000);
  return quota === 'max' || !(q > 0) || !(p > 0) ? Infinity : q / p;
}

function readSmall(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The worker's module: the bundle's when this runs from dist/, else the sources' through tsx. */
function workerEntry(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('./analysis-worker-launcher.mjs', import.meta.url)
    : new URL('./analysis-worker.js', import.meta.url);
}

/**
 * analyzeCapture on `threads` other threads: one reads, decodes, reassembles and dissects the whole
 * capture; several share its connections (each reads every frame, see shard.ts), and their counters
 * are added up as one thread's. The session factory is each analysis thread's own, over a copy of
 * `keyLog`; the capture's Decryption Secrets Blocks are added to `keyLog` when it is done. Records
 * come in the order the flows ended in each thread. An exception from `onFlowEnd` stops the analysis
 * and rejects.
 */
export function analyzeCaptureOnWorker(
  file: string,
  opts: Omit<AnalyzeCaptureOptions, 'sessionFactory' | 'input' | 'anomalies' | 'shard'>,
  threads = 1,
): Promise<CaptureAnalysis> {
  return new Promise<CaptureAnalysis>((resolve, reject) => {
    const count = Math.max(1, Math.floor(threads));
    const workers: Worker[] = [];
    const results: CaptureAnalysis[] = [];
    // What each thread has read: the slowest one is where the analysis stands.
    const readBytes = new Array<number>(count).fill(0);
    let done = 0;
    let rawBytes = 0;
    // The file's SHA-256, computed here as the first analysis thread reads it (this thread has time to spare).
    const digest = new TrailingHash(file);
    let settled = false;
    let failing = false;
    const onAbort = (): void => {
      for (const w of workers) w.postMessage({ type: 'abort' });
    };
    const stopAll = (): void => {
      for (const w of workers) void w.terminate();
    };
    const settle = (then: () => void): void => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      stopAll();
      then();
    };
    // A failure stops every analysis thread at once and is reported once this thread has let go of
    // the file too; nothing they sent meanwhile is taken.
    const fail = (e: unknown): void => {
      if (settled || failing) return;
      failing = true;
      stopAll();
      void digest.abandon().then(() => settle(() => reject(e)));
    };
    const finished = (): void => {
      const analysis = mergeShards(results);
      for (const s of analysis.info.secrets) if (s.type === SECRETS_TLS_KEY_LOG) opts.keyLog?.addBytes(s.data);
      digest.finish(rawBytes).then(
        (sha256) => settle(() => resolve({ ...analysis, info: { ...analysis.info, sha256 } })),
        (e: unknown) => settle(() => reject(e)),
      );
    };
    const secrets = opts.keyLog?.exportSecrets() ?? [];
    for (let index = 0; index < count; index++) {
      const inFlight = new SharedArrayBuffer(4);
      const batches = new Int32Array(inFlight);
      const worker = new Worker(workerEntry());
      workers.push(worker);
      worker.on('message', (m: FromWorker) => {
        if (settled || failing) return;
        try {
          switch (m.type) {
            case 'flows':
              for (const rec of m.records) opts.onFlowEnd(rec);
              Atomics.sub(batches, 0, 1);
              Atomics.notify(batches, 0);
              break;
            case 'progress': {
              if (index === 0) digest.follow(m.bytes);
              readBytes[index] = m.bytes;
              let slowest = 0;
              for (let i = 1; i < count; i++) if (readBytes[i]! < readBytes[slowest]!) slowest = i;
              if (slowest === index) opts.onProgress?.(m.bytes, m.packets);
              break;
            }
            case 'done':
              results[index] = fromPlain(m.result);
              if (index === 0) rawBytes = m.rawBytes;
              if (++done === count) finished();
              break;
            case 'failed':
              fail(Object.assign(new Error(m.message), m.stack ? { stack: m.stack } : {}));
              break;
          }
        } catch (e) {
          fail(e);
        }
      });
      worker.on('error', (e) => fail(e));
      worker.on('exit', (code) => fail(new Error(`${file}: the analysis thread stopped (exit code ${code})`)));
      const start: StartMessage = {
        type: 'start',
        file,
        idleTimeout: opts.idleTimeout,
        // The flows kept at most are shared out: memory stays what one thread's table takes.
        maxFlows: opts.maxFlows === undefined || count === 1 ? opts.maxFlows : Math.max(1, Math.ceil(opts.maxFlows / count)),
        keepDuplicates: opts.keepDuplicates,
        decoder: opts.decoder,
        forcedPorts: opts.forcedPorts,
        flowIdPrefix: opts.flowIdPrefix,
        captureIndex: opts.captureIndex,
        shard: count > 1 ? { index, count } : undefined,
        secrets,
        inFlight,
      };
      worker.postMessage(start);
    }
    // After the starts: each worker takes its messages in order.
    if (opts.signal) {
      if (opts.signal.aborted) onAbort();
      else opts.signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

/**
 * The results of the shards of one capture as one thread's: what belongs to the capture (frames,
 * bytes, link types, what reading it found) from shard 0, which alone counted it; connections,
 * analysed packets and anomalies added up.
 */
export function mergeShards(parts: CaptureAnalysis[]): CaptureAnalysis {
  const first = parts[0]!;
  if (parts.length === 1) return first;
  const anomalies = new AnomalyCounter();
  const stats = new EngineStats(anomalies);
  stats.packets = first.stats.packets;
  stats.bytes = first.stats.bytes;
  for (const [linkType, n] of first.stats.linkTypes) stats.linkTypes.set(linkType, n);
  for (const p of parts) {
    stats.analysedPackets += p.stats.analysedPackets;
    stats.flows += p.stats.flows;
    stats.tcpConnections += p.stats.tcpConnections;
    stats.udpFlows += p.stats.udpFlows;
    stats.activeFlows += p.stats.activeFlows;
    for (const [code, n] of Object.entries(p.stats.anomalies.toJSON())) anomalies.add(code as AnomalyCode, n);
  }
  return { info: { ...first.info, anomalies }, stats, lateSecrets: parts.some((p) => p.lateSecrets) };
}

/**
 * SHA-256 of the first bytes of a file, read as far as another thread has read it: the same digest
 * readCapture computes of what it read (the whole file, unless it was stopped), computed here beside
 * that thread.
 */
class TrailingHash {
  private readonly hash = createHash('sha256');
  private readonly buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
  private readonly handle: Promise<FileHandle | null>;
  private hashed = 0;
  private target = 0;
  private running: Promise<void> | null = null;
  private failure: unknown = null;
  private closed = false;

  constructor(file: string) {
    // A file that cannot be opened has the digest of nothing, as the reader gives it.
    this.handle = open(file, 'r').catch(() => null);
  }

  /** The other thread has read `bytes`: hash up to there, in the background. */
  follow(bytes: number): void {
    if (bytes > this.target) this.target = bytes;
    // A read that fails is reported by finish(), not left as an unhandled rejection.
    this.running ??= this.pump()
      .catch((e: unknown) => void (this.failure ??= e))
      .finally(() => (this.running = null));
  }

  /** The digest of the first `bytes` bytes. */
  async finish(bytes: number): Promise<string> {
    this.follow(bytes);
    while (this.running !== null) await this.running;
    if (this.failure === null && this.hashed < this.target) await this.pump().catch((e: unknown) => (this.failure = e));
    await this.release();
    if (this.failure !== null) throw this.failure;
    return this.hash.digest('hex');
  }

  /** The digest is not wanted: stops after the read in progress and closes the file. */
  async abandon(): Promise<void> {
    this.target = this.hashed;
    while (this.running !== null) await this.running;
    await this.release();
  }

  private async release(): Promise<void> {
    const fh = await this.handle;
    if (fh === null || this.closed) return;
    this.closed = true;
    await fh.close().catch(() => {});
  }

  private async pump(): Promise<void> {
    const fh = await this.handle;
    if (fh === null || this.closed) return;
    while (this.hashed < this.target && this.failure === null) {
      const want = Math.min(this.buffer.length, this.target - this.hashed);
      const { bytesRead } = await fh.read(this.buffer, 0, want, this.hashed);
      if (bytesRead === 0) return;
      this.hash.update(this.buffer.subarray(0, bytesRead));
      this.hashed += bytesRead;
    }
  }
}
