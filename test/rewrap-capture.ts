import { readFileSync, writeFileSync } from 'node:fs';
import { concat } from './decode/builders';

/**
 * Writes a copy of a classic little-endian pcap of Ethernet frames with every frame replaced by
 * `wrap(frame)` (encapsulated, tagged …), timestamps kept: the same traffic as another network
 * would deliver it.
 */
export function rewrapCapture(src: string, dst: string, wrap: (frame: Uint8Array) => Uint8Array): void {
  const b = readFileSync(src);
  if (b.readUInt32LE(0) !== 0xa1b2c3d4 || b.readUInt32LE(20) !== 1) throw new Error(`${src}: not a little-endian pcap of Ethernet frames`);
  const parts: Uint8Array[] = [b.subarray(0, 24)];
  for (let off = 24; off < b.length; ) {
    const incl = b.readUInt32LE(off + 8);
    const frame = wrap(b.subarray(off + 16, off + 16 + incl));
    const header = Buffer.from(b.subarray(off, off + 16));
    header.writeUInt32LE(frame.length, 8);
    header.writeUInt32LE(frame.length, 12);
    parts.push(header, frame);
    off += 16 + incl;
  }
  writeFileSync(dst, concat(...parts));
}
