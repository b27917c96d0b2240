/**
 * The HTTP/2 frames of a followed connection (RFC 9113), read from the bytes each side sent as
 * `followFlow` hands them out: frame boundaries across chunks, header blocks with their
 * CONTINUATIONs decoded by each side's HPACK table, padding removed, control frames with their
 * fields. A connection that starts as HTTP/1.1 and is upgraded (`Upgrade: h2c`, answered by 101,
 * RFC 7540 §3.2) is read from its upgrade on, the request being stream 1. What `follow --format
 * http2` prints and the dashboard's HTTP/2 view shows.
 */
import type { Direction } from '../flow/direction';
import type { FollowChunk } from './follow-stream';
import { contentCoding, decodeContent, type ContentCoding } from './content-coding';
import { HpackDecoder, HpackStatus, type HeaderSink } from '../../dissectors/http2/hpack';

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const FRAME_HEADER = 9;
/** Frames longer than HTTP/2 allows (2^24 − 1) cannot occur: the bytes are not HTTP/2. */
const MAX_FRAME = (1 << 24) - 1;
/** Longest HTTP/1.1 head (request or response) read while looking for an upgrade to h2c. */
export const MAX_UPGRADE_HEAD = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** Where a connection is in an upgrade from HTTP/1.1 to h2c. */
const enum Upgrade {
  /** No HTTP/1.1 seen: the client is expected to start with the preface. */
  NONE,
  /** The client's bytes are HTTP/1.1: its request head is being read. */
  READING_REQUEST,
  /** The client asked for h2c: the server's answer is being read. */
  REQUESTED,
  /** The server switched protocols: both sides speak HTTP/2 from here. */
  SWITCHED,
}

const TYPES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];
const SETTINGS = ['', 'HEADER_TABLE_SIZE', 'ENABLE_PUSH', 'MAX_CONCURRENT_STREAMS', 'INITIAL_WINDOW_SIZE', 'MAX_FRAME_SIZE', 'MAX_HEADER_LIST_SIZE'];
/** RFC 9113 §7 error codes. */
const ERRORS = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR',
  'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];

/** Compressed bytes of one message kept for decoding, and the decoded bytes made at most. */
export const MAX_ENCODED_BODY = 4 * 1024 * 1024;
export const MAX_DECODED_BODY = 16 * 1024 * 1024;

const F_END_STREAM = 0x1;
const F_ACK = 0x1;
const F_END_HEADERS = 0x4;
const F_PADDED = 0x8;
const F_PRIORITY = 0x20;

/** One thing the reader saw, in order. */
export interface Http2Event {
  dir: Direction;
  /** Capture frame (and time) of the chunk the HTTP/2 frame began in. */
  frame: number;
  ts: number;
  /**
   * 'preface', a frame type (DATA, HEADERS, …, or `type 0xNN`), 'error' when decoding a side stops,
   * 'body': a message's content-encoded body (gzip, deflate, br) decoded, once its stream ends, or
   * 'upgrade': the HTTP/1.1 request asking for h2c (stream 1) or the server's 101 answering it, its
   * start line in `info` and its header fields in `headers`.
   */
  type: string;
  stream: number;
  /** END_STREAM, ACK: the flags that matter to a reader. */
  flags: string[];
  /** Decoded fields of a header block (HEADERS, PUSH_PROMISE with its CONTINUATIONs). */
  headers: [string, string][] | null;
  /** A DATA frame's payload, padding removed, or a decoded body (a view valid during the callback). */
  data: Uint8Array | null;
  /** The control frame's fields, or what went wrong, in words. */
  info: string;
}

class LineSink implements HeaderSink {
  fields: [string, string][] = [];
  onHeader(name: string, value: string): void {
    this.fields.push([name, value]);
  }
}

/** A message body being collected because its headers said it is content-encoded. */
interface EncodedBody {
  encoding: ContentCoding;
  parts: Uint8Array[];
  size: number;
  /** More than MAX_ENCODED_BODY arrived: not decoded. */
  over: boolean;
}

class Side {
  /** Streams whose message from this side is content-encoded, with what has arrived of it. */
  readonly bodies = new Map<number, EncodedBody>();
  buf = new Uint8Array(16 * 1024);
  len = 0;
  preface: number;
  readonly hpack = new HpackDecoder();
  block: { type: string; stream: number; flags: string[]; parts: Uint8Array[]; frame: number; ts: number; info: string } | null = null;
  stopped = false;
  /** Bytes not decoded once decoding stopped. */
  skipped = 0;
  frame = 0;
  ts = 0;
  /** The side's bytes are an HTTP/1.1 head being collected in `buf` (an upgrade to h2c). */
  head = false;
  /** Bytes of the upgrade request's body still to pass over before the preface. */
  bodyLeft = 0;

  constructor(dir: Direction) {
    this.preface = dir === 0 ? PREFACE.length : 0;
  }

  append(data: Uint8Array): void {
    if (this.len + data.length > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + data.length));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(data, this.len);
    this.len += data.length;
  }
}

export class Http2FrameReader {
  private readonly sides: [Side, Side] = [new Side(0), new Side(1)];
  /** Frames read in all. */
  frames = 0;
  /** The client neither started with the preface nor upgraded to h2c: not HTTP/2 bytes (set once, then nothing is read). */
  notHttp2 = false;
  private parsing = false;
  private upgrade = Upgrade.NONE;

  constructor(private readonly emit: (e: Http2Event) => void) {}

  data(c: FollowChunk): void {
    if (this.notHttp2) return;
    const s = this.sides[c.dir];
    if (s.stopped) {
      s.skipped += c.data.length;
      return;
    }
    let data = c.data;
    if (s.head) return this.collectHead(c.dir, data, c.frame, c.ts);
    if (s.bodyLeft > 0) {
      const n = Math.min(s.bodyLeft, data.length);
      s.bodyLeft -= n;
      data = data.subarray(n);
      if (data.length === 0) return;
    }
    if (s.preface > 0) {
      const at = PREFACE.length - s.preface;
      const n = Math.min(s.preface, data.length);
      if (Buffer.from(data.subarray(0, n)).toString('latin1') !== PREFACE.slice(at, at + n)) {
        // Not the preface: perhaps an HTTP/1.1 request asking to upgrade to h2c, unless the server
        // has spoken HTTP/2 already or the client has upgraded once.
        if (this.upgrade !== Upgrade.NONE || this.frames > 0 || this.sides[1].len > 0) {
          this.notHttp2 = true;
          return;
        }
        this.upgrade = Upgrade.READING_REQUEST;
        s.head = true;
        // The server's bytes wait until the request has been read.
        this.sides[1].head = true;
        return this.collectHead(c.dir, Buffer.concat([Buffer.from(PREFACE.slice(0, at), 'latin1'), data]), c.frame, c.ts);
      }
      s.preface -= n;
      if (s.preface === 0) this.event(c.dir, c.frame, c.ts, 'preface', 0, [], null, null, 'connection preface');
      data = data.subarray(n);
    }
    if (s.len === 0) {
      s.frame = c.frame;
      s.ts = c.ts;
    }
    s.append(data);
    this.parse(c.dir, c.frame, c.ts);
  }

  /** Adds bytes to the HTTP/1.1 head `dir` is sending, and reads it once it is complete. */
  private collectHead(dir: Direction, data: Uint8Array, frame: number, ts: number): void {
    const s = this.sides[dir];
    if (s.len === 0) {
      s.frame = frame;
      s.ts = ts;
    }
    s.append(data);
    this.readHead(dir);
    // A head that never ends, or a server that sends on while the request is still unread.
    if (s.head && s.len > MAX_UPGRADE_HEAD) this.notHttp2 = true;
  }

  /**
   * Reads the HTTP/1.1 head collected from `dir` when it is complete and its turn has come: the
   * client's request (does it ask for h2c?), then the server's answer (101 switches; an interim 1xx
   * is passed over; anything else refuses, and the connection stays HTTP/1.1). What follows the
   * head is read as what that side sends next.
   */
  private readHead(dir: Direction): void {
    const s = this.sides[dir];
    if (dir === 1 && this.upgrade !== Upgrade.REQUESTED) return;
    const bytes = Buffer.from(s.buf.buffer, s.buf.byteOffset, s.len);
    // A request starts with its method, a response with its version: anything else is no HTTP/1.1 head.
    const opening = bytes.toString('latin1', 0, Math.min(bytes.length, dir === 0 ? 21 : 9));
    if (!(dir === 0 ? /^[A-Z]{0,20}( |$)/ : /^(H|HT|HTT|HTTP|HTTP\/|HTTP\/1|HTTP\/1\.|HTTP\/1\.[01]|HTTP\/1\.[01] )?$/).test(opening)) {
      this.notHttp2 = true;
      return;
    }
    const end = bytes.indexOf(HEAD_END);
    if (end < 0) return;
    const lines = bytes.toString('latin1', 0, end).split('\r\n');
    const start = lines[0]!;
    const headers: [string, string][] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
    const field = (name: string) => headers.find(([n]) => n.toLowerCase() === name)?.[1] ?? '';
    // A copy: what follows is appended to the same buffer again.
    const rest = Buffer.from(bytes.subarray(end + HEAD_END.length));
    const { frame, ts } = s;
    s.len = 0;
    if (dir === 0) {
      const asksH2c = /^[A-Z]+ \S+ HTTP\/1\.1$/.test(start) && field('upgrade').toLowerCase().split(',').some((p) => p.trim() === 'h2c');
      const length = Number(field('content-length') || '0');
      if (!asksH2c || !Number.isSafeInteger(length) || length < 0 || /chunked/i.test(field('transfer-encoding'))) {
        this.notHttp2 = true;
        return;
      }
      s.head = false;
      s.bodyLeft = length;
      s.preface = PREFACE.length;
      this.upgrade = Upgrade.REQUESTED;
      this.event(0, frame, ts, 'upgrade', 1, [], headers, null, start);
      if (rest.length > 0) this.data({ dir: 0, data: rest, frame, ts });
      // The server may have answered already.
      if (!this.notHttp2 && this.sides[1].len > 0) this.readHead(1);
      return;
    }
    const status = /^HTTP\/1\.[01] (\d{3})\b/.exec(start)?.[1];
    if (status === '101') {
      s.head = false;
      this.upgrade = Upgrade.SWITCHED;
      this.event(1, frame, ts, 'upgrade', 1, [], headers, null, start);
      if (rest.length > 0) this.data({ dir: 1, data: rest, frame, ts });
    } else if (status !== undefined && status.startsWith('1')) {
      // 100 Continue and the like: the answer to the upgrade is still to come.
      this.collectHead(1, rest, frame, ts);
    } else {
      this.notHttp2 = true;
    }
  }

  /** Bytes of `dir` are missing: frame boundaries and its HPACK table are lost, so that side stops. */
  gap(dir: Direction): void {
    // Within an HTTP/1.1 head, whether the connection became HTTP/2 cannot be known.
    if (this.sides[dir].head) this.notHttp2 = true;
    else this.stop(dir, 'after a gap');
  }

  /** Bytes of each side held in an unfinished frame, and bytes not decoded after decoding stopped. */
  leftover(dir: Direction): { partial: number; skipped: number } {
    const s = this.sides[dir];
    return { partial: s.stopped ? 0 : s.len, skipped: s.skipped };
  }

  private stop(dir: Direction, why: string): void {
    const s = this.sides[dir];
    if (s.stopped) return;
    s.stopped = true;
    // Within parse, the bytes after the frame being read are counted there.
    if (!this.parsing) {
      s.skipped += s.len;
      s.len = 0;
    }
    this.event(dir, s.frame, s.ts, 'error', 0, [], null, null, `HTTP/2 decoding of this side stopped ${why}`);
  }

  private parse(dir: Direction, frame: number, ts: number): void {
    const s = this.sides[dir];
    let off = 0;
    this.parsing = true;
    try {
      while (!s.stopped && s.len - off >= FRAME_HEADER) {
        const b = s.buf;
        const length = (b[off]! << 16) | (b[off + 1]! << 8) | b[off + 2]!;
        if (length > MAX_FRAME) {
          this.stop(dir, 'at a frame longer than HTTP/2 allows');
          break;
        }
        if (s.len - off < FRAME_HEADER + length) break;
        const type = b[off + 3]!;
        const flags = b[off + 4]!;
        const stream = ((b[off + 5]! & 0x7f) << 24) | (b[off + 6]! << 16) | (b[off + 7]! << 8) | b[off + 8]!;
        this.frames++;
        this.frame(dir, s.frame, s.ts, type, flags, stream, b.subarray(off + FRAME_HEADER, off + FRAME_HEADER + length));
        off += FRAME_HEADER + length;
        // What is left came with the chunk being parsed.
        s.frame = frame;
        s.ts = ts;
      }
    } finally {
      this.parsing = false;
    }
    if (s.stopped) {
      s.skipped += s.len - off;
      s.len = 0;
    } else if (off > 0) {
      s.buf.copyWithin(0, off, s.len);
      s.len -= off;
    }
  }

  private frame(dir: Direction, frame: number, ts: number, type: number, flags: number, stream: number, p: Uint8Array): void {
    const s = this.sides[dir];
    const name = TYPES[type] ?? `type 0x${type.toString(16).padStart(2, '0')}`;
    if (s.block !== null && type !== 9) return this.stop(dir, `at a ${name} frame inside the header block of stream ${s.block.stream}`);
    const named = (list: [number, string][]) => list.filter(([bit]) => (flags & bit) !== 0).map(([, n]) => n);
    switch (type) {
      case 0: {
        const { start, end } = unpad(p, flags);
        const body = s.bodies.get(stream);
        if (body !== undefined && !body.over) {
          if (body.size + end - start > MAX_ENCODED_BODY) body.over = true;
          else {
            body.parts.push(p.slice(start, end));
            body.size += end - start;
          }
        }
        this.event(dir, frame, ts, name, stream, named([[F_END_STREAM, 'END_STREAM']]), null, p.subarray(start, end),
          body !== undefined ? `${end - start} bytes, ${body.encoding}-encoded` : `${end - start} bytes`);
        if ((flags & F_END_STREAM) !== 0) this.endBody(dir, frame, ts, stream);
        return;
      }
      case 1:
      case 5: {
        let { start, end } = unpad(p, flags);
        let info = '';
        if (type === 1 && (flags & F_PRIORITY) !== 0) start += 5;
        if (type === 5) {
          info = `promised stream ${u32(p, start) & 0x7fffffff}`;
          start += 4;
        }
        if (start > end) end = start;
        s.block = { type: name, stream, flags: named([[F_END_STREAM, 'END_STREAM']]), parts: [p.slice(start, end)], frame, ts, info };
        if ((flags & F_END_HEADERS) !== 0) this.headerBlock(dir);
        return;
      }
      case 9:
        if (s.block === null || s.block.stream !== stream) return this.stop(dir, `at a CONTINUATION of stream ${stream} without a header block`);
        s.block.parts.push(p.slice());
        if ((flags & F_END_HEADERS) !== 0) this.headerBlock(dir);
        return;
      case 2:
        return this.event(dir, frame, ts, name, stream, [], null, null, '');
      case 3:
        return this.event(dir, frame, ts, name, stream, [], null, null, errorName(u32(p, 0)));
      case 4: {
        if ((flags & F_ACK) !== 0) return this.event(dir, frame, ts, name, stream, ['ACK'], null, null, '');
        const fields: string[] = [];
        for (let i = 0; i + 6 <= p.length; i += 6) {
          const id = (p[i]! << 8) | p[i + 1]!;
          fields.push(`${SETTINGS[id] || `0x${id.toString(16)}`}=${u32(p, i + 2)}`);
        }
        return this.event(dir, frame, ts, name, stream, [], null, null, fields.join(', '));
      }
      case 6:
        return this.event(dir, frame, ts, name, stream, named([[F_ACK, 'ACK']]), null, null, Buffer.from(p.subarray(0, 8)).toString('hex'));
      case 7: {
        const debug = p.length > 8 ? ` "${Buffer.from(p.subarray(8, 8 + 200)).toString('latin1')}"` : '';
        return this.event(dir, frame, ts, name, stream, [], null, null, `last stream ${u32(p, 0) & 0x7fffffff}: ${errorName(u32(p, 4))}${debug}`);
      }
      case 8:
        return this.event(dir, frame, ts, name, stream, [], null, null, `${stream === 0 ? 'connection' : `stream ${stream}`} +${u32(p, 0) & 0x7fffffff}`);
      default:
        return this.event(dir, frame, ts, name, stream, [], null, null, `${p.length} bytes (a type HTTP/2 ignores)`);
    }
  }

  private headerBlock(dir: Direction): void {
    const s = this.sides[dir];
    const blk = s.block!;
    s.block = null;
    const bytes = blk.parts.length === 1 ? blk.parts[0]! : Buffer.concat(blk.parts);
    const sink = new LineSink();
    const status = s.hpack.decode(bytes, 0, bytes.length, sink);
    const info = status === HpackStatus.LIST_TOO_LONG ? [blk.info, 'header list too long: the rest is not shown'].filter(Boolean).join('; ') : blk.info;
    this.event(dir, blk.frame, blk.ts, blk.type, blk.stream, blk.flags, sink.fields, null, info);
    if (status === HpackStatus.ERROR) return this.stop(dir, 'at a header block that does not decode (its HPACK state is lost)');
    // A message's headers say how its body is encoded; trailers (a second block) end it.
    const encoding = contentCoding(sink.fields.find(([n]) => n === 'content-encoding')?.[1]);
    if (blk.type === 'HEADERS' && !s.bodies.has(blk.stream) && encoding !== null) {
      s.bodies.set(blk.stream, { encoding, parts: [], size: 0, over: false });
    }
    if (blk.flags.includes('END_STREAM')) this.endBody(dir, blk.frame, blk.ts, blk.stream);
  }

  /** The stream's message from `dir` is complete: a content-encoded body is decoded and shown. */
  private endBody(dir: Direction, frame: number, ts: number, stream: number): void {
    const s = this.sides[dir];
    const body = s.bodies.get(stream);
    if (body === undefined) return;
    s.bodies.delete(stream);
    if (body.over) return this.event(dir, frame, ts, 'body', stream, [], null, null, `${body.encoding} body over ${MAX_ENCODED_BODY} bytes: not decoded`);
    const encoded = Buffer.concat(body.parts, body.size);
    try {
      const decoded = decodeContent(body.encoding, encoded, MAX_DECODED_BODY);
      this.event(dir, frame, ts, 'body', stream, [], null, decoded, `${body.encoding} body of ${body.size} bytes decoded to ${decoded.length}`);
    } catch (e) {
      this.event(dir, frame, ts, 'body', stream, [], null, null, `${body.encoding} body of ${body.size} bytes does not decode: ${(e as Error).message}`);
    }
  }

  private event(dir: Direction, frame: number, ts: number, type: string, stream: number, flags: string[], headers: [string, string][] | null, data: Uint8Array | null, info: string): void {
    this.emit({ dir, frame, ts, type, stream, flags, headers, data, info });
  }
}

function u32(p: Uint8Array, at: number): number {
  if (at + 4 > p.length) return 0;
  return ((p[at]! << 24) | (p[at + 1]! << 16) | (p[at + 2]! << 8) | p[at + 3]!) >>> 0;
}

function errorName(code: number): string {
  return ERRORS[code] ?? `error 0x${code.toString(16)}`;
}

/** The payload of a padded frame without its pad length and padding. */
function unpad(p: Uint8Array, flags: number): { start: number; end: number } {
  if ((flags & F_PADDED) === 0 || p.length === 0) return { start: 0, end: p.length };
  const pad = p[0]!;
  return { start: 1, end: Math.max(1, p.length - pad) };
}
