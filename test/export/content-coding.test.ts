import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { contentCoding, decodeContent } from '../../src/export/content-coding';

/** The content codings the conversation views decode, and how they fail. */
describe('content codings', () => {
  const body = JSON.stringify({ kind: 'SecretList', items: Array.from({ length: 50 }, (_, i) => ({ name: `s${i}` })) });

  it('names the codings it decodes from a Content-Encoding value, and no other', () => {
    expect(['gzip', 'x-gzip', ' GZIP ', 'deflate', 'br', 'Br'].map(contentCoding)).toEqual(['gzip', 'gzip', 'gzip', 'deflate', 'br', 'br']);
    expect(['zstd', 'compress', 'identity', 'gzip, br', '', null, undefined].map(contentCoding)).toEqual([null, null, null, null, null, null, null]);
  });

  it('decodes gzip, deflate in the zlib format and bare, and br', () => {
    expect(decodeContent('gzip', gzipSync(body), 1 << 20).toString()).toBe(body);
    expect(decodeContent('deflate', deflateSync(body), 1 << 20).toString()).toBe(body);
    expect(decodeContent('deflate', deflateRawSync(body), 1 << 20).toString()).toBe(body);
    expect(decodeContent('br', brotliCompressSync(body), 1 << 20).toString()).toBe(body);
  });

  it('throws on a body that does not decode or decodes to more than allowed', () => {
    for (const c of ['gzip', 'deflate', 'br'] as const) expect(() => decodeContent(c, Buffer.from('\x08not compressed at all'), 1 << 20)).toThrow();
    expect(() => decodeContent('br', brotliCompressSync(body), 100)).toThrow();
    expect(() => decodeContent('gzip', gzipSync(body), 100)).toThrow();
  });
});
