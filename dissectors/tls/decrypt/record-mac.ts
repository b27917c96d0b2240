/**
 * The HMAC of a TLS ≤ 1.2 record (RFC 5246 §6.2.3.1): over seq_num ‖ type ‖ version ‖ length ‖ data,
 * type and version taken from the record's header. Shared by the CBC and NULL record ciphers.
 */
import { createHmac } from 'node:crypto';
import type { MacHash } from './mac-suites';

const TWO_32 = 0x1_0000_0000;

export class RecordMac {
  /** The 13 bytes before the data, rewritten for every record. */
  private readonly header = Buffer.alloc(13);

  constructor(
    private readonly hash: MacHash,
    private readonly key: Buffer,
  ) {}

  /** HMAC of record number `seq`, whose header is `rec[0..5)`, for `length` bytes of `data`. */
  of(seq: number, rec: Uint8Array, length: number, data: Uint8Array): Buffer {
    const h = this.header;
    h.writeUInt32BE(Math.floor(seq / TWO_32), 0);
    h.writeUInt32BE(seq >>> 0, 4);
    h[8] = rec[0]!;
    h[9] = rec[1]!;
    h[10] = rec[2]!;
    h.writeUInt16BE(length, 11);
    return createHmac(this.hash, this.key).update(h).update(data).digest();
  }
}
