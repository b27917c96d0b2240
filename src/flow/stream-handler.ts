import type { Direction } from './direction';
import type { PacketStamp } from './packet-stamp';

/**
 * What TCP reassembly delivers to: in-order bytes per direction, gaps, and ends.
 * Dissectors are reached through this interface (see dissectors/registry.ts).
 *
 * `data[start..end)` is a view valid only during the call, and so is `at`, the capture time and frame
 * of the packet that carried the bytes (see PacketStamp).
 */
export interface StreamHandler {
  onData(dir: Direction, data: Uint8Array, start: number, end: number, at: PacketStamp): void;
  /** `bytes` bytes are missing from this direction (capture loss or an overflowing buffer). */
  onGap(dir: Direction, bytes: number): void;
  /** This direction ended (FIN, RST, idle timeout or end of capture). */
  onEnd(dir: Direction): void;
}
