/**
 * The packets of stored flows, read back from the capture they came from (what Wireshark's "Export
 * Specified Packets" gives for a conversation): every frame from a flow's first to its last frame
 * whose innermost 5-tuple is the flow's, in capture order, outer headers (VLAN, tunnel) as captured,
 * and with the IP fragments its reassembled packets were built from.
 *
 * Two passes over the start of the file (reading stops after the last frame wanted): the first finds
 * the frame numbers, the second copies those frames, so fragments keep their place in the order.
 * The frames are decoded as the analysis decoded them (same decoder, same defaults, the capture's
 * `--decode-as` rules).
 */
import { AnomalyCounter } from '../anomalies';
import { parseIp } from '../decode/address';
import { DecodeStatus, DecodedPacket } from '../decode/packet';
import { PacketDecoder } from '../decode/packet-decoder';
import { decoderOptionsOfStored } from '../decode/decode-as';
import { DEFAULT_FRAGMENT_LIMITS } from '../decode/ip-fragments';
import { MutableStamp } from '../flow/packet-stamp';
import type { CaptureError } from '../ingest/capture-error';
import type { CaptureFormat } from '../ingest/capture-format';
import type { Frame } from '../ingest/frame';
import type { CaptureSecret, SecretsHandler } from '../ingest/pcapng-reader';
import { readCaptureFrames } from './ring-files';
import type { CaptureFileWriter } from './frame-writers';
import { FlowSecrets } from './flow-secrets';

/** One stored flow to extract: its tuple and where it lies in its capture. */
export interface FlowSelector {
  transport: string;
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
  firstFrame: number;
  lastFrame: number;
  /** The `--decode-as` rules its capture was analysed with, as stored (`captures.decode_as`; null: none). */
  decodeAs?: string | null;
}

/**
 * A stored flow as a selector, with its id (`key`) and the file its capture's packets are in (the
 * capture file, or the file a live capture was written to): the columns to select
 * from `flows f JOIN captures c ON c.id = f.capture_id`.
 */
export interface StoredFlowSelector extends FlowSelector {
  key: string;
  captureId: number;
  captureFile: string;
  /** Packets the flow counted (both directions). */
  packets: number;
}

export const STORED_FLOW_SELECTOR_SQL = `SELECT f.flow_key AS key, f.capture_id AS captureId, COALESCE(c.packets_file, c.file) AS captureFile, f.transport,
  f.client_ip AS clientIp, f.client_port AS clientPort, f.server_ip AS serverIp, f.server_port AS serverPort,
  f.first_frame AS firstFrame, f.last_frame AS lastFrame, f.packets_client + f.packets_server AS packets, c.decode_as AS decodeAs
  FROM flows f JOIN captures c ON c.id = f.capture_id`;

/** Frames written somewhere (a pcap or pcapng writer). */
export interface FrameWriter {
  write(frame: Frame): void;
}

export interface FlowFrames {
  /** Frame numbers to copy, ascending (fragments included). */
  frames: number[];
  /** Frames that matched each selector's tuple (fragments not counted). */
  perFlow: number[];
  /** Damage that stopped the read early, if any (frames before it are found). */
  error: CaptureError | null;
  /** Capture time of the last frame found (NaN when none was). */
  lastTs: number;
  /** The capture's format (null: not recognised); only pcapng carries TLS secrets. */
  format: CaptureFormat | null;
}

/** IP fragments held at most while waiting for the packet they complete. */
const MAX_PENDING_DATAGRAMS = 4096;
const MAX_FRAGMENTS_PER_DATAGRAM = 256;

interface Matcher {
  proto: number;
  client: Uint8Array;
  server: Uint8Array;
  clientPort: number;
  serverPort: number;
  first: number;
  last: number;
}

function sameAddress(a: Uint8Array, b: Uint8Array, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[i] !== b[i]) return false;
  return true;
}

function matcherOf(s: FlowSelector): Matcher | null {
  const client = parseIp(s.clientIp);
  const server = parseIp(s.serverIp);
  const proto = s.transport === 'tcp' ? 6 : s.transport === 'udp' ? 17 : -1;
  if (client === null || server === null || proto < 0) return null;
  return { proto, client, server, clientPort: s.clientPort, serverPort: s.serverPort, first: s.firstFrame, last: s.lastFrame };
}

/** The packet is one of the flow's, in either direction. */
function matches(m: Matcher, p: DecodedPacket, frame: number): boolean {
  if (frame < m.first || frame > m.last || p.protocol !== m.proto) return false;
  const len = p.ipVersion === 4 ? 4 : 16;
  if (m.client.length !== len) return false;
  if (p.srcPort === m.clientPort && p.dstPort === m.serverPort && sameAddress(p.src, m.client, len) && sameAddress(p.dst, m.server, len)) return true;
  return p.srcPort === m.serverPort && p.dstPort === m.clientPort && sameAddress(p.src, m.server, len) && sameAddress(p.dst, m.client, len);
}

export interface FindOptions {
  /** Given the Decryption Secrets Blocks read on the way (the capture's start up to the last frame wanted). */
  onSecrets?: SecretsHandler;
  /** Given each packet of the flows, decoded (valid during the call). */
  onPacket?: (pkt: DecodedPacket) => void;
}

/** First pass: the numbers of the frames that carry the flows' packets. */
export async function findFlowFrames(file: string, flows: FlowSelector[], opts: FindOptions = {}): Promise<FlowFrames> {
  const matchers = flows.map(matcherOf);
  const perFlow = flows.map(() => 0);
  const frames: number[] = [];
  let lastTs = NaN;
  const live = matchers.filter((m): m is Matcher => m !== null);
  if (live.length === 0) return { frames, perFlow, error: null, lastTs, format: null };
  const firstWanted = Math.min(...live.map((m) => m.first));
  const lastWanted = Math.max(...live.map((m) => m.last));
  // The flows looked for together are of one capture, decoded one way.
  const decoder = new PacketDecoder(new AnomalyCounter(), decoderOptionsOfStored(flows[0]?.decodeAs));
  const pkt = new DecodedPacket();
  const stamp = new MutableStamp();
  /** Frames of the fragments held per datagram, until the packet they make is decoded. */
  const pending = new Map<number, { frames: number[]; firstTs: number }>();
  let fragmentFrames = false;
  const abort = new AbortController();
  // The reader stops between reads, not blocks: secrets it parses after the last frame are not taken.
  let past = false;
  const sink = (f: Frame): void => {
    if (past || f.number > lastWanted) {
      past = true;
      abort.abort();
      return;
    }
    // Fragments before the first frame may still belong to it: decoding starts early enough for them.
    const ts = f.ts;
    const st = decoder.decodeBytes(f.buf, f.start, f.end, f.linkType, stamp.set(ts, f.number), pkt, f.origLen);
    if (st === DecodeStatus.FRAGMENT_HELD) {
      // Whose it is shows only once it is complete (a tunnel's outer fragments carry no inner tuple).
      const key = decoder.lastFragmentKey;
      let held = pending.get(key);
      // Older than the reassembler keeps a datagram: that one was given up, this is another.
      if (held === undefined || ts - held.firstTs > DEFAULT_FRAGMENT_LIMITS.timeoutSeconds) {
        if (held === undefined && pending.size >= MAX_PENDING_DATAGRAMS) pending.delete(pending.keys().next().value!);
        held = { frames: [], firstTs: ts };
        pending.set(key, held);
      }
      if (held.frames.length < MAX_FRAGMENTS_PER_DATAGRAM) held.frames.push(f.number);
      return;
    }
    let held: number[] | undefined;
    if (pkt.reassembled) {
      const key = decoder.lastFragmentKey;
      held = pending.get(key)?.frames;
      pending.delete(key);
    }
    if (st !== DecodeStatus.OK || f.number < firstWanted) return;
    let hit = false;
    for (let i = 0; i < matchers.length; i++) {
      const m = matchers[i];
      if (m !== null && matches(m, pkt, f.number)) {
        perFlow[i]!++;
        hit = true;
      }
    }
    if (!hit) return;
    opts.onPacket?.(pkt);
    if (held !== undefined) {
      for (const n of held) frames.push(n);
      fragmentFrames = true;
    }
    frames.push(f.number);
    lastTs = ts;
  };
  const onSecrets = opts.onSecrets;
  const secrets = onSecrets === undefined ? undefined : (s: CaptureSecret) => past || onSecrets(s);
  const info = await readCaptureFrames(file, sink, { hash: false, signal: abort.signal, fromFrame: firstWanted, onSecrets: secrets });
  if (fragmentFrames) frames.sort((a, b) => a - b);
  return { frames, perFlow, error: info.error, lastTs, format: info.format };
}

/** How far past a flow's last frame its secrets are looked for (seconds of capture time, frames). */
export const LATE_SECRETS_SECONDS = 60;
export const LATE_SECRETS_FRAMES = 1_000_000;

/**
 * Reads on past frame `after` (captured at `afterTs`) for Decryption Secrets Blocks, at most
 * LATE_SECRETS_SECONDS of capture time and LATE_SECRETS_FRAMES frames: a live capture writes the
 * secrets it learns from a client's key log when it learns them, which can be after a short
 * connection's last packet. Resolves when the window or the capture ends.
 */
export async function readSecretsAfter(
  file: string,
  after: number,
  afterTs: number,
  onSecrets: SecretsHandler,
  signal?: AbortSignal,
): Promise<void> {
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  signal?.addEventListener('abort', stop, { once: true });
  const until = afterTs + LATE_SECRETS_SECONDS;
  const lastFrame = after + LATE_SECRETS_FRAMES;
  // The reader stops between reads, not blocks: what it parses past the window is not taken.
  let ended = false;
  try {
    await readCaptureFrames(file, (f) => {
      if (ended || f.number > lastFrame || (f.number > after && f.ts > until)) {
        ended = true;
        abort.abort();
      }
    }, { hash: false, signal: abort.signal, fromFrame: after, onSecrets: (s: CaptureSecret) => ended || onSecrets(s) });
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}

/**
 * Second pass: hands the frames numbered in `frames` (ascending) to `out`, in capture order. What
 * `out` throws (a frame it cannot hold) stops the copy and is thrown from here.
 */
export async function copyFrames(
  file: string,
  frames: number[],
  out: FrameWriter,
  opts: { onSecrets?: SecretsHandler; signal?: AbortSignal } = {},
): Promise<CaptureError | null> {
  if (frames.length === 0) return null;
  let next = 0;
  let failure: unknown = null;
  const abort = new AbortController();
  const sink = (f: Frame): void => {
    if (next >= frames.length || failure !== null || opts.signal?.aborted === true) {
      abort.abort();
      return;
    }
    if (f.number !== frames[next]) return;
    next++;
    try {
      out.write(f);
    } catch (e) {
      failure = e;
      abort.abort();
    }
  };
  const info = await readCaptureFrames(file, sink, { hash: false, signal: abort.signal, fromFrame: frames[0], onSecrets: opts.onSecrets });
  if (failure !== null) throw failure;
  return info.error;
}

/**
 * Both passes over one capture: the flows' frames found, then copied into `out` as the capture
 * numbered `index`. Damage in the capture ends each pass early; what came before it is written.
 */
export async function writeFlowPackets(
  file: string,
  index: number,
  flows: FlowSelector[],
  out: CaptureFileWriter,
): Promise<{ perFlow: number[]; error: CaptureError | null; secretsLeftOut: boolean }> {
  const { found, keyLog } = await findFlowPackets(file, flows);
  out.source(index, file);
  const secretsLeftOut = keyLog !== '' && !out.secrets(keyLog);
  const copyError = await copyFrames(file, found.frames, out);
  return { perFlow: found.perFlow, error: found.error ?? copyError, secretsLeftOut };
}

/**
 * The flows' frames, and the TLS secrets of their connections that the capture's Decryption Secrets
 * Blocks hold (up to a minute of capture time after the last frame, as `follow` looks for them), as
 * key log text ('' when none): written with the frames, the extract decrypts on its own.
 */
export async function findFlowPackets(file: string, flows: FlowSelector[]): Promise<{ found: FlowFrames; keyLog: string }> {
  const secrets = new FlowSecrets();
  const found = await findFlowFrames(file, flows, { onSecrets: secrets.onSecrets, onPacket: (p) => secrets.notePacket(p) });
  if (secrets.missing > 0 && found.frames.length > 0 && found.format === 'pcapng') {
    await readSecretsAfter(file, found.frames[found.frames.length - 1]!, found.lastTs, secrets.onSecrets);
  }
  return { found, keyLog: secrets.keyLog() };
}

/** The name a flow's packets are offered under (dashboard download, TUI): `planewatch-c1f8.pcapng`. */
export function packetsFileName(flowKey: string): string {
  return `planewatch-${flowKey.replace(/[^A-Za-z0-9_-]/g, '_')}.pcapng`;
}
