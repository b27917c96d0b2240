import { createHash } from 'node:crypto';
import type { SshKexLists } from '../../src/model/records';

/** SSH_MSG_KEXINIT (RFC 4253 §7.1). */
export const SSH_MSG_KEXINIT = 20;
/** SSH_MSG_NEWKEYS (RFC 4253 §7.3): the sender encrypts everything after this message. */
export const SSH_MSG_NEWKEYS = 21;

const COOKIE_LENGTH = 16;
/** kex, host key, enc c→s, enc s→c, mac c→s, mac s→c, comp c→s, comp s→c, lang c→s, lang s→c. */
const NAME_LIST_COUNT = 10;
/** The eight lists HASSH and SshKexLists need; the two language lists may be absent in broken peers. */
const REQUIRED_NAME_LISTS = 8;

/** A parsed KEXINIT: the lists as strings plus the byte ranges of each list for fingerprinting. */
export interface ParsedKexInit {
  lists: SshKexLists;
  /** The raw name-list strings in wire order (kex … comp s→c), latin1 so one char = one byte. */
  raw: string[];
  /** All ten lists and the trailing boolean + reserved word were present. */
  complete: boolean;
}

function splitNameList(s: string): string[] {
  return s.length === 0 ? [] : s.split(',');
}

/**
 * Parses a KEXINIT payload that starts *after* the message-type byte (`buf[start]` is the first
 * cookie byte). Returns null when the eight required name-lists cannot be read. Runs once per
 * direction, so it may allocate.
 */
export function parseKexInit(buf: Uint8Array, start: number, end: number): ParsedKexInit | null {
  let off = start + COOKIE_LENGTH;
  if (off > end) return null;
  const raw: string[] = [];
  for (let i = 0; i < NAME_LIST_COUNT; i++) {
    if (off + 4 > end) break;
    const len = ((buf[off]! << 24) >>> 0) + (buf[off + 1]! << 16) + (buf[off + 2]! << 8) + buf[off + 3]!;
    off += 4;
    if (len > end - off) break;
    raw.push(Buffer.from(buf.buffer, buf.byteOffset + off, len).toString('latin1'));
    off += len;
  }
  if (raw.length < REQUIRED_NAME_LISTS) return null;
  // first_kex_packet_follows (1) and the reserved uint32 (4) close the message.
  const complete = raw.length === NAME_LIST_COUNT && off + 5 <= end;
  return {
    lists: {
      kex: splitNameList(raw[0]!),
      hostKey: splitNameList(raw[1]!),
      encCS: splitNameList(raw[2]!),
      encSC: splitNameList(raw[3]!),
      macCS: splitNameList(raw[4]!),
      macSC: splitNameList(raw[5]!),
      compCS: splitNameList(raw[6]!),
      compSC: splitNameList(raw[7]!),
    },
    raw: raw.slice(0, REQUIRED_NAME_LISTS),
    complete,
  };
}

/** HASSH algorithms string (Salesforce): "kex;enc;mac;comp" for the client's own direction (c→s). */
export function hasshAlgorithms(k: ParsedKexInit): string {
  return `${k.raw[0]};${k.raw[2]};${k.raw[4]};${k.raw[6]}`;
}

/** HASSHServer algorithms string: "kex;enc;mac;comp" for the server's own direction (s→c). */
export function hasshServerAlgorithms(k: ParsedKexInit): string {
  return `${k.raw[0]};${k.raw[3]};${k.raw[5]};${k.raw[7]}`;
}

/** MD5 over the algorithms string's bytes (latin1 keeps them as they were on the wire). */
export function hasshOf(algorithms: string): string {
  return createHash('md5').update(algorithms, 'latin1').digest('hex');
}
