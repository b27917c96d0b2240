/**
 * Opens the records of one direction of a TLS ≤ 1.2 connection on a NULL suite (RFC 5246 §6.2.3.1
 * with the null stream cipher): a record body is the plaintext followed by its HMAC, which covers
 * seq_num ‖ type ‖ version ‖ length ‖ plaintext. The plaintext is on the wire; the key log is what
 * makes the MAC checkable, so a record is believed only when it authenticates, as with a cipher.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { MacSuite } from './mac-suites';

const TWO_32 = 0x1_0000_0000;

export class NullRecordCipher {
  /** Next record's sequence number. */
  seq = 0;
  private readonly macKey: Buffer;
  private readonly macHeader = Buffer.alloc(13);

  constructor(
    private readonly suite: MacSuite,
    macKey: Uint8Array,
  ) {
    this.macKey = Buffer.from(macKey);
  }

  /** The plaintext of the record `rec[0..5+bodyLen)`, or null when its HMAC does not match. */
  open(rec: Uint8Array, bodyLen: number): Uint8Array | null {
    const seq = this.seq++;
    const ml = this.suite.macLength;
    if (bodyLen < ml) return null;
    const plainLen = bodyLen - ml;
    const plain = rec.subarray(5, 5 + plainLen);
    const h = this.macHeader;
    h.writeUInt32BE(Math.floor(seq / TWO_32), 0);
    h.writeUInt32BE(seq >>> 0, 4);
    h[8] = rec[0]!;
    h[9] = rec[1]!;
    h[10] = rec[2]!;
    h.writeUInt16BE(plainLen, 11);
    const mac = createHmac(this.suite.mac, this.macKey).update(h).update(plain).digest();
    return timingSafeEqual(mac, rec.subarray(5 + plainLen, 5 + bodyLen)) ? plain : null;
  }
}
