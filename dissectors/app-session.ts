import { AnomalyCounter, type AnomalyCode } from '../src/anomalies';
import type { DnsTransaction } from './dns/dns-log';
import type { Direction } from '../src/flow/direction';
import { MutableStamp, type PacketStamp } from '../src/flow/packet-stamp';
import type { AppEvidence, AppSession, FlowMeta } from '../src/model/flow-record';
import type { HttpRequestRecord, SshInfo, TlsInfo } from '../src/model/records';
import { defaultPortTable, type PortTable } from './port-table';
import { FACTORIES } from './registry';
import type { KeyLog } from './tls/decrypt/key-log';
import { TlsDissector } from './tls/tls-dissector';
import { ProbeResult, type AnomalySink, type Dissector, type DissectorFactory, type DissectorId, type PlaintextTap } from './types';

/** Bytes per direction kept while no dissector has been chosen; probes look only at this prefix. */
export const MAX_PROBE_BYTES = 2048;
/** Data chunks (and ends) remembered while probing, so the pinned dissector sees them in order. */
export const MAX_PROBE_EVENTS = 64;

const ST_PROBING = 0;
const ST_PINNED = 1;
const ST_UNKNOWN = 2; // no dissector recognised the bytes: nothing more is looked at
const ST_DETACHED = 3; // the pinned dissector threw: it gets no more data

const EV_DATA = 0;
const EV_END = 1;

export interface AppSessionOptions {
  /** Dissectors to choose from, in probe order (default: the registry). At most 31. */
  factories?: readonly DissectorFactory[];
  /** Port preferences (default: the shared default table). */
  portTable?: PortTable;
  /** TLS session secrets: connections whose keys are in it are decrypted (default: none). */
  keyLog?: KeyLog | null;
  /** Receives what TLS connections decrypt to (see FlowContext.onPlaintext). */
  onPlaintext?: PlaintextTap | null;
  /**
   * Ports whose connections are handed to a dissector from the first byte, without probing, or to
   * none (null): `--decode-as tcp.port==N,KIND`. The server's port decides, else the client's.
   */
  forcedPorts?: ReadonlyMap<number, DissectorId | null>;
}

/** Bytes and events buffered until a dissector is chosen; dropped as soon as one is. */
class ProbeBuffer {
  readonly data: [Uint8Array, Uint8Array] = [new Uint8Array(MAX_PROBE_BYTES), new Uint8Array(MAX_PROBE_BYTES)];
  readonly len = new Int32Array(2);
  readonly evKind = new Uint8Array(MAX_PROBE_EVENTS);
  readonly evDir = new Uint8Array(MAX_PROBE_EVENTS);
  readonly evLen = new Uint16Array(MAX_PROBE_EVENTS);
  readonly evTs = new Float64Array(MAX_PROBE_EVENTS);
  readonly evFrame = new Float64Array(MAX_PROBE_EVENTS);
  events = 0;
  readonly ended = new Uint8Array(2);

  /** Empty again, for the next flow. */
  reset(): void {
    this.len[0] = this.len[1] = 0;
    this.ended[0] = this.ended[1] = 0;
    this.events = 0;
  }
}

/**
 * Probe buffers given back by flows that have chosen their dissector, for the next flows to take:
 * a capture starts thousands of connections, and each buffer is seven typed arrays (5 KB) that would
 * otherwise be allocated and collected for every one.
 */
const probePool: ProbeBuffer[] = [];
const MAX_POOLED_PROBES = 64;

function takeProbe(): ProbeBuffer {
  const p = probePool.pop();
  if (p === undefined) return new ProbeBuffer();
  p.reset();
  return p;
}

function giveBackProbe(p: ProbeBuffer | null): void {
  if (p !== null && probePool.length < MAX_POOLED_PROBES) probePool.push(p);
}

const EMPTY_HTTP: HttpRequestRecord[] = [];

/** Maps what a dissector returns to the flow's evidence, by dissector id. */
function evidenceOf(id: DissectorId, r: unknown): AppEvidence {
  switch (id) {
    case 'tls':
      return { app: 'tls', tls: (r as TlsInfo | null) ?? null, http: [], ssh: null };
    case 'ssh':
      return { app: 'ssh', tls: null, http: [], ssh: (r as SshInfo | null) ?? null };
    case 'dns':
      return { app: 'dns', tls: null, http: [], ssh: null, dns: Array.isArray(r) ? (r as DnsTransaction[]) : [] };
    case 'http2':
      return { app: 'http2', tls: null, http: Array.isArray(r) ? (r as HttpRequestRecord[]) : [], ssh: null };
    case 'http': {
      const http = Array.isArray(r) ? (r as HttpRequestRecord[]) : [];
      // After `Upgrade: h2c` + 101 the HTTP/1 dissector carries on with HTTP/2 records (version "2").
      let h2 = false;
      for (const rec of http) if (rec !== null && typeof rec === 'object' && rec.version === '2') h2 = true;
      return { app: h2 ? 'http2' : 'http', tls: null, http, ssh: null };
    }
  }
}

/**
 * Chooses, pins and drives the dissector of one TCP connection. This class is the dissector
 * boundary: the only place where exceptions from dissector code are caught (counted as
 * `dissector.exception`, the dissector is detached, the flow carries on without it).
 */
/** Stamp of bytes replayed from a probe buffer (replays run one at a time; dissectors keep no stamp). */
const replayStamp = new MutableStamp();

class DissectorSession implements AppSession {
  /** Every anomaly counted by this flow's dissectors (also forwarded to the sink, if one was given). */
  readonly anomalies = new AnomalyCounter();
  private state: number = ST_PROBING;
  private readonly factories: readonly DissectorFactory[];
  /** Index in `factories` of the port table's choice, or -1. */
  private readonly portIndex: number;
  /** Bit i set = factory i has not said NO_MATCH yet. */
  private alive: number;
  private probe: ProbeBuffer | null = null;
  private dissector: Dissector | null = null;
  private pinnedId: DissectorId | null = null;
  /** The last result obtained from a detached dissector, so its evidence is not lost. */
  private lastResult: unknown = null;
  private readonly sink: AnomalySink;
  private readonly external: AnomalySink | null;
  private readonly serverPort: number;
  private readonly keyLog: KeyLog | null;
  private readonly onPlaintext: PlaintextTap | null;

  constructor(meta: FlowMeta, external: AnomalySink | null, options: AppSessionOptions | undefined) {
    this.factories = options?.factories ?? FACTORIES;
    const n = Math.min(this.factories.length, 31);
    this.alive = n === 31 ? 0x7fffffff : (1 << n) - 1;
    const table = options?.portTable ?? defaultPortTable;
    const preferred = table.get(meta.server.port) ?? table.get(meta.client.port);
    let portIndex = -1;
    if (preferred !== null) {
      for (let i = 0; i < n; i++) if (this.factories[i]!.id === preferred) { portIndex = i; break; }
    }
    this.portIndex = portIndex;
    this.serverPort = meta.server.port;
    this.keyLog = options?.keyLog ?? null;
    this.onPlaintext = options?.onPlaintext ?? null;
    this.external = external;
    this.sink = (code: AnomalyCode) => this.count(code);
    const forced = options?.forcedPorts;
    if (forced !== undefined && forced.size > 0) {
      const port = forced.has(meta.server.port) ? meta.server.port : forced.has(meta.client.port) ? meta.client.port : -1;
      if (port >= 0) {
        const id = forced.get(port)!;
        const i = id === null ? -1 : this.factories.findIndex((f) => f.id === id);
        if (i >= 0 && i < n) this.pin(i);
        else this.giveUp();
      }
    }
  }

  onData(dir: Direction, data: Uint8Array, start: number, end: number, at: PacketStamp): void {
    if (this.state === ST_PINNED) {
      this.deliver(dir, data, start, end, at);
      return;
    }
    if (this.state !== ST_PROBING || end <= start) return;
    const p = (this.probe ??= takeProbe());
    const used = p.len[dir]!;
    let take = Math.min(end - start, MAX_PROBE_BYTES - used);
    if (p.events >= MAX_PROBE_EVENTS) take = 0;
    if (take > 0) {
      p.data[dir].set(data.subarray(start, start + take), used);
      p.len[dir] = used + take;
      this.logEvent(p, EV_DATA, dir, take, at.ts, at.frame);
    }
    const full = take < end - start || p.len[dir] === MAX_PROBE_BYTES || p.events >= MAX_PROBE_EVENTS;
    this.decide(full);
    if (this.isPinned()) {
      this.replay();
      if (take < end - start) this.deliver(dir, data, start + take, end, at);
    }
  }

  onGap(dir: Direction, bytes: number): void {
    if (this.state === ST_PROBING) {
      // Bytes after a hole are not "the first bytes" of anything: decide on what we have.
      this.decide(true);
      if (this.isPinned()) this.replay();
    }
    if (this.state !== ST_PINNED) return;
    try {
      this.dissector!.gap(dir, bytes);
    } catch {
      this.detach();
    }
  }

  onEnd(dir: Direction): void {
    if (this.state === ST_PROBING) {
      const p = (this.probe ??= takeProbe());
      if (p.events < MAX_PROBE_EVENTS) this.logEvent(p, EV_END, dir, 0, 0, 0);
      p.ended[dir] = 1;
      if (p.ended[0] === 1 && p.ended[1] === 1) {
        // A connection that ended without a byte (refused, or opened and closed) spoke no protocol,
        // whatever its port says: Wireshark and Zeek name none either.
        if (p.len[0] === 0 && p.len[1] === 0) {
          this.giveUp();
          return;
        }
        this.decide(true);
        if (this.isPinned()) this.replay();
      }
      return;
    }
    if (this.state !== ST_PINNED) return;
    try {
      this.dissector!.end(dir);
    } catch {
      this.detach();
    }
  }

  describe(): AppEvidence {
    if (this.pinnedId === null) return { app: 'unknown', tls: null, http: EMPTY_HTTP.slice(), ssh: null };
    let r = this.lastResult;
    if (this.state === ST_PINNED) {
      try {
        r = this.dissector!.result();
      } catch {
        this.detach();
        r = this.lastResult;
      }
    }
    const ev = evidenceOf(this.pinnedId, r);
    // A decrypted TLS connection stays 'tls'; the requests inside it are its HTTP evidence.
    if (this.dissector instanceof TlsDissector) ev.http = this.dissector.decryptedHttp().slice();
    return ev;
  }

  /** The dissector pinned to this flow, or null (still probing, unknown, or never pinned). */
  get pinned(): DissectorId | null {
    return this.pinnedId;
  }

  /** True once the pinned dissector threw and was detached. */
  get detached(): boolean {
    return this.state === ST_DETACHED;
  }

  /** A method, not a field test, so the compiler does not keep a narrowing across decide(). */
  private isPinned(): boolean {
    return this.state === ST_PINNED;
  }

  private count(code: AnomalyCode): void {
    this.anomalies.add(code);
    if (this.external !== null) this.external(code);
  }

  private logEvent(p: ProbeBuffer, kind: number, dir: Direction, len: number, ts: number, frame: number): void {
    const e = p.events++;
    p.evKind[e] = kind;
    p.evDir[e] = dir;
    p.evLen[e] = len;
    p.evTs[e] = ts;
    p.evFrame[e] = frame;
  }

  /** Probe order: the port table's choice first, then the others in registry order. */
  private orderAt(k: number): number {
    const pi = this.portIndex;
    if (pi < 0) return k;
    if (k === 0) return pi;
    return k <= pi ? k - 1 : k;
  }

  /**
   * Runs every live probe over the buffered prefix, client bytes first, then server bytes (a server
   * may speak first, as SSH does). The first MATCH is pinned. When the buffer can grow no more
   * (`forced`), the port table's choice is pinned if it still might match; otherwise 'unknown'.
   */
  private decide(forced: boolean): void {
    const p = this.probe;
    const n = Math.min(this.factories.length, 31);
    if (p !== null) {
      for (let d = 0; d < 2; d++) {
        const len = p.len[d]!;
        if (len === 0) continue;
        for (let k = 0; k < n; k++) {
          const i = this.orderAt(k);
          if ((this.alive & (1 << i)) === 0) continue;
          const r = this.safeProbe(this.factories[i]!, d as Direction, p.data[d]!, len);
          if (r === ProbeResult.MATCH) {
            this.pin(i);
            return;
          }
          if (r !== ProbeResult.NEED_MORE) this.alive &= ~(1 << i);
        }
      }
    }
    if (this.alive === 0) {
      this.giveUp();
      return;
    }
    if (!forced) return;
    if (this.portIndex >= 0 && (this.alive & (1 << this.portIndex)) !== 0) this.pin(this.portIndex);
    else this.giveUp();
  }

  private safeProbe(f: DissectorFactory, dir: Direction, data: Uint8Array, len: number): number {
    try {
      return f.probe(dir, data, 0, len);
    } catch {
      this.count('dissector.exception');
      return ProbeResult.NO_MATCH;
    }
  }

  private pin(i: number): void {
    const f = this.factories[i]!;
    this.pinnedId = f.id;
    try {
      this.dissector = f.create(this.sink, { serverPort: this.serverPort, keyLog: this.keyLog, onPlaintext: this.onPlaintext });
      this.state = ST_PINNED;
    } catch {
      this.count('dissector.exception');
      this.state = ST_DETACHED;
      giveBackProbe(this.probe);
      this.probe = null;
    }
  }

  private giveUp(): void {
    this.state = ST_UNKNOWN;
    giveBackProbe(this.probe);
    this.probe = null;
  }

  /** Feeds the buffered events to the newly pinned dissector in their original order. */
  private replay(): void {
    const p = this.probe;
    this.probe = null;
    if (p === null) return;
    let off0 = 0;
    let off1 = 0;
    for (let e = 0; e < p.events && this.state === ST_PINNED; e++) {
      const dir = p.evDir[e] as Direction;
      if (p.evKind[e] === EV_END) {
        try {
          this.dissector!.end(dir);
        } catch {
          this.detach();
        }
        continue;
      }
      const len = p.evLen[e]!;
      const off = dir === 0 ? off0 : off1;
      this.deliver(dir, p.data[dir], off, off + len, replayStamp.set(p.evTs[e]!, p.evFrame[e]!));
      if (dir === 0) off0 += len;
      else off1 += len;
    }
    // Dissectors copy what they keep of the bytes they are fed (see Dissector): the buffer is free again.
    giveBackProbe(p);
  }

  private deliver(dir: Direction, data: Uint8Array, start: number, end: number, at: PacketStamp): void {
    try {
      this.dissector!.feed(dir, data, start, end, at);
    } catch {
      this.detach();
    }
  }

  private detach(): void {
    this.count('dissector.exception');
    this.state = ST_DETACHED;
    const d = this.dissector;
    this.dissector = null;
    try {
      this.lastResult = d === null ? null : d.result();
    } catch {
      this.lastResult = null;
    }
  }
}

/**
 * Makes the stream handler for one connection: it picks a dissector by port table and probes,
 * pins it, and answers `describe()` with what it found. `anomalySink`, when given, receives every
 * anomaly code as well as the session's own `anomalies` counter.
 */
export function createAppSession(
  meta: FlowMeta,
  anomalySink?: AnomalySink | null,
  options?: AppSessionOptions,
): AppSession & { readonly anomalies: AnomalyCounter; readonly pinned: DissectorId | null; readonly detached: boolean } {
  return new DissectorSession(meta, anomalySink ?? null, options);
}

/** The session factory the engine takes: one session per TCP connection, none for UDP. */
export const defaultSessionFactory = (meta: FlowMeta): AppSession | null =>
  meta.transport === 'tcp' ? createAppSession(meta) : null;

/**
 * The session factory with TLS decryption: `keyLog` is shared by every connection and may keep
 * filling while the capture is read (Decryption Secrets Blocks come between packets). `forcedPorts`:
 * see AppSessionOptions.
 */
export function keyLogSessionFactory(keyLog: KeyLog, forcedPorts?: ReadonlyMap<number, DissectorId | null>): (meta: FlowMeta) => AppSession | null {
  return (meta: FlowMeta) => (meta.transport === 'tcp' ? createAppSession(meta, null, { keyLog, forcedPorts }) : null);
}
