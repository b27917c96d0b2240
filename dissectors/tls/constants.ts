import type { TlsVersionName } from '../../src/model/records';

/** TLS record content types (RFC 8446 §5.1, RFC 6520 for heartbeat). */
export const CT_CHANGE_CIPHER_SPEC = 20;
export const CT_ALERT = 21;
export const CT_HANDSHAKE = 22;
export const CT_APPLICATION_DATA = 23;
export const CT_HEARTBEAT = 24;

/** Handshake message types. */
export const HS_CLIENT_HELLO = 1;
export const HS_SERVER_HELLO = 2;
export const HS_ENCRYPTED_EXTENSIONS = 8;
export const HS_NEW_SESSION_TICKET = 4;
export const HS_CERTIFICATE = 11;
export const HS_SERVER_KEY_EXCHANGE = 12;
export const HS_CERTIFICATE_REQUEST = 13;
export const HS_SERVER_HELLO_DONE = 14;
export const HS_FINISHED = 20;
export const HS_KEY_UPDATE = 24;

/** Extension code points used by the parser. */
export const EXT_SERVER_NAME = 0x0000;
export const EXT_SUPPORTED_GROUPS = 0x000a;
export const EXT_EC_POINT_FORMATS = 0x000b;
export const EXT_SIGNATURE_ALGORITHMS = 0x000d;
export const EXT_ALPN = 0x0010;
/** encrypt_then_mac (RFC 7366): CBC records are MACed after encryption. */
export const EXT_ENCRYPT_THEN_MAC = 0x0016;
export const EXT_SESSION_TICKET = 0x0023;
export const EXT_PRE_SHARED_KEY = 0x0029;
export const EXT_SUPPORTED_VERSIONS = 0x002b;
export const EXT_ENCRYPTED_CLIENT_HELLO = 0xfe0d;

/** Version numbers on the wire of TLS 1.0, 1.1 and 1.2. */
export const TLS10 = 0x0301;
export const TLS11 = 0x0302;
export const TLS12 = 0x0303;

/** Largest record body allowed: 2^14 plus the 2048 bytes of expansion TLS ≤ 1.2 permits. */
export const MAX_RECORD_LENGTH = 16384 + 2048;

/**
 * GREASE values (RFC 8701): 0x0a0a, 0x1a1a … 0xfafa. Both bytes equal and the low nibble 0xa.
 * Fingerprints drop them because clients randomise them per connection.
 */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

/** Name of a protocol version number, null when it is not SSL 3.0 to TLS 1.3. */
export function versionName(v: number): TlsVersionName | null {
  switch (v) {
    case 0x0300:
      return 'ssl3';
    case 0x0301:
      return '1.0';
    case 0x0302:
      return '1.1';
    case 0x0303:
      return '1.2';
    case 0x0304:
      return '1.3';
    default:
      return null;
  }
}

/** HelloRetryRequest is a ServerHello whose random is SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3). */
export const HRR_RANDOM = Uint8Array.from([
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2,
  0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
]);

/** Alert descriptions (RFC 8446 §6, RFC 5246 §7.2). */
const ALERT_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [0, 'close_notify'],
  [10, 'unexpected_message'],
  [20, 'bad_record_mac'],
  [21, 'decryption_failed'],
  [22, 'record_overflow'],
  [30, 'decompression_failure'],
  [40, 'handshake_failure'],
  [41, 'no_certificate'],
  [42, 'bad_certificate'],
  [43, 'unsupported_certificate'],
  [44, 'certificate_revoked'],
  [45, 'certificate_expired'],
  [46, 'certificate_unknown'],
  [47, 'illegal_parameter'],
  [48, 'unknown_ca'],
  [49, 'access_denied'],
  [50, 'decode_error'],
  [51, 'decrypt_error'],
  [60, 'export_restriction'],
  [70, 'protocol_version'],
  [71, 'insufficient_security'],
  [80, 'internal_error'],
  [86, 'inappropriate_fallback'],
  [90, 'user_canceled'],
  [100, 'no_renegotiation'],
  [109, 'missing_extension'],
  [110, 'unsupported_extension'],
  [111, 'certificate_unobtainable'],
  [112, 'unrecognized_name'],
  [113, 'bad_certificate_status_response'],
  [114, 'bad_certificate_hash_value'],
  [115, 'unknown_psk_identity'],
  [116, 'certificate_required'],
  [120, 'no_application_protocol'],
  [121, 'ech_required'],
]);

export function alertName(code: number): string {
  return ALERT_NAMES.get(code) ?? `unknown_${code}`;
}
