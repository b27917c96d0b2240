/**
 * Fixed-width integer reads from a byte array in either byte order.
 *
 * Capture files carry their own byte order (pcap magic, pcapng byte-order magic per section), so every
 * read takes a `le` flag. Plain functions over Uint8Array keep the hot path free of DataView objects,
 * which would otherwise have to be created for every chunk and for the carry buffer.
 */

/** Unsigned 16-bit integer at `o`. */
export function rd16(b: Uint8Array, o: number, le: boolean): number {
  return le ? b[o]! | (b[o + 1]! << 8) : (b[o]! << 8) | b[o + 1]!;
}

/** Unsigned 32-bit integer at `o`. */
export function rd32(b: Uint8Array, o: number, le: boolean): number {
  return le
    ? (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
    : ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Signed 32-bit integer at `o`. */
export function rd32s(b: Uint8Array, o: number, le: boolean): number {
  return rd32(b, o, le) | 0;
}
