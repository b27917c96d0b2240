/**
 * JA3 and JA3S (salesforce/ja3): decimal values, fields joined by ',', values by '-', GREASE
 * (RFC 8701) removed everywhere, then MD5. Computed once per hello, off the hot path.
 */
import { createHash } from 'node:crypto';
import { isGrease } from './constants';
import { memoizeDigest } from './digest-memo';
import type { ClientHello, ServerHello } from './hello-parser';

function join(values: readonly number[]): string {
  let s = '';
  for (const v of values) {
    if (isGrease(v)) continue;
    s += s.length === 0 ? String(v) : '-' + v;
  }
  return s;
}

export const md5Hex = memoizeDigest((s: string): string => createHash('md5').update(s, 'latin1').digest('hex'));

/** SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats */
export function ja3String(ch: ClientHello): string {
  return [ch.legacyVersion, join(ch.ciphers), join(ch.extensions), join(ch.groups), join(ch.pointFormats)].join(',');
}

/** SSLVersion,Cipher,Extensions */
export function ja3sString(sh: ServerHello): string {
  return [sh.legacyVersion, sh.cipher, join(sh.extensions)].join(',');
}

export function ja3(ch: ClientHello): { full: string; hash: string } {
  const full = ja3String(ch);
  return { full, hash: md5Hex(full) };
}

export function ja3s(sh: ServerHello): { full: string; hash: string } {
  const full = ja3sString(sh);
  return { full, hash: md5Hex(full) };
}
