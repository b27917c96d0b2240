import { cell, terminalSafe } from '../report/terminal-text';

/** Prints rows as an aligned text table; every value is cleaned of control characters first. */
export function printTable(rows: Record<string, unknown>[], out: NodeJS.WritableStream = process.stdout, maxWidth = 60): void {
  if (rows.length === 0) {
    out.write('(no rows)\n');
    return;
  }
  const cols = Object.keys(rows[0]!);
  const text = rows.map((r) => cols.map((c) => terminalSafe(r[c] === null || r[c] === undefined ? '' : String(r[c]), maxWidth)));
  const widths = cols.map((c, i) => Math.min(maxWidth, Math.max(c.length, ...text.map((t) => t[i]!.length))) + 2);
  out.write(cols.map((c, i) => cell(c, widths[i]!)).join('').trimEnd() + '\n');
  for (const t of text) out.write(t.map((v, i) => cell(v, widths[i]!)).join('').trimEnd() + '\n');
}
