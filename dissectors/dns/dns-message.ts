/**
 * DNS messages (RFC 1035 §4, AAAA from RFC 3596): the header, the question and the answers a
 * resolver returned, read straight from the datagram. Names are followed through compression
 * pointers (RFC 1035 §4.1.4) with a bound on the jumps, so a pointer loop ends as a malformed
 * message; every length is checked against the datagram, nothing here throws.
 *
 * What is kept is what says which name an address has: the question, the response code, and the
 * answer section's A, AAAA, CNAME and PTR records (others are named by type, their data left out).
 */

import { formatIp } from '../../src/decode/address';

export const DNS_PORT = 53;

/** Answers kept per response; the rest are counted, not read. */
export const MAX_ANSWERS = 32;
/** Labels followed per name, and compression jumps per name. */
const MAX_LABELS = 128;
const MAX_JUMPS = 16;
/** RFC 1035 §2.3.4: a name is at most 255 bytes on the wire. */
const MAX_NAME_BYTES = 255;
const HEADER_BYTES = 12;

export interface DnsAnswer {
  name: string;
  type: string;
  /** The address (A, AAAA), the name (CNAME, PTR), or '' for a type whose data is not read. */
  data: string;
  ttl: number;
}

/** One DNS message as read from a datagram. */
export interface DnsMessage {
  id: number;
  response: boolean;
  opcode: number;
  /** RCODE name (NOERROR, NXDOMAIN, …) of a response. */
  rcode: string;
  /** TC bit: the answer did not fit and was cut (RFC 1035 §4.1.1). */
  truncated: boolean;
  query: string | null;
  qtype: string | null;
  answers: DnsAnswer[];
  /** Answers beyond MAX_ANSWERS, not read. */
  answersDropped: number;
}

export const enum DnsStatus {
  OK = 0,
  /** Shorter than a header, or a section runs past the datagram. */
  MALFORMED = 1,
  /** A name with a pointer loop, too many labels or over 255 bytes. */
  BAD_NAME = 2,
}

const TYPES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 35: 'NAPTR',
  39: 'DNAME', 41: 'OPT', 43: 'DS', 46: 'RRSIG', 47: 'NSEC', 48: 'DNSKEY', 64: 'SVCB', 65: 'HTTPS', 255: 'ANY',
};
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];

export function dnsTypeName(t: number): string {
  return TYPES[t] ?? `TYPE${t}`;
}

/** The number of a type as dnsTypeName names it (`AAAA` → 28, `TYPE99` → 99); null for another text. */
export function dnsTypeNumber(name: string): number | null {
  const known = Object.entries(TYPES).find(([, n]) => n === name);
  if (known !== undefined) return Number(known[0]);
  const m = /^TYPE(\d{1,5})$/.exec(name);
  return m !== null ? Number(m[1]) : null;
}

/** The number of an RCODE as a response's `rcode` names it (`NXDOMAIN` → 3, `RCODE12` → 12); null for another text. */
export function dnsRcodeNumber(name: string): number | null {
  const i = RCODES.indexOf(name);
  if (i >= 0) return i;
  const m = /^RCODE(\d{1,4})$/.exec(name);
  return m !== null ? Number(m[1]) : null;
}

/** Reads a name at `off`; returns its text and where the record goes on, or null if malformed. */
function readName(b: Uint8Array, start: number, end: number, off: number): { name: string; next: number } | null {
  let p = off;
  let next = -1;
  let jumps = 0;
  let labels = 0;
  let length = 0;
  let name = '';
  for (;;) {
    if (p >= end) return null;
    const len = b[p]!;
    if (len === 0) {
      if (next < 0) next = p + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (p + 1 >= end || ++jumps > MAX_JUMPS) return null;
      if (next < 0) next = p + 2;
      const target = start + (((len & 0x3f) << 8) | b[p + 1]!);
      if (target >= end) return null;
      p = target;
      continue;
    }
    if (kind !== 0) return null; // the extended label types of RFC 6891 are not used in names
    if (p + 1 + len > end || ++labels > MAX_LABELS) return null;
    length += len + 1;
    if (length > MAX_NAME_BYTES) return null;
    if (name !== '') name += '.';
    name += labelText(b, p + 1, p + 1 + len);
    p += 1 + len;
  }
  return { name: name === '' ? '.' : name, next };
}

/**
 * A label as text: letters, digits and the usual punctuation as they are, lower-cased; anything else
 * (a dot inside a label, a control byte) as \DDD, the presentation format of RFC 1035 §5.1, so a
 * name from the wire can neither pass for another name nor reach a terminal as a control sequence.
 */
function labelText(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2a) s += String.fromCharCode(c);
    else if (c >= 0x41 && c <= 0x5a) s += String.fromCharCode(c + 32);
    else s += `\\${String(c).padStart(3, '0')}`;
  }
  return s;
}

/** Parses the DNS message in `b[start, end)` into `out`. */
export function parseDnsMessage(b: Uint8Array, start: number, end: number): { status: DnsStatus; message: DnsMessage | null } {
  if (end - start < HEADER_BYTES) return { status: DnsStatus.MALFORMED, message: null };
  const id = (b[start]! << 8) | b[start + 1]!;
  const flags = (b[start + 2]! << 8) | b[start + 3]!;
  const qd = (b[start + 4]! << 8) | b[start + 5]!;
  const an = (b[start + 6]! << 8) | b[start + 7]!;
  const response = (flags & 0x8000) !== 0;
  const rcodeNum = flags & 0x000f;
  const message: DnsMessage = {
    id,
    response,
    opcode: (flags >> 11) & 0x0f,
    rcode: RCODES[rcodeNum] ?? `RCODE${rcodeNum}`,
    truncated: (flags & 0x0200) !== 0,
    query: null,
    qtype: null,
    answers: [],
    answersDropped: 0,
  };
  let p = start + HEADER_BYTES;
  for (let i = 0; i < qd; i++) {
    const n = readName(b, start, end, p);
    if (n === null) return { status: DnsStatus.BAD_NAME, message };
    if (n.next + 4 > end) return { status: DnsStatus.MALFORMED, message };
    if (i === 0) {
      message.query = n.name;
      message.qtype = dnsTypeName((b[n.next]! << 8) | b[n.next + 1]!);
    }
    p = n.next + 4;
  }
  for (let i = 0; i < an; i++) {
    if (message.answers.length >= MAX_ANSWERS) {
      message.answersDropped = an - i;
      break;
    }
    const n = readName(b, start, end, p);
    if (n === null) return { status: DnsStatus.BAD_NAME, message };
    const q = n.next;
    if (q + 10 > end) return { status: DnsStatus.MALFORMED, message };
    const type = (b[q]! << 8) | b[q + 1]!;
    const ttl = ((b[q + 4]! << 24) | (b[q + 5]! << 16) | (b[q + 6]! << 8) | b[q + 7]!) >>> 0;
    const rdlength = (b[q + 8]! << 8) | b[q + 9]!;
    const rd = q + 10;
    if (rd + rdlength > end) return { status: DnsStatus.MALFORMED, message };
    let data = '';
    if (type === 1 && rdlength === 4) data = formatIp(b.subarray(rd, rd + 4), 4);
    else if (type === 28 && rdlength === 16) data = formatIp(b.subarray(rd, rd + 16), 6);
    else if (type === 5 || type === 12) {
      const target = readName(b, start, rd + rdlength, rd);
      if (target === null) return { status: DnsStatus.BAD_NAME, message };
      data = target.name;
    }
    message.answers.push({ name: n.name, type: dnsTypeName(type), data, ttl });
    p = rd + rdlength;
  }
  return { status: DnsStatus.OK, message };
}
