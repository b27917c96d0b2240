import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { AnomalyCounter } from '../anomalies.js';
import type { CaptureInfo } from './capture-info.js';
import { CaptureParser } from './capture-parser.js';
import { isGzip } from './capture-format.js';
import type { FrameSink } from './frame.js';
import type { SecretsHandler } from './pcapng-reader.js';
import { ParallelHasher } from './parallel-hash.js';

/**
 * Size of the one buffer plain files are read into. Large reads keep the per-call cost of the
 * asynchronous file API negligible; the buffer is reused, so memory stays flat.
 */
export const READ_BUFFER_BYTES = 2 * 1024 * 1024;
/** Files at least this large are hashed on another thread; below, starting it costs more than it saves. */
export const PARALLEL_HASH_MIN_BYTES = 32 * 1024 * 1024;
/** Chunk size for streamed input (gzip files); stdin and pipes deliver what they have. */
const STREAM_CHUNK_BYTES = 1024 * 1024;

export interface ReadCaptureOptions {
  /** Stream read when `file` is '-' (default: process.stdin). It is destroyed on abort. */
  input?: Readable;
  /** Called after every chunk with the raw (possibly compressed) bytes read so far. */
  onProgress?: (rawBytesRead: number) => void;
  /** Stops reading cleanly: resolves with what was read so far and `aborted: true`. */
  signal?: AbortSignal;
  /** Called for every pcapng Decryption Secrets Block as it is read. */
  onSecrets?: SecretsHandler;
  /** Counter to add the capture's anomalies to (default: a fresh one). */
  anomalies?: AnomalyCounter;
  /**
   * Hash plain files on another thread: true / false, or undefined to decide by size
   * (PARALLEL_HASH_MIN_BYTES). Worth it when a second core is free.
   */
  parallelHash?: boolean;
  /** Read buffer size for plain files (default READ_BUFFER_BYTES). */
  bufferBytes?: number;
  /**
   * false: no SHA-256 (`sha256` is ''), for a caller that hashes the file itself (the analysis
   * thread's parent does, beside it). Default true.
   */
  hash?: boolean;
}

/** Per-call state shared by the file and stream paths. */
class ReadState {
  readonly hash: Hash = createHash('sha256');
  /** Digest computed by a ParallelHasher instead of `hash`. */
  digest: string | null = null;
  rawBytes = 0;
  compressed = false;
  aborted = false;

  constructor(
    readonly parser: CaptureParser,
    readonly opts: ReadCaptureOptions,
  ) {}

  /** Accounts one raw chunk: hash and progress. */
  tapRaw(chunk: Uint8Array): void {
    if (this.opts.hash !== false) this.hash.update(chunk);
    this.countRaw(chunk.length);
  }

  /** Accounts raw bytes hashed elsewhere: progress only. */
  countRaw(n: number): void {
    this.rawBytes += n;
    if (this.opts.onProgress !== undefined) this.opts.onProgress(this.rawBytes);
  }
}

/**
 * Reads a whole capture (pcap or pcapng, optionally gzip'd; '-' for standard input) and hands every
 * frame to `sink`. Never rejects for a bad or damaged file: the result's `error` names the file and
 * byte offset, and every frame before the damage has been delivered. Rejects only when `sink` throws.
 */
export async function readCapture(
  file: string,
  sink: FrameSink,
  opts: ReadCaptureOptions = {},
): Promise<CaptureInfo> {
  const anomalies = opts.anomalies ?? new AnomalyCounter();
  const parser = new CaptureParser(file, sink, anomalies, opts.onSecrets ?? null);
  const st = new ReadState(parser, opts);
  if (file === '-') await readStream(opts.input ?? process.stdin, st);
  else await readFile(file, st);
  if (!st.aborted && parser.error === null) parser.end();
  return {
    file,
    format: parser.format,
    compressed: st.compressed,
    linkTypes: parser.linkTypes.slice(),
    packets: parser.packets,
    bytes: parser.bytes,
    fileBytes: parser.offset,
    truncatedFrames: parser.truncatedFrames,
    firstTs: Number.isNaN(parser.firstTs) ? null : parser.firstTs,
    lastTs: Number.isNaN(parser.lastTs) ? null : parser.lastTs,
    sha256: opts.hash === false ? '' : (st.digest ?? st.hash.digest('hex')),
    secrets: parser.secrets,
    keyLog: parser.keyLog,
    error: parser.error,
    aborted: st.aborted,
    anomalies,
  };
}

/**
 * Plain files: large sequential reads into reused buffers, the next one issued before the current one
 * is parsed, so the parser never waits for the disk (or the page cache) between chunks. Large files
 * are hashed on another thread (ParallelHasher) so the digest costs no parsing time. Gzip files go to
 * the stream path.
 */
async function readFile(file: string, st: ReadState): Promise<void> {
  const { parser, opts } = st;
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    parser.fail('capture.open_failed', `cannot open: ${errorText(e)}`);
    return;
  }
  const bufferBytes = opts.bufferBytes ?? READ_BUFFER_BYTES;
  let hasher: ParallelHasher | null = null;
  let gzip = false;
  // The read in flight; settled (and its errors seen) before the file is closed.
  let ahead: Promise<ReadChunk> | null = null;
  try {
    const info = await fh.stat();
    if (info.isDirectory()) {
      parser.fail('capture.open_failed', 'cannot open: it is a directory, not a capture file');
      return;
    }
    const size = info.size;
    if (opts.hash !== false && (opts.parallelHash ?? size >= PARALLEL_HASH_MIN_BYTES)) hasher = new ParallelHasher(bufferBytes);
    // Without a hasher two buffers take turns: one is read into while the other is parsed.
    const own = hasher === null ? [new Uint8Array(bufferBytes), new Uint8Array(bufferBytes)] : [];
    const slots = hasher !== null ? hasher.slots : own.length;
    const read = (slot: number, buf: Uint8Array): Promise<ReadChunk> =>
      fh.read(buf, 0, buf.length, null).then((r) => ({ slot, chunk: buf.subarray(0, r.bytesRead) }));
    // The read is started right here when the buffer is free, not after an await: an await would
    // let it start only once the caller's parsing of the current chunk is over.
    const readInto = (slot: number): Promise<ReadChunk> => {
      const buf = hasher !== null ? hasher.free(slot) : own[slot]!;
      if (buf !== null) return read(slot, buf);
      return hasher!.slot(slot).then((b) => read(slot, b));
    };
    ahead = readInto(0);
    let first = true;
    for (;;) {
      if (opts.signal?.aborted) {
        st.aborted = true;
        break;
      }
      const { slot, chunk } = await ahead;
      ahead = null;
      const n = chunk.length;
      if (n === 0) break;
      if (first) {
        first = false;
        if (isGzip(chunk)) {
          gzip = true;
          break;
        }
      }
      if (hasher !== null) {
        hasher.submit(slot, n);
        st.countRaw(n);
      } else {
        st.tapRaw(chunk);
      }
      ahead = readInto((slot + 1) % slots);
      parser.push(chunk);
      // After damage the rest is still hashed (de-duplication needs the whole file's digest),
      // except for input that is no capture at all.
      if (parser.error !== null && parser.format === null) break;
    }
    if (hasher !== null && !gzip) {
      if (ahead !== null) await ahead;
      st.digest = await hasher.digest();
    }
  } catch (e) {
    parser.fail('capture.read_failed', `read failed: ${errorText(e)}`);
  } finally {
    if (ahead !== null) await ahead.catch(() => undefined);
    await fh.close();
    if (hasher !== null && st.digest === null) await hasher.close();
  }
  if (gzip) await readStream(createReadStream(file, { highWaterMark: STREAM_CHUNK_BYTES }), st);
}

/** One read of readFile: the buffer slot it went into and the bytes read (empty at the end). */
interface ReadChunk {
  slot: number;
  chunk: Uint8Array;
}

/** Streams (stdin, pipes, gzip files): sniff gzip on the first bytes, then inflate while reading. */
async function readStream(raw: Readable, st: ReadState): Promise<void> {
  const { parser, opts } = st;
  const onAbort = (): void => {
    st.aborted = true;
    raw.destroy();
  };
  if (opts.signal?.aborted) {
    st.aborted = true;
    return;
  }
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const it = raw[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  try {
    // Collect at least two bytes to tell gzip from a capture.
    const head: Uint8Array[] = [];
    let headLen = 0;
    let done = false;
    while (headLen < 2) {
      const r = await it.next();
      if (r.done) {
        done = true;
        break;
      }
      const c = toBytes(r.value);
      st.tapRaw(c);
      head.push(c);
      headLen += c.length;
    }
    const first = head.length === 1 ? head[0]! : concat(head, headLen);
    if (isGzip(first)) {
      st.compressed = true;
      await inflate(first, done ? null : it, st);
    } else {
      parser.push(first);
      while (!done) {
        const r = await it.next();
        if (r.done) break;
        const c = toBytes(r.value);
        st.tapRaw(c);
        parser.push(c);
      }
    }
  } catch (e) {
    if (!st.aborted) parser.fail('capture.read_failed', `read failed: ${errorText(e)}`);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (!raw.destroyed && raw !== process.stdin) raw.destroy();
  }
}

/** Inflates `first` followed by the rest of `it`, pushing the decompressed bytes to the parser. */
async function inflate(first: Uint8Array, it: AsyncIterator<Uint8Array> | null, st: ReadState): Promise<void> {
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  async function* compressed(): AsyncGenerator<Uint8Array> {
    yield first;
    if (it === null) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      const c = toBytes(r.value);
      st.tapRaw(c);
      yield c;
    }
  }
  // Errors of either side surface in the loop below through the destroyed gunzip stream.
  pipeline(Readable.from(compressed(), { objectMode: false }), gunzip, () => {});
  try {
    for await (const out of gunzip) st.parser.push(out as Uint8Array);
  } catch (e) {
    if (!st.aborted) st.parser.fail('capture.read_failed', `gzip: ${errorText(e)}`);
  }
}

function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'latin1');
  return new Uint8Array(0);
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The reason without the path Node appends (the CaptureError already names the file). */
function errorText(e: unknown): string {
  if (e instanceof Error) return e.message.replace(/, \w+ '.*'$/, '');
  return String(e);
}
