import { describe, expect, it } from 'vitest';
import { credentialIdentity, MAX_TOKEN_CHARS } from '../../../dissectors/http/credential-identity';
import { describeIdentity } from '../../../src/analysis/client-identity';
import { boundTokenClaims, legacyTokenClaims, signedJwt } from './tokens';

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

describe('credentialIdentity', () => {
  it('reads a bound service-account token: account, pod, node, issuer, audiences and times', () => {
    const token = signedJwt(boundTokenClaims({ namespace: 'kube-system', serviceAccount: 'coredns', pod: 'coredns-69cbfb9798-jv9gn', node: 'worker-1', iat: 1_700_000_000 }));
    expect(credentialIdentity('bearer', token)).toEqual({
      kind: 'serviceaccount',
      subject: 'system:serviceaccount:kube-system:coredns',
      issuer: 'https://kubernetes.default.svc.cluster.local',
      namespace: 'kube-system',
      serviceAccount: 'coredns',
      pod: 'coredns-69cbfb9798-jv9gn',
      podUid: '778a530c-b3f4-47c0-9cd5-ab018fb64f33',
      node: 'worker-1',
      secret: null,
      audiences: ['https://kubernetes.default.svc.cluster.local'],
      issuedAt: 1_700_000_000,
      notBefore: 1_700_000_000,
      expires: 1_700_003_607,
    });
  });

  it('reads a legacy Secret-based token, which has no expiry', () => {
    const id = credentialIdentity('bearer', signedJwt(legacyTokenClaims('ci', 'runner', 'runner-token-x7k2p')))!;
    expect(id).toMatchObject({ kind: 'serviceaccount-legacy', subject: 'system:serviceaccount:ci:runner', namespace: 'ci', serviceAccount: 'runner', secret: 'runner-token-x7k2p', pod: null, expires: null });
    expect(describeIdentity(id)).toBe('service account ci/runner, from Secret runner-token-x7k2p, legacy token without expiry');
  });

  it('names the account from the subject when the other claims are missing, and from the claims when the subject is', () => {
    expect(credentialIdentity('bearer', signedJwt({ sub: 'system:serviceaccount:default:debug' }))).toMatchObject({ kind: 'serviceaccount', namespace: 'default', serviceAccount: 'debug' });
    const claims = boundTokenClaims({ namespace: 'monitoring', serviceAccount: 'prometheus' });
    delete claims.sub;
    expect(credentialIdentity('bearer', signedJwt(claims))).toMatchObject({ subject: 'system:serviceaccount:monitoring:prometheus', pod: null });
  });

  it('keeps an identity provider’s token as a plain JWT with its subject and issuer', () => {
    const id = credentialIdentity('bearer', signedJwt({ iss: 'https://dex.example.com', sub: 'CgVhbGljZRIFbG9jYWw', aud: 'kubernetes', exp: 1_800_000_000, email: 'alice@example.com' }))!;
    expect(id).toMatchObject({ kind: 'jwt', subject: 'CgVhbGljZRIFbG9jYWw', issuer: 'https://dex.example.com', audiences: ['kubernetes'], expires: 1_800_000_000, namespace: null });
    expect(describeIdentity(id)).toBe('token of CgVhbGljZRIFbG9jYWw issued by https://dex.example.com');
  });

  it('names a bootstrap token by its id and a basic credential by its user, never the secret part', () => {
    const boot = credentialIdentity('bearer', '07401b.f395accd246ae52d')!;
    expect(boot).toMatchObject({ kind: 'bootstrap', subject: 'system:bootstrap:07401b' });
    expect(JSON.stringify(boot)).not.toContain('f395accd246ae52d');
    const basic = credentialIdentity('basic', Buffer.from('admin:hunter2:with:colons').toString('base64'))!;
    expect(basic).toMatchObject({ kind: 'basic', subject: 'admin' });
    expect(JSON.stringify(basic)).not.toContain('hunter2');
    expect(credentialIdentity('basic', Buffer.from('no-colon').toString('base64'))).toBeNull();
    expect(credentialIdentity('basic', 'not base64!')).toBeNull();
  });

  it('names no one for opaque tokens, encrypted JWTs and malformed ones', () => {
    expect(credentialIdentity('bearer', 'h2-bearer-token-value-9f8e7d')).toBeNull();
    expect(credentialIdentity('other', signedJwt({ sub: 'x' }))).toBeNull();
    expect(credentialIdentity('bearer', '')).toBeNull();
    // JWE compact form: five parts, the claims are encrypted.
    expect(credentialIdentity('bearer', `${b64url({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`)).toBeNull();
    expect(credentialIdentity('bearer', `${b64url({ alg: 'RS256' })}.${b64url('not json')}.sig`)).toBeNull();
    expect(credentialIdentity('bearer', `${b64url({ alg: 'RS256' })}.${b64url([1, 2])}.sig`)).toBeNull();
    expect(credentialIdentity('bearer', `${b64url({ typ: 'JWT' })}.${b64url({ sub: 'x' })}.sig`)).toBeNull(); // no alg
    expect(credentialIdentity('bearer', `${b64url({ alg: 'RS256' })}.${b64url({ sub: 'x' })}`)).toBeNull(); // two parts
    expect(credentialIdentity('bearer', `${b64url({ alg: 'RS256' })}.pay load.sig`)).toBeNull();
    expect(credentialIdentity('bearer', signedJwt({ sub: 'x'.repeat(MAX_TOKEN_CHARS) }))).toBeNull();
  });

  it('bounds what it keeps and ignores claims of the wrong type', () => {
    const id = credentialIdentity('bearer', signedJwt({ sub: 's'.repeat(5000), aud: Array.from({ length: 20 }, (_, i) => `aud-${i}`), exp: 'tomorrow', iat: -5, nbf: 1e9, 'kubernetes.io': { namespace: 7, pod: 'not-an-object' } }))!;
    expect(id.subject).toHaveLength(253);
    expect(id.audiences).toHaveLength(8);
    expect(id).toMatchObject({ kind: 'serviceaccount', expires: null, issuedAt: null, notBefore: 1e9, namespace: null, pod: null });
  });

  it('reads an EKS token: the AWS access key it was signed with, the region, when it was signed and until when EKS takes it', () => {
    // As aws-iam-authenticator and `aws eks get-token` make it: a presigned STS GetCallerIdentity URL
    // (AWS's documentation example key id), base64url without padding, after "k8s-aws-v1.".
    const url = 'https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256' +
      '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261204%2Feu-west-1%2Fsts%2Faws4_request&X-Amz-Date=20261204T070000Z' +
      '&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=' + 'ab'.repeat(32);
    const token = `k8s-aws-v1.${Buffer.from(url).toString('base64url')}`;
    const id = credentialIdentity('bearer', token)!;
    expect(id).toMatchObject({
      kind: 'aws-iam', subject: 'aws:AKIAIOSFODNN7EXAMPLE', issuer: 'sts.eu-west-1.amazonaws.com', audiences: ['eu-west-1'],
      issuedAt: Date.UTC(2026, 11, 4, 7, 0, 0) / 1000, expires: Date.UTC(2026, 11, 4, 7, 15, 0) / 1000, pod: null,
    });
    expect(describeIdentity(id)).toBe('EKS token signed with AWS access key AKIAIOSFODNN7EXAMPLE (a long-term IAM user key, region eu-west-1)');
    const session = credentialIdentity('bearer', `k8s-aws-v1.${Buffer.from(url.replace('AKIAIOSFODNN7EXAMPLE', 'ASIAIOSFODNN7EXAMPLE')).toString('base64url')}`)!;
    expect(describeIdentity(session)).toContain('temporary credentials of a role session');
    // Not STS, not GetCallerIdentity, or no credential scope: no one is named.
    for (const bad of [url.replace('sts.eu-west-1.amazonaws.com', 'sts.example.com'), url.replace('GetCallerIdentity', 'AssumeRole'), url.replace(/X-Amz-Credential=[^&]+/, 'X-Amz-Credential=x'), 'not a url']) {
      expect(credentialIdentity('bearer', `k8s-aws-v1.${Buffer.from(bad).toString('base64url')}`)).toBeNull();
    }
    expect(credentialIdentity('bearer', 'k8s-aws-v1.!!!')).toBeNull();
  });

  it('knows a Google OAuth access token (GKE) as such, though it names no one', () => {
    const id = credentialIdentity('bearer', 'ya29.a0AfB_byC-example_token-value.0123')!;
    expect(id).toMatchObject({ kind: 'gcp-oauth', subject: null });
    expect(describeIdentity(id)).toBe('Google OAuth 2.0 access token (opaque: it does not name its holder)');
  });
});
