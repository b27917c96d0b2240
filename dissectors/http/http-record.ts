import { createHash } from 'node:crypto';
import type { CredentialIdentity, HttpAuth, HttpRequestRecord } from '../../src/model/records';
import { credentialIdentity } from './credential-identity';

/** Longest request target kept; longer ones are cut (the record says what was sent, bounded). */
export const MAX_PATH_CHARS = 2048;
/** Longest header value kept. */
export const MAX_HEADER_VALUE_CHARS = 1024;

/** A record with every field present, filled in as the request and its response are parsed. */
export function newHttpRecord(method: string, path: string, version: string, ts: number, frame: number): HttpRequestRecord {
  return {
    method,
    path: path.length > MAX_PATH_CHARS ? path.slice(0, MAX_PATH_CHARS) : path,
    version,
    host: null,
    userAgent: null,
    auth: 'none',
    authHash: null,
    authIdentity: null,
    contentType: null,
    requestBodyBytes: 0,
    status: null,
    reason: null,
    responseContentType: null,
    responseBodyBytes: 0,
    upgrade: null,
    streamProtocol: null,
    xForwardedFor: null,
    xForwardedUri: null,
    xForwardedHost: null,
    xForwardedProto: null,
    impersonateUser: null,
    grpcMethod: null,
    grpcStatus: null,
    grpcMessage: null,
    streamId: null,
    frame,
    ts,
    k8s: null,
  };
}

export function boundValue(v: string): string {
  return v.length > MAX_HEADER_VALUE_CHARS ? v.slice(0, MAX_HEADER_VALUE_CHARS) : v;
}

/**
 * Sets `auth`, `authHash` and `authIdentity` from an Authorization value. Only a hash prefix of the
 * credential is kept, so the same token can be recognised across flows without being disclosed, and
 * whose it claims to be.
 */
export function applyAuthorization(rec: HttpRequestRecord, value: string): void {
  const v = value.trim();
  const sp = v.indexOf(' ');
  const scheme = (sp < 0 ? v : v.slice(0, sp)).toLowerCase();
  const credential = sp < 0 ? '' : v.slice(sp + 1).trim();
  let auth: HttpAuth = 'other';
  if (scheme === 'bearer') auth = 'bearer';
  else if (scheme === 'basic') auth = 'basic';
  rec.auth = auth;
  // For an unknown scheme the whole value is the secret.
  const hash = hashCredential(auth === 'other' ? v : credential);
  rec.authHash = hash;
  // A client sends the same token with every request: its claims are read once. The memo is keyed by
  // the hash, so that the credential itself is not kept beyond this call.
  if (hash !== lastAuth.hash || auth !== lastAuth.auth) lastAuth = { auth, hash, identity: credentialIdentity(auth, credential) };
  rec.authIdentity = lastAuth.identity;
}

/** Claims of the credential last read (records share the object; nothing changes it). */
let lastAuth: { auth: HttpAuth; hash: string; identity: CredentialIdentity | null } = { auth: 'none', hash: '', identity: null };

/** The WebSocket subprotocol that carries a bearer token, base64url-encoded after it. */
const WEBSOCKET_BEARER_PREFIX = 'base64url.bearer.authorization.k8s.io.';

/**
 * The API server also takes a bearer token as a WebSocket subprotocol (`Sec-WebSocket-Protocol:
 * base64url.bearer.authorization.k8s.io.<token>, v5.channel.k8s.io`), for browsers, which cannot set
 * an Authorization header on a WebSocket: exec, attach and port-forward from a web console. Such a
 * token is a credential like any other: recorded as `auth: bearer`, hashed, never kept.
 */
export function applyWebSocketProtocol(rec: HttpRequestRecord, value: string): void {
  for (const part of value.split(',')) {
    const p = part.trim();
    if (!p.startsWith(WEBSOCKET_BEARER_PREFIX)) continue;
    const token = Buffer.from(p.slice(WEBSOCKET_BEARER_PREFIX.length), 'base64url').toString('latin1');
    if (token !== '') applyAuthorization(rec, `Bearer ${token}`);
    return;
  }
}

export function hashCredential(credential: string): string {
  return 'sha256:' + createHash('sha256').update(credential, 'latin1').digest('hex').slice(0, 16);
}

/** gRPC "/pkg.Service/Method" → "pkg.Service/Method"; null if the path is not of that form. */
export function grpcMethodFromPath(path: string): string | null {
  if (path.length < 4 || path.charCodeAt(0) !== 47) return null;
  const q = path.indexOf('?');
  const p = q < 0 ? path : path.slice(0, q);
  const slash = p.indexOf('/', 1);
  if (slash <= 1 || slash === p.length - 1 || p.indexOf('/', slash + 1) >= 0) return null;
  return p.slice(1);
}
