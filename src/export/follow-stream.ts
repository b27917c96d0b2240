/**
 * One stored connection's conversation, read back from its capture (Wireshark's "Follow TCP
 * Stream" and "Follow TLS Stream"): the flow's frames are found and run through the same engine and
 * dissectors as the analysis, and the bytes each side sent come out in order — the reassembled TCP
 * payload, or what TLS decrypts to when a key log (given, or in the capture's Decryption Secrets
 * Blocks) has the connection's secrets. Gaps are reported with their size, never papered over.
 */
import type { Direction } from '../flow/direction';
import type { PacketStamp } from '../flow/packet-stamp';
import type { CaptureError } from '../ingest/capture-error';
import { SECRETS_TLS_KEY_LOG, type CaptureSecret } from '../ingest/pcapng-reader';
import type { AppEvidence, AppSession, FlowMeta, FlowRecord } from '../model/flow-record';
import { Engine } from '../pipeline/engine';
import { createAppSession } from '../../dissectors/app-session';
import type { KeyLog } from '../../dissectors/tls/decrypt/key-log';
import { copyFrames, findFlowFrames, readSecretsAfter, type FlowFrames, type FlowSelector } from './flow-packets';
import { AnomalyCounter } from '../anomalies';
import { parseIp } from '../decode/address';
import { DecodeStatus, DecodedPacket } from '../decode/packet';
import { PacketDecoder } from '../decode/packet-decoder';
import { decoderOptionsOfStored, forcedAppPortsOfStored } from '../decode/decode-as';
import { MutableStamp } from '../flow/packet-stamp';

const PROTO_UDP = 17;

/** What is shown: the TCP payload as sent, the application data inside TLS, or a UDP flow's datagrams. */
export type FollowLayer = 'tcp' | 'tls' | 'udp';

/** How a layer is named to a reader. */
export function layerName(layer: FollowLayer): string {
  return layer === 'tls' ? 'decrypted TLS application data' : layer === 'udp' ? 'UDP payload' : 'TCP payload';
}

/** Bytes one side sent, in order (a copy the receiver may keep). */
export interface FollowChunk {
  dir: Direction;
  data: Uint8Array;
  ts: number;
  frame: number;
  /** A UDP datagram: a message of its own, never merged with the next from the same side. */
  datagram?: boolean;
}

export interface FollowSink {
  data(chunk: FollowChunk): void;
  /** `bytes` bytes of `dir` are missing from the capture (or could not be decrypted past this point). */
  gap(dir: Direction, bytes: number): void;
}

export interface FollowOptions {
  /** 'auto': the decrypted data when the connection is TLS and its keys are known, else the TCP payload. */
  layer: FollowLayer | 'auto';
  /** Secrets to decrypt with; the capture's own Decryption Secrets Blocks are added to it. */
  keyLog: KeyLog;
  sink: FollowSink;
  /**
   * With `layer: 'auto'`, TCP bytes held while waiting to see whether TLS decrypts (default 8 MiB);
   * past it the TCP payload is shown.
   */
  holdBytes?: number;
  /** Use the secrets in the capture's Decryption Secrets Blocks (default true). */
  captureSecrets?: boolean;
  /** Stops reading the capture (what was followed so far is the result). */
  signal?: AbortSignal;
}

export interface FollowResult {
  /** The layer shown (with 'auto', the one chosen). */
  layer: FollowLayer;
  /** What the dissectors found on the connection (app, TLS version, whether it was decrypted). */
  evidence: AppEvidence | null;
  /** Frames of the flow found in the capture (IP fragments included). */
  frames: number;
  /** Frames that matched the flow's tuple (fragments not counted): fewer than stored means another capture. */
  packets: number;
  /** Damage that stopped the read early (what came before it was followed). */
  error: CaptureError | null;
  /** Why the layer shown is not the one a reader might expect, or null. */
  note: string | null;
}

const DEFAULT_HOLD_BYTES = 8 * 1024 * 1024;

/** Decides the layer and passes the chosen one's events on. */
class LayerSwitch {
  layer: FollowLayer | null;
  note: string | null = null;
  /** Something was passed on to the sink. */
  private shown = false;
  private held: ({ chunk: FollowChunk } | { dir: Direction; gap: number })[] = [];
  private heldBytes = 0;

  constructor(
    wanted: FollowLayer | 'auto',
    private readonly sink: FollowSink,
    private readonly holdBytes: number,
  ) {
    this.layer = wanted === 'auto' ? null : wanted;
  }

  /**
   * Nothing has been shown yet: the connection can still be followed again from its start (with
   * secrets found later in the capture).
   */
  get untouched(): boolean {
    return !this.shown;
  }

  tcpData(dir: Direction, data: Uint8Array, at: PacketStamp): void {
    if (this.layer === 'tls') return;
    const chunk = { dir, data: data.slice(), ts: at.ts, frame: at.frame };
    if (this.layer === 'tcp') {
      this.data(chunk);
      return;
    }
    this.held.push({ chunk });
    this.heldBytes += data.length;
    if (this.heldBytes > this.holdBytes) {
      this.note = `no decrypted data in the first ${this.holdBytes} bytes: the TCP payload is shown`;
      this.choose('tcp');
    }
  }

  /**
   * Missing bytes are said in either view: decrypting stops at them too. In the decrypted view they
   * wait for its first data (or its end), so that a connection without its secrets shows nothing yet.
   */
  tcpGap(dir: Direction, bytes: number): void {
    if (this.layer === null || (this.layer === 'tls' && !this.shown)) this.held.push({ dir, gap: bytes });
    else this.gap(dir, bytes);
  }

  plaintext(dir: Direction, data: Uint8Array, ts: number, frame: number): void {
    if (this.layer === null || (this.layer === 'tls' && this.held.length > 0)) this.choose('tls');
    if (this.layer === 'tls') this.data({ dir, data: data.slice(), ts, frame });
  }

  /** The connection is not TLS: nothing will decrypt. */
  notTls(): void {
    if (this.layer === null) this.choose('tcp');
  }

  /** End of the connection: an undecided view shows the TCP payload, saying why when it is TLS. */
  finish(evidence: AppEvidence | null): void {
    if (this.layer === null && evidence?.app === 'tls') {
      this.note = evidence.tls?.decrypted
        ? 'the connection was decrypted but carried no application data'
        : 'TLS without its secrets (give the key log with --keylog): the encrypted records are shown';
    }
    this.choose(this.layer ?? 'tcp');
  }

  private choose(layer: FollowLayer): void {
    this.layer = layer;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const h of held) {
      if (!('chunk' in h)) this.gap(h.dir, h.gap);
      else if (layer === 'tcp') this.data(h.chunk);
    }
  }

  private data(chunk: FollowChunk): void {
    this.shown = true;
    this.sink.data(chunk);
  }

  private gap(dir: Direction, bytes: number): void {
    this.shown = true;
    this.sink.gap(dir, bytes);
  }
}

/** The application session of the followed connection, with the TCP bytes tapped on their way in. */
class FollowSession implements AppSession {
  private readonly inner: ReturnType<typeof createAppSession>;
  /** The engine took the stored flow's server for the client: directions are swapped back. */
  private readonly flip: 0 | 1;

  constructor(meta: FlowMeta, flow: FlowSelector, keyLog: KeyLog, private readonly out: LayerSwitch) {
    this.flip = meta.client.ip === flow.clientIp && meta.client.port === flow.clientPort ? 0 : 1;
    this.inner = createAppSession(meta, null, {
      keyLog,
      // Its capture's --decode-as tcp rules: the same dissector as when it was analysed.
      forcedPorts: forcedAppPortsOfStored(flow.decodeAs),
      onPlaintext: (dir, data, ts, frame) => out.plaintext((dir ^ this.flip) as Direction, data, ts, frame),
    });
  }

  get anomalies() {
    return this.inner.anomalies;
  }

  onData(dir: Direction, data: Uint8Array, start: number, end: number, at: PacketStamp): void {
    if (end > start) this.out.tcpData((dir ^ this.flip) as Direction, data.subarray(start, end), at);
    this.inner.onData(dir, data, start, end, at);
    this.afterInner();
  }

  onGap(dir: Direction, bytes: number): void {
    this.out.tcpGap((dir ^ this.flip) as Direction, bytes);
    this.inner.onGap(dir, bytes);
    this.afterInner();
  }

  onEnd(dir: Direction): void {
    this.inner.onEnd(dir);
    this.afterInner();
  }

  describe(): AppEvidence {
    return this.inner.describe();
  }

  private afterInner(): void {
    const pinned = this.inner.pinned;
    if ((pinned !== null && pinned !== 'tls') || this.inner.detached) this.out.notTls();
  }
}

/**
 * Follows `flow` in `file` (the capture it was stored from): a TCP connection's reassembled bytes
 * (decrypted when TLS and its keys are known), or a UDP flow's datagrams, each a chunk of its own
 * (Wireshark's Follow UDP Stream; `layer` is then ignored).
 *
 * The capture's secrets are gathered while its frames are looked for, so that a Decryption Secrets
 * Block written after the handshake (a live capture learns a client's secrets when the client logs
 * them) still decrypts it, as it does when the capture is analysed. A TLS connection still without
 * its secrets is followed again if they turn up in the capture shortly after its last frame.
 */
export async function followFlow(file: string, flow: FlowSelector, opts: FollowOptions): Promise<FollowResult> {
  const keyLog = opts.keyLog;
  const onSecrets = (secret: CaptureSecret): void => {
    if (secret.type === SECRETS_TLS_KEY_LOG) keyLog.addBytes(secret.data);
  };
  const useSecrets = opts.captureSecrets !== false;
  const found = await findFlowFrames(file, [flow], useSecrets ? { onSecrets } : {});
  if (flow.transport === 'udp') return followDatagrams(file, flow, found, opts);
  let pass = await followConnection(file, flow, found, opts);
  // Only pcapng carries secrets: a pcap is not read again for them.
  const lateSecretsPossible = useSecrets && found.format === 'pcapng' && found.frames.length > 0;
  if (lateSecretsPossible && pass.out.untouched && pass.evidence?.app === 'tls' && pass.evidence.tls?.decrypted !== true) {
    // Secrets stored for a session that was looked up and missed are counted as late ones.
    const late = keyLog.lateSecrets;
    await readSecretsAfter(file, found.frames[found.frames.length - 1]!, found.lastTs, onSecrets, opts.signal);
    if (keyLog.lateSecrets > late && opts.signal?.aborted !== true) pass = await followConnection(file, flow, found, opts);
  }
  pass.out.finish(pass.evidence);
  return {
    layer: pass.out.layer ?? 'tcp',
    evidence: pass.evidence,
    frames: found.frames.length,
    packets: found.perFlow[0] ?? 0,
    error: found.error ?? pass.copyError,
    note: pass.out.note,
  };
}

/** One run of a TCP connection's frames through the engine, the chosen layer passed on. */
async function followConnection(
  file: string,
  flow: FlowSelector,
  found: FlowFrames,
  opts: FollowOptions,
): Promise<{ out: LayerSwitch; evidence: AppEvidence | null; copyError: CaptureError | null }> {
  const out = new LayerSwitch(opts.layer, opts.sink, opts.holdBytes ?? DEFAULT_HOLD_BYTES);
  let evidence: AppEvidence | null = null;
  let sessions = 0;
  const engine = new Engine({
    decoder: decoderOptionsOfStored(flow.decodeAs),
    // Only the followed connection gets a session: the frames are its own, but a NAT or tunnel
    // view of another tuple must not be mistaken for it.
    sessionFactory: (meta) => {
      if (meta.transport !== 'tcp' || sessions > 0 || !sameConnection(meta, flow)) return null;
      sessions++;
      return new FollowSession(meta, flow, opts.keyLog, out);
    },
    onFlowEnd: (rec: FlowRecord) => {
      if (evidence === null && sameConnection(rec, flow)) evidence = { app: rec.app, tls: rec.tls, http: rec.http, ssh: rec.ssh, dns: rec.dns };
    },
  });
  // The capture's secrets were read while its frames were looked for.
  const copyError = await copyFrames(file, found.frames, { write: (f) => engine.processFrame(f) }, { signal: opts.signal });
  engine.finish();
  return { out, evidence, copyError };
}

/** A UDP flow's datagrams, decoded as the analysis decoded them (IP fragments reassembled). */
async function followDatagrams(file: string, flow: FlowSelector, found: FlowFrames, opts: FollowOptions): Promise<FollowResult> {
  const decoder = new PacketDecoder(new AnomalyCounter(), decoderOptionsOfStored(flow.decodeAs));
  const pkt = new DecodedPacket();
  const stamp = new MutableStamp();
  const client = parseIp(flow.clientIp);
  const copyError = await copyFrames(file, found.frames, {
    write: (f) => {
      const st = decoder.decodeBytes(f.buf, f.start, f.end, f.linkType, stamp.set(f.ts, f.number), pkt, f.origLen);
      if (st !== DecodeStatus.OK || pkt.protocol !== PROTO_UDP || client === null || pkt.payloadLength === 0) return;
      const fromClient = pkt.srcPort === flow.clientPort && sameBytes(pkt.src, client);
      const toClient = pkt.dstPort === flow.clientPort && sameBytes(pkt.dst, client);
      if (!fromClient && !toClient) return;
      const data = pkt.data.slice(pkt.payloadOffset, pkt.payloadOffset + pkt.payloadLength);
      opts.sink.data({ dir: fromClient ? 0 : 1, data, ts: f.ts, frame: f.number, datagram: true });
    },
  }, { signal: opts.signal });
  return {
    layer: 'udp',
    evidence: null,
    frames: found.frames.length,
    packets: found.perFlow[0] ?? 0,
    error: found.error ?? copyError,
    note: null,
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length < b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The engine's connection is the stored one (either may name the client first). */
function sameConnection(meta: FlowMeta, flow: FlowSelector): boolean {
  const a = meta.client;
  const b = meta.server;
  return (
    (a.ip === flow.clientIp && a.port === flow.clientPort && b.ip === flow.serverIp && b.port === flow.serverPort) ||
    (a.ip === flow.serverIp && a.port === flow.serverPort && b.ip === flow.clientIp && b.port === flow.clientPort)
  );
}
