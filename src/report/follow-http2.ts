/**
 * `follow --format http2`: a (decrypted) HTTP/2 connection frame by frame, as Wireshark's Follow
 * HTTP/2 Stream and its packet details show it — each frame under a line naming the side, the
 * frame it arrived in and its type and stream; header blocks decoded (HPACK, with each side's
 * dynamic table), DATA shown as text, the control frames with their fields. A connection that does
 * not start with the HTTP/2 preface is shown as text instead.
 */
import type { Direction } from '../flow/direction';
import type { FollowChunk, FollowResult } from '../export/follow-stream';
import { HpackDecoder, HpackStatus, type HeaderSink } from '../../dissectors/http2/hpack';
import { asciiText, iso, type FollowHeader, type FollowRenderer, type Write } from './follow-text';
import { terminalSafe } from './terminal-text';

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const FRAME_HEADER = 9;
/** Bytes of one frame held at most (the default SETTINGS_MAX_FRAME_SIZE is 16 KiB; the most allowed is 16 MiB). */
const MAX_FRAME = 1 << 24;
/** DATA bytes printed per frame; the rest is counted. */
export const MAX_DATA_SHOWN = 4096;

const TYPES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];
const SETTINGS = ['', 'HEADER_TABLE_SIZE', 'ENABLE_PUSH', 'MAX_CONCURRENT_STREAMS', 'INITIAL_WINDOW_SIZE', 'MAX_FRAME_SIZE', 'MAX_HEADER_LIST_SIZE'];
/** RFC 9113 §7 error codes. */
const ERRORS = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR',
  'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];

const F_END_STREAM = 0x1;
const F_ACK = 0x1;
const F_END_HEADERS = 0x4;
const F_PADDED = 0x8;
const F_PRIORITY = 0x20;

const SIDE = ['client', 'server'] as const;

/** Collects a header block's fields as lines. */
class LineSink implements HeaderSink {
  lines: string[] = [];
  onHeader(name: string, value: string): void {
    this.lines.push(`${name}: ${value}`);
  }
}

class Direction2 {
  buf = new Uint8Array(64 * 1024);
  len = 0;
  /** Client preface bytes still expected (the server sends none). */
  preface: number;
  readonly hpack = new HpackDecoder();
  /** A header block waiting for its CONTINUATION frames. */
  block: { type: string; stream: number; flags: string; parts: Uint8Array[]; frame: number; ts: number; extra: string } | null = null;
  /** Decoding stopped (a gap, or bytes that are not HTTP/2): what follows is counted, not shown. */
  stopped: string | null = null;
  skipped = 0;
  /** Frame and time of the chunk the bytes at the start of `buf` came in. */
  frame = 0;
  ts = 0;

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

  consume(n: number): void {
    this.buf.copyWithin(0, n, this.len);
    this.len -= n;
  }
}

export class Http2FollowRenderer implements FollowRenderer {
  private readonly dirs: [Direction2, Direction2] = [new Direction2(0), new Direction2(1)];
  private readonly totals = [0, 0];
  private frames = 0;
  /** Not HTTP/2 after all: everything is printed as text by this fallback. */
  private fallback: ((c: FollowChunk) => void) | null = null;

  constructor(
    private readonly write: Write,
    private readonly colour: boolean,
    private readonly asText: FollowRenderer,
  ) {}

  begin(h: FollowHeader): void {
    this.asText.begin(h);
  }

  data(c: FollowChunk): void {
    this.totals[c.dir] += c.data.length;
    if (this.fallback !== null) return this.fallback(c);
    const d = this.dirs[c.dir];
    if (d.stopped !== null) {
      d.skipped += c.data.length;
      return;
    }
    let data = c.data;
    if (d.preface > 0) {
      const at = PREFACE.length - d.preface;
      const n = Math.min(d.preface, data.length);
      const got = Buffer.from(data.subarray(0, n)).toString('latin1');
      if (got !== PREFACE.slice(at, at + n)) {
        // Not HTTP/2 with prior knowledge (HTTP/1.1, or h2c's Upgrade): shown as text.
        this.write(`not HTTP/2 (no connection preface from the client): shown as text\n`);
        this.fallback = (x) => this.asText.data(x);
        return this.fallback(c);
      }
      d.preface -= n;
      if (d.preface === 0) this.line(c.dir, c.frame, c.ts, 'connection preface');
      data = data.subarray(n);
    }
    if (d.len === 0) {
      d.frame = c.frame;
      d.ts = c.ts;
    }
    d.append(data);
    this.parse(c.dir, c.frame, c.ts);
  }

  gap(dir: Direction, bytes: number): void {
    if (this.fallback !== null) return this.asText.gap(dir, bytes);
    const d = this.dirs[dir];
    this.write(this.paint(dir, `[${bytes} bytes from the ${SIDE[dir]} missing]`) + '\n');
    // Frame boundaries and the HPACK table are lost with the bytes: nothing after can be trusted.
    if (d.stopped === null) d.stopped = 'after a gap';
  }

  end(r: FollowResult): void {
    if (this.fallback !== null) return this.asText.end(r);
    for (const dir of [0, 1] as const) {
      const d = this.dirs[dir];
      if (d.stopped !== null && d.skipped > 0) this.write(`[HTTP/2 decoding of the ${SIDE[dir]}'s bytes stopped ${d.stopped}: ${d.skipped} bytes not shown]\n`);
      else if (d.len > 0) this.write(`[${d.len} bytes from the ${SIDE[dir]} end in the middle of a frame]\n`);
    }
    const what = r.layer === 'tls' ? 'decrypted TLS application data' : 'TCP payload';
    this.write(`==== HTTP/2 in the ${what}: ${this.frames} frames; ${this.totals[0]} bytes from the client, ${this.totals[1]} from the server\n`);
    if (r.note !== null) this.write(`note: ${r.note}\n`);
  }

  private parse(dir: Direction, frame: number, ts: number): void {
    const d = this.dirs[dir];
    while (d.stopped === null && d.len >= FRAME_HEADER) {
      const b = d.buf;
      const length = (b[0]! << 16) | (b[1]! << 8) | b[2]!;
      if (length > MAX_FRAME) {
        d.stopped = 'at a frame longer than HTTP/2 allows';
        d.skipped += d.len;
        d.len = 0;
        return;
      }
      if (d.len < FRAME_HEADER + length) return;
      const type = b[3]!;
      const flags = b[4]!;
      const stream = ((b[5]! & 0x7f) << 24) | (b[6]! << 16) | (b[7]! << 8) | b[8]!;
      const payload = b.slice(FRAME_HEADER, FRAME_HEADER + length);
      this.frames++;
      this.frame(dir, d.frame, d.ts, type, flags, stream, payload);
      d.consume(FRAME_HEADER + length);
      // What is left came with the chunk being parsed (or an earlier one still unfinished).
      d.frame = frame;
      d.ts = ts;
    }
  }

  private frame(dir: Direction, frame: number, ts: number, type: number, flags: number, stream: number, p: Uint8Array): void {
    const d = this.dirs[dir];
    const name = TYPES[type] ?? `type 0x${type.toString(16)}`;
    if (d.block !== null && type !== 9) {
      this.line(dir, frame, ts, `${name} while a header block of stream ${d.block.stream} was unfinished`);
      d.stopped = 'at a broken header block';
      return;
    }
    const flagNames = (list: [number, string][]) => list.filter(([bit]) => (flags & bit) !== 0).map(([, n]) => n).join(', ');
    switch (type) {
      case 0: {
        const { start, end } = unpad(p, flags);
        const f = flagNames([[F_END_STREAM, 'END_STREAM']]);
        this.line(dir, frame, ts, `DATA stream ${stream}, ${end - start} bytes${f ? ` (${f})` : ''}`);
        if (end > start) {
          const shown = Math.min(end - start, MAX_DATA_SHOWN);
          const text = asciiText(p.subarray(start, start + shown));
          this.write(text.endsWith('\n') ? text : `${text}\n`);
          if (end - start > shown) this.write(`[… ${end - start - shown} more bytes]\n`);
        }
        return;
      }
      case 1:
      case 5: {
        let { start, end } = unpad(p, flags);
        let extra = '';
        if (type === 1 && (flags & F_PRIORITY) !== 0) start += 5;
        if (type === 5) {
          extra = `, promised stream ${((p[start]! & 0x7f) << 24) | (p[start + 1]! << 16) | (p[start + 2]! << 8) | p[start + 3]!}`;
          start += 4;
        }
        if (start > end) end = start;
        d.block = { type: name, stream, flags: flagNames([[F_END_STREAM, 'END_STREAM']]), parts: [p.subarray(start, end)], frame, ts, extra };
        if ((flags & F_END_HEADERS) !== 0) this.headerBlock(dir);
        return;
      }
      case 9:
        if (d.block === null || d.block.stream !== stream) {
          this.line(dir, frame, ts, `CONTINUATION stream ${stream} without a header block`);
          d.stopped = 'at a broken header block';
          return;
        }
        d.block.parts.push(p);
        if ((flags & F_END_HEADERS) !== 0) this.headerBlock(dir);
        return;
      case 2:
        return this.line(dir, frame, ts, `PRIORITY stream ${stream}`);
      case 3:
        return this.line(dir, frame, ts, `RST_STREAM stream ${stream}: ${errorName(u32(p, 0))}`);
      case 4: {
        if ((flags & F_ACK) !== 0) return this.line(dir, frame, ts, 'SETTINGS (ACK)');
        const fields: string[] = [];
        for (let i = 0; i + 6 <= p.length; i += 6) {
          const id = (p[i]! << 8) | p[i + 1]!;
          fields.push(`${SETTINGS[id] || `0x${id.toString(16)}`}=${u32(p, i + 2)}`);
        }
        return this.line(dir, frame, ts, `SETTINGS${fields.length ? ` ${fields.join(', ')}` : ''}`);
      }
      case 6:
        return this.line(dir, frame, ts, `PING${(flags & F_ACK) !== 0 ? ' (ACK)' : ''} ${Buffer.from(p.subarray(0, 8)).toString('hex')}`);
      case 7: {
        const debug = p.length > 8 ? ` "${terminalSafe(Buffer.from(p.subarray(8, 8 + 200)).toString('latin1'), 200)}"` : '';
        return this.line(dir, frame, ts, `GOAWAY last stream ${u32(p, 0) & 0x7fffffff}: ${errorName(u32(p, 4))}${debug}`);
      }
      case 8:
        return this.line(dir, frame, ts, `WINDOW_UPDATE ${stream === 0 ? 'connection' : `stream ${stream}`} +${u32(p, 0) & 0x7fffffff}`);
      default:
        return this.line(dir, frame, ts, `${name} stream ${stream}, ${p.length} bytes (unknown type, ignored)`);
    }
  }

  private headerBlock(dir: Direction): void {
    const d = this.dirs[dir];
    const blk = d.block!;
    d.block = null;
    const bytes = blk.parts.length === 1 ? blk.parts[0]! : Buffer.concat(blk.parts);
    const sink = new LineSink();
    const status = d.hpack.decode(bytes, 0, bytes.length, sink);
    this.line(dir, blk.frame, blk.ts, `${blk.type} stream ${blk.stream}${blk.extra}${blk.flags ? ` (${blk.flags})` : ''}`);
    // Header names and values come from the wire: every control character is replaced.
    for (const l of sink.lines) this.write(`${terminalSafe(l, 8192)}\n`);
    if (status === HpackStatus.ERROR) {
      this.write('[the header block does not decode: HPACK state lost]\n');
      d.stopped = 'at a header block that does not decode';
    } else if (status === HpackStatus.LIST_TOO_LONG) this.write('[header list too long: the rest is not shown]\n');
  }

  private line(dir: Direction, frame: number, ts: number, what: string): void {
    const arrow = dir === 0 ? 'client → server' : 'server → client';
    this.write(this.paint(dir, `──── ${arrow}  frame ${frame}  ${iso(ts)}  ${what}`) + '\n');
  }

  private paint(dir: Direction, s: string): string {
    if (!this.colour) return s;
    return `${dir === 0 ? '\x1b[31m' : '\x1b[34m'}${s}\x1b[0m`;
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
