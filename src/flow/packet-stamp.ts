/**
 * When a packet was captured: its time and frame number, handed down the per-packet path (duplicate
 * filter, flow table, reassembly, dissectors) as one object. A time passed as a number argument is
 * boxed, a heap allocation per packet at every call that is not inlined; a reference costs nothing.
 *
 * The engine owns one stamp and overwrites it for every packet, and reassembly passes the stamp of a
 * buffered segment when it delivers one: read it during the call and keep its numbers, never the
 * object.
 */
export interface PacketStamp {
  /** Seconds since the epoch. */
  readonly ts: number;
  /** 1-based frame number within the capture. */
  readonly frame: number;
}

/** The stamp an owner overwrites (the engine's current packet, a replay of buffered bytes). */
export class MutableStamp implements PacketStamp {
  ts = 0;
  frame = 0;

  set(ts: number, frame: number): this {
    this.ts = ts;
    this.frame = frame;
    return this;
  }
}

/** A stamp of its own (tests, one-off calls off the hot path). */
export function stampOf(ts: number, frame: number): PacketStamp {
  return new MutableStamp().set(ts, frame);
}
