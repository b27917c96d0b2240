import * as crypto from 'node:crypto';

/**
 * A digest of bytes in one call. `crypto.hash` (Node 20.12 and later) skips the Hash object that
 * `createHash` builds, which is most of the cost for the short inputs hashed once per connection (a
 * certificate, a Community ID tuple); older Node versions get the same digest through `createHash`.
 */
export const digestOf: (algorithm: 'sha1' | 'sha256', data: Uint8Array, encoding: 'hex' | 'base64') => string =
  typeof crypto.hash === 'function'
    ? (algorithm, data, encoding) => crypto.hash(algorithm, data, encoding)
    : (algorithm, data, encoding) => crypto.createHash(algorithm).update(data).digest(encoding);
