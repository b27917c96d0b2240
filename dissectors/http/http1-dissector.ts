import type { AnomalySink, Dissector, DissectorFactory, FlowContext } from '../types';
import { ProbeResult } from '../types';
import type { Direction } from '../../src/flow/direction';
import type { PacketStamp } from '../../src/flow/packet-stamp';
import type { HttpRequestRecord } from '../../src/model/records';
import { MessageHead, parseHead } from './http1-head';
import { applyAuthorization, applyWebSocketProtocol, boundValue, newHttpRecord } from './http-record';
import { parseK8sPath } from './k8s-path';
import { Http2Dissector, probeHttp2 } from '../http2/http2-dissector';

/**
 * HTTP/1.0 and 1.1 (RFC 9112) over a reassembled byte stream, one incremental parser per
 * direction. Header sections are parsed in place when a chunk holds them whole and accumulated
 * (up to MAX_HEADER_BYTES) only when split; bodies are skipped by Content-Length or chunk sizes and
 * only counted. Responses are matched to requests first-in first-out (pipelining). After a 101 the
 * connection is no longer HTTP/1: `Upgrade: h2c` continues in the HTTP/2 parser, anything else
 * (SPDY for exec/attach/port-forward, websocket) is left alone.
 */

/** Header section bytes accumulated when split across chunks; beyond this it is skipped. */
export const MAX_HEADER_BYTES = 16384;
/** Requests kept per connection; later ones are only counted. */
export const MAX_REQUESTS_PER_FLOW = 1000;
/** Requests awaiting a response whose method is remembered for response framing. */
const MAX_PENDING = 1024;
/** A chunk-size line with extensions longer than this is malformed. */
const MAX_CHUNK_LINE = 4096;
/** Bytes looked at after an upgrade request before deciding what the client speaks next. */
const UPGRADE_PROBE_BYTES = 24;

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'].map(
  (m) => new Uint8Array(Buffer.from(m + ' ', 'latin1')),
);
const HTTP1_PREFIX = new Uint8Array(Buffer.from('HTTP/1.', 'latin1'));

/** Client: a known method and a space. Server: "HTTP/1.". NEED_MORE while the bytes are a prefix. */
export function probeHttp1(dir: Direction, data: Uint8Array, start: number, end: number): ProbeResult {
  const len = end - start;
  if (len <= 0) return ProbeResult.NEED_MORE;
  if (dir === 1) return matchPrefix(HTTP1_PREFIX, data, start, len);
  let result: ProbeResult = ProbeResult.NO_MATCH;
  for (const m of METHODS) {
    const r = matchPrefix(m, data, start, len);
    if (r === ProbeResult.MATCH) return r;
    if (r === ProbeResult.NEED_MORE) result = r;
  }
  return result;
}

function matchPrefix(p: Uint8Array, data: Uint8Array, start: number, len: number): ProbeResult {
  const n = Math.min(len, p.length);
  for (let i = 0; i < n; i++) if (data[start + i] !== p[i]) return ProbeResult.NO_MATCH;
  return len >= p.length ? ProbeResult.MATCH : ProbeResult.NEED_MORE;
}

const ST_HEAD = 0;
const ST_BODY = 1;
const ST_CHUNK_SIZE = 2;
const ST_CHUNK_DATA = 3;
const ST_CHUNK_END = 4;
const ST_TRAILERS = 5;
const ST_BODY_TO_CLOSE = 6;
const ST_UPGRADE_WAIT = 7;
const ST_TUNNEL = 8;
const ST_HTTP2 = 9;
const ST_DEAD = 10;

const PENDING_HEAD = 1;
const PENDING_CONNECT = 2;
const PENDING_UPGRADE = 4;

class Http1Direction {
  state: number;
  headStarted: boolean;
  headBuf: Uint8Array;
  headLen: number;
  headOverflow: boolean;
  /** Bytes of the current line seen before this chunk (for finding the empty line across chunks). */
  lineBytes: number;
  lastWasCR: boolean;
  // Initialised here, not in the constructor: a number field declared without a value starts
  // undefined, and a time stored in it later is boxed at every store.
  headTs = 0;
  headFrame = 0;
  remaining: number;
  chunkSize: number;
  chunkDigits: number;
  chunkPhase: number;
  chunkLine: number;
  /** Record whose body is being counted, null when not kept. */
  rec: HttpRequestRecord | null;
  /** Message after which the stream stops being HTTP/1 (upgrade request, CONNECT). */
  upgradeAfter: boolean;
  readonly pend: Uint8Array;
  pendLen: number;

  constructor() {
    this.state = ST_HEAD;
    this.headStarted = false;
    this.headBuf = new Uint8Array(0);
    this.headLen = 0;
    this.headOverflow = false;
    this.lineBytes = 0;
    this.lastWasCR = false;
    this.remaining = 0;
    this.chunkSize = 0;
    this.chunkDigits = 0;
    this.chunkPhase = 0;
    this.chunkLine = 0;
    this.rec = null;
    this.upgradeAfter = false;
    this.pend = new Uint8Array(UPGRADE_PROBE_BYTES);
    this.pendLen = 0;
  }
}

export class Http1Dissector implements Dissector<HttpRequestRecord[]> {
  readonly id = 'http' as const;
  private readonly anomaly: AnomalySink;
  private readonly dirs: [Http1Direction, Http1Direction];
  private readonly head: MessageHead;
  private readonly records: HttpRequestRecord[];
  private readonly pending: Uint8Array;
  private requestsSeen: number;
  private responsesSeen: number;
  /** Set after `Upgrade: h2c` succeeded. */
  private h2: Http2Dissector | null;
  private h2cRequested: boolean;
  /** Server port, when the registry knows it: lets the path parser recognise kubelet paths. */
  port: number | undefined;

  constructor(anomaly: AnomalySink) {
    this.anomaly = anomaly;
    this.dirs = [new Http1Direction(), new Http1Direction()];
    this.head = new MessageHead();
    this.records = [];
    this.pending = new Uint8Array(MAX_PENDING);
    this.requestsSeen = 0;
    this.responsesSeen = 0;
    this.h2 = null;
    this.h2cRequested = false;
    this.port = undefined;
  }

  result(): HttpRequestRecord[] {
    return this.h2 === null ? this.records : this.records.concat(this.h2.result());
  }

  /** The HTTP/2 parser the connection was handed to after `Upgrade: h2c`, if any. */
  get http2(): Http2Dissector | null {
    return this.h2;
  }

  feed(dir: Direction, data: Uint8Array, start: number, end: number, at: PacketStamp): void {
    const d = this.dirs[dir];
    let pos = start;
    while (pos < end) {
      switch (d.state) {
        case ST_HEAD:
          pos = this.feedHead(dir, d, data, pos, end, at);
          break;
        case ST_BODY: {
          const n = Math.min(d.remaining, end - pos);
          d.remaining -= n;
          pos += n;
          this.countBody(dir, d, n);
          if (d.remaining === 0) this.messageDone(dir, d);
          break;
        }
        case ST_CHUNK_SIZE:
          pos = this.feedChunkSize(dir, d, data, pos, end);
          break;
        case ST_CHUNK_DATA: {
          const n = Math.min(d.remaining, end - pos);
          d.remaining -= n;
          pos += n;
          this.countBody(dir, d, n);
          if (d.remaining === 0) d.state = ST_CHUNK_END;
          break;
        }
        case ST_CHUNK_END: {
          const c = data[pos++]!;
          if (c === 10) d.state = ST_CHUNK_SIZE;
          else if (c !== 13) this.fail(d, 'http.bad_chunk_size');
          break;
        }
        case ST_TRAILERS:
          pos = this.feedTrailers(dir, d, data, pos, end);
          break;
        case ST_BODY_TO_CLOSE:
          this.countBody(dir, d, end - pos);
          pos = end;
          break;
        case ST_UPGRADE_WAIT:
          pos = this.feedUpgradeWait(d, data, pos, end, at);
          break;
        case ST_HTTP2:
          if (this.h2 !== null) this.h2.feed(dir, data, pos, end, at);
          pos = end;
          break;
        default: // ST_TUNNEL, ST_DEAD: the bytes are not HTTP/1
          return;
      }
    }
  }

  gap(dir: Direction, bytes: number): void {
    const d = this.dirs[dir];
    switch (d.state) {
      case ST_BODY:
      case ST_CHUNK_DATA:
        if (bytes < d.remaining) {
          // Lost body bytes do not move the message boundary: stay in sync.
          d.remaining -= bytes;
          this.countBody(dir, d, bytes);
          return;
        }
        break;
      case ST_BODY_TO_CLOSE:
        this.countBody(dir, d, bytes);
        return;
      case ST_TUNNEL:
      case ST_DEAD:
        return;
      case ST_HTTP2:
        this.h2?.gap(dir, bytes);
        return;
      case ST_UPGRADE_WAIT:
        d.state = ST_TUNNEL;
        return;
      default:
        break;
    }
    this.fail(d, 'http.gap');
  }

  end(dir: Direction): void {
    const d = this.dirs[dir];
    if (d.state === ST_HTTP2) this.h2?.end(dir);
  }

  // --- header sections -------------------------------------------------------------------------

  private feedHead(dir: Direction, d: Http1Direction, data: Uint8Array, pos: number, end: number, at: PacketStamp): number {
    if (!d.headStarted) {
      while (pos < end && (data[pos] === 13 || data[pos] === 10)) pos++;
      if (pos === end) return pos;
      d.headStarted = true;
      d.headTs = at.ts;
      d.headFrame = at.frame;
      d.lineBytes = 0;
      d.lastWasCR = false;
    }
    const segStart = pos;
    const stop = findEmptyLine(d, data, pos, end);
    if (stop < 0) {
      this.appendHead(d, data, segStart, end);
      return end;
    }
    const after = stop + 1;
    let ok: boolean;
    if (d.headLen === 0 && !d.headOverflow) {
      ok = parseHead(data, segStart, after, this.head, dir === 0);
    } else {
      this.appendHead(d, data, segStart, after);
      ok = parseHead(d.headBuf, 0, d.headLen, this.head, dir === 0);
    }
    d.headLen = 0;
    d.headOverflow = false;
    d.headStarted = false;
    if (!ok) {
      this.fail(d, dir === 0 ? 'http.bad_request_line' : 'http.bad_status_line');
      return end;
    }
    if (this.head.tooManyHeaders) this.anomaly('http.too_many_headers');
    if (dir === 0) this.onRequest(d);
    else this.onResponse(d);
    return after;
  }

  private appendHead(d: Http1Direction, data: Uint8Array, s: number, e: number): void {
    if (d.headOverflow) return;
    let n = e - s;
    if (d.headLen + n > MAX_HEADER_BYTES) {
      this.anomaly('http.header_too_long');
      d.headOverflow = true;
      n = MAX_HEADER_BYTES - d.headLen;
    }
    if (d.headLen + n > d.headBuf.length) {
      const nb = new Uint8Array(Math.min(MAX_HEADER_BYTES, Math.max(d.headLen + n, d.headBuf.length * 2, 512)));
      nb.set(d.headBuf.subarray(0, d.headLen));
      d.headBuf = nb;
    }
    d.headBuf.set(data.subarray(s, s + n), d.headLen);
    d.headLen += n;
  }

  private onRequest(d: Http1Direction): void {
    const h = this.head;
    const seq = this.requestsSeen++;
    const method = h.method;
    let flags = 0;
    if (method === 'HEAD') flags |= PENDING_HEAD;
    if (method === 'CONNECT') flags |= PENDING_CONNECT;
    const upgrading = h.upgrade !== null && h.connectionUpgrade;
    if (upgrading) flags |= PENDING_UPGRADE;
    this.pending[seq % MAX_PENDING] = flags;
    let rec: HttpRequestRecord | null = null;
    if (this.records.length < MAX_REQUESTS_PER_FLOW) {
      rec = newHttpRecord(boundValue(method), h.target, h.version, d.headTs, d.headFrame);
      rec.host = h.host;
      rec.userAgent = h.userAgent;
      rec.contentType = h.contentType;
      if (h.authorization !== null) applyAuthorization(rec, h.authorization);
      else if (h.webSocketProtocol !== null) applyWebSocketProtocol(rec, h.webSocketProtocol);
      rec.xForwardedFor = h.xForwardedFor;
      rec.xForwardedUri = h.xForwardedUri;
      rec.xForwardedHost = h.xForwardedHost;
      rec.xForwardedProto = h.xForwardedProto;
      rec.impersonateUser = h.impersonateUser;
      rec.upgrade = upgrading ? h.upgrade : null;
      rec.streamProtocol = h.streamProtocol;
      rec.k8s = parseK8sPath(rec.method, rec.path, this.port);
      this.records.push(rec);
    } else {
      this.anomaly('http.too_many_requests');
    }
    h.authorization = null; // the credential does not outlive this call
    h.webSocketProtocol = null;
    if (upgrading && h.upgrade!.toLowerCase().includes('h2c')) this.h2cRequested = true;
    d.rec = rec;
    d.upgradeAfter = upgrading || method === 'CONNECT';
    if (h.chunked) this.startChunked(d);
    else if (h.contentLength > 0) {
      d.state = ST_BODY;
      d.remaining = h.contentLength;
    } else this.messageDone(0, d);
  }

  private onResponse(d: Http1Direction): void {
    const h = this.head;
    const status = h.status;
    if (this.responsesSeen >= this.requestsSeen) {
      this.anomaly('http.response_without_request');
      d.rec = null;
      this.frameResponse(d, 0, status);
      return;
    }
    const seq = this.responsesSeen;
    const flags = this.pending[seq % MAX_PENDING]!;
    const rec = seq < this.records.length ? this.records[seq]! : null;
    if (status >= 100 && status < 200 && status !== 101) {
      // Interim response (100 Continue, 103 Early Hints): the final one is still to come.
      d.rec = null;
      this.messageDone(1, d);
      return;
    }
    this.responsesSeen++;
    if (rec !== null) {
      rec.status = status;
      rec.reason = h.reason;
      rec.responseContentType = h.contentType;
    }
    d.rec = rec;
    if (status === 101) {
      if (rec !== null && h.upgrade !== null) rec.upgrade = h.upgrade;
      const proto = (h.upgrade ?? rec?.upgrade ?? '').toLowerCase();
      if (proto.includes('h2c') && rec !== null) this.startHttp2(rec);
      else d.state = ST_TUNNEL;
      // Whatever the client sends next belongs to the new protocol.
      const c = this.dirs[0];
      if (c.state === ST_UPGRADE_WAIT && c.pendLen === 0) c.state = this.h2 !== null ? ST_UPGRADE_WAIT : ST_TUNNEL;
      return;
    }
    if ((flags & PENDING_CONNECT) !== 0 && status >= 200 && status < 300) {
      d.state = ST_TUNNEL;
      return;
    }
    this.frameResponse(d, flags, status);
  }

  private frameResponse(d: Http1Direction, flags: number, status: number): void {
    const h = this.head;
    if ((flags & PENDING_HEAD) !== 0 || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      this.messageDone(1, d);
    } else if (h.chunked) {
      this.startChunked(d);
    } else if (h.otherCoding) {
      d.state = ST_BODY_TO_CLOSE;
    } else if (h.contentLength >= 0) {
      if (h.contentLength === 0) this.messageDone(1, d);
      else {
        d.state = ST_BODY;
        d.remaining = h.contentLength;
      }
    } else {
      d.state = ST_BODY_TO_CLOSE;
    }
  }

  private startHttp2(rec: HttpRequestRecord): void {
    if (this.h2 === null) {
      this.h2 = new Http2Dissector(this.anomaly);
      this.h2.port = this.port;
      this.h2.startUpgraded(rec);
    }
    this.dirs[1].state = ST_HTTP2;
  }

  private messageDone(dir: Direction, d: Http1Direction): void {
    d.rec = null;
    if (dir === 0 && d.upgradeAfter) {
      d.upgradeAfter = false;
      d.state = ST_UPGRADE_WAIT;
      d.pendLen = 0;
      return;
    }
    d.state = ST_HEAD;
  }

  /**
   * After an upgrade request (or CONNECT) the client's next bytes are either another request
   * (the upgrade was refused), the HTTP/2 preface (h2c), or the new protocol. Up to 24 bytes are
   * held to tell them apart; the answer is the same however those bytes were split.
   */
  private feedUpgradeWait(d: Http1Direction, data: Uint8Array, pos: number, end: number, at: PacketStamp): number {
    const take = Math.min(end - pos, UPGRADE_PROBE_BYTES - d.pendLen);
    d.pend.set(data.subarray(pos, pos + take), d.pendLen);
    d.pendLen += take;
    const h1 = probeHttp1(0, d.pend, 0, d.pendLen);
    const h2 = this.h2cRequested ? probeHttp2(0, d.pend, 0, d.pendLen) : ProbeResult.NO_MATCH;
    if (h1 === ProbeResult.NEED_MORE || h2 === ProbeResult.NEED_MORE) {
      if (d.pendLen < UPGRADE_PROBE_BYTES) return pos + take;
    }
    const held = d.pendLen;
    d.pendLen = 0;
    if (h1 === ProbeResult.MATCH) {
      d.state = ST_HEAD;
      // Replay the held bytes that were not part of this chunk, then go on with the chunk.
      const fromEarlier = held - take;
      if (fromEarlier > 0) {
        const copy = d.pend.slice(0, fromEarlier);
        this.feed(0, copy, 0, fromEarlier, at);
      }
      return pos;
    }
    if (h2 === ProbeResult.MATCH) {
      if (this.h2 === null) {
        // Preface seen before the 101 (or the 101 was not captured): hand over on the client's word.
        const rec = this.records.length > 0 ? this.records[this.records.length - 1]! : null;
        this.h2 = new Http2Dissector(this.anomaly);
        this.h2.port = this.port;
        if (rec !== null) this.h2.startUpgraded(rec);
      }
      d.state = ST_HTTP2;
      const fromEarlier = held - take;
      if (fromEarlier > 0) this.h2.feed(0, d.pend.slice(0, fromEarlier), 0, fromEarlier, at);
      return pos;
    }
    d.state = ST_TUNNEL;
    return end;
  }

  // --- chunked transfer coding -----------------------------------------------------------------

  private startChunked(d: Http1Direction): void {
    d.state = ST_CHUNK_SIZE;
    d.chunkSize = 0;
    d.chunkDigits = 0;
    d.chunkPhase = 0;
    d.chunkLine = 0;
  }

  private feedChunkSize(dir: Direction, d: Http1Direction, data: Uint8Array, pos: number, end: number): number {
    while (pos < end) {
      const c = data[pos++]!;
      if (++d.chunkLine > MAX_CHUNK_LINE) {
        this.fail(d, 'http.bad_chunk_size');
        return end;
      }
      if (c === 10) {
        if (d.chunkDigits === 0) {
          this.fail(d, 'http.bad_chunk_size');
          return end;
        }
        if (d.chunkSize === 0) {
          d.state = ST_TRAILERS;
          d.lineBytes = 0;
          d.lastWasCR = false;
        } else {
          d.state = ST_CHUNK_DATA;
          d.remaining = d.chunkSize;
        }
        d.chunkSize = 0;
        d.chunkDigits = 0;
        d.chunkPhase = 0;
        d.chunkLine = 0;
        return pos;
      }
      if (d.chunkPhase === 0) {
        const v = hexValue(c);
        if (v >= 0) {
          // 13 hex digits stay below 2^53: exact in a double.
          if (++d.chunkDigits > 13) {
            this.fail(d, 'http.bad_chunk_size');
            return end;
          }
          d.chunkSize = d.chunkSize * 16 + v;
        } else if (c === 59 || c === 32 || c === 9 || c === 13) {
          if (d.chunkDigits === 0) {
            this.fail(d, 'http.bad_chunk_size');
            return end;
          }
          d.chunkPhase = 1; // extensions (or the CR) up to the LF are skipped
        } else {
          this.fail(d, 'http.bad_chunk_size');
          return end;
        }
      }
    }
    return pos;
  }

  private feedTrailers(dir: Direction, d: Http1Direction, data: Uint8Array, pos: number, end: number): number {
    const stop = findEmptyLine(d, data, pos, end);
    if (stop < 0) return end;
    this.messageDone(dir, d);
    return stop + 1;
  }

  // --- helpers -----------------------------------------------------------------------------------

  private countBody(dir: Direction, d: Http1Direction, n: number): void {
    const rec = d.rec;
    if (rec === null) return;
    if (dir === 0) rec.requestBodyBytes += n;
    else rec.responseBodyBytes += n;
  }

  private fail(d: Http1Direction, code: 'http.bad_chunk_size' | 'http.bad_request_line' | 'http.bad_status_line' | 'http.gap'): void {
    this.anomaly(code);
    d.state = ST_DEAD;
    d.rec = null;
  }
}

/**
 * Finds the LF that ends an empty line (the end of a header or trailer section), continuing the
 * line count kept in `d` from earlier chunks. Returns its index, or -1 if not in `data[pos..end)`.
 */
function findEmptyLine(d: Http1Direction, data: Uint8Array, pos: number, end: number): number {
  let i = pos;
  while (i < end) {
    const lf = data.indexOf(10, i);
    if (lf < 0 || lf >= end) {
      d.lineBytes += end - i;
      d.lastWasCR = data[end - 1] === 13;
      return -1;
    }
    const n = d.lineBytes + (lf - i);
    const prevCR = lf > i ? data[lf - 1] === 13 : d.lastWasCR;
    if (n === 0 || (n === 1 && prevCR)) {
      d.lineBytes = 0;
      d.lastWasCR = false;
      return lf;
    }
    d.lineBytes = 0;
    d.lastWasCR = false;
    i = lf + 1;
  }
  return -1;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export const http1Factory: DissectorFactory<HttpRequestRecord[]> = {
  id: 'http',
  probe: probeHttp1,
  create: (anomaly: AnomalySink, flow?: FlowContext) => {
    const d = new Http1Dissector(anomaly);
    d.port = flow?.serverPort;
    return d;
  },
};
