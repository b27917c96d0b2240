/**
 * Bytes that many holders may keep together at most (the out-of-order segments of every flow of an
 * engine, the TLS records every connection of a run holds for late keys): a holder checks
 * `used + n <= max` before keeping n bytes, adds them to `used`, and takes them off when it lets go.
 */
export class ByteBudget {
  used = 0;
  constructor(readonly max: number) {}
}
