import { generateKeyPairSync, sign } from 'node:crypto';

/**
 * Signed JWTs shaped as Kubernetes issues them, for tests that need real credentials on the wire: RS256
 * over a key made here, with the claims of the TokenRequest API (bound tokens), of the legacy
 * Secret-based tokens, or any others given.
 */
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

export function signedJwt(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'RS256', kid: 'test-key' }): string {
  const h = Buffer.from(JSON.stringify(header)).toString('base64url');
  const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const sig = sign('RSA-SHA256', Buffer.from(`${h}.${p}`), privateKey).toString('base64url');
  return `${h}.${p}.${sig}`;
}

/** The claims of a token the kubelet mounts into a pod (projected volume, Kubernetes 1.30 and later). */
export function boundTokenClaims(opts: { namespace: string; serviceAccount: string; pod?: string; node?: string; iat?: number; exp?: number }): Record<string, unknown> {
  const iat = opts.iat ?? 1_764_800_000;
  const k8s: Record<string, unknown> = {
    namespace: opts.namespace,
    serviceaccount: { name: opts.serviceAccount, uid: 'a087d5a0-e1dd-43ec-93ac-f13d89cd13af' },
  };
  if (opts.pod !== undefined) k8s.pod = { name: opts.pod, uid: '778a530c-b3f4-47c0-9cd5-ab018fb64f33' };
  if (opts.node !== undefined) k8s.node = { name: opts.node, uid: '58456cb0-dd00-45ed-b797-5578fdceaced' };
  k8s.warnafter = iat + 3607;
  return {
    aud: ['https://kubernetes.default.svc.cluster.local'],
    exp: opts.exp ?? iat + 3607,
    iat,
    iss: 'https://kubernetes.default.svc.cluster.local',
    jti: 'ea28ed49-2e11-4280-9ec5-bc3d1d84661a',
    'kubernetes.io': k8s,
    nbf: iat,
    sub: `system:serviceaccount:${opts.namespace}:${opts.serviceAccount}`,
  };
}

/** The claims of a legacy token kept in a Secret (no expiry). */
export function legacyTokenClaims(namespace: string, serviceAccount: string, secret: string): Record<string, unknown> {
  return {
    iss: 'kubernetes/serviceaccount',
    'kubernetes.io/serviceaccount/namespace': namespace,
    'kubernetes.io/serviceaccount/secret.name': secret,
    'kubernetes.io/serviceaccount/service-account.name': serviceAccount,
    'kubernetes.io/serviceaccount/service-account.uid': '0b9a6b3c-1f44-4d5e-9a0b-1c2d3e4f5a6b',
    sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
  };
}
