/**
 * Converts pcapng 64-bit timestamps (two 32-bit words, in units of the interface's `if_tsresol`) into
 * seconds + nanoseconds, exactly and without BigInt.
 *
 * A nanosecond timestamp of today is about 1.7e18, beyond the 2^53 a double holds exactly, so the
 * 64-bit value is divided by long division on 16-bit digits. Results go into fields of this object
 * (no allocation per packet).
 */
export class TimestampConverter {
  sec = 0;
  nsec = 0;
  private qHi = 0;
  private qLo = 0;
  private rem = 0;

  /**
   * Converts (hi, lo) with resolution `tsresol` (the raw option byte: top bit clear = 10^-n,
   * top bit set = 2^-n) and adds `offsetSec` (`if_tsoffset`).
   */
  convert(hi: number, lo: number, tsresol: number, offsetSec: number): void {
    if ((tsresol & 0x80) === 0) this.convertDecimal(hi, lo, tsresol);
    else this.convertBinary(hi, lo, tsresol & 0x7f);
    this.sec += offsetSec;
  }

  private convertDecimal(hi: number, lo: number, exp: number): void {
    if (exp <= 9) {
      this.divmod(hi, lo, POW10[exp]!);
      this.sec = this.qHi * 2 ** 32 + this.qLo;
      this.nsec = this.rem * POW10[9 - exp]!;
    } else if (exp <= 18) {
      // Finer than nanoseconds: first reduce to nanoseconds (truncating), then split.
      this.divmod(hi, lo, POW10[exp - 9]!);
      this.divmod(this.qHi, this.qLo, 1e9);
      this.sec = this.qHi * 2 ** 32 + this.qLo;
      this.nsec = this.rem;
    } else {
      // Units below 1e-18 s: any 64-bit count is under 20 s; double precision is plenty.
      const v = (hi * 2 ** 32 + lo) / 10 ** exp;
      this.sec = Math.floor(v);
      this.nsec = Math.floor((v - this.sec) * 1e9);
    }
  }

  private convertBinary(hi: number, lo: number, exp: number): void {
    if (exp === 0) {
      this.sec = hi * 2 ** 32 + lo;
      this.nsec = 0;
    } else if (exp < 32) {
      const unit = 2 ** exp;
      this.sec = hi * 2 ** (32 - exp) + Math.floor(lo / unit);
      // frac / 2^exp * 1e9 is exact in a double for exp <= 32 (at most 53 significant bits).
      this.nsec = Math.floor(((lo % unit) / unit) * 1e9);
    } else if (exp === 32) {
      this.sec = hi;
      this.nsec = Math.floor((lo / 2 ** 32) * 1e9);
    } else {
      const hiUnit = 2 ** (exp - 32);
      this.sec = Math.floor(hi / hiUnit);
      const frac = (hi % hiUnit) * 2 ** 32 + lo;
      this.nsec = Math.floor((frac / 2 ** exp) * 1e9);
    }
  }

  /** (hi·2^32 + lo) / d for d < 2^31: quotient as two 32-bit words in qHi/qLo, remainder in rem. */
  private divmod(hi: number, lo: number, d: number): void {
    const qHi = Math.floor(hi / d);
    let r = hi - qHi * d;
    // r < d < 2^31, so r·2^16 + 16 bits stays below 2^53: exact.
    let x = r * 65536 + (lo >>> 16);
    const q1 = Math.floor(x / d);
    r = x - q1 * d;
    x = r * 65536 + (lo & 0xffff);
    const q2 = Math.floor(x / d);
    this.rem = x - q2 * d;
    this.qHi = qHi;
    this.qLo = q1 * 65536 + q2;
  }
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
