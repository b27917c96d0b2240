/**
 * Strings from the wire (SNI, user agents, paths, certificate subjects) are attacker-controlled.
 * Before they reach a terminal, C0/C1 control characters — and with them every escape sequence — are
 * replaced, so a capture cannot move the cursor, recolour the screen or retitle the window.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafe(s: string | null | undefined, max = 200): string {
  if (s === null || s === undefined) return '';
  const clean = s.replace(CONTROL, '\uFFFD');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

/** Pads or cuts to a column width (after cleaning). */
export function cell(s: string | number | null | undefined, width: number): string {
  const t = terminalSafe(s === null || s === undefined ? '' : String(s), width);
  return t.length >= width ? t : t + ' '.repeat(width - t.length);
}
