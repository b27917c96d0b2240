/**
 * The decryption state of one TLS connection whose secrets are in a key log: per direction the
 * current record protection, the ciphertext of the record being received, and (TLS 1.3) the
 * application traffic secret the direction switches to after its Finished.
 *
 * Records are buffered here only while a connection is being decrypted, one record per direction,
 * capped at MAX_DECRYPT_RECORD_BYTES. The TLS dissector decides which records go through it.
 */
import type { AeadSuite } from './aead-suites';
import { CbcRecordCipher } from './cbc-record-cipher';
import type { MacSuite } from './mac-suites';
import type { SessionSecrets } from './key-log';
import { keyBlock, tls13NextSecret, tls13TrafficKeys } from './key-schedule';
import { TLS10, TLS12 } from '../constants';
import { NullRecordCipher } from './null-record-cipher';
import { RecordCipher } from './record-cipher';

/** What opens a direction's protected records: an AEAD, or (TLS ≤ 1.2) a CBC or NULL record cipher. */
interface RecordOpener {
  open(rec: Uint8Array, bodyLen: number): Uint8Array | null;
  /** Sequence number of the next record. */
  seq: number;
}

/**
 * Largest protected record body buffered: 2^14 + 2048, what TLS 1.2 allows a ciphertext (RFC 5246
 * §6.2.3; a CBC record adds an IV, a MAC and up to 256 bytes of padding). TLS 1.3 records are at most
 * 2^14 + 256 (RFC 8446 §5.2).
 */
export const MAX_DECRYPT_RECORD_BYTES = 16384 + 2048;

class DecryptDirection {
  cipher: RecordOpener | null;
  /** TLS 1.3: the application traffic secret in use now (for KeyUpdate), once Finished went by. */
  appSecret: Uint8Array | null;
  /**
   * TLS 1.3: reads the direction's first application traffic secret from the key log when Finished
   * comes. It is read then, not at ServerHello: a client logs it only after the server's Finished, and
   * a key log followed during a live capture may not hold it earlier.
   */
  readonly loggedAppSecret: (() => Uint8Array | null) | null;
  /** Header and body of the record being received; allocated with the first protected record. */
  rec: Uint8Array | null;
  recLen: number;
  bodyLen: number;
  /** The record does not fit the buffer: it fails when complete. */
  overflow: boolean;

  constructor(cipher: RecordOpener | null, loggedAppSecret: (() => Uint8Array | null) | null) {
    this.cipher = cipher;
    this.appSecret = null;
    this.loggedAppSecret = loggedAppSecret;
    this.rec = null;
    this.recLen = 0;
    this.bodyLen = 0;
    this.overflow = false;
  }
}

export class TlsDecryptor {
  /** The AEAD suite; null for a TLS 1.2 CBC suite. */
  private readonly suite: AeadSuite | null;
  readonly tls13: boolean;
  private readonly dirs: [DecryptDirection, DecryptDirection];
  /** Content type of the last opened record (TLS 1.3: the inner type; TLS 1.2: the record type). */
  innerType: number;

  private constructor(suite: AeadSuite | null, client: DecryptDirection, server: DecryptDirection) {
    this.suite = suite;
    this.tls13 = suite?.tls13 ?? false;
    this.dirs = [client, server];
    this.innerType = 0;
  }

  /**
   * The decryptor of a session, or null when the key log lacks what the first protected records
   * need: TLS 1.3 the two handshake traffic secrets, TLS 1.2 the master secret.
   */
  static create(suite: AeadSuite, secrets: SessionSecrets, clientRandom: Uint8Array, serverRandom: Uint8Array): TlsDecryptor | null {
    if (suite.tls13) {
      if (secrets.clientHandshake === null || secrets.serverHandshake === null) return null;
      const c = tls13TrafficKeys(suite.hash, secrets.clientHandshake, suite.keyLength);
      const s = tls13TrafficKeys(suite.hash, secrets.serverHandshake, suite.keyLength);
      return new TlsDecryptor(
        suite,
        new DecryptDirection(new RecordCipher(suite, c.key, c.iv), () => secrets.clientTraffic0),
        new DecryptDirection(new RecordCipher(suite, s.key, s.iv), () => secrets.serverTraffic0),
      );
    }
    if (secrets.masterSecret === null) return null;
    const kb = keyBlock(TLS12, suite.hash, secrets.masterSecret, clientRandom, serverRandom, { mac: 0, key: suite.keyLength, iv: suite.fixedIvLength });
    return new TlsDecryptor(
      suite,
      new DecryptDirection(new RecordCipher(suite, kb.clientKey, kb.clientIv!), null),
      new DecryptDirection(new RecordCipher(suite, kb.serverKey, kb.serverIv!), null),
    );
  }

  /**
   * The decryptor of a TLS 1.0, 1.1 or 1.2 session (`version`, the ServerHello's) on a CBC or NULL
   * suite, or null without the master secret. `encryptThenMac`: the ServerHello carried the
   * encrypt_then_mac extension (RFC 7366; it applies to block ciphers only).
   */
  static createMac(
    suite: MacSuite,
    version: number,
    secrets: SessionSecrets,
    clientRandom: Uint8Array,
    serverRandom: Uint8Array,
    encryptThenMac: boolean,
  ): TlsDecryptor | null {
    if (secrets.masterSecret === null) return null;
    // TLS 1.0 derives the IV that starts each side's CBC chain; later versions send each record's.
    const kb = keyBlock(version, suite.prfHash, secrets.masterSecret, clientRandom, serverRandom, {
      mac: suite.macLength,
      key: suite.keyLength,
      iv: version === TLS10 ? suite.blockLength : 0,
    });
    const opener = (key: Buffer, mac: Buffer | null, iv: Buffer | null): RecordOpener =>
      suite.cipher === null ? new NullRecordCipher(suite, mac!) : new CbcRecordCipher(suite, key, mac!, encryptThenMac, iv);
    return new TlsDecryptor(
      null,
      new DecryptDirection(opener(kb.clientKey, kb.clientMac, kb.clientIv), null),
      new DecryptDirection(opener(kb.serverKey, kb.serverMac, kb.serverIv), null),
    );
  }

  /** A protected record starts: its header is kept (it is the additional data). */
  begin(dir: 0 | 1, type: number, major: number, minor: number, len: number): void {
    const d = this.dirs[dir];
    d.rec ??= new Uint8Array(5 + MAX_DECRYPT_RECORD_BYTES);
    const r = d.rec;
    r[0] = type;
    r[1] = major;
    r[2] = minor;
    r[3] = len >> 8;
    r[4] = len & 0xff;
    d.recLen = 5;
    d.bodyLen = len;
    d.overflow = len > MAX_DECRYPT_RECORD_BYTES;
  }

  append(dir: 0 | 1, data: Uint8Array, start: number, end: number): void {
    const d = this.dirs[dir];
    if (d.overflow || d.rec === null) return;
    d.rec.set(data.subarray(start, end), d.recLen);
    d.recLen += end - start;
  }

  /**
   * The record is complete: its plaintext (TLS 1.3: without inner type and padding; the type is in
   * `innerType`), or null when it cannot be opened (wrong key, too long, no key for this phase).
   */
  open(dir: 0 | 1): Uint8Array | null {
    const d = this.dirs[dir];
    const c = d.cipher;
    if (c === null || d.rec === null || d.overflow || d.recLen !== 5 + d.bodyLen) return null;
    const pt = c.open(d.rec, d.bodyLen);
    if (pt === null) return null;
    if (!this.tls13) {
      this.innerType = d.rec[0]!;
      return pt;
    }
    // TLSInnerPlaintext = content ‖ type ‖ zeros: the last non-zero byte is the type (RFC 8446 §5.2).
    let i = pt.length - 1;
    while (i >= 0 && pt[i] === 0) i--;
    if (i < 0) return null;
    this.innerType = pt[i]!;
    return pt.subarray(0, i);
  }

  /** TLS 1.3: after its Finished, a direction uses its application traffic secret. False when it was not logged. */
  toApplication(dir: 0 | 1): boolean {
    const d = this.dirs[dir];
    d.appSecret ??= d.loggedAppSecret?.() ?? null;
    if (d.appSecret === null) {
      d.cipher = null;
      return false;
    }
    const suite = this.suite!;
    const k = tls13TrafficKeys(suite.hash, d.appSecret, suite.keyLength);
    d.cipher = new RecordCipher(suite, k.key, k.iv);
    return true;
  }

  /** TLS 1.3: the key log holds the secret `dir` switches to at its Finished (or it is in use). */
  hasApplicationSecret(dir: 0 | 1): boolean {
    const d = this.dirs[dir];
    return d.appSecret !== null || (d.loggedAppSecret?.() ?? null) !== null;
  }

  /** TLS 1.3 KeyUpdate from `dir`: its next records use the next generation of its traffic secret. */
  keyUpdate(dir: 0 | 1): boolean {
    const d = this.dirs[dir];
    if (d.appSecret === null) return false;
    d.appSecret = tls13NextSecret(this.suite!.hash, d.appSecret);
    return this.toApplication(dir);
  }

  /**
   * `n` records of `dir` went by unopened (decryption started late): the next one is number n. False
   * when the direction cannot go on from there: TLS 1.0 CBC chains each record's IV to the record
   * before, whose ciphertext is gone.
   */
  skipRecords(dir: 0 | 1, n: number): boolean {
    const c = this.dirs[dir].cipher;
    if (c === null || n === 0) return true;
    if (c instanceof CbcRecordCipher && c.implicitIv) return false;
    c.seq += n;
    return true;
  }

  /** Frees the record buffer of a direction that is no longer decrypted. */
  release(dir: 0 | 1): void {
    const d = this.dirs[dir];
    d.rec = null;
    d.cipher = null;
  }
}
