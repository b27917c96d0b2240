import type { Direction } from './direction';

/**
 * What TCP reassembly delivers to: in-order bytes per direction, gaps, and ends.
 * Dissectors are reached through this interface (see dissectors/registry.ts).
 *
 * `data[start..end)` is a view valid only during the call.
 */
export interface StreamHandler {
  onData(dir: Direction, data: Uint8Array, start: number, end: number, ts: number, frameNumber: number): void;
  /** `bytes` bytes are missing from this direction (capture loss or an overflowing buffer). */
  onGap(dir: Direction, bytes: number): void;
  /** This direction ended (FIN, RST, idle timeout or end of capture). */
  onEnd(dir: Direction): void;
}
