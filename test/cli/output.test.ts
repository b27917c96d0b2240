import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { printTable, writeJsonArray } from '../../src/cli/output';

async function capture(fn: (out: NodeJS.WritableStream) => Promise<unknown>): Promise<string> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  await fn(out);
  out.end();
  return text;
}

describe('CLI output', () => {
  it('aligns a table, strips control characters, and streams rows beyond the width sample whole', async () => {
    function* rows() {
      yield { ip: '10.0.0.1', ua: 'kube\u001b[31mlet' };
      for (let i = 0; i < 1500; i++) yield { ip: `10.0.${i}.1`, ua: 'x' };
      yield { ip: 'fd00:1234:5678:9abc:def0:1234:5678:9abc', ua: 'last' };
    }
    const text = await capture((out) => printTable(rows(), out));
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(1 + 1502);
    expect(lines[0]).toMatch(/^ip\s+ua$/);
    expect(lines[1]).not.toContain('\u001b');
    expect(lines.at(-1)).toBe('fd00:1234:5678:9abc:def0:1234:5678:9abc last');
    expect(await capture((out) => printTable([], out))).toBe('(no rows)\n');
  });

  it('writes a JSON array exactly as JSON.stringify(rows, null, 2) does', async () => {
    const rows = [{ a: 1, b: { c: [1, 2] } }, { a: 2, b: null }];
    expect(await capture((out) => writeJsonArray(rows, out))).toBe(JSON.stringify(rows, null, 2) + '\n');
    expect(await capture((out) => writeJsonArray([], out))).toBe('[]\n');
  });
});

describe('streamed JSON documents', () => {
  it('match JSON.stringify(object, null, 2) with generator fields written as arrays', async () => {
    const { writeJsonObject } = await import('../../src/cli/output');
    function* flows() {
      yield { id: 'c1f1', tls: { sni: 'a', alpn: ['h2'] } };
      yield { id: 'c1f2', tls: null };
    }
    function* none() {}
    const text = await capture((out) => writeJsonObject([['captures', [{ file: 'a.pcap', n: 1 }]], ['flows', flows()], ['empty', none()], ['findings', []]], out));
    expect(text).toBe(JSON.stringify({ captures: [{ file: 'a.pcap', n: 1 }], flows: [...flows()], empty: [], findings: [] }, null, 2) + '\n');
  });
});
