import type { Direction } from '../../src/flow/direction';
import { ProbeResult } from '../types';

/**
 * How far into a server's first bytes the probe looks for a line starting `SSH-`. RFC 4253 §4.2 lets
 * a server send other lines before its identification string; a bounded prefix keeps probing cheap.
 */
export const MAX_SSH_PROBE_BYTES = 1024;

const S = 0x53;
const H = 0x48;
const DASH = 0x2d;
const LF = 0x0a;
const CR = 0x0d;
const TAB = 0x09;

/** Compares `data[at..end)` with the start of "SSH-": 1 = full match, 0 = a prefix so far, -1 = no. */
function matchSshPrefix(data: Uint8Array, at: number, end: number): number {
  const n = end - at;
  if (n > 0 && data[at] !== S) return -1;
  if (n > 1 && data[at + 1] !== S) return -1;
  if (n > 2 && data[at + 2] !== H) return -1;
  if (n > 3 && data[at + 3] !== DASH) return -1;
  return n >= 4 ? 1 : 0;
}

/**
 * Recognises an SSH identification string. A client must start with it; a server may first send
 * text lines (so any control byte other than CR, LF, TAB before a banner means "not SSH").
 */
export function probeSsh(dir: Direction, data: Uint8Array, start: number, end: number): ProbeResult {
  if (end <= start) return ProbeResult.NEED_MORE;
  if (dir === 0) {
    const m = matchSshPrefix(data, start, end);
    return m === 1 ? ProbeResult.MATCH : m === 0 ? ProbeResult.NEED_MORE : ProbeResult.NO_MATCH;
  }
  const limit = Math.min(end, start + MAX_SSH_PROBE_BYTES);
  let lineStart = start;
  while (lineStart < limit) {
    const m = matchSshPrefix(data, lineStart, limit);
    if (m === 1) return ProbeResult.MATCH;
    if (m === 0) return limit === end ? ProbeResult.NEED_MORE : ProbeResult.NO_MATCH;
    // Not a banner line: it must be text; skip to the byte after its LF.
    let i = lineStart;
    while (i < limit) {
      const b = data[i]!;
      if (b === LF) break;
      if (b < 0x20 && b !== CR && b !== TAB) return ProbeResult.NO_MATCH;
      if (b === 0x7f) return ProbeResult.NO_MATCH;
      i++;
    }
    if (i >= limit) break;
    lineStart = i + 1;
  }
  // Ran out of data inside the allowed prefix: more may show a banner; past the prefix it is not SSH.
  return limit === end && end - start < MAX_SSH_PROBE_BYTES ? ProbeResult.NEED_MORE : ProbeResult.NO_MATCH;
}
