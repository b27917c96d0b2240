/**
 * The TLS ≤ 1.2 cipher suites whose records carry an HMAC, which planewatch can decrypt with a key log:
 * AES and 3DES in CBC mode (RFC 5246 §6.2.3.2; TLS 1.0 and 1.1 as RFC 2246 and RFC 4346 give them),
 * and the NULL suites, whose records are the plaintext and its HMAC (§6.2.3.1). Go's crypto/tls, which
 * Kubernetes components use, still offers the AES-CBC ones, so a control-plane connection may run on
 * them; older clients and test rigs bring TLS 1.0/1.1 and NULL. RC4 is left out: OpenSSL 3, and so
 * node, no longer has it.
 */
import type { HashName } from './key-schedule';

export type CbcCipher = 'aes-128-cbc' | 'aes-256-cbc' | 'des-ede3-cbc';
export type MacHash = 'md5' | 'sha1' | 'sha256' | 'sha384';

export interface MacSuite {
  id: number;
  /** The block cipher, or null for a NULL suite (no encryption, only the HMAC). */
  cipher: CbcCipher | null;
  /** Bytes of the cipher key (0 for NULL). */
  keyLength: number;
  /** Bytes of a cipher block, which is also the IV length (0 for NULL). */
  blockLength: number;
  mac: MacHash;
  /** Bytes of the HMAC (and of its key). */
  macLength: number;
  /** Hash of the TLS 1.2 PRF: SHA-384 for the *_SHA384 suites, SHA-256 otherwise (TLS 1.0/1.1 use MD5 ⊕ SHA-1). */
  prfHash: HashName;
}

const MAC_LENGTH: Record<MacHash, number> = { md5: 16, sha1: 20, sha256: 32, sha384: 48 };

function suite(id: number, cipher: CbcCipher | null, mac: MacHash): MacSuite {
  const keyLength = cipher === null ? 0 : cipher === 'aes-128-cbc' ? 16 : cipher === 'aes-256-cbc' ? 32 : 24;
  const blockLength = cipher === null ? 0 : cipher === 'des-ede3-cbc' ? 8 : 16;
  return { id, cipher, keyLength, blockLength, mac, macLength: MAC_LENGTH[mac], prfHash: mac === 'sha384' ? 'sha384' : 'sha256' };
}

export const MAC_SUITES: readonly MacSuite[] = [
  suite(0x0001, null, 'md5'), // TLS_RSA_WITH_NULL_MD5
  suite(0x0002, null, 'sha1'), // TLS_RSA_WITH_NULL_SHA
  suite(0x000a, 'des-ede3-cbc', 'sha1'), // TLS_RSA_WITH_3DES_EDE_CBC_SHA
  suite(0x0016, 'des-ede3-cbc', 'sha1'), // TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA
  suite(0x002f, 'aes-128-cbc', 'sha1'), // TLS_RSA_WITH_AES_128_CBC_SHA
  suite(0x0032, 'aes-128-cbc', 'sha1'), // TLS_DHE_DSS_WITH_AES_128_CBC_SHA
  suite(0x0033, 'aes-128-cbc', 'sha1'), // TLS_DHE_RSA_WITH_AES_128_CBC_SHA
  suite(0x0035, 'aes-256-cbc', 'sha1'), // TLS_RSA_WITH_AES_256_CBC_SHA
  suite(0x0038, 'aes-256-cbc', 'sha1'), // TLS_DHE_DSS_WITH_AES_256_CBC_SHA
  suite(0x0039, 'aes-256-cbc', 'sha1'), // TLS_DHE_RSA_WITH_AES_256_CBC_SHA
  suite(0x003b, null, 'sha256'), // TLS_RSA_WITH_NULL_SHA256
  suite(0x003c, 'aes-128-cbc', 'sha256'), // TLS_RSA_WITH_AES_128_CBC_SHA256
  suite(0x003d, 'aes-256-cbc', 'sha256'), // TLS_RSA_WITH_AES_256_CBC_SHA256
  suite(0x0067, 'aes-128-cbc', 'sha256'), // TLS_DHE_RSA_WITH_AES_128_CBC_SHA256
  suite(0x006b, 'aes-256-cbc', 'sha256'), // TLS_DHE_RSA_WITH_AES_256_CBC_SHA256
  suite(0xc006, null, 'sha1'), // TLS_ECDHE_ECDSA_WITH_NULL_SHA
  suite(0xc008, 'des-ede3-cbc', 'sha1'), // TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA
  suite(0xc009, 'aes-128-cbc', 'sha1'), // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
  suite(0xc00a, 'aes-256-cbc', 'sha1'), // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
  suite(0xc010, null, 'sha1'), // TLS_ECDHE_RSA_WITH_NULL_SHA
  suite(0xc012, 'des-ede3-cbc', 'sha1'), // TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA
  suite(0xc013, 'aes-128-cbc', 'sha1'), // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
  suite(0xc014, 'aes-256-cbc', 'sha1'), // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
  suite(0xc023, 'aes-128-cbc', 'sha256'), // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
  suite(0xc024, 'aes-256-cbc', 'sha384'), // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384
  suite(0xc027, 'aes-128-cbc', 'sha256'), // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
  suite(0xc028, 'aes-256-cbc', 'sha384'), // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384
];

/** The decryptable HMAC suite with this code point, or null. */
export function macSuite(id: number): MacSuite | null {
  for (const s of MAC_SUITES) if (s.id === id) return s;
  return null;
}
