/**
 * Parsing of one HTTP/1.x header section (start line + header fields, RFC 9112 §2–§5) that is
 * already complete in a buffer. Only the fields planewatch uses are extracted; the result goes into
 * a reused MessageHead so parsing allocates nothing but the strings it keeps.
 */

/** Header fields read per message; the rest of the section is skipped. */
export const MAX_HEADERS = 100;

export class MessageHead {
  isRequest: boolean;
  /** Start line parsed. */
  ok: boolean;
  method: string;
  target: string;
  version: string;
  status: number;
  reason: string;
  host: string | null;
  userAgent: string | null;
  contentType: string | null;
  /** The raw Authorization value: hashed by the caller at once and cleared (never kept). */
  authorization: string | null;
  /** The raw Sec-WebSocket-Protocol value (it may carry a bearer token): as `authorization`. */
  webSocketProtocol: string | null;
  xForwardedFor: string | null;
  xForwardedUri: string | null;
  xForwardedHost: string | null;
  xForwardedProto: string | null;
  impersonateUser: string | null;
  upgrade: string | null;
  connectionUpgrade: boolean;
  streamProtocol: string | null;
  /** -1 when absent or invalid. */
  contentLength: number;
  chunked: boolean;
  /** Transfer-Encoding present with a final coding other than chunked (body runs to close). */
  otherCoding: boolean;
  headerCount: number;
  tooManyHeaders: boolean;

  constructor() {
    this.isRequest = true;
    this.ok = false;
    this.method = '';
    this.target = '';
    this.version = '';
    this.status = 0;
    this.reason = '';
    this.host = null;
    this.userAgent = null;
    this.contentType = null;
    this.authorization = null;
    this.webSocketProtocol = null;
    this.xForwardedFor = null;
    this.xForwardedUri = null;
    this.xForwardedHost = null;
    this.xForwardedProto = null;
    this.impersonateUser = null;
    this.upgrade = null;
    this.connectionUpgrade = false;
    this.streamProtocol = null;
    this.contentLength = -1;
    this.chunked = false;
    this.otherCoding = false;
    this.headerCount = 0;
    this.tooManyHeaders = false;
  }

  reset(isRequest: boolean): void {
    this.isRequest = isRequest;
    this.ok = false;
    this.method = '';
    this.target = '';
    this.version = '';
    this.status = 0;
    this.reason = '';
    this.host = null;
    this.userAgent = null;
    this.contentType = null;
    this.authorization = null;
    this.webSocketProtocol = null;
    this.xForwardedFor = null;
    this.xForwardedUri = null;
    this.xForwardedHost = null;
    this.xForwardedProto = null;
    this.impersonateUser = null;
    this.upgrade = null;
    this.connectionUpgrade = false;
    this.streamProtocol = null;
    this.contentLength = -1;
    this.chunked = false;
    this.otherCoding = false;
    this.headerCount = 0;
    this.tooManyHeaders = false;
  }
}

/**
 * Parses `buf[s..e)` (a header section; an unterminated last line is ignored, which is what an
 * oversized section cut at the cap looks like) into `head`. Returns false when the start line is
 * malformed.
 */
export function parseHead(buf: Uint8Array, s: number, e: number, head: MessageHead, isRequest: boolean): boolean {
  head.reset(isRequest);
  let pos = s;
  let first = true;
  while (pos < e) {
    const lf = buf.indexOf(10, pos);
    if (lf < 0 || lf >= e) break;
    let lineEnd = lf;
    if (lineEnd > pos && buf[lineEnd - 1] === 13) lineEnd--;
    if (first) {
      if (lineEnd === pos) { pos = lf + 1; continue; } // tolerated empty lines before the start line
      first = false;
      if (!(isRequest ? parseRequestLine(buf, pos, lineEnd, head) : parseStatusLine(buf, pos, lineEnd, head))) return false;
      head.ok = true;
    } else {
      if (lineEnd === pos) break; // end of the section
      if (buf[pos] !== 32 && buf[pos] !== 9) {
        // obs-fold continuation lines (leading whitespace) are ignored
        if (head.headerCount >= MAX_HEADERS) {
          head.tooManyHeaders = true;
          break;
        }
        head.headerCount++;
        parseField(buf, pos, lineEnd, head);
      }
    }
    pos = lf + 1;
  }
  return head.ok;
}

function parseRequestLine(buf: Uint8Array, s: number, e: number, head: MessageHead): boolean {
  const sp1 = indexOfByte(buf, 32, s, e);
  if (sp1 <= s) return false;
  for (let i = s; i < sp1; i++) if (!isTokenChar(buf[i]!)) return false;
  let ts = sp1 + 1;
  while (ts < e && buf[ts] === 32) ts++;
  let sp2 = e;
  while (sp2 > ts && buf[sp2 - 1] !== 32) sp2--;
  if (sp2 <= ts) return false; // no version
  const vs = sp2;
  let te = sp2 - 1;
  while (te > ts && buf[te - 1] === 32) te--;
  if (!startsWithHttp(buf, vs, e)) return false;
  head.method = text(buf, s, sp1);
  head.target = text(buf, ts, Math.min(te, ts + 8192));
  head.version = text(buf, vs + 5, e);
  return true;
}

function parseStatusLine(buf: Uint8Array, s: number, e: number, head: MessageHead): boolean {
  if (!startsWithHttp(buf, s, e)) return false;
  const sp = indexOfByte(buf, 32, s, e);
  if (sp < 0 || sp + 4 > e) return false;
  let status = 0;
  for (let i = sp + 1; i < sp + 4; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) return false;
    status = status * 10 + c;
  }
  if (sp + 4 < e && buf[sp + 4] !== 32) return false;
  head.version = text(buf, s + 5, sp);
  head.status = status;
  head.reason = sp + 5 < e ? text(buf, sp + 5, Math.min(e, sp + 5 + 1024)) : '';
  return true;
}

function parseField(buf: Uint8Array, s: number, e: number, head: MessageHead): void {
  const colon = indexOfByte(buf, 58, s, e);
  if (colon <= s) return;
  let ne = colon;
  while (ne > s && (buf[ne - 1] === 32 || buf[ne - 1] === 9)) ne--;
  let vs = colon + 1;
  while (vs < e && (buf[vs] === 32 || buf[vs] === 9)) vs++;
  let ve = e;
  while (ve > vs && (buf[ve - 1] === 32 || buf[ve - 1] === 9)) ve--;
  const vcap = Math.min(ve, vs + 1024);
  switch (ne - s) {
    case 4:
      if (nameIs(buf, s, 'host')) head.host = text(buf, vs, vcap);
      break;
    case 7:
      if (nameIs(buf, s, 'upgrade')) head.upgrade = text(buf, vs, vcap);
      break;
    case 10:
      if (nameIs(buf, s, 'user-agent')) head.userAgent = text(buf, vs, vcap);
      else if (nameIs(buf, s, 'connection')) head.connectionUpgrade = head.connectionUpgrade || containsToken(buf, vs, ve, 'upgrade');
      break;
    case 12:
      if (nameIs(buf, s, 'content-type')) head.contentType = text(buf, vs, vcap);
      break;
    case 13:
      // The credential is read whole (not cut at 1024) so its hash is the hash of the real value.
      if (nameIs(buf, s, 'authorization')) head.authorization = text(buf, vs, ve);
      break;
    case 14:
      if (nameIs(buf, s, 'content-length')) head.contentLength = parseLength(buf, vs, ve, head.contentLength);
      break;
    case 15:
      if (nameIs(buf, s, 'x-forwarded-for')) head.xForwardedFor = text(buf, vs, vcap);
      else if (nameIs(buf, s, 'x-forwarded-uri')) head.xForwardedUri = text(buf, vs, vcap);
      break;
    case 16:
      if (nameIs(buf, s, 'x-forwarded-host')) head.xForwardedHost = text(buf, vs, vcap);
      else if (nameIs(buf, s, 'impersonate-user')) head.impersonateUser = text(buf, vs, vcap);
      break;
    case 17:
      if (nameIs(buf, s, 'x-forwarded-proto')) head.xForwardedProto = text(buf, vs, vcap);
      else if (nameIs(buf, s, 'transfer-encoding')) {
        // Only the final coding decides framing (RFC 9112 §6.3).
        const chunked = endsWithToken(buf, vs, ve, 'chunked');
        head.chunked = chunked;
        head.otherCoding = !chunked;
      }
      break;
    case 22:
      // Read whole: a browser's exec or attach sends its bearer token here (see applyWebSocketProtocol).
      if (nameIs(buf, s, 'sec-websocket-protocol')) head.webSocketProtocol = text(buf, vs, ve);
      break;
    case 25:
      if (nameIs(buf, s, 'x-stream-protocol-version')) head.streamProtocol = text(buf, vs, vcap);
      break;
    default:
      break;
  }
}

function parseLength(buf: Uint8Array, s: number, e: number, prev: number): number {
  if (s >= e || e - s > 15) return prev;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) return prev;
    n = n * 10 + c;
  }
  return n;
}

function nameIs(buf: Uint8Array, s: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = buf[s + i]!;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function containsToken(buf: Uint8Array, s: number, e: number, lower: string): boolean {
  const n = lower.length;
  for (let i = s; i + n <= e; i++) {
    if (nameIs(buf, i, lower) && (i === s || !isTokenChar(buf[i - 1]!)) && (i + n === e || !isTokenChar(buf[i + n]!))) return true;
  }
  return false;
}

function endsWithToken(buf: Uint8Array, s: number, e: number, lower: string): boolean {
  const n = lower.length;
  if (e - s < n) return false;
  return nameIs(buf, e - n, lower) && (e - n === s || !isTokenChar(buf[e - n - 1]!));
}

function startsWithHttp(buf: Uint8Array, s: number, e: number): boolean {
  return e - s >= 6 && buf[s] === 72 && buf[s + 1] === 84 && buf[s + 2] === 84 && buf[s + 3] === 80 && buf[s + 4] === 47;
}

function indexOfByte(buf: Uint8Array, b: number, s: number, e: number): number {
  for (let i = s; i < e; i++) if (buf[i] === b) return i;
  return -1;
}

function isTokenChar(c: number): boolean {
  // RFC 9110 tchar
  if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return true;
  return c === 33 || (c >= 35 && c <= 39) || c === 42 || c === 43 || c === 45 || c === 46 || c === 94 || c === 95 || c === 96 || c === 124 || c === 126;
}

/** Bytes as text: UTF-8 when they are valid UTF-8, else latin1 (one char per byte, lossless). */
export function text(buf: Uint8Array, s: number, e: number): string {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let high = false;
  for (let i = s; i < e; i++) if (buf[i]! >= 0x80) { high = true; break; }
  if (!high) return b.toString('latin1', s, e);
  const u = b.toString('utf8', s, e);
  return u.includes('\ufffd') ? b.toString('latin1', s, e) : u;
}
