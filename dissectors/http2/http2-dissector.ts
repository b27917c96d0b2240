import type { AnomalySink, Dissector, DissectorFactory, FlowContext } from '../types';
import { ProbeResult } from '../types';
import type { Direction } from '../../src/flow/direction';
import type { PacketStamp } from '../../src/flow/packet-stamp';
import type { HttpRequestRecord } from '../../src/model/records';
import { HpackDecoder, HpackStatus, type HeaderSink } from './hpack';
import { applyEtcdPassword, applyEtcdToken, ETCD_PASSWORD_PATHS, isEtcdCall, MAX_AUTHENTICATE_BYTES } from './etcd-auth';
import { applyAuthorization, applyWebSocketProtocol, boundValue, grpcMethodFromPath, MAX_PATH_CHARS, newHttpRecord } from '../http/http-record';
import { parseK8sPath } from '../http/k8s-path';

/**
 * HTTP/2 (RFC 9113) over a reassembled byte stream: prior-knowledge h2c, h2 decrypted from TLS,
 * or the rest of an HTTP/1.1 connection after `Upgrade: h2c`. Walks 9-byte frame headers, skips
 * DATA by length, decodes every header block (HPACK state must follow the endpoints) and keeps
 * one HttpRequestRecord per stream.
 */

/** Requests (streams) kept per connection; later streams are decoded for HPACK sync but not kept. */
export const MAX_STREAMS = 1000;
/** Largest non-DATA frame payload that is buffered; larger ones are skipped. */
export const MAX_CONTROL_FRAME_BYTES = 65536;
/** Largest header block (HEADERS + CONTINUATION fragments) that is assembled. */
export const MAX_HEADER_BLOCK_BYTES = 65536;

export const CLIENT_PREFACE = new Uint8Array(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'));

const FRAME_DATA = 0;
const FRAME_HEADERS = 1;
const FRAME_RST_STREAM = 3;
const FRAME_SETTINGS = 4;
const FRAME_PUSH_PROMISE = 5;
const FRAME_GOAWAY = 7;
const FRAME_CONTINUATION = 9;

const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

const ST_PREFACE = 0;
const ST_HEADER = 1;
const ST_PAYLOAD = 2; // buffering a control frame payload
const ST_SKIP = 3; // skipping DATA or an oversized frame
const ST_DEAD = 4;

/** Client preface: first bytes must equal it; NEED_MORE while a prefix. Server: a SETTINGS frame header. */
export function probeHttp2(dir: Direction, data: Uint8Array, start: number, end: number): ProbeResult {
  const len = end - start;
  if (dir === 0) {
    const n = Math.min(len, CLIENT_PREFACE.length);
    for (let i = 0; i < n; i++) if (data[start + i] !== CLIENT_PREFACE[i]) return ProbeResult.NO_MATCH;
    return len >= CLIENT_PREFACE.length ? ProbeResult.MATCH : ProbeResult.NEED_MORE;
  }
  // SETTINGS on stream 0: type 4, flags 0 or ACK, length a multiple of 6 and small.
  if (len >= 1 && data[start] !== 0) return ProbeResult.NO_MATCH;
  if (len >= 3 && ((data[start + 1]! << 8) | data[start + 2]!) % 6 !== 0) return ProbeResult.NO_MATCH;
  if (len >= 4 && data[start + 3] !== FRAME_SETTINGS) return ProbeResult.NO_MATCH;
  if (len >= 5 && (data[start + 4]! & 0xfe) !== 0) return ProbeResult.NO_MATCH;
  for (let i = 5; i < 9 && i < len; i++) if ((data[start + i]! & (i === 5 ? 0x7f : 0xff)) !== 0) return ProbeResult.NO_MATCH;
  return len >= 9 ? ProbeResult.MATCH : ProbeResult.NEED_MORE;
}

export interface GoAwayInfo {
  from: 'client' | 'server';
  lastStreamId: number;
  errorCode: number;
}

/** Per-direction frame walker state. */
class Http2Direction {
  state: number;
  prefaceMatched: number;
  readonly hdr: Uint8Array;
  hdrLen: number;
  frameLen: number;
  frameType: number;
  frameFlags: number;
  frameStream: number;
  remaining: number;
  /** DATA frame: body bytes still to count (excludes padding); -1 until the pad length is known. */
  dataBody: number;
  buf: Uint8Array;
  bufLen: number;
  block: Uint8Array;
  blockLen: number;
  blockStream: number;
  blockEndStream: boolean;
  blockPromised: number;
  blockOverflow: boolean;
  inBlock: boolean;
  readonly hpack: HpackDecoder;

  constructor(expectPreface: boolean) {
    this.state = expectPreface ? ST_PREFACE : ST_HEADER;
    this.prefaceMatched = 0;
    this.hdr = new Uint8Array(9);
    this.hdrLen = 0;
    this.frameLen = 0;
    this.frameType = 0;
    this.frameFlags = 0;
    this.frameStream = 0;
    this.remaining = 0;
    this.dataBody = 0;
    this.buf = new Uint8Array(0);
    this.bufLen = 0;
    this.block = new Uint8Array(0);
    this.blockLen = 0;
    this.blockStream = 0;
    this.blockEndStream = false;
    this.blockPromised = 0;
    this.blockOverflow = false;
    this.inBlock = false;
    this.hpack = new HpackDecoder();
  }
}

/** Routes decoded fields into the record of the stream being decoded. One instance, reused. */
class FieldSink implements HeaderSink {
  rec: HttpRequestRecord | null;
  response: boolean;

  constructor() {
    this.rec = null;
    this.response = false;
  }

  onHeader(name: string, value: string): void {
    const rec = this.rec;
    if (rec === null) return;
    if (this.response) {
      if (name === ':status') {
        const s = Number.parseInt(value, 10);
        // Interim 1xx responses are replaced by the final one.
        if (Number.isFinite(s) && (rec.status === null || rec.status < 200)) rec.status = s;
      } else if (name === 'content-type' && rec.responseContentType === null) {
        rec.responseContentType = boundValue(value);
      } else if (name === 'grpc-status') {
        // In the trailers, or in the one header block of a trailers-only response.
        if (/^\d{1,3}$/.test(value)) rec.grpcStatus = Number(value);
      } else if (name === 'grpc-message') {
        rec.grpcMessage = boundValue(percentDecode(value));
      }
      return;
    }
    switch (name) {
      case ':method': rec.method = boundValue(value); break;
      case ':path': rec.path = value.length > MAX_PATH_CHARS ? value.slice(0, MAX_PATH_CHARS) : value; break;
      case ':authority': rec.host = boundValue(value); break;
      case 'host': if (rec.host === null) rec.host = boundValue(value); break;
      case 'user-agent': rec.userAgent = boundValue(value); break;
      case 'content-type': rec.contentType = boundValue(value); break;
      case 'authorization': applyAuthorization(rec, value); break;
      case 'sec-websocket-protocol': if (rec.auth === 'none') applyWebSocketProtocol(rec, value); break;
      case 'x-forwarded-for': rec.xForwardedFor = boundValue(value); break;
      case 'x-forwarded-uri': rec.xForwardedUri = boundValue(value); break;
      case 'x-forwarded-host': rec.xForwardedHost = boundValue(value); break;
      case 'x-forwarded-proto': rec.xForwardedProto = boundValue(value); break;
      case 'impersonate-user': rec.impersonateUser = boundValue(value); break;
      // etcd's auth token (gRPC metadata); pseudo-headers come first, so the path is known here.
      case 'token': if (isEtcdCall(rec.path)) applyEtcdToken(rec, value); break;
      default: break;
    }
  }
}

export class Http2Dissector implements Dissector<HttpRequestRecord[]> {
  readonly id = 'http2' as const;
  private readonly anomaly: AnomalySink;
  private readonly dirs: [Http2Direction, Http2Direction];
  private readonly records: HttpRequestRecord[];
  /** Streams whose response is still expected, by stream id. */
  private readonly active: Map<number, HttpRequestRecord>;
  private readonly sink: FieldSink;
  private streamsSeen: number;
  // Capture time and frame of the bytes being fed, initialised here rather than in the constructor:
  // a number field declared without a value starts undefined and would box every time stored after.
  private ts = 0;
  private frame = 0;
  /** Server port, when known, helps the Kubernetes path parser tell kubelet paths apart. */
  port: number | undefined;
  goAway: GoAwayInfo | null;
  resets: number;
  /** An etcd call carrying a password (Authenticate, UserAdd, …) whose request body is being read, or null. */
  private authenticate: { stream: number; rec: HttpRequestRecord; buf: Uint8Array; len: number } | null = null;

  constructor(anomaly: AnomalySink) {
    this.anomaly = anomaly;
    this.dirs = [new Http2Direction(true), new Http2Direction(false)];
    this.records = [];
    this.active = new Map();
    this.sink = new FieldSink();
    this.streamsSeen = 0;
    this.port = undefined;
    this.goAway = null;
    this.resets = 0;
  }

  /**
   * Continue a connection upgraded from HTTP/1.1 (`Upgrade: h2c`, RFC 7540 §3.2): the request
   * that asked for the upgrade becomes stream 1, whose response arrives as HTTP/2 frames.
   */
  startUpgraded(request: HttpRequestRecord): void {
    const rec: HttpRequestRecord = { ...request, version: '2', streamId: 1, status: null, reason: null,
      responseContentType: null, responseBodyBytes: 0, upgrade: null };
    this.records.push(rec);
    this.active.set(1, rec);
    this.streamsSeen = 1;
  }

  result(): HttpRequestRecord[] {
    return this.records;
  }

  feed(dir: Direction, data: Uint8Array, start: number, end: number, at: PacketStamp): void {
    const d = this.dirs[dir];
    this.ts = at.ts;
    this.frame = at.frame;
    let pos = start;
    while (pos < end) {
      switch (d.state) {
        case ST_PREFACE: {
          while (pos < end && d.prefaceMatched < CLIENT_PREFACE.length) {
            if (data[pos] !== CLIENT_PREFACE[d.prefaceMatched]) {
              this.anomaly('http2.bad_preface');
              d.state = ST_DEAD;
              return;
            }
            pos++;
            d.prefaceMatched++;
          }
          if (d.prefaceMatched === CLIENT_PREFACE.length) d.state = ST_HEADER;
          break;
        }
        case ST_HEADER: {
          if (d.hdrLen === 0 && end - pos >= 9) {
            this.startFrame(d, data, pos);
            pos += 9;
          } else {
            while (pos < end && d.hdrLen < 9) d.hdr[d.hdrLen++] = data[pos++]!;
            if (d.hdrLen < 9) return;
            d.hdrLen = 0;
            this.startFrame(d, d.hdr, 0);
          }
          if ((d.state as number) === ST_PAYLOAD && end - pos >= d.frameLen) {
            // Common case: the whole payload is in this chunk; parse it in place.
            this.onFrame(dir, d, data, pos, pos + d.frameLen);
            pos += d.frameLen;
            d.state = ST_HEADER;
          } else if (d.state === ST_HEADER && d.frameLen === 0) {
            this.onFrame(dir, d, data, pos, pos);
          }
          break;
        }
        case ST_PAYLOAD: {
          const n = Math.min(d.remaining, end - pos);
          if (d.bufLen + n > d.buf.length) d.buf = grow(d.buf, d.bufLen, d.bufLen + n, MAX_CONTROL_FRAME_BYTES);
          d.buf.set(data.subarray(pos, pos + n), d.bufLen);
          d.bufLen += n;
          d.remaining -= n;
          pos += n;
          if (d.remaining === 0) {
            d.state = ST_HEADER;
            this.onFrame(dir, d, d.buf, 0, d.bufLen);
            d.bufLen = 0;
          }
          break;
        }
        case ST_SKIP: {
          if (d.dataBody < 0) {
            // First byte of a padded DATA frame: the pad length.
            d.dataBody = Math.max(0, d.frameLen - 1 - data[pos]!);
            this.countData(dir, d.frameStream, d.dataBody);
          }
          const n = Math.min(d.remaining, end - pos);
          if (this.authenticate !== null && dir === 0 && d.frameType === FRAME_DATA) this.readAuthenticate(d, data, pos, n);
          d.remaining -= n;
          pos += n;
          if (d.remaining === 0) {
            d.state = ST_HEADER;
            if (d.frameType === FRAME_DATA && (d.frameFlags & FLAG_END_STREAM) !== 0) this.endStream(dir, d.frameStream);
          }
          break;
        }
        default:
          return;
      }
    }
  }

  gap(dir: Direction, bytes: number): void {
    const d = this.dirs[dir];
    // A call's body with a hole in it cannot be read.
    if (dir === 0) this.authenticate = null;
    if (d.state === ST_SKIP && d.dataBody >= 0 && bytes < d.remaining) {
      d.remaining -= bytes;
      return;
    }
    // Frame boundaries and the HPACK table are lost: nothing later in this direction is trustworthy.
    d.state = ST_DEAD;
  }

  end(_dir: Direction): void {
    // Nothing pending to flush: records are complete as far as the bytes went.
  }

  private startFrame(d: Http2Direction, h: Uint8Array, o: number): void {
    d.frameLen = (h[o]! << 16) | (h[o + 1]! << 8) | h[o + 2]!;
    d.frameType = h[o + 3]!;
    d.frameFlags = h[o + 4]!;
    d.frameStream = ((h[o + 5]! & 0x7f) * 0x1000000) + ((h[o + 6]! << 16) | (h[o + 7]! << 8) | h[o + 8]!);
    d.remaining = d.frameLen;
    d.bufLen = 0;
    if (d.frameType === FRAME_DATA) {
      const padded = (d.frameFlags & FLAG_PADDED) !== 0 && d.frameLen > 0;
      d.dataBody = padded ? -1 : d.frameLen;
      if (!padded) this.countData(d === this.dirs[0] ? 0 : 1, d.frameStream, d.frameLen);
      d.state = ST_SKIP;
      if (d.frameLen === 0) {
        d.state = ST_HEADER;
        if ((d.frameFlags & FLAG_END_STREAM) !== 0) this.endStream(d === this.dirs[0] ? 0 : 1, d.frameStream);
      }
      return;
    }
    if (d.frameLen > MAX_CONTROL_FRAME_BYTES) {
      this.anomaly('http2.frame_too_large');
      if (d.frameType === FRAME_HEADERS || d.frameType === FRAME_CONTINUATION || d.frameType === FRAME_PUSH_PROMISE) {
        // A lost header block desynchronises the dynamic table for good.
        d.hpack.failed = true;
        d.inBlock = false;
      }
      d.state = ST_SKIP;
      d.dataBody = 0;
      return;
    }
    d.state = d.frameLen === 0 ? ST_HEADER : ST_PAYLOAD;
  }

  private onFrame(dir: Direction, d: Http2Direction, p: Uint8Array, s: number, e: number): void {
    const flags = d.frameFlags;
    switch (d.frameType) {
      case FRAME_HEADERS: {
        let fs = s;
        let fe = e;
        if (flags & FLAG_PADDED) {
          if (fs >= fe) return this.hpackError(d);
          fe -= p[fs]!;
          fs++;
        }
        if (flags & FLAG_PRIORITY) fs += 5;
        if (fs > fe) return this.hpackError(d);
        this.beginBlock(dir, d, d.frameStream, (flags & FLAG_END_STREAM) !== 0, 0, p, fs, fe, (flags & FLAG_END_HEADERS) !== 0);
        return;
      }
      case FRAME_PUSH_PROMISE: {
        let fs = s;
        let fe = e;
        if (flags & FLAG_PADDED) {
          if (fs >= fe) return this.hpackError(d);
          fe -= p[fs]!;
          fs++;
        }
        if (fe - fs < 4) return this.hpackError(d);
        const promised = ((p[fs]! & 0x7f) * 0x1000000) + ((p[fs + 1]! << 16) | (p[fs + 2]! << 8) | p[fs + 3]!);
        fs += 4;
        this.beginBlock(dir, d, d.frameStream, false, promised, p, fs, fe, (flags & FLAG_END_HEADERS) !== 0);
        return;
      }
      case FRAME_CONTINUATION: {
        if (!d.inBlock || d.frameStream !== d.blockStream) return this.hpackError(d);
        this.appendBlock(d, p, s, e);
        if (flags & FLAG_END_HEADERS) this.finishBlock(dir, d, d.block, 0, d.blockLen);
        return;
      }
      case FRAME_SETTINGS: {
        if (flags & 0x1) return; // ACK
        for (let i = s; i + 6 <= e; i += 6) {
          const id = (p[i]! << 8) | p[i + 1]!;
          const value = (p[i + 2]! * 0x1000000) + ((p[i + 3]! << 16) | (p[i + 4]! << 8) | p[i + 5]!);
          // HEADER_TABLE_SIZE bounds the table of the sender's decoder, i.e. the other direction.
          if (id === 1) this.dirs[dir === 0 ? 1 : 0].hpack.setSettingsLimit(value);
        }
        return;
      }
      case FRAME_RST_STREAM: {
        this.resets++;
        this.active.delete(d.frameStream);
        return;
      }
      case FRAME_GOAWAY: {
        if (e - s >= 8) {
          this.goAway = {
            from: dir === 0 ? 'client' : 'server',
            lastStreamId: ((p[s]! & 0x7f) * 0x1000000) + ((p[s + 1]! << 16) | (p[s + 2]! << 8) | p[s + 3]!),
            errorCode: (p[s + 4]! * 0x1000000) + ((p[s + 5]! << 16) | (p[s + 6]! << 8) | p[s + 7]!),
          };
        }
        return;
      }
      default:
        return; // PRIORITY, PING, WINDOW_UPDATE, unknown types: nothing to record
    }
  }

  private beginBlock(dir: Direction, d: Http2Direction, stream: number, endStream: boolean, promised: number,
    p: Uint8Array, s: number, e: number, endHeaders: boolean): void {
    d.blockStream = stream;
    d.blockEndStream = endStream;
    d.blockPromised = promised;
    d.blockOverflow = false;
    d.blockLen = 0;
    if (endHeaders) {
      d.inBlock = false;
      this.decodeBlock(dir, d, p, s, e);
      return;
    }
    d.inBlock = true;
    this.appendBlock(d, p, s, e);
  }

  private appendBlock(d: Http2Direction, p: Uint8Array, s: number, e: number): void {
    const n = e - s;
    if (d.blockLen + n > MAX_HEADER_BLOCK_BYTES) {
      d.blockOverflow = true;
      return;
    }
    if (d.blockLen + n > d.block.length) d.block = grow(d.block, d.blockLen, d.blockLen + n, MAX_HEADER_BLOCK_BYTES);
    d.block.set(p.subarray(s, e), d.blockLen);
    d.blockLen += n;
  }

  private finishBlock(dir: Direction, d: Http2Direction, p: Uint8Array, s: number, e: number): void {
    d.inBlock = false;
    if (d.blockOverflow) {
      this.anomaly('http2.frame_too_large');
      d.hpack.failed = true;
      return;
    }
    this.decodeBlock(dir, d, p, s, e);
    d.blockLen = 0;
  }

  private decodeBlock(dir: Direction, d: Http2Direction, p: Uint8Array, s: number, e: number): void {
    if (d.hpack.failed) return;
    const sink = this.sink;
    sink.rec = null;
    let isRequest = false;
    let stream = d.blockStream;
    if (dir === 0 || d.blockPromised !== 0) {
      if (d.blockPromised !== 0) stream = d.blockPromised;
      if (!this.active.has(stream) && !this.isKnownStream(stream)) {
        this.streamsSeen++;
        if (this.records.length < MAX_STREAMS) {
          const rec = newHttpRecord('', '', '2', this.ts, this.frame);
          rec.streamId = stream;
          this.records.push(rec);
          this.active.set(stream, rec);
          sink.rec = rec;
          sink.response = false;
          isRequest = true;
        } else {
          this.anomaly('http2.too_many_streams');
        }
      }
    } else {
      const rec = this.active.get(stream);
      if (rec !== undefined) {
        sink.rec = rec;
        sink.response = true;
      }
    }
    const status = d.hpack.decode(p, s, e, sink);
    const rec = sink.rec;
    sink.rec = null;
    if (status === HpackStatus.ERROR) {
      this.anomaly('http2.hpack_error');
      return;
    }
    if (status === HpackStatus.LIST_TOO_LONG) this.anomaly('http2.header_list_too_long');
    if (isRequest && rec !== null) {
      if (rec.contentType !== null && rec.contentType.startsWith('application/grpc')) rec.grpcMethod = grpcMethodFromPath(rec.path);
      rec.k8s = parseK8sPath(rec.method, rec.path, this.port);
      if (dir === 0 && ETCD_PASSWORD_PATHS.has(rec.path)) this.authenticate = { stream, rec, buf: new Uint8Array(MAX_AUTHENTICATE_BYTES), len: 0 };
    }
    if (d.blockEndStream) this.endStream(dir, d.blockStream);
  }

  /**
   * Bytes of a DATA frame's body on the Authenticate call's stream: kept until the message is whole
   * (a padded frame's pad length and padding are not body, and such a frame is not read).
   */
  private readAuthenticate(d: Http2Direction, data: Uint8Array, pos: number, n: number): void {
    const a = this.authenticate!;
    if (d.frameStream !== a.stream || (d.frameFlags & FLAG_PADDED) !== 0) return;
    const take = Math.min(n, a.buf.length - a.len);
    a.buf.set(data.subarray(pos, pos + take), a.len);
    a.len += take;
    if (applyEtcdPassword(a.rec, a.buf, a.len)) this.authenticate = null;
  }

  /** A stream id at or below one already kept that is no longer active (e.g. client trailers). */
  private isKnownStream(stream: number): boolean {
    const last = this.records.length > 0 ? this.records[this.records.length - 1]!.streamId ?? 0 : 0;
    return stream <= last && stream % 2 === 1;
  }

  private countData(dir: Direction, stream: number, n: number): void {
    const rec = this.active.get(stream);
    if (rec === undefined) return;
    if (dir === 0) rec.requestBodyBytes += n;
    else rec.responseBodyBytes += n;
  }

  private endStream(dir: Direction, stream: number): void {
    // The exchange is over once the server ends its side; client END_STREAM only half-closes.
    if (dir === 1) this.active.delete(stream);
  }

  private hpackError(d: Http2Direction): void {
    this.anomaly('http2.hpack_error');
    d.hpack.failed = true;
    d.inBlock = false;
  }
}

function grow(buf: Uint8Array, used: number, need: number, cap: number): Uint8Array {
  const size = Math.min(cap, Math.max(need, buf.length * 2, 256));
  const out = new Uint8Array(size);
  out.set(buf.subarray(0, used));
  return out;
}

export const http2Factory: DissectorFactory<HttpRequestRecord[]> = {
  id: 'http2',
  probe: probeHttp2,
  create: (anomaly: AnomalySink, flow?: FlowContext) => {
    const d = new Http2Dissector(anomaly);
    d.port = flow?.serverPort;
    return d;
  },
};

/**
 * grpc-message is percent-encoded UTF-8 (gRPC over HTTP/2, "Responses"); an escape that is not two
 * hex digits is kept as it was, as the specification asks of a receiver.
 */
export function percentDecode(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && i + 2 < value.length && /^[0-9A-Fa-f]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c <= 0xff) bytes.push(c); // header values are decoded a byte per character
    else for (const b of Buffer.from(value[i]!, 'utf8')) bytes.push(b);
  }
  return Buffer.from(bytes).toString('utf8');
}
