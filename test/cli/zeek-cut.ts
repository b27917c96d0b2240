import { expect } from 'vitest';

/** What zeek-cut does: the data lines as objects keyed by the `#fields` names. */
export function zeekCut(log: string): { header: Map<string, string>; rows: Record<string, string>[] } {
  const header = new Map<string, string>();
  const rows: Record<string, string>[] = [];
  let fields: string[] = [];
  for (const line of log.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const [key, ...rest] = line.slice(1).split(line.startsWith('#separator') ? ' ' : '\t');
      header.set(key!, rest.join('\t'));
      if (key === 'fields') fields = rest;
      continue;
    }
    const values = line.split('\t');
    expect(values).toHaveLength(fields.length);
    rows.push(Object.fromEntries(fields.map((f, i) => [f, values[i]!])));
  }
  return { header, rows };
}
