/**
 * HTTP content codings the conversation views decode (RFC 9110 §8.4.1): gzip (and its old name
 * x-gzip), deflate — the zlib format the RFC names, or the bare deflate stream some servers send, as
 * browsers and Wireshark accept — and br (RFC 7932). Others (zstd, compress, a list of several) are
 * shown as they came.
 */
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

export type ContentCoding = 'gzip' | 'deflate' | 'br';

/** The coding a `Content-Encoding` field value names, or null when it is none these views decode. */
export function contentCoding(value: string | null | undefined): ContentCoding | null {
  const v = value?.trim().toLowerCase();
  if (v === 'gzip' || v === 'x-gzip') return 'gzip';
  if (v === 'deflate') return 'deflate';
  if (v === 'br') return 'br';
  return null;
}

/** Decodes a whole body; throws when it does not decode or would pass `maxOutput` bytes. */
export function decodeContent(coding: ContentCoding, body: Uint8Array, maxOutput: number): Buffer {
  const opts = { maxOutputLength: maxOutput };
  if (coding === 'gzip') return gunzipSync(body, opts);
  if (coding === 'br') return brotliDecompressSync(body, opts);
  try {
    return inflateSync(body, opts);
  } catch (e) {
    // A bare deflate stream has no zlib header: the first byte's low nibble is not 8.
    if (body.length > 0 && (body[0]! & 0x0f) !== 8) return inflateRawSync(body, opts);
    throw e;
  }
}
