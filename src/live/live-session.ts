import type { Readable } from 'node:stream';
import { keyLogSessionFactory } from '../../dissectors/app-session';
import { KeyLog } from '../../dissectors/tls/decrypt/key-log';
import { KeyLogFollower } from '../../dissectors/tls/decrypt/key-log-follower';
import { SECRETS_TLS_KEY_LOG } from '../ingest/pcapng-reader';
import { classifyDatabase, DatabasePass } from '../analysis/classify-database';
import { InlineClassifier } from '../analysis/inline-classifier';
import { Topology } from '../analysis/topology';
import { loadAnalysisInputs, resolveInputs, type AnalysisInputs } from '../analysis/context';
import { expireAcceptances, expiredLines } from '../analysis/acceptances';
import { readCapture } from '../ingest/read-capture';
import type { CaptureInfo } from '../ingest/capture-info';
import type { Frame } from '../ingest/frame';
import { Engine } from '../pipeline/engine';
import { decoderOptionsFor, forcedAppPorts, storedDecodeAs, type DecodeAsRule } from '../decode/decode-as';
import { openStore, type Db } from '../store/store';
import { LiveCaptureFile } from './capture-file';
import { EvidenceRecorder } from './evidence-recorder';
import { LiveFlowStore } from './live-flow-store';
import { LiveCounters, LiveStatusWriter } from './live-status';
import { TcpdumpSource } from './tcpdump-source';
import { UdpMirrorSource, type UdpListen } from './udp-mirror-source';

/** Live flows end after this much capture time without packets (shorter than a file's default). */
export const LIVE_IDLE_TIMEOUT_S = 120;
/** Flows kept in memory at most in live mode. */
export const LIVE_MAX_FLOWS = 100_000;
/** Ended flows are committed and the status row refreshed this often. */
export const STATUS_INTERVAL_MS = 1000;
/** Long-lived flows are snapshotted this often. */
export const SNAPSHOT_INTERVAL_MS = 5000;
/**
 * Every flow is classified as it is written, with what the run has learned so far. A pass over the
 * whole database then brings earlier verdicts up to date with what was learned since: it starts at
 * most this often, and at most a tenth of the time is spent in passes (each reads every flow). A pass
 * runs a step at a time (PASS_SLICE_MS of work, then the packets that arrived meanwhile), so a large
 * database never holds the capture up for long.
 */
export const CLASSIFY_MIN_INTERVAL_MS = 1000;
const CLASSIFY_DUTY = 10;
/** Work done by a pass before it lets the packets waiting meanwhile through. */
const PASS_SLICE_MS = 20;
/** Evidence files written at most per run. */
export const MAX_EVIDENCE_FILES = 10_000;

export type LiveSource =
  | { kind: 'stdin'; input?: Readable }
  | { kind: 'iface'; iface: string; bpf?: string; command?: string }
  | { kind: 'udp'; listen: UdpListen };

export interface LiveOptions {
  db: string;
  source: LiveSource;
  idleTimeout?: number;
  maxFlows?: number;
  keepDuplicates?: boolean;
  /** `--decode-as` rules: tunnels on UDP ports, dissectors on TCP ports (stored with the capture). */
  decodeAs?: DecodeAsRule[];
  evidenceDir?: string;
  /**
   * Every frame analysed is also written to this pcapng file, whose path the database records as
   * where the capture's packets are (for `extract`, the dashboard's download and the TUI).
   */
  writeFile?: string;
  /** The largest `writeFile` may grow, in bytes (packets beyond are analysed, not written). */
  writeLimit?: number;
  /**
   * Keep a ring of this many files of `writeLimit` bytes instead of one file (ring-files.ts names
   * them after `writeFile`); the oldest is deleted as each new one begins.
   */
  writeRing?: number;
  inventory?: string[];
  ca?: string[];
  /** Accepted-findings files (acceptances.ts). */
  accept?: string[];
  /**
   * TLS key log files (SSLKEYLOGFILE format), followed as they grow: secrets a client appends while
   * the capture runs decrypt its later connections. A file that does not exist yet is waited for.
   */
  keyLogFiles?: string[];
  /** Aborting stops the capture; everything is flushed and the database closed cleanly. */
  signal?: AbortSignal;
  /** Progress and problem lines (stderr by default; silenced under the TUI). */
  log?: (line: string) => void;
  /** Called once the source is receiving (with the bound UDP port for mirror listeners). */
  onReady?: (info: { captureId: number; port: number | null }) => void;
  statusIntervalMs?: number;
  /** The least time between passes over the whole database (default CLASSIFY_MIN_INTERVAL_MS). */
  classifyIntervalMs?: number;
}

export interface LiveResult {
  captureId: number;
  packets: number;
  flows: number;
  kernelDrops: number;
  ourDrops: number;
  evidenceFiles: number;
  /** Frames written to `writeFile` (null without it). */
  packetsWritten: number | null;
  /** One clear line when the source could not run (tcpdump missing, no permission, bad stream). */
  failure: string | null;
}

export function describeSource(s: LiveSource): string {
  if (s.kind === 'stdin') return 'live: stdin';
  if (s.kind === 'iface') return `live: ${s.iface}${s.bpf ? ` (${s.bpf})` : ''}`;
  return `live: ${s.listen.kind} ${s.listen.address}:${s.listen.port}`;
}

/** What the interfaces of a file written by `--write` are called. */
function interfaceName(s: LiveSource): string {
  if (s.kind === 'stdin') return 'stdin';
  if (s.kind === 'iface') return s.iface;
  return `${s.listen.kind}:${s.listen.port}`;
}

/**
 * Runs one live capture into the database until the source ends or `signal` aborts: flows are
 * written as they end and snapshotted while they last, classification re-runs as topology is
 * learned, and the status row tells the TUI how it goes.
 */
export async function runLive(opts: LiveOptions): Promise<LiveResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const given = loadAnalysisInputs(opts.inventory ?? [], opts.ca ?? [], opts.accept ?? []);
  // Opened first: a path that cannot be written is an error before anything is recorded.
  const file = opts.writeFile !== undefined ? new LiveCaptureFile(opts.writeFile, interfaceName(opts.source), opts.writeLimit, opts.writeRing ?? null) : null;
  try {
    const db = openStore(opts.db);
    const run = new LiveRun(db, opts, given, log, file);
    try {
      return await run.run();
    } finally {
      db.close();
    }
  } finally {
    file?.close();
  }
}

class LiveRun {
  private readonly counters = new LiveCounters();
  private readonly captureId: number;
  private readonly status: LiveStatusWriter;
  private readonly flows: LiveFlowStore;
  private readonly engine: Engine;
  private readonly evidence: EvidenceRecorder | null;
  private inputs: AnalysisInputs;
  /**
   * Classifies flows as they are written. Each pass over the database hands it the topology the pass
   * learned, so it goes on from everything stored. Between passes, a flow written again (a snapshot,
   * then its end) is learned from once per version: the endpoints' counters run ahead until the next
   * pass recounts them, which the verdicts do not depend on.
   */
  private inline: InlineClassifier;
  private readonly sink: (frame: Frame) => void;
  /** Secrets from --keylog files and from the stream's Decryption Secrets Blocks. */
  private readonly keyLog = new KeyLog();
  private readonly keyLogFollower: KeyLogFollower | null;
  private readonly updateCapture;
  private tcpdump: TcpdumpSource | null = null;
  private lastTick = Date.now();
  private lastPackets = 0;
  private lastSnapshot = Date.now();
  private lastClassify = 0;
  private classifyCostMs = 0;
  /** The pass over the database under way, if any (see stepPass). */
  private pass: { run: DatabasePass; costMs: number } | null = null;
  private readonly evidenceWritten = new Set<string>();
  /** Set once writing `--write`'s file stopped: said in the status row for the TUI. */
  private fileNote: string | null = null;
  private firstTs: number | null = null;
  private lastTs: number | null = null;

  constructor(
    private readonly db: Db,
    private readonly opts: LiveOptions,
    given: AnalysisInputs,
    private readonly log: (line: string) => void,
    private readonly file: LiveCaptureFile | null,
  ) {
    const source = describeSource(opts.source);
    this.captureId = Number(
      db.prepare(`INSERT INTO captures (file, packets_file, status, pid, started_at, decode_as) VALUES (?, ?, 'ingesting', ?, ?, ?)`)
        .run(source, file?.path ?? null, process.pid, new Date().toISOString(), storedDecodeAs(opts.decodeAs ?? [])).lastInsertRowid,
    );
    this.inputs = resolveInputs(db, given);
    for (const line of expiredLines(this.inputs.accept)) this.log(line);
    this.inline = new InlineClassifier(this.inputs);
    this.status = new LiveStatusWriter(db, source, this.captureId);
    this.flows = new LiveFlowStore(db, this.captureId, (rec) => {
      // A pass judging already learned from what was stored when it started: it is shown the rest.
      if (this.pass?.run.learnedAll) this.pass.run.topology.observe(rec);
      return this.inline.verdict(rec);
    });
    if (file !== null) this.keyLog.onText = (text) => file.secrets(text);
    const keyLogFiles = opts.keyLogFiles ?? [];
    this.keyLogFollower = keyLogFiles.length > 0 ? new KeyLogFollower(keyLogFiles, this.keyLog) : null;
    if (this.keyLogFollower !== null) {
      this.keyLogFollower.poll();
      this.keyLogFollower.attach();
      for (const path of this.keyLogFollower.missing) log(`planewatch: key log ${path} does not exist yet; it is read once it does`);
    }
    const decoder = decoderOptionsFor(opts.decodeAs ?? []);
    this.engine = new Engine({
      sessionFactory: keyLogSessionFactory(this.keyLog, forcedAppPorts(opts.decodeAs ?? [])),
      onFlowEnd: (rec) => this.flows.ended(rec),
      flowIdPrefix: `c${this.captureId}f`,
      captureIndex: this.captureId,
      idleTimeout: opts.idleTimeout ?? LIVE_IDLE_TIMEOUT_S,
      maxFlows: opts.maxFlows ?? LIVE_MAX_FLOWS,
      keepDuplicates: opts.keepDuplicates,
      decoder,
    });
    this.evidence = opts.evidenceDir ? new EvidenceRecorder(opts.evidenceDir, decoder) : null;
    const engine = this.engine;
    const evidence = this.evidence;
    const counters = this.counters;
    // The one per-packet function: no allocation, no closures created per frame. The frame is
    // written after the engine has seen it, so a secret its connection looked up and found in a
    // followed key log is written ahead of it.
    this.sink = (frame: Frame) => {
      counters.packets++;
      counters.bytes += frame.caplen;
      engine.processFrame(frame);
      if (evidence !== null) evidence.add(frame);
      if (file !== null) file.add(frame);
    };
    this.updateCapture = db.prepare(`UPDATE captures SET packets = ?, bytes = ?, flows = ?, first_ts = ?, last_ts = ?,
      anomalies = ? WHERE id = ?`);
    this.status.write(this.counters, true);
  }

  async run(): Promise<LiveResult> {
    const timer = setInterval(() => this.tick(false), this.opts.statusIntervalMs ?? STATUS_INTERVAL_MS);
    let failure: string | null = null;
    let damaged: string | null = null;
    try {
      const src = this.opts.source;
      if (src.kind === 'udp') failure = await this.runUdp(src.listen);
      else {
        const r = await this.runStream(src);
        failure = r.failure;
        damaged = r.damaged;
      }
    } finally {
      clearInterval(timer);
    }
    this.engine.finish();
    this.tick(true);
    const status = failure !== null ? 'incomplete' : damaged !== null ? 'damaged' : 'complete';
    this.db.prepare(`UPDATE captures SET status = ?, error = ?, finished_at = ? WHERE id = ?`)
      .run(status, failure ?? damaged, new Date().toISOString(), this.captureId);
    this.status.write(this.counters, false, failure ?? damaged ?? this.fileNote);
    return {
      captureId: this.captureId,
      packets: this.counters.packets,
      flows: this.flows.written,
      kernelDrops: this.counters.kernelDrops,
      ourDrops: this.counters.ourDrops,
      evidenceFiles: this.evidence?.files ?? 0,
      packetsWritten: this.file?.packets ?? null,
      failure,
    };
  }

  private async runStream(src: Extract<LiveSource, { kind: 'stdin' | 'iface' }>): Promise<{ failure: string | null; damaged: string | null }> {
    let input: Readable;
    let stopping = false;
    const signal = this.opts.signal;
    let onAbort: (() => void) | null = null;
    let readSignal: AbortSignal | undefined = signal;
    if (src.kind === 'iface') {
      const td = new TcpdumpSource({ iface: src.iface, bpf: src.bpf, command: src.command });
      this.tcpdump = td;
      input = td.stdout;
      // tcpdump is stopped rather than the stream cut, so the packets it still holds arrive.
      readSignal = undefined;
      onAbort = () => {
        stopping = true;
        void td.stop();
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    } else {
      input = src.input ?? process.stdin;
    }
    this.opts.onReady?.({ captureId: this.captureId, port: null });
    let info: CaptureInfo;
    try {
      const keyLog = this.keyLog;
      info = await readCapture('-', this.sink, {
        input,
        signal: readSignal,
        anomalies: this.engine.stats.anomalies,
        onSecrets: (secret) => {
          if (secret.type === SECRETS_TLS_KEY_LOG) keyLog.addBytes(secret.data);
        },
      });
    } finally {
      if (onAbort !== null) signal?.removeEventListener('abort', onAbort);
    }
    this.firstTs = info.firstTs;
    this.lastTs = info.lastTs;
    if (this.tcpdump !== null) {
      const td = this.tcpdump;
      await td.stop();
      this.counters.kernelDrops = td.kernelDrops;
      const failure = td.finalFailure(!stopping);
      if (failure !== null) return { failure, damaged: null };
    }
    if (info.error !== null && !(info.packets === 0 && info.error.code === 'capture.truncated_header' && stopping)) {
      if (info.packets === 0 && info.format === null) {
        return { failure: `the input is not a pcap or pcapng stream (${info.error.message})`, damaged: null };
      }
      return { failure: null, damaged: info.error.message };
    }
    return { failure: null, damaged: null };
  }

  private async runUdp(listen: UdpListen): Promise<string | null> {
    const src = new UdpMirrorSource(listen, this.sink, this.counters);
    const port = await src.start();
    if (port === null) return src.failure;
    this.log(`planewatch: receiving ${listen.kind} on ${listen.address}:${port}`);
    this.opts.onReady?.({ captureId: this.captureId, port });
    const signal = this.opts.signal;
    if (signal !== undefined && !signal.aborted) {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    }
    src.stop();
    await src.finished;
    return null;
  }

  /** Periodic work (and the final flush): commit flows, snapshot, classify, evidence, status. */
  private tick(final: boolean): void {
    const now = Date.now();
    try {
      // Secrets appended since: read now, so a connection rarely has to wait for a read.
      this.keyLogFollower?.poll();
      if (!final && now - this.lastSnapshot >= SNAPSHOT_INTERVAL_MS) {
        this.lastSnapshot = now;
        this.flows.snapshot(this.engine.snapshot());
      }
      this.flows.flush();
      this.flushFile();
      if (final) this.classify();
      // A pass also runs when nothing new was written but an acceptance has ended: its findings open.
      else if (this.pass === null && (this.flows.changed > 0 || expireAcceptances(this.inputs.accept, now) !== this.inputs.accept) &&
        now - this.lastClassify >= Math.max(this.opts.classifyIntervalMs ?? CLASSIFY_MIN_INTERVAL_MS, this.classifyCostMs * CLASSIFY_DUTY)) {
        this.startPass();
      }
      const stats = this.engine.getStats();
      const c = this.counters;
      const dt = (now - this.lastTick) / 1000;
      if (dt > 0) c.packetsPerSec = (c.packets - this.lastPackets) / dt;
      if (final) c.packetsPerSec = 0;
      this.lastTick = now;
      this.lastPackets = c.packets;
      c.flows = stats.flows;
      c.activeFlows = final ? 0 : stats.activeFlows;
      if (this.tcpdump !== null) c.kernelDrops = Math.max(c.kernelDrops, this.tcpdump.kernelDrops);
      this.updateCapture.run(c.packets, c.bytes, this.flows.written, this.firstTs, this.lastTs,
        JSON.stringify(stats.anomalies.toJSON()), this.captureId);
      this.status.write(c, !final, this.fileNote);
    } catch (e) {
      // A busy or full disk must not kill the capture: say so and try again next tick.
      this.log(`planewatch: database write failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The written capture is brought up to date with the packets analysed; a failure is said once. */
  private flushFile(): void {
    const file = this.file;
    if (file === null || this.fileNote !== null) return;
    file.flush();
    if (file.failure !== null) {
      this.fileNote = `writing ${file.path} stopped (the capture goes on): ${file.failure}`;
      this.log(`planewatch: ${this.fileNote}`);
    }
  }

  /** The last pass, at the end of the capture: all at once (a pass under way is dropped). */
  private classify(): void {
    this.pass = null;
    const t0 = Date.now();
    const topology = new Topology(this.inputs.inventory);
    classifyDatabase(this.db, this.inputs, topology);
    this.passDone(topology, Date.now() - t0);
  }

  private startPass(): void {
    // An acceptance that ends while the capture runs: its findings are open from this pass on.
    const accept = expireAcceptances(this.inputs.accept, Date.now());
    if (accept !== this.inputs.accept) {
      for (const line of expiredLines({ entries: [], expired: accept.expired.slice(this.inputs.accept.expired.length) })) this.log(line);
      this.inputs = { ...this.inputs, accept };
    }
    this.pass = { run: new DatabasePass(this.db, this.inputs, new Topology(this.inputs.inventory)), costMs: 0 };
    // What is written from now on is the next pass's to bring up to date.
    this.flows.changed = 0;
    setImmediate(() => this.stepPass());
  }

  /**
   * Runs the pass for PASS_SLICE_MS, then yields: setImmediate comes after the input that arrived
   * meanwhile has been read (and its packets analysed).
   */
  private stepPass(): void {
    const pass = this.pass;
    if (pass === null) return;
    const t0 = Date.now();
    let done = false;
    try {
      while (!done && Date.now() - t0 < PASS_SLICE_MS) done = pass.run.step();
    } catch (e) {
      // A busy or full disk must not kill the capture: another pass starts after the usual interval.
      this.pass = null;
      this.lastClassify = Date.now();
      this.log(`planewatch: classification pass failed: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    pass.costMs += Date.now() - t0;
    if (this.pass !== pass) return;
    if (!done) {
      setImmediate(() => this.stepPass());
      return;
    }
    this.pass = null;
    this.passDone(pass.run.topology, pass.costMs);
  }

  /** A pass is complete: later flows are classified with what it learned. */
  private passDone(topology: Topology, costMs: number): void {
    this.inline = new InlineClassifier(this.inputs, topology);
    this.lastClassify = Date.now();
    this.classifyCostMs = costMs;
    if (this.evidence !== null) this.writeEvidence();
  }

  private writeEvidence(): void {
    const ev = this.evidence!;
    const rows = this.db.prepare(`SELECT flow_key, transport, client_ip, client_port, server_ip, server_port FROM flows
      WHERE capture_id = ? AND finding_count > 0`).all(this.captureId) as {
      flow_key: string; transport: string; client_ip: string; client_port: number; server_ip: string; server_port: number;
    }[];
    for (const r of rows) {
      if (this.evidenceWritten.has(r.flow_key) || this.evidenceWritten.size >= MAX_EVIDENCE_FILES) continue;
      let file: string | null;
      try {
        file = ev.write(r.flow_key, r.transport, r.client_ip, r.client_port, r.server_ip, r.server_port);
      } catch (e) {
        // A full disk must not stop the capture; the flow is not retried.
        this.evidenceWritten.add(r.flow_key);
        this.log(`planewatch: cannot write evidence for ${r.flow_key}: ${e instanceof Error ? e.message : String(e)}`);
        continue;
      }
      if (file !== null) {
        this.evidenceWritten.add(r.flow_key);
        this.log(`planewatch: evidence ${file}`);
      }
    }
  }
}
