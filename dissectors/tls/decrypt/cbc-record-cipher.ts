/**
 * Opens the CBC-protected records of one direction of a TLS 1.0, 1.1 or 1.2 connection (RFC 5246
 * §6.2.3.2, RFC 4346 §6.2.3.2, RFC 2246 §6.2.3.2).
 *
 * In TLS 1.1 and 1.2 a record body is the explicit IV (one block), then the ciphertext. TLS 1.0 sends
 * no IV: the first record's comes from the key block, and each later record's is the last ciphertext
 * block of the one before (so a direction can only be opened from its first protected record on).
 * Two orders exist:
 * - MAC-then-encrypt (the default, and the only one Go implements): the ciphertext holds
 *   plaintext ‖ HMAC ‖ padding ‖ padding length; the HMAC covers seq_num ‖ type ‖ version ‖
 *   plaintext length ‖ plaintext;
 * - encrypt-then-MAC (RFC 7366, when the ServerHello carries its extension, as OpenSSL negotiates):
 *   the HMAC follows the ciphertext and covers seq_num ‖ type ‖ version ‖ length ‖ IV ‖ ciphertext.
 * Either way the HMAC is checked, so a wrong key fails like an AEAD tag. Timing does not matter
 * here: this reads a capture, it answers no peer.
 */
import { createDecipheriv, timingSafeEqual } from 'node:crypto';
import type { MacSuite } from './mac-suites';
import { RecordMac } from './record-mac';

export class CbcRecordCipher {
  /** Next record's sequence number. */
  seq = 0;
  private readonly key: Buffer;
  private readonly mac: RecordMac;
  /** TLS 1.0: the IV of the next record (the last ciphertext block so far); null when records carry theirs. */
  private chainIv: Buffer | null;

  constructor(
    private readonly suite: MacSuite,
    key: Uint8Array,
    macKey: Uint8Array,
    private readonly encryptThenMac: boolean,
    implicitIv: Uint8Array | null = null,
  ) {
    this.key = Buffer.from(key);
    this.mac = new RecordMac(suite.mac, Buffer.from(macKey));
    this.chainIv = implicitIv === null ? null : Buffer.from(implicitIv);
  }

  /** TLS 1.0: the records' IVs are chained, not sent (each record needs the one before). */
  get implicitIv(): boolean {
    return this.chainIv !== null;
  }

  /** Decrypts the record `rec[0..5+bodyLen)`; its plaintext, or null when it does not authenticate. */
  open(rec: Uint8Array, bodyLen: number): Buffer | null {
    const seq = this.seq++;
    const { blockLength: bl, macLength: ml } = this.suite;
    const body = rec.subarray(5, 5 + bodyLen);
    // Bytes of IV at the front of the body: a block, or none when it is chained (TLS 1.0).
    const ivLen = this.chainIv === null ? bl : 0;
    if (this.encryptThenMac) {
      const encLen = bodyLen - ml;
      if (encLen < ivLen + bl || (encLen - ivLen) % bl !== 0) return null;
      const mac = this.mac.of(seq, rec, encLen, body.subarray(0, encLen));
      if (!timingSafeEqual(mac, body.subarray(encLen, bodyLen))) return null;
      const padded = this.decrypt(body.subarray(0, ivLen), body.subarray(ivLen, encLen));
      if (padded === null) return null;
      const plainLen = unpaddedLength(padded);
      return plainLen < 0 ? null : padded.subarray(0, plainLen);
    }
    if (bodyLen < ivLen + bl || (bodyLen - ivLen) % bl !== 0) return null;
    const padded = this.decrypt(body.subarray(0, ivLen), body.subarray(ivLen));
    if (padded === null) return null;
    const contentLen = unpaddedLength(padded);
    if (contentLen < ml) return null;
    const plainLen = contentLen - ml;
    const plain = padded.subarray(0, plainLen);
    const mac = this.mac.of(seq, rec, plainLen, plain);
    return timingSafeEqual(mac, padded.subarray(plainLen, contentLen)) ? plain : null;
  }

  /** Decrypts with `iv`, or (TLS 1.0, `iv` empty) with the chained IV, which moves on to this ciphertext's last block. */
  private decrypt(iv: Uint8Array, ciphertext: Uint8Array): Buffer | null {
    let useIv = iv;
    if (this.chainIv !== null) {
      useIv = Buffer.from(this.chainIv);
      this.chainIv.set(ciphertext.subarray(ciphertext.length - this.suite.blockLength));
    }
    try {
      const d = createDecipheriv(this.suite.cipher!, this.key, useIv);
      d.setAutoPadding(false);
      const head = d.update(ciphertext);
      const tail = d.final();
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch {
      return null;
    }
  }

}

/** Length before the CBC padding (every padding byte holds the padding length), or -1 if malformed. */
function unpaddedLength(b: Buffer): number {
  if (b.length === 0) return -1;
  const pad = b[b.length - 1]!;
  if (pad + 1 > b.length) return -1;
  for (let i = b.length - 1 - pad; i < b.length - 1; i++) if (b[i] !== pad) return -1;
  return b.length - 1 - pad;
}
