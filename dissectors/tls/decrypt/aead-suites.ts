/**
 * Cipher suites planewatch can decrypt with a key log: the TLS 1.3 suites and the TLS 1.2 AEAD
 * suites (AES-GCM, ChaCha20-Poly1305). The CBC and NULL suites of TLS ≤ 1.2 are in mac-suites.ts.
 */
import type { HashName } from './key-schedule';

export type AeadAlgorithm = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';

export interface AeadSuite {
  id: number;
  aead: AeadAlgorithm;
  keyLength: number;
  /** Hash of the key schedule (TLS 1.3) or of the PRF (TLS 1.2). */
  hash: HashName;
  tls13: boolean;
  /**
   * TLS 1.2 only: bytes of write IV from the key block — 4 (the GCM salt; the other 8 nonce bytes are
   * sent explicitly in each record, RFC 5288 §3) or 12 (ChaCha20, nonce = IV XOR sequence, RFC 7905).
   */
  fixedIvLength: number;
  explicitNonce: boolean;
}

function tls13(id: number, aead: AeadAlgorithm, keyLength: number, hash: HashName): AeadSuite {
  return { id, aead, keyLength, hash, tls13: true, fixedIvLength: 12, explicitNonce: false };
}

function gcm12(id: number, keyLength: number, hash: HashName): AeadSuite {
  return { id, aead: keyLength === 16 ? 'aes-128-gcm' : 'aes-256-gcm', keyLength, hash, tls13: false, fixedIvLength: 4, explicitNonce: true };
}

function chacha12(id: number): AeadSuite {
  return { id, aead: 'chacha20-poly1305', keyLength: 32, hash: 'sha256', tls13: false, fixedIvLength: 12, explicitNonce: false };
}

const SUITES: readonly AeadSuite[] = [
  tls13(0x1301, 'aes-128-gcm', 16, 'sha256'), // TLS_AES_128_GCM_SHA256
  tls13(0x1302, 'aes-256-gcm', 32, 'sha384'), // TLS_AES_256_GCM_SHA384
  tls13(0x1303, 'chacha20-poly1305', 32, 'sha256'), // TLS_CHACHA20_POLY1305_SHA256
  gcm12(0x009c, 16, 'sha256'), // TLS_RSA_WITH_AES_128_GCM_SHA256
  gcm12(0x009d, 32, 'sha384'), // TLS_RSA_WITH_AES_256_GCM_SHA384
  gcm12(0x009e, 16, 'sha256'), // TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
  gcm12(0x009f, 32, 'sha384'), // TLS_DHE_RSA_WITH_AES_256_GCM_SHA384
  gcm12(0xc02b, 16, 'sha256'), // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
  gcm12(0xc02c, 32, 'sha384'), // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
  gcm12(0xc02f, 16, 'sha256'), // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
  gcm12(0xc030, 32, 'sha384'), // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
  chacha12(0xcca8), // TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
  chacha12(0xcca9), // TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
  chacha12(0xccaa), // TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256
];

/** The decryptable suite with this code point (for the given version family), or null. */
export function aeadSuite(id: number, tls13Negotiated: boolean): AeadSuite | null {
  for (const s of SUITES) if (s.id === id && s.tls13 === tls13Negotiated) return s;
  return null;
}
