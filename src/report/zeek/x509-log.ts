/**
 * Stored certificates as Zeek's x509.log: each certificate once (as Zeek logs a known certificate),
 * when it was first seen, by its SHA-256 `fingerprint` (which ssl.log's chains list), with its
 * fields in Zeek's spelling (OpenSSL's algorithm and curve names), whether it was a chain's first
 * (`host_cert`) and whether a client sent it.
 */
import type { ZeekLogSpec, ZeekRecord, ZeekValue } from './zeek-log';

/**
 * Every certificate that a stored TLS session carried, with when it was first seen and how;
 * `where`: a condition on the sessions' `flows fl` (or '').
 */
export const zeekX509Sql = (where: string) => `WITH uses AS (
    SELECT l.sha256, l.position, 0 AS client, fl.first_ts FROM tls_sessions t
      JOIN certificate_chain_links l ON l.chain_id = t.server_chain JOIN flows fl ON fl.id = t.flow_id ${where}
    UNION ALL
    SELECT l.sha256, l.position, 1 AS client, fl.first_ts FROM tls_sessions t
      JOIN certificate_chain_links l ON l.chain_id = t.client_chain JOIN flows fl ON fl.id = t.flow_id ${where})
  SELECT MIN(u.first_ts) AS ts, c.sha256, c.info, c.der, MAX(u.position = 0) AS host_cert, MAX(u.client) AS client_cert
    FROM certificates c JOIN uses u ON u.sha256 = c.sha256 GROUP BY c.sha256 ORDER BY ts, c.sha256`;

export interface ZeekX509Row { ts: number; sha256: string; info: string; der: Buffer | null; host_cert: number; client_cert: number }

export const X509_LOG: ZeekLogSpec = { path: 'x509', fields: [
  ['ts', 'time'], ['fingerprint', 'string'], ['certificate.version', 'count'], ['certificate.serial', 'string'],
  ['certificate.subject', 'string'], ['certificate.issuer', 'string'], ['certificate.not_valid_before', 'time'],
  ['certificate.not_valid_after', 'time'], ['certificate.key_alg', 'string'], ['certificate.sig_alg', 'string'],
  ['certificate.key_type', 'string'], ['certificate.key_length', 'count'], ['certificate.exponent', 'string'],
  ['certificate.curve', 'string'], ['san.dns', 'vector[string]'], ['san.uri', 'vector[string]'], ['san.email', 'vector[string]'],
  ['san.ip', 'vector[addr]'], ['basic_constraints.ca', 'bool'], ['basic_constraints.path_len', 'count'],
  ['host_cert', 'bool'], ['client_cert', 'bool'],
] };

/** The stored certificate fields read here (CertificateInfo, as kept in `certificates.info`). */
interface StoredInfo {
  subject: string; issuer: string; serial: string; notBefore: string; notAfter: string; keyType: string; keyBits: number;
  curve: string | null; signatureAlgorithm: string; sanDns: string[]; sanIp: string[]; isCA: boolean;
}

/** OpenSSL's names, which Zeek logs: the public key's algorithm and type, and the named curve. */
const KEY_ALG: Record<string, string> = { rsa: 'rsaEncryption', ec: 'id-ecPublicKey', dsa: 'dsaEncryption', ed25519: 'ED25519', ed448: 'ED448' };
const KEY_TYPE: Record<string, string> = { rsa: 'rsa', ec: 'ecdsa', dsa: 'dsa' };
const CURVE: Record<string, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };

/** An ISO 8601 time as epoch seconds; undefined when it does not parse. */
function epoch(iso: string): number | undefined {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

/**
 * The X.509 version from the DER (v1 has no version field; the TBSCertificate's first element is
 * then the serial number); undefined when the DER is not at hand or not as expected.
 */
export function x509Version(der: Uint8Array | null): number | undefined {
  if (der === null || der.length < 12 || der[0] !== 0x30) return undefined;
  // Skips a tag and its length, returning the content's offset.
  const content = (at: number): number => {
    const len = der[at + 1]!;
    return at + 2 + (len & 0x80 ? len & 0x7f : 0);
  };
  const tbs = content(0);
  if (der[tbs] !== 0x30) return undefined;
  const first = content(tbs);
  if (der[first] !== 0xa0) return der[first] === 0x02 ? 1 : undefined;
  const int = content(first);
  if (der[int] !== 0x02 || der[int + 1] !== 1) return undefined;
  return der[int + 2]! + 1;
}

export function zeekX509Fields(r: ZeekX509Row): ZeekRecord {
  const c = JSON.parse(r.info) as StoredInfo;
  return new Map<string, ZeekValue>([
    ['ts', r.ts], ['fingerprint', r.sha256], ['certificate.version', x509Version(r.der)],
    ['certificate.serial', c.serial.toUpperCase()], ['certificate.subject', c.subject], ['certificate.issuer', c.issuer],
    ['certificate.not_valid_before', epoch(c.notBefore)], ['certificate.not_valid_after', epoch(c.notAfter)],
    ['certificate.key_alg', KEY_ALG[c.keyType]], ['certificate.sig_alg', c.signatureAlgorithm || undefined],
    ['certificate.key_type', KEY_TYPE[c.keyType]], ['certificate.key_length', c.keyBits > 0 ? c.keyBits : undefined],
    ['certificate.curve', c.curve !== null ? CURVE[c.curve] ?? c.curve : undefined],
    ['san.dns', c.sanDns.length > 0 ? c.sanDns : undefined], ['san.ip', c.sanIp.length > 0 ? c.sanIp : undefined],
    // The extension's presence is not kept, only whether it makes a CA: a leaf's is left unset.
    ['basic_constraints.ca', c.isCA ? true : undefined],
    ['host_cert', r.host_cert === 1], ['client_cert', r.client_cert === 1],
  ]);
}
