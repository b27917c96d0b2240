/**
 * Opens the records of one direction of a TLS ≤ 1.2 connection on a NULL suite (RFC 5246 §6.2.3.1
 * with the null stream cipher): a record body is the plaintext followed by its HMAC, which covers
 * seq_num ‖ type ‖ version ‖ length ‖ plaintext. The plaintext is on the wire; the key log is what
 * makes the MAC checkable, so a record is believed only when it authenticates, as with a cipher.
 */
import { timingSafeEqual } from 'node:crypto';
import type { MacSuite } from './mac-suites';
import { RecordMac } from './record-mac';

export class NullRecordCipher {
  /** Next record's sequence number. */
  seq = 0;
  private readonly macLength: number;
  private readonly mac: RecordMac;

  constructor(suite: MacSuite, macKey: Uint8Array) {
    this.macLength = suite.macLength;
    this.mac = new RecordMac(suite.mac, Buffer.from(macKey));
  }

  /** The plaintext of the record `rec[0..5+bodyLen)`, or null when its HMAC does not match. */
  open(rec: Uint8Array, bodyLen: number): Uint8Array | null {
    const seq = this.seq++;
    const ml = this.macLength;
    if (bodyLen < ml) return null;
    const plainLen = bodyLen - ml;
    const plain = rec.subarray(5, 5 + plainLen);
    const mac = this.mac.of(seq, rec, plainLen, plain);
    return timingSafeEqual(mac, rec.subarray(5 + plainLen, 5 + bodyLen)) ? plain : null;
  }
}
