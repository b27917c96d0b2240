/**
 * Protected records of one side of a TLS connection, kept whole until the secrets to open them are
 * logged. In a live capture with a followed key log, a TLS 1.3 client (curl, OpenSSL, browsers)
 * logs its secrets only as it reads the server's encrypted handshake, so the capture sees that
 * handshake (the server's certificate) before the key log has the key to it. Keeping those records
 * for the one round trip until the client's Finished lets them be opened then.
 */

import { ByteBudget } from '../../src/byte-budget';

/** Bytes held per connection at most: beyond, the records are let go and stay unread. */
export const MAX_HELD_BYTES = 64 * 1024;
/** Bytes held across all the connections of one run at most (many handshakes at once, or abandoned ones). */
export const MAX_HELD_TOTAL = 16 * 1024 * 1024;


export interface HeldRecord {
  type: number;
  major: number;
  minor: number;
  /** Where the record's body lies in `bytes`. */
  start: number;
  length: number;
  frame: number;
  ts: number;
}

export class HeldRecords {
  bytes = new Uint8Array(4096);
  used = 0;
  readonly records: HeldRecord[] = [];
  /** Body bytes of the last record still to come. */
  private left = 0;
  /** Bytes charged to the budget (given back by release). */
  private charged = 0;

  /** `budget`: what the connections of one run hold together. */
  constructor(private readonly budget: ByteBudget = new ByteBudget(MAX_HELD_TOTAL)) {}

  /** Starts holding a record of `length` body bytes; false (nothing held) when that passes a cap. */
  begin(type: number, major: number, minor: number, length: number, frame: number, ts: number): boolean {
    if (this.used + length > MAX_HELD_BYTES || this.budget.used + length > this.budget.max) return false;
    this.budget.used += length;
    this.charged += length;
    if (this.used + length > this.bytes.length) {
      const grown = new Uint8Array(Math.min(MAX_HELD_BYTES, Math.max(this.bytes.length * 2, this.used + length)));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    this.records.push({ type, major, minor, start: this.used, length, frame, ts });
    this.left = length;
    return true;
  }

  /** Body bytes of the record begun last, in order. */
  append(data: Uint8Array, from: number, to: number): void {
    const n = Math.min(to - from, this.left);
    this.bytes.set(data.subarray(from, from + n), this.used);
    this.used += n;
    this.left -= n;
  }

  /** Gives what is held back to the budget; nothing is held after. */
  release(): void {
    this.budget.used -= this.charged;
    this.charged = 0;
    this.records.length = 0;
    this.used = 0;
    this.left = 0;
    this.bytes = new Uint8Array(0);
  }

  /** Every record begun has all its bytes. */
  get complete(): boolean {
    return this.left === 0;
  }
}
