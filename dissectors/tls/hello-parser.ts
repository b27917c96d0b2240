/**
 * ClientHello and ServerHello bodies → plain values. Runs once or twice per connection, so it
 * favours clarity over the allocation rules of the record walk. Every length is checked before it
 * is read; a malformed hello returns null (the caller counts the anomaly).
 */
import {
  EXT_ALPN,
  EXT_EC_POINT_FORMATS,
  EXT_ENCRYPTED_CLIENT_HELLO,
  EXT_PRE_SHARED_KEY,
  EXT_SERVER_NAME,
  EXT_SESSION_TICKET,
  EXT_SIGNATURE_ALGORITHMS,
  EXT_SUPPORTED_GROUPS,
  EXT_SUPPORTED_VERSIONS,
  HRR_RANDOM,
} from './constants';

/** Longest SNI / ALPN string kept (DNS names are at most 253 characters). */
export const MAX_NAME_CHARS = 255;
/** Most values kept per list (ciphers, extensions, groups …); real hellos carry well under 100. */
export const MAX_LIST_ITEMS = 512;
/** Most ALPN protocols kept. */
export const MAX_ALPN_ITEMS = 16;

export interface ClientHello {
  legacyVersion: number;
  sessionId: Uint8Array;
  ciphers: number[];
  compression: number[];
  extensions: number[];
  sni: string | null;
  alpn: string[];
  groups: number[];
  pointFormats: number[];
  sigAlgs: number[];
  versions: number[];
  /** The session_ticket extension carried a ticket (a resumption attempt, not just support). */
  ticketPresented: boolean;
  psk: boolean;
  ech: boolean;
}

export interface ServerHello {
  legacyVersion: number;
  helloRetryRequest: boolean;
  sessionId: Uint8Array;
  cipher: number;
  compression: number;
  extensions: number[];
  /** supported_versions selected_version, 0 when absent. */
  selectedVersion: number;
  alpn: string | null;
  pskSelected: boolean;
}

/** Bytes as received, one character per byte (latin1), bounded. */
function latin1(b: Uint8Array, start: number, end: number): string {
  const stop = Math.min(end, start + MAX_NAME_CHARS);
  let s = '';
  for (let i = start; i < stop; i++) s += String.fromCharCode(b[i]);
  return s;
}

function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

function readU16List(b: Uint8Array, start: number, end: number, out: number[]): void {
  for (let o = start; o + 1 < end && out.length < MAX_LIST_ITEMS; o += 2) out.push(u16(b, o));
}

/** Parses a ClientHello body (after the 4-byte handshake header) in `b[start..end)`. */
export function parseClientHello(b: Uint8Array, start: number, end: number): ClientHello | null {
  let o = start;
  if (end - o < 2 + 32 + 1) return null;
  const legacyVersion = u16(b, o);
  o += 34;
  const sidLen = b[o++];
  if (sidLen > 32 || o + sidLen > end) return null;
  const sessionId = b.slice(o, o + sidLen);
  o += sidLen;
  if (o + 2 > end) return null;
  const csLen = u16(b, o);
  o += 2;
  if (csLen % 2 !== 0 || o + csLen > end) return null;
  const ciphers: number[] = [];
  readU16List(b, o, o + csLen, ciphers);
  o += csLen;
  if (o + 1 > end) return null;
  const compLen = b[o++];
  if (o + compLen > end) return null;
  const compression: number[] = [];
  for (let i = 0; i < compLen; i++) compression.push(b[o + i]);
  o += compLen;
  const ch: ClientHello = {
    legacyVersion,
    sessionId,
    ciphers,
    compression,
    extensions: [],
    sni: null,
    alpn: [],
    groups: [],
    pointFormats: [],
    sigAlgs: [],
    versions: [],
    ticketPresented: false,
    psk: false,
    ech: false,
  };
  // Extensions are optional before TLS 1.2 (RFC 5246 §7.4.1.2): a hello may end here.
  if (o === end) return ch;
  if (o + 2 > end) return null;
  const extEnd = o + 2 + u16(b, o);
  o += 2;
  if (extEnd > end) return null;
  while (o < extEnd) {
    if (o + 4 > extEnd) return null;
    const type = u16(b, o);
    const len = u16(b, o + 2);
    o += 4;
    const e = o + len;
    if (e > extEnd) return null;
    if (ch.extensions.length < MAX_LIST_ITEMS) ch.extensions.push(type);
    if (!parseClientExtension(ch, type, b, o, e)) return null;
    o = e;
  }
  return ch;
}

function parseClientExtension(ch: ClientHello, type: number, b: Uint8Array, o: number, e: number): boolean {
  switch (type) {
    case EXT_SERVER_NAME: {
      if (e - o < 2) return e === o; // an empty SNI is what servers echo; from a client it is odd but harmless
      const listEnd = o + 2 + u16(b, o);
      if (listEnd > e) return false;
      for (let p = o + 2; p + 3 <= listEnd; ) {
        const nameType = b[p];
        const len = u16(b, p + 1);
        p += 3;
        if (p + len > listEnd) return false;
        if (nameType === 0 && ch.sni === null) ch.sni = latin1(b, p, p + len);
        p += len;
      }
      return true;
    }
    case EXT_ALPN: {
      if (e - o < 2) return false;
      const listEnd = o + 2 + u16(b, o);
      if (listEnd > e) return false;
      for (let p = o + 2; p < listEnd; ) {
        const len = b[p++];
        if (p + len > listEnd) return false;
        if (ch.alpn.length < MAX_ALPN_ITEMS) ch.alpn.push(latin1(b, p, p + len));
        p += len;
      }
      return true;
    }
    case EXT_SUPPORTED_GROUPS:
    case EXT_SIGNATURE_ALGORITHMS: {
      if (e - o < 2) return false;
      const listEnd = o + 2 + u16(b, o);
      if (listEnd > e) return false;
      readU16List(b, o + 2, listEnd, type === EXT_SUPPORTED_GROUPS ? ch.groups : ch.sigAlgs);
      return true;
    }
    case EXT_EC_POINT_FORMATS: {
      if (e - o < 1) return false;
      const listEnd = o + 1 + b[o];
      if (listEnd > e) return false;
      for (let p = o + 1; p < listEnd; p++) ch.pointFormats.push(b[p]);
      return true;
    }
    case EXT_SUPPORTED_VERSIONS: {
      if (e - o < 1) return false;
      const listEnd = o + 1 + b[o];
      if (listEnd > e) return false;
      readU16List(b, o + 1, listEnd, ch.versions);
      return true;
    }
    case EXT_SESSION_TICKET:
      ch.ticketPresented = e > o;
      return true;
    case EXT_PRE_SHARED_KEY:
      ch.psk = true;
      return true;
    case EXT_ENCRYPTED_CLIENT_HELLO:
      ch.ech = true;
      return true;
    default:
      return true;
  }
}

function isHrrRandom(b: Uint8Array, o: number): boolean {
  for (let i = 0; i < 32; i++) if (b[o + i] !== HRR_RANDOM[i]) return false;
  return true;
}

/** Parses a ServerHello body (after the 4-byte handshake header) in `b[start..end)`. */
export function parseServerHello(b: Uint8Array, start: number, end: number): ServerHello | null {
  let o = start;
  if (end - o < 2 + 32 + 1) return null;
  const legacyVersion = u16(b, o);
  const helloRetryRequest = isHrrRandom(b, o + 2);
  o += 34;
  const sidLen = b[o++];
  if (sidLen > 32 || o + sidLen + 3 > end) return null;
  const sessionId = b.slice(o, o + sidLen);
  o += sidLen;
  const sh: ServerHello = {
    legacyVersion,
    helloRetryRequest,
    sessionId,
    cipher: u16(b, o),
    compression: b[o + 2],
    extensions: [],
    selectedVersion: 0,
    alpn: null,
    pskSelected: false,
  };
  o += 3;
  if (o === end) return sh;
  if (o + 2 > end) return null;
  const extEnd = o + 2 + u16(b, o);
  o += 2;
  if (extEnd > end) return null;
  while (o < extEnd) {
    if (o + 4 > extEnd) return null;
    const type = u16(b, o);
    const len = u16(b, o + 2);
    o += 4;
    const e = o + len;
    if (e > extEnd) return null;
    if (sh.extensions.length < MAX_LIST_ITEMS) sh.extensions.push(type);
    if (type === EXT_SUPPORTED_VERSIONS && len === 2) sh.selectedVersion = u16(b, o);
    else if (type === EXT_PRE_SHARED_KEY) sh.pskSelected = true;
    else if (type === EXT_ALPN && len >= 3) {
      const l = b[o + 2];
      if (o + 3 + l <= e) sh.alpn = latin1(b, o + 3, o + 3 + l);
    }
    o = e;
  }
  return sh;
}
