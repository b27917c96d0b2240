/**
 * The HTTP/1.x messages of a followed connection (RFC 9112), read from the bytes each side sent as
 * `followFlow` hands them out — what Wireshark's Follow HTTP Stream shows: each message's start line
 * and header fields as sent, and its body de-chunked and, when `Content-Encoding` is gzip,
 * deflate or br, decoded. A response to HEAD, a 1xx, 204 or 304 has no body; after a 101 (an upgrade to
 * WebSocket, SPDY or h2c) or a gap the side's bytes are no longer HTTP/1 and are only counted.
 */
import { contentCoding, decodeContent, type ContentCoding } from './content-coding';
import type { Direction } from '../flow/direction';
import type { FollowChunk } from './follow-stream';
import { MAX_DECODED_BODY, MAX_ENCODED_BODY } from './http2-frames';

/** A header section longer than this is not HTTP/1 (the side stops). */
const MAX_HEAD = 64 * 1024;

export interface Http1Message {
  dir: Direction;
  /** Capture frame and time of the chunk the message began in. */
  frame: number;
  ts: number;
  /** Start line and header fields as sent (lines without their CRLF). */
  head: string[];
  /** The body: de-chunked, decoded when content-encoded (null: none, or not kept). */
  body: Uint8Array | null;
  /** How the body came (`1234 bytes, chunked, gzip decoded to 5678`), or why a side stopped. */
  info: string;
  /** True for a line about the stream rather than a message (an upgrade, a gap). */
  notice: boolean;
}

type Phase = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailers' | 'to-close' | 'stopped';

class Side {
  buf = new Uint8Array(4096);
  len = 0;
  phase: Phase = 'head';
  /** Bytes of the body (or of the current chunk) still expected. */
  left = 0;
  head: string[] = [];
  /** Frame and time of the chunk the side's unread bytes began in, and those of the message being read. */
  frame = 0;
  ts = 0;
  msgFrame = 0;
  msgTs = 0;
  chunked = false;
  encoding: ContentCoding | null = null;
  body: Uint8Array[] = [];
  bodySize = 0;
  /** Body bytes that arrived (also those beyond what is kept). */
  bodySeen = 0;
  skipped = 0;
}

export class Http1MessageReader {
  private readonly sides: [Side, Side] = [new Side(), new Side()];
  /** Methods of requests not answered yet (a response to HEAD has no body). */
  private readonly methods: string[] = [];
  /** The client's first bytes are not an HTTP/1 request: nothing is read. */
  notHttp1 = false;
  messages = 0;
  /** The side whose buffer is being parsed (-1: none). */
  private parsing: Direction | -1 = -1;

  constructor(private readonly emit: (m: Http1Message) => void) {}

  data(c: FollowChunk): void {
    if (this.notHttp1) return;
    const s = this.sides[c.dir];
    if (s.phase === 'stopped') {
      s.skipped += c.data.length;
      return;
    }
    if (s.len === 0 && s.phase === 'head') {
      s.frame = c.frame;
      s.ts = c.ts;
    }
    if (s.len + c.data.length > s.buf.length) {
      const next = new Uint8Array(Math.max(s.buf.length * 2, s.len + c.data.length));
      next.set(s.buf.subarray(0, s.len));
      s.buf = next;
    }
    s.buf.set(c.data, s.len);
    s.len += c.data.length;
    this.parse(c.dir, c.frame, c.ts);
  }

  gap(dir: Direction, bytes: number): void {
    const s = this.sides[dir];
    if (s.phase === 'stopped') return;
    this.notice(dir, `${bytes} bytes missing: the rest of this side is not read as HTTP`);
    this.stop(dir);
  }

  /** End of the capture: a body that runs to the close of the connection is complete. */
  end(): void {
    for (const dir of [0, 1] as const) {
      const s = this.sides[dir];
      if (s.phase === 'to-close') this.finish(dir);
      else if (s.phase !== 'head' && s.phase !== 'stopped') this.finish(dir, 'the connection ended inside the body');
      else if (s.phase === 'head' && s.len > 0) this.notice(dir, `${s.len} bytes of an unfinished header section`);
      if (s.skipped > 0) this.notice(dir, `${s.skipped} bytes not read as HTTP`);
    }
  }

  private parse(dir: Direction, frame: number, ts: number): void {
    const s = this.sides[dir];
    let off = 0;
    this.parsing = dir;
    try {
      off = this.parseFrom(dir, frame, ts);
    } finally {
      this.parsing = -1;
    }
    if (s.phase === 'stopped') {
      // Stopped within: the bytes after the last message read are not HTTP/1.
      s.skipped += s.len - off;
      s.len = 0;
      return;
    }
    s.buf.copyWithin(0, off, s.len);
    s.len -= off;
  }

  /** Reads what it can from the side's buffer; returns how far it read. */
  private parseFrom(dir: Direction, frame: number, ts: number): number {
    const s = this.sides[dir];
    let off = 0;
    for (;;) {
      if (s.phase === 'stopped') return off;
      const b = s.buf;
      if (s.phase === 'head') {
        // A message that starts after another in this chunk begins in this chunk.
        if (off > 0) {
          s.frame = frame;
          s.ts = ts;
        }
        const end = findCrlfCrlf(b, off, s.len);
        if (end < 0) {
          if (s.len - off > MAX_HEAD || (dir === 0 && this.messages === 0 && !looksLikeRequest(b, off, s.len))) {
            this.notHttp(dir);
            return off;
          }
          break;
        }
        const lines = Buffer.from(b.subarray(off, end)).toString('latin1').split('\r\n');
        off = end + 4;
        s.msgFrame = s.frame;
        s.msgTs = s.ts;
        if (!this.startMessage(dir, lines)) {
          this.notHttp(dir);
          return off;
        }
        continue;
      }
      if (s.phase === 'length' || s.phase === 'chunk-data') {
        const n = Math.min(s.left, s.len - off);
        this.keep(s, b.subarray(off, off + n));
        off += n;
        s.left -= n;
        if (s.left > 0) break;
        if (s.phase === 'length') this.finish(dir);
        else s.phase = 'chunk-crlf';
        continue;
      }
      if (s.phase === 'to-close') {
        this.keep(s, b.subarray(off, s.len));
        off = s.len;
        break;
      }
      // chunk-size, chunk-crlf, trailers: a line at a time.
      const eol = findCrlf(b, off, s.len);
      if (eol < 0) {
        if (s.len - off > 4096) {
          this.broken(dir, 'a chunk line longer than 4 KiB');
          return off;
        }
        break;
      }
      const line = Buffer.from(b.subarray(off, eol)).toString('latin1');
      off = eol + 2;
      if (s.phase === 'chunk-crlf') {
        if (line !== '') {
          this.broken(dir, 'a chunk not followed by CRLF');
          return off;
        }
        s.phase = 'chunk-size';
      } else if (s.phase === 'chunk-size') {
        const size = /^([0-9A-Fa-f]{1,8})\s*(;.*)?$/.exec(line);
        if (size === null) {
          this.broken(dir, `a bad chunk size line "${line.slice(0, 40)}"`);
          return off;
        }
        s.left = Number.parseInt(size[1]!, 16);
        s.phase = s.left === 0 ? 'trailers' : 'chunk-data';
      } else if (line === '') this.finish(dir); // the end of the trailer section
    }
    return off;
  }

  /** A header section is complete: true when it is an HTTP/1 message. */
  private startMessage(dir: Direction, lines: string[]): boolean {
    const s = this.sides[dir];
    const start = lines[0] ?? '';
    const request = /^([A-Z][A-Z0-9_-]*) \S+ HTTP\/1\.[01]$/.exec(start);
    const response = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(start);
    if (dir === 0 ? request === null : response === null) return false;
    const field = (name: string) => lines.slice(1).find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim() ?? null;
    s.head = lines;
    s.body = [];
    s.bodySize = 0;
    s.bodySeen = 0;
    s.encoding = contentCoding(field('content-encoding'));
    s.chunked = /(^|,)\s*chunked\s*$/i.test(field('transfer-encoding') ?? '');
    const length = field('content-length');
    this.messages++;
    if (dir === 0) {
      this.methods.push(request![1]!);
    } else {
      const status = Number(response![1]);
      if (status === 101) {
        this.emitMessage(dir, null, 'switching protocols: what follows on this connection is not HTTP/1');
        this.stop(0);
        this.stop(1);
        return true;
      }
      if (status >= 100 && status < 200) return this.noBody(dir);
      const method = this.methods.shift();
      if (method === 'HEAD' || status === 204 || status === 304) return this.noBody(dir);
    }
    if (s.chunked) s.phase = 'chunk-size';
    else if (length !== null && /^\d+$/.test(length)) {
      s.left = Number(length);
      if (s.left === 0) return this.noBody(dir);
      s.phase = 'length';
    } else if (dir === 1) s.phase = 'to-close';
    else return this.noBody(dir);
    return true;
  }

  private noBody(dir: Direction): boolean {
    this.emitMessage(dir, null, '');
    this.sides[dir].phase = 'head';
    return true;
  }

  private keep(s: Side, bytes: Uint8Array): void {
    s.bodySeen += bytes.length;
    if (s.bodySize + bytes.length > MAX_ENCODED_BODY) return;
    s.body.push(bytes.slice());
    s.bodySize += bytes.length;
  }

  /** The body is complete (or `cut` says why not): the message goes out, the side reads the next one. */
  private finish(dir: Direction, cut?: string): void {
    const s = this.sides[dir];
    const raw = Buffer.concat(s.body, s.bodySize);
    const how = [`${s.bodySeen} bytes`, s.chunked ? 'chunked' : null, cut ?? null].filter((x) => x !== null);
    let body: Uint8Array | null = raw;
    if (s.bodySeen > s.bodySize) how.push(`only the first ${s.bodySize} kept`);
    else if (s.encoding !== null && cut === undefined) {
      try {
        body = decodeContent(s.encoding, raw, MAX_DECODED_BODY);
        how.push(`${s.encoding} decoded to ${body.length}`);
      } catch (e) {
        how.push(`${s.encoding} does not decode: ${(e as Error).message}`);
        body = null;
      }
    } else if (s.encoding !== null) {
      how.push(`${s.encoding}-encoded, not decoded`);
      body = null;
    }
    this.emitMessage(dir, body, how.join(', '));
    s.phase = 'head';
  }

  private emitMessage(dir: Direction, body: Uint8Array | null, info: string): void {
    const s = this.sides[dir];
    this.emit({ dir, frame: s.msgFrame, ts: s.msgTs, head: s.head, body, info, notice: false });
  }

  private notice(dir: Direction, info: string): void {
    const s = this.sides[dir];
    this.emit({ dir, frame: s.frame, ts: s.ts, head: [], body: null, info, notice: true });
  }

  private broken(dir: Direction, what: string): void {
    this.notice(dir, `${what}: the rest of this side is not read as HTTP`);
    this.stop(dir);
  }

  private notHttp(dir: Direction): void {
    if (dir === 0 && this.messages === 0) {
      this.notHttp1 = true;
      return;
    }
    this.broken(dir, 'bytes that are not an HTTP/1 message');
  }

  private stop(dir: Direction): void {
    const s = this.sides[dir];
    s.phase = 'stopped';
    // The side being parsed counts what it had not read when parsing returns.
    if (this.parsing === dir) return;
    s.skipped += s.len;
    s.len = 0;
  }
}

function findCrlfCrlf(b: Uint8Array, from: number, to: number): number {
  for (let i = from; i + 3 < to; i++) if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  return -1;
}

function findCrlf(b: Uint8Array, from: number, to: number): number {
  for (let i = from; i + 1 < to; i++) if (b[i] === 13 && b[i + 1] === 10) return i;
  return -1;
}

/** The first bytes could still be a request line (an upper-case method and a space). */
function looksLikeRequest(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to && i < from + 24; i++) {
    const c = b[i]!;
    if (c === 0x20) return i > from;
    if (!((c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f)) return false;
  }
  return true;
}
