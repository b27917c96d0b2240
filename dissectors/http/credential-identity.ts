import type { CredentialIdentity, HttpAuth } from '../../src/model/records';

/**
 * Whose credential an `Authorization` header carries, read from the credential itself before it is
 * dropped (only a hash of it is kept). A Kubernetes service-account token is a JWT whose payload names
 * the service account and, for the tokens the kubelet mounts into pods, the pod and its node; a
 * bootstrap token names its token id; a basic credential names its user. The token's signature is not
 * checked (that needs the issuer's key): this says whose the token claims to be, which is what an
 * analyst needs to know which credential crossed the wire and what to rotate.
 *
 * Bounded: a token longer than MAX_TOKEN_CHARS, or a payload that is not a JSON object, names no one.
 */

/** Longest credential read for claims (a service-account token is about 1 KB). */
export const MAX_TOKEN_CHARS = 16384;
/** Longest claim value kept. */
const MAX_CLAIM_CHARS = 253;

/** Issuer of the legacy, Secret-based service-account tokens. */
const LEGACY_ISSUER = 'kubernetes/serviceaccount';
const LEGACY_PREFIX = 'kubernetes.io/serviceaccount/';
const SA_SUBJECT = /^system:serviceaccount:([^:]+):([^:]+)$/;
/** `<token-id>.<token-secret>` (kubeadm bootstrap tokens, RFC of the bootstrap-token authenticator). */
const BOOTSTRAP_TOKEN = /^([a-z0-9]{6})\.[a-z0-9]{16}$/;
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The identity a credential claims, or null when it names no one that can be read. */
export function credentialIdentity(auth: HttpAuth, credential: string): CredentialIdentity | null {
  if (credential.length === 0 || credential.length > MAX_TOKEN_CHARS) return null;
  if (auth === 'basic') return basicIdentity(credential);
  if (auth !== 'bearer') return null;
  const boot = BOOTSTRAP_TOKEN.exec(credential);
  if (boot !== null) return { ...emptyIdentity('bootstrap'), subject: `system:bootstrap:${boot[1]}` };
  if (credential.startsWith(EKS_PREFIX)) return awsIdentity(credential.slice(EKS_PREFIX.length));
  if (GOOGLE_ACCESS_TOKEN.test(credential)) return emptyIdentity('gcp-oauth');
  return jwtIdentity(credential);
}

/** EKS (aws-iam-authenticator): `k8s-aws-v1.` and a presigned STS GetCallerIdentity URL, base64url. */
const EKS_PREFIX = 'k8s-aws-v1.';
/** How long EKS accepts such a token after it was signed (aws-iam-authenticator: 15 minutes). */
const EKS_TOKEN_SECONDS = 15 * 60;
const STS_HOST = /^sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$/;
/** `AKID/yyyymmdd/region/sts/aws4_request` (SigV4 credential scope). */
const AWS_CREDENTIAL = /^([A-Z0-9]{16,128})\/(\d{8})\/([a-z0-9-]+)\/sts\/aws4_request$/;
/** Google OAuth 2.0 access tokens (GKE's gke-gcloud-auth-plugin): opaque, they name no one. */
const GOOGLE_ACCESS_TOKEN = /^ya29\.[A-Za-z0-9._-]+$/;

/**
 * An EKS token: the URL is signed by an AWS access key, whose id (not secret: the signature is what
 * proves it) names the IAM user (AKIA…, a long-term key) or role session (ASIA…, temporary
 * credentials) behind it; the signing time and region say when and where. The cluster it is for is a
 * signed header whose value the URL does not carry.
 */
function awsIdentity(encoded: string): CredentialIdentity | null {
  if (!BASE64URL.test(encoded)) return null;
  let url: URL;
  try {
    url = new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' || !STS_HOST.test(url.hostname) || url.searchParams.get('Action') !== 'GetCallerIdentity') return null;
  const scope = AWS_CREDENTIAL.exec(url.searchParams.get('X-Amz-Credential') ?? '');
  if (scope === null) return null;
  const id = emptyIdentity('aws-iam');
  id.subject = bound(`aws:${scope[1]}`);
  id.issuer = bound(url.hostname);
  id.audiences = [bound(scope[3]!)];
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(url.searchParams.get('X-Amz-Date') ?? '');
  if (date !== null) {
    const t = Date.UTC(+date[1]!, +date[2]! - 1, +date[3]!, +date[4]!, +date[5]!, +date[6]!) / 1000;
    if (Number.isFinite(t)) {
      id.issuedAt = t;
      id.expires = t + EKS_TOKEN_SECONDS;
    }
  }
  return id;
}

export function emptyIdentity(kind: CredentialIdentity['kind']): CredentialIdentity {
  return {
    kind,
    subject: null,
    issuer: null,
    namespace: null,
    serviceAccount: null,
    pod: null,
    podUid: null,
    node: null,
    secret: null,
    audiences: [],
    issuedAt: null,
    notBefore: null,
    expires: null,
  };
}

/** Basic credentials: the user name (before the first colon); the password is never read out. */
function basicIdentity(credential: string): CredentialIdentity | null {
  if (!BASE64.test(credential)) return null;
  const text = Buffer.from(credential, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return null;
  return { ...emptyIdentity('basic'), subject: bound(text.slice(0, colon)) };
}

/** The claims of a JWS in compact form (header.payload.signature) with a JSON object payload, or null. */
export function jwtClaims(token: string): Record<string, unknown> | null {
  if (token.length > MAX_TOKEN_CHARS) return null;
  const parts = token.split('.');
  // Five parts is an encrypted JWT (JWE): its claims cannot be read.
  if (parts.length !== 3 || parts[0]!.length === 0 || parts[1]!.length === 0) return null;
  if (!BASE64URL.test(parts[0]!) || !BASE64URL.test(parts[1]!)) return null;
  const header = jsonObject(parts[0]!);
  if (header === null || typeof header.alg !== 'string') return null;
  return jsonObject(parts[1]!);
}

function jwtIdentity(token: string): CredentialIdentity | null {
  const claims = jwtClaims(token);
  if (claims === null) return null;

  const id = emptyIdentity('jwt');
  id.subject = str(claims.sub);
  id.issuer = str(claims.iss);
  id.audiences = audiences(claims.aud);
  id.issuedAt = seconds(claims.iat);
  id.notBefore = seconds(claims.nbf);
  id.expires = seconds(claims.exp);

  // Bound tokens (TokenRequest API): a "kubernetes.io" object claim.
  const k8s = claims['kubernetes.io'];
  if (isObject(k8s)) {
    id.kind = 'serviceaccount';
    id.namespace = str(k8s.namespace);
    id.serviceAccount = nameOf(k8s.serviceaccount);
    id.pod = nameOf(k8s.pod);
    id.podUid = isObject(k8s.pod) ? str(k8s.pod.uid) : null;
    id.node = nameOf(k8s.node);
    id.secret = nameOf(k8s.secret);
  } else if (id.issuer === LEGACY_ISSUER || typeof claims[`${LEGACY_PREFIX}namespace`] === 'string') {
    // Legacy tokens kept in a Secret: flat claims, and no expiry.
    id.kind = 'serviceaccount-legacy';
    id.namespace = str(claims[`${LEGACY_PREFIX}namespace`]);
    id.serviceAccount = str(claims[`${LEGACY_PREFIX}service-account.name`]);
    id.secret = str(claims[`${LEGACY_PREFIX}secret.name`]);
  }
  // The subject names the service account when the other claims are missing (and vice versa).
  const sa = id.subject === null ? null : SA_SUBJECT.exec(id.subject);
  if (sa !== null) {
    if (id.kind === 'jwt') id.kind = id.issuer === LEGACY_ISSUER ? 'serviceaccount-legacy' : 'serviceaccount';
    id.namespace ??= sa[1]!;
    id.serviceAccount ??= sa[2]!;
  } else if (id.subject === null && id.namespace !== null && id.serviceAccount !== null) {
    id.subject = bound(`system:serviceaccount:${id.namespace}:${id.serviceAccount}`);
  }
  return id;
}

function jsonObject(segment: string): Record<string, unknown> | null {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  return isObject(v) ? v : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bound(s: string): string {
  return s.length > MAX_CLAIM_CHARS ? s.slice(0, MAX_CLAIM_CHARS) : s;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? bound(v) : null;
}

function nameOf(v: unknown): string | null {
  return isObject(v) ? str(v.name) : null;
}

/** NumericDate claims: seconds since the epoch (RFC 7519 §2); anything else is left out. */
function seconds(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

/** "aud" is a string or an array of strings (RFC 7519 §4.1.3); at most eight are kept. */
function audiences(v: unknown): string[] {
  if (typeof v === 'string') return v.length > 0 ? [bound(v)] : [];
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const a of v) {
    if (typeof a === 'string' && a.length > 0) out.push(bound(a));
    if (out.length === 8) break;
  }
  return out;
}
