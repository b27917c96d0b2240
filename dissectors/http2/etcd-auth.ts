import type { CredentialIdentity, HttpRequestRecord } from '../../src/model/records';
import { emptyIdentity, jwtClaims } from '../http/credential-identity';
import { hashCredential } from '../http/http-record';

/**
 * etcd's own authentication (etcd v3 auth, enabled with `etcdctl auth enable`): a client sends its
 * user name and password in an `Auth/Authenticate` call and gets a token, which it sends with every
 * later call as the gRPC metadata `token`. On a connection without TLS both cross in the clear. They
 * are treated as an `Authorization` credential is: the user is read, the secret hashed, never kept.
 */

/**
 * Calls whose request carries a user's password: Authenticate (logging in), UserAdd and
 * UserChangePassword (setting one). Each request message has the name as field 1, the password as 2.
 */
export const ETCD_PASSWORD_PATHS: ReadonlySet<string> = new Set([
  '/etcdserverpb.Auth/Authenticate',
  '/etcdserverpb.Auth/UserAdd',
  '/etcdserverpb.Auth/UserChangePassword',
]);
/** Request bytes kept of such a call: the gRPC prefix and a user name and password. */
export const MAX_AUTHENTICATE_BYTES = 1024;
const MAX_NAME_CHARS = 253;

/** Whether a request path is an etcd gRPC call (where the `token` metadata is etcd's). */
export function isEtcdCall(path: string): boolean {
  return path.startsWith('/etcdserverpb.') || path.startsWith('/v3electionpb.') || path.startsWith('/v3lockpb.');
}

/**
 * The `token` metadata of an etcd call: a JWT (`--auth-token=jwt`, claims `username`, `revision`,
 * `exp`) names its user; a simple token (the default: random letters and a counter) names no one.
 */
export function applyEtcdToken(rec: HttpRequestRecord, token: string): void {
  const t = token.trim();
  if (t === '' || rec.auth !== 'none') return;
  rec.auth = 'bearer';
  rec.authHash = hashCredential(t);
  const id: CredentialIdentity = emptyIdentity('etcd');
  const claims = jwtClaims(t);
  if (claims !== null) {
    if (typeof claims.username === 'string' && claims.username !== '') id.subject = `etcd:${claims.username.slice(0, MAX_NAME_CHARS)}`;
    if (typeof claims.exp === 'number' && Number.isFinite(claims.exp)) id.expires = claims.exp;
  }
  rec.authIdentity = id;
}

/**
 * The body of a call that carries a password (a gRPC message: a compression flag, a 4-byte length,
 * then the protobuf request: 1 name, 2 password). Returns false while more bytes are needed. A call
 * without a password (UserAdd with --no-password) names its user only.
 */
export function applyEtcdPassword(rec: HttpRequestRecord, b: Uint8Array, len: number): boolean {
  if (len < 5) return false;
  if (b[0] !== 0) return true; // a compressed message is not read
  const size = ((b[1]! << 24) | (b[2]! << 16) | (b[3]! << 8) | b[4]!) >>> 0;
  if (5 + size > len) return len >= MAX_AUTHENTICATE_BYTES; // not all here yet (or beyond what is kept)
  let name: string | null = null;
  let password: string | null = null;
  let p = 5;
  const end = 5 + size;
  while (p < end) {
    const key = varint(b, p, end);
    if (key === null) return true;
    p = key.next;
    const field = key.value >>> 3;
    const wire = key.value & 7;
    if (wire === 2) {
      const l = varint(b, p, end);
      if (l === null || l.next + l.value > end) return true;
      // latin1: one character per byte, so the hash below is over the bytes as sent, whatever the encoding.
      const text = Buffer.from(b.buffer, b.byteOffset + l.next, l.value).toString('latin1');
      if (field === 1) name = text;
      else if (field === 2) password = text;
      p = l.next + l.value;
    } else if (wire === 0) {
      const v = varint(b, p, end);
      if (v === null) return true;
      p = v.next;
    } else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else return true;
  }
  if (name === null) return true;
  const subject = `etcd:${Buffer.from(name, 'latin1').toString('utf8').slice(0, MAX_NAME_CHARS)}`;
  if (password === null || password === '') {
    rec.authIdentity ??= { ...emptyIdentity('etcd'), subject };
    return true;
  }
  rec.auth = 'basic';
  // The password is hashed with the user, as a basic credential is: the same password of two users differs.
  rec.authHash = hashCredential(`${name}:${password}`);
  rec.authIdentity = { ...emptyIdentity('etcd'), subject };
  return true;
}

function varint(b: Uint8Array, p: number, end: number): { value: number; next: number } | null {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 5 && p < end; i++, p++) {
    const c = b[p]!;
    value += (c & 0x7f) * mul;
    if ((c & 0x80) === 0) return { value, next: p + 1 };
    mul *= 128;
  }
  return null;
}
