import { terminalSafe } from '../report/terminal-text';

/** Rows whose widths set the columns; later rows are printed as they come, in those columns. */
const WIDTH_SAMPLE_ROWS = 1000;

/** Writes to stdout (or `out`), waiting when the reader is slower: large outputs never pile up in memory. */
export async function write(text: string, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (!out.write(text)) await new Promise((r) => out.once('drain', r));
}

/**
 * Writes items as a JSON array, one at a time, laid out as `JSON.stringify(…, null, 2)` lays out an
 * array whose opening bracket stands after `pad` (its indentation); no newline after the closing one.
 */
async function writeArray(items: Iterable<unknown>, pad: string, out: NodeJS.WritableStream): Promise<number> {
  let n = 0;
  for (const item of items) {
    await write(`${n === 0 ? '[' : ','}\n${pad}  ${JSON.stringify(item, null, 2).replace(/\n/g, `\n${pad}  `)}`, out);
    n++;
  }
  await write(n === 0 ? '[]' : `\n${pad}]`, out);
  return n;
}

/** Writes rows as one JSON array — the text of `JSON.stringify(rows, null, 2)` — one row at a time. */
export async function writeJsonArray(rows: Iterable<unknown>, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const n = await writeArray(rows, '', out);
  await write('\n', out);
  return n;
}

function text(v: unknown, maxWidth: number): string {
  return terminalSafe(v === null || v === undefined ? '' : String(v), maxWidth);
}

/**
 * Writes rows as an aligned text table; every value is cleaned of control characters first. Column
 * widths come from the first rows, so any number of rows streams through in constant memory.
 */
export async function printTable(rows: Iterable<Record<string, unknown>>, out: NodeJS.WritableStream = process.stdout, maxWidth = 60): Promise<number> {
  const it = rows[Symbol.iterator]();
  const head: Record<string, unknown>[] = [];
  for (let r = it.next(); !r.done; r = it.next()) {
    head.push(r.value);
    if (head.length >= WIDTH_SAMPLE_ROWS) break;
  }
  if (head.length === 0) {
    await write('(no rows)\n', out);
    return 0;
  }
  const cols = Object.keys(head[0]!);
  const widths = cols.map((c) => c.length);
  const cells = head.map((row) => cols.map((c, i) => {
    const t = text(row[c], maxWidth);
    if (t.length > widths[i]!) widths[i] = t.length;
    return t;
  }));
  for (let i = 0; i < widths.length; i++) widths[i] = Math.min(maxWidth, widths[i]!) + 2;
  // A later value wider than its column is printed whole, one space on: the row shifts, nothing is cut.
  const fit = (v: string, w: number) => (v.length < w ? v + ' '.repeat(w - v.length) : v + ' ');
  const line = (t: string[]) => t.map((v, i) => fit(v, widths[i]!)).join('').trimEnd() + '\n';
  await write(line(cols), out);
  for (const t of cells) await write(line(t), out);
  let n = head.length;
  for (let r = it.next(); !r.done; r = it.next()) {
    await write(line(cols.map((c) => text(r.value[c], maxWidth))), out);
    n++;
  }
  return n;
}

/**
 * Writes an object as `JSON.stringify(object, null, 2)` would, except that a field whose value is a
 * generator is written as an array one element at a time: `--json` on a million flows never holds
 * them all.
 */
export async function writeJsonObject(fields: [string, unknown][], out: NodeJS.WritableStream = process.stdout): Promise<void> {
  await write('{', out);
  for (let i = 0; i < fields.length; i++) {
    const [key, value] = fields[i]!;
    await write(`${i === 0 ? '\n' : ',\n'}  ${JSON.stringify(key)}: `, out);
    if (isGenerator(value)) await writeArray(value, '  ', out);
    else await write(JSON.stringify(value, null, 2).replace(/\n/g, '\n  '), out);
  }
  await write(fields.length === 0 ? '}\n' : '\n}\n', out);
}

function isGenerator(v: unknown): v is Generator<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as Generator).next === 'function' && Symbol.iterator in v;
}
