/**
 * Key derivation for TLS decryption: HKDF-Expand-Label (RFC 8446 §7.1) for TLS 1.3, the TLS 1.2 PRF
 * (RFC 5246 §5) and that of TLS 1.0/1.1. All are built on HMAC: node's `hkdfSync` runs
 * Extract-then-Expand and knows nothing of the "tls13 " label structure, so Expand is written out
 * here (RFC 5869 §2.3).
 * Runs a few times per decrypted connection, never per record.
 */
import { createHmac } from 'node:crypto';
import { TLS10, TLS11 } from '../constants';

export type HashName = 'sha256' | 'sha384';

export function hashLength(hash: HashName): number {
  return hash === 'sha256' ? 32 : 48;
}

/** HKDF-Expand(PRK, info, L): T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i), concatenated and cut to L. */
export function hkdfExpand(hash: HashName, prk: Uint8Array, info: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  let prev: Buffer = Buffer.alloc(0);
  let filled = 0;
  for (let i = 1; filled < length; i++) {
    prev = createHmac(hash, prk).update(prev).update(info).update(Buffer.of(i)).digest();
    filled += prev.copy(out, filled);
  }
  return out;
}

/**
 * HKDF-Expand-Label(Secret, Label, Context, Length) = HKDF-Expand(Secret, HkdfLabel, Length), where
 * HkdfLabel = uint16 length ‖ opaque label<7..255> ("tls13 " + Label) ‖ opaque context<0..255>.
 */
export function hkdfExpandLabel(hash: HashName, secret: Uint8Array, label: string, context: Uint8Array, length: number): Buffer {
  const full = Buffer.from('tls13 ' + label, 'latin1');
  const info = Buffer.alloc(2 + 1 + full.length + 1 + context.length);
  info.writeUInt16BE(length, 0);
  info[2] = full.length;
  full.copy(info, 3);
  info[3 + full.length] = context.length;
  info.set(context, 4 + full.length);
  return hkdfExpand(hash, secret, info, length);
}

/** TLS 1.3 traffic key and IV of a traffic secret (RFC 8446 §7.3). */
export function tls13TrafficKeys(hash: HashName, secret: Uint8Array, keyLength: number): { key: Buffer; iv: Buffer } {
  const empty = new Uint8Array(0);
  return { key: hkdfExpandLabel(hash, secret, 'key', empty, keyLength), iv: hkdfExpandLabel(hash, secret, 'iv', empty, 12) };
}

/** The next application traffic secret after a KeyUpdate (RFC 8446 §7.2). */
export function tls13NextSecret(hash: HashName, secret: Uint8Array): Buffer {
  return hkdfExpandLabel(hash, secret, 'traffic upd', new Uint8Array(0), hashLength(hash));
}

/** P_hash(secret, seed) of RFC 5246 §5: HMAC(secret, A(i) ‖ seed) with A(0) = seed, A(i) = HMAC(secret, A(i-1)). */
function pHash(hash: HashName | 'md5' | 'sha1', secret: Uint8Array, seed: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  let a: Buffer = createHmac(hash, secret).update(seed).digest();
  let filled = 0;
  while (filled < length) {
    filled += createHmac(hash, secret).update(a).update(seed).digest().copy(out, filled);
    a = createHmac(hash, secret).update(a).digest();
  }
  return out;
}

/** PRF(secret, label, seed) = P_<hash>(secret, label ‖ seed) (TLS 1.2; the hash is the suite's PRF hash). */
export function tls12Prf(hash: HashName, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Buffer {
  return pHash(hash, secret, Buffer.concat([Buffer.from(label, 'latin1'), seed]), length);
}

/**
 * PRF of TLS 1.0 and 1.1 (RFC 2246 §5, RFC 4346 §5): P_MD5(S1, label ‖ seed) ⊕ P_SHA-1(S2, label ‖ seed),
 * S1 and S2 the first and second halves of the secret (sharing the middle byte when its length is odd).
 */
export function tls10Prf(secret: Uint8Array, label: string, seed: Uint8Array, length: number): Buffer {
  const half = Math.ceil(secret.length / 2);
  const labelSeed = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out = pHash('md5', secret.subarray(0, half), labelSeed, length);
  const sha = pHash('sha1', secret.subarray(secret.length - half), labelSeed, length);
  for (let i = 0; i < length; i++) out[i] = out[i]! ^ sha[i]!;
  return out;
}

/** The six parts of a TLS ≤ 1.2 key block; a part of length 0 (no MAC key, no IV) is null. */
export interface KeyBlock {
  clientMac: Buffer | null;
  serverMac: Buffer | null;
  clientKey: Buffer;
  serverKey: Buffer;
  clientIv: Buffer | null;
  serverIv: Buffer | null;
}

/**
 * The key block of a TLS ≤ 1.2 session (RFC 5246 §6.3, RFC 2246 §6.3): PRF(master_secret, "key
 * expansion", server_random ‖ client_random) cut into client_write_MAC_key ‖ server_write_MAC_key ‖
 * client_write_key ‖ server_write_key ‖ client_write_IV ‖ server_write_IV. AEAD suites have no MAC
 * keys and a fixed IV part; CBC suites have IVs only in TLS 1.0 (1.1 and 1.2 send each record's);
 * NULL suites have MAC keys alone. The PRF is TLS 1.2's over `prfHash`, or MD5 ⊕ SHA-1 for
 * `version` TLS 1.0 and 1.1.
 */
export function keyBlock(
  version: number,
  prfHash: HashName,
  masterSecret: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  lengths: { mac: number; key: number; iv: number },
): KeyBlock {
  const total = 2 * (lengths.mac + lengths.key + lengths.iv);
  const seed = Buffer.concat([serverRandom, clientRandom]);
  const block =
    version === TLS10 || version === TLS11
      ? tls10Prf(masterSecret, 'key expansion', seed, total)
      : tls12Prf(prfHash, masterSecret, 'key expansion', seed, total);
  let o = 0;
  const take = (n: number): Buffer => {
    const b = block.subarray(o, o + n);
    o += n;
    return b;
  };
  const part = (n: number): Buffer | null => (n > 0 ? take(n) : null);
  const clientMac = part(lengths.mac);
  const serverMac = part(lengths.mac);
  const clientKey = take(lengths.key);
  const serverKey = take(lengths.key);
  const clientIv = part(lengths.iv);
  const serverIv = part(lengths.iv);
  return { clientMac, serverMac, clientKey, serverKey, clientIv, serverIv };
}
