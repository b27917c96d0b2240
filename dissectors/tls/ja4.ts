/**
 * JA4 TLS client fingerprint, following FoxIO's public definition (technical_details/JA4.md):
 *   a: protocol, version, SNI d/i, cipher count, extension count, ALPN first+last character
 *   b: sha256[:12] of the sorted cipher hex list
 *   c: sha256[:12] of the sorted extension list without SNI/ALPN, '_', signature algorithms as sent
 * GREASE is ignored everywhere. Only JA4 itself: JA4S/JA4X carry a different licence.
 */
import { createHash } from 'node:crypto';
import { EXT_ALPN, EXT_SERVER_NAME, isGrease } from './constants';
import type { ClientHello } from './hello-parser';

const EMPTY_HASH = '000000000000';

/** 4-digit lowercase hex of 16-bit values, each made once: the same few values recur in every hello. */
const HEX4: string[] = new Array<string>(65536);

function hex4(v: number): string {
  return (HEX4[v] ??= v.toString(16).padStart(4, '0'));
}

const keepAll = (): boolean => false;

/**
 * The values (GREASE and `leaveOut` removed) as 4-digit hex joined by ','; sorted when asked.
 * Fixed-width hex sorts as the numbers do, so the numbers are sorted (in a typed array) instead.
 */
function hexList(values: readonly number[], sorted: boolean, leaveOut: (v: number) => boolean = keepAll): string {
  const kept = new Uint16Array(values.length);
  let n = 0;
  for (const v of values) if (!isGrease(v) && !leaveOut(v)) kept[n++] = v;
  const list = sorted ? kept.subarray(0, n).sort() : kept.subarray(0, n);
  let out = '';
  for (let i = 0; i < n; i++) out += i === 0 ? hex4(list[i]!) : ',' + hex4(list[i]!);
  return out;
}

// Not remembered here: whole JA4s are, by the hello fields they come from (client-fingerprints.ts).
function sha12(s: string): string {
  return createHash('sha256').update(s, 'latin1').digest('hex').slice(0, 12);
}

function countNonGrease(values: readonly number[]): number {
  let n = 0;
  for (const v of values) if (!isGrease(v)) n++;
  return n;
}

function isSniOrAlpn(v: number): boolean {
  return v === EXT_SERVER_NAME || v === EXT_ALPN;
}

function count2(n: number): string {
  return n > 99 ? '99' : String(n).padStart(2, '0');
}

function versionCode(v: number): string {
  switch (v) {
    case 0x0304:
      return '13';
    case 0x0303:
      return '12';
    case 0x0302:
      return '11';
    case 0x0301:
      return '10';
    case 0x0300:
      return 's3';
    case 0x0002:
      return 's2';
    case 0xfeff:
      return 'd1';
    case 0xfefd:
      return 'd2';
    case 0xfefc:
      return 'd3';
    default:
      return '00';
  }
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** First and last character of the first ALPN value; its hex form when either end is not alphanumeric. */
export function alpnCode(alpn: readonly string[]): string {
  if (alpn.length === 0 || alpn[0].length === 0) return '00';
  const v = alpn[0];
  const first = v.charCodeAt(0);
  const last = v.charCodeAt(v.length - 1);
  if (isAlnum(first) && isAlnum(last)) return v[0] + v[v.length - 1];
  const h = first.toString(16).padStart(2, '0');
  const t = last.toString(16).padStart(2, '0');
  return h[0] + t[1];
}

/** The highest non-GREASE supported_versions entry, else the legacy version. */
export function ja4Version(ch: ClientHello): number {
  let best = -1;
  for (const v of ch.versions) if (!isGrease(v) && v > best) best = v;
  return best >= 0 ? best : ch.legacyVersion;
}

export interface Ja4Parts {
  ja4: string;
  /** JA4_r: the sorted lists before hashing. */
  raw: string;
}

export function ja4(ch: ClientHello, protocol: 't' | 'q' = 't'): Ja4Parts {
  const hasSni = ch.extensions.includes(EXT_SERVER_NAME);
  const a =
    protocol +
    versionCode(ja4Version(ch)) +
    (hasSni ? 'd' : 'i') +
    count2(countNonGrease(ch.ciphers)) +
    count2(countNonGrease(ch.extensions)) +
    alpnCode(ch.alpn);
  const cipherList = hexList(ch.ciphers, true);
  const extList = hexList(ch.extensions, true, isSniOrAlpn);
  const sigList = hexList(ch.sigAlgs, false);
  const cInput = sigList.length > 0 ? extList + '_' + sigList : extList;
  const b = cipherList.length === 0 ? EMPTY_HASH : sha12(cipherList);
  const c = extList.length === 0 ? EMPTY_HASH : sha12(cInput);
  return { ja4: `${a}_${b}_${c}`, raw: `${a}_${cipherList}_${cInput}` };
}
