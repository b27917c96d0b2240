/**
 * TLS 1.2 CBC cipher suites planewatch can decrypt with a key log (RFC 5246 §6.2.3.2): AES and
 * 3DES in CBC mode with an HMAC. Go's crypto/tls, which Kubernetes components use, still offers the
 * AES-CBC ones, so a control-plane connection may run on them.
 */
import type { HashName } from './key-schedule';

export type CbcCipher = 'aes-128-cbc' | 'aes-256-cbc' | 'des-ede3-cbc';
export type MacHash = 'sha1' | 'sha256' | 'sha384';

export interface CbcSuite {
  id: number;
  cipher: CbcCipher;
  keyLength: number;
  blockLength: number;
  mac: MacHash;
  /** Bytes of the HMAC (and of its key). */
  macLength: number;
  /** Hash of the TLS 1.2 PRF: SHA-384 for the *_SHA384 suites, SHA-256 otherwise. */
  prfHash: HashName;
}

const MAC_LENGTH: Record<MacHash, number> = { sha1: 20, sha256: 32, sha384: 48 };

function suite(id: number, cipher: CbcCipher, mac: MacHash): CbcSuite {
  const keyLength = cipher === 'aes-128-cbc' ? 16 : cipher === 'aes-256-cbc' ? 32 : 24;
  const blockLength = cipher === 'des-ede3-cbc' ? 8 : 16;
  return { id, cipher, keyLength, blockLength, mac, macLength: MAC_LENGTH[mac], prfHash: mac === 'sha384' ? 'sha384' : 'sha256' };
}

export const CBC_SUITES: readonly CbcSuite[] = [
  suite(0x000a, 'des-ede3-cbc', 'sha1'), // TLS_RSA_WITH_3DES_EDE_CBC_SHA
  suite(0x002f, 'aes-128-cbc', 'sha1'), // TLS_RSA_WITH_AES_128_CBC_SHA
  suite(0x0033, 'aes-128-cbc', 'sha1'), // TLS_DHE_RSA_WITH_AES_128_CBC_SHA
  suite(0x0035, 'aes-256-cbc', 'sha1'), // TLS_RSA_WITH_AES_256_CBC_SHA
  suite(0x0039, 'aes-256-cbc', 'sha1'), // TLS_DHE_RSA_WITH_AES_256_CBC_SHA
  suite(0x003c, 'aes-128-cbc', 'sha256'), // TLS_RSA_WITH_AES_128_CBC_SHA256
  suite(0x003d, 'aes-256-cbc', 'sha256'), // TLS_RSA_WITH_AES_256_CBC_SHA256
  suite(0x0067, 'aes-128-cbc', 'sha256'), // TLS_DHE_RSA_WITH_AES_128_CBC_SHA256
  suite(0x006b, 'aes-256-cbc', 'sha256'), // TLS_DHE_RSA_WITH_AES_256_CBC_SHA256
  suite(0xc008, 'des-ede3-cbc', 'sha1'), // TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA
  suite(0xc009, 'aes-128-cbc', 'sha1'), // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
  suite(0xc00a, 'aes-256-cbc', 'sha1'), // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
  suite(0xc012, 'des-ede3-cbc', 'sha1'), // TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA
  suite(0xc013, 'aes-128-cbc', 'sha1'), // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
  suite(0xc014, 'aes-256-cbc', 'sha1'), // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
  suite(0xc023, 'aes-128-cbc', 'sha256'), // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
  suite(0xc024, 'aes-256-cbc', 'sha384'), // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384
  suite(0xc027, 'aes-128-cbc', 'sha256'), // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
  suite(0xc028, 'aes-256-cbc', 'sha384'), // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384
];

/** The decryptable CBC suite with this code point, or null. */
export function cbcSuite(id: number): CbcSuite | null {
  for (const s of CBC_SUITES) if (s.id === id) return s;
  return null;
}
