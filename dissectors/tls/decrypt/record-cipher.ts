/**
 * Opens the AEAD-protected records of one direction of a TLS connection.
 *
 * TLS 1.3 (RFC 8446 §5.2–5.3): nonce = IV XOR the 64-bit record sequence number (left-padded), the
 * additional data is the 5-byte record header. TLS 1.2 (RFC 5246 §6.2.3.3): additional data is
 * seq_num ‖ type ‖ version ‖ plaintext length; AES-GCM takes the 4-byte salt ‖ an 8-byte explicit
 * nonce carried at the front of the record (RFC 5288), ChaCha20-Poly1305 takes IV XOR seq (RFC 7905).
 * Runs only for connections being decrypted; node:crypto needs one decipher object per record.
 */
import { createDecipheriv, type DecipherGCM } from 'node:crypto';
import type { AeadSuite } from './aead-suites';

export const TAG_LENGTH = 16;
const EXPLICIT_NONCE_LENGTH = 8;
const TWO_32 = 0x1_0000_0000;

export class RecordCipher {
  readonly suite: AeadSuite;
  private readonly key: Buffer;
  private readonly iv: Buffer;
  /** Next record's sequence number (a double: exact far beyond any capture's record count). */
  seq: number;
  private readonly nonce: Buffer;
  private readonly aad12: Buffer;

  constructor(suite: AeadSuite, key: Uint8Array, iv: Uint8Array) {
    this.suite = suite;
    this.key = Buffer.from(key);
    this.iv = Buffer.from(iv);
    this.seq = 0;
    this.nonce = Buffer.alloc(12);
    this.aad12 = Buffer.alloc(13);
  }

  /**
   * Decrypts the record `rec[0..5+bodyLen)` (header then body). Returns the plaintext (TLS 1.3:
   * still with its inner content type and padding), or null when authentication fails.
   */
  open(rec: Uint8Array, bodyLen: number): Buffer | null {
    const s = this.suite;
    const seq = this.seq++;
    let ctStart = 5;
    const nonce = this.nonce;
    if (s.explicitNonce) {
      if (bodyLen < EXPLICIT_NONCE_LENGTH + TAG_LENGTH) return null;
      this.iv.copy(nonce, 0, 0, 4);
      nonce.set(rec.subarray(5, 5 + EXPLICIT_NONCE_LENGTH), 4);
      ctStart += EXPLICIT_NONCE_LENGTH;
    } else {
      if (bodyLen < TAG_LENGTH) return null;
      this.iv.copy(nonce);
      const hi = Math.floor(seq / TWO_32);
      const lo = seq >>> 0;
      nonce.writeUInt32BE((nonce.readUInt32BE(4) ^ hi) >>> 0, 4);
      nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ lo) >>> 0, 8);
    }
    const ctEnd = 5 + bodyLen - TAG_LENGTH;
    let aad: Uint8Array;
    if (s.tls13) aad = rec.subarray(0, 5);
    else {
      const a = this.aad12;
      a.writeUInt32BE(Math.floor(seq / TWO_32), 0);
      a.writeUInt32BE(seq >>> 0, 4);
      a[8] = rec[0]!;
      a[9] = rec[1]!;
      a[10] = rec[2]!;
      a.writeUInt16BE(ctEnd - ctStart, 11);
      aad = a;
    }
    try {
      const d = createDecipheriv(s.aead, this.key, nonce, { authTagLength: TAG_LENGTH } as never) as unknown as DecipherGCM;
      d.setAAD(aad);
      d.setAuthTag(rec.subarray(ctEnd, ctEnd + TAG_LENGTH));
      const head = d.update(rec.subarray(ctStart, ctEnd));
      const tail = d.final();
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch {
      return null;
    }
  }
}
