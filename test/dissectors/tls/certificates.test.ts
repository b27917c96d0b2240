/** Certificate parsing (RSA, ECDSA P-256, Ed25519) and chain verdicts, on openssl-made fixtures. */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { certCacheSize, parseCertificate, toX509 } from '../../../dissectors/x509/parse-certificate';
import { escapeRfc4514 } from '../../../dissectors/x509/rfc4514';
import { hostMatches, loadCaBundle, verifyChain } from '../../../dissectors/x509/verify-chain';
import type { CertificateInfo } from '../../../src/model/records';

const pem = (name: string): string => readFileSync(new URL(`./fixtures/${name}.pem`, import.meta.url), 'utf8');
const der = (name: string): Uint8Array => new Uint8Array(new X509Certificate(pem(name)).raw);
const cert = (name: string): CertificateInfo => parseCertificate(der(name))!;
const at = new Date('2030-01-01T00:00:00Z');

describe('parseCertificate', () => {
  it('reads an RSA leaf: names, SANs, usages, key and fingerprints', () => {
    const c = cert('server-rsa');
    const x = new X509Certificate(pem('server-rsa'));
    expect(c.subject).toBe('CN=worker-1,O=Acme\\, Inc.');
    expect(c.subjectCN).toBe('worker-1');
    expect(c.subjectO).toEqual(['Acme, Inc.']);
    expect(c.issuer).toBe('CN=kubernetes-ca');
    expect(c.sanDns).toEqual(['worker-1', '*.nodes.example.com']);
    expect(c.sanIp).toEqual(['127.0.0.1', '::1']);
    expect(c.san).toEqual(['worker-1', '*.nodes.example.com', '127.0.0.1', '::1']);
    expect(c.keyType).toBe('rsa');
    expect(c.keyBits).toBe(2048);
    expect(c.curve).toBeNull();
    expect(c.signatureAlgorithm).toBe('sha256WithRSAEncryption');
    expect(c.keyUsage).toEqual(['digitalSignature', 'keyEncipherment']);
    expect(c.extKeyUsage).toEqual(['serverAuth']);
    expect(c.isCA).toBe(false);
    expect(c.selfSigned).toBe(false);
    expect(c.serial).toBe(x.serialNumber.toLowerCase().replace(/^(00)+/, ''));
    expect(c.sha256).toBe(x.fingerprint256.replace(/:/g, '').toLowerCase());
    expect(c.sha1).toBe(x.fingerprint.replace(/:/g, '').toLowerCase());
    expect(c.notBefore).toBe(new Date(x.validFrom).toISOString());
    expect(c.notAfter).toBe(new Date(x.validTo).toISOString());
    expect(Buffer.from(c.der, 'base64')).toEqual(x.raw);
    expect(toX509(c)?.fingerprint256).toBe(x.fingerprint256);
  });

  it('reads ECDSA P-256 (which forge alone cannot)', () => {
    const c = cert('server-ec');
    expect(c).toMatchObject({ keyType: 'ec', keyBits: 256, curve: 'P-256', signatureAlgorithm: 'ecdsa-with-SHA256', subjectCN: 'kube-apiserver-etcd-client' });
    expect(c.extKeyUsage).toEqual(['clientAuth', 'serverAuth']);
    expect(c.sanIp).toEqual(['10.0.0.5']);
  });

  it('reads Ed25519 and detects self-signed by signature', () => {
    const c = cert('ed25519');
    expect(c).toMatchObject({ keyType: 'ed25519', keyBits: 256, signatureAlgorithm: 'Ed25519', selfSigned: true, subject: 'CN=ed-host' });
  });

  it('does not call a same-name certificate self-signed when its signature does not verify', () => {
    // forged.pem's issuer is "CN=kubernetes-ca", like ca-rsa, but a CA is only self-signed if it verifies.
    expect(cert('ca-rsa').selfSigned).toBe(true);
    expect(cert('impostor-ca').selfSigned).toBe(true);
    expect(cert('forged').selfSigned).toBe(false);
    expect(cert('kubelet-self').selfSigned).toBe(true);
    expect(cert('ca-rsa').isCA).toBe(true);
    expect(cert('ca-rsa').keyUsage).toEqual(['keyCertSign', 'cRLSign']);
  });

  it('caches by fingerprint and returns null (never throws) on garbage', () => {
    const a = cert('server-rsa');
    const n = certCacheSize();
    expect(cert('server-rsa')).toBe(a);
    expect(certCacheSize()).toBe(n);
    expect(parseCertificate(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]))).toBeNull();
    expect(parseCertificate(new Uint8Array(0))).toBeNull();
    const truncated = der('server-rsa').subarray(0, 300);
    expect(parseCertificate(truncated)).toBeNull();
  });

  it('tells apart certificates that differ only away from where the cache looks first', () => {
    // Same length and same signature bytes at the end: only the full comparison separates them.
    const original = der('server-rsa');
    const a = parseCertificate(original)!;
    const subjectAt = Buffer.from(original).indexOf('worker-1');
    expect(subjectAt).toBeGreaterThan(0);
    const altered = Uint8Array.from(original);
    altered[subjectAt + 7] = '2'.charCodeAt(0); // worker-1 → worker-2
    const b = parseCertificate(altered)!;
    expect(b).not.toBeNull();
    expect(b.subjectCN).toBe('worker-2');
    expect(b.sha256).not.toBe(a.sha256);
    expect(parseCertificate(Uint8Array.from(original))).toBe(a);
    expect(parseCertificate(Uint8Array.from(altered))).toBe(b);
    // The cache keeps a copy of the DER: the caller's buffer is reused for the next handshake.
    const third = Uint8Array.from(original);
    third[subjectAt + 7] = '3'.charCodeAt(0);
    const pristine = Uint8Array.from(third);
    const c = parseCertificate(third)!;
    third.fill(0);
    expect(parseCertificate(pristine)).toBe(c);
  });

  it('escapes RFC 4514 special characters', () => {
    expect(escapeRfc4514('a,b+c;d<e>f"g\\h')).toBe('a\\,b\\+c\\;d\\<e\\>f\\"g\\\\h');
    expect(escapeRfc4514(' #lead')).toBe('\\ #lead');
    expect(escapeRfc4514('#x')).toBe('\\#x');
    expect(escapeRfc4514('trail ')).toBe('trail\\ ');
    expect(escapeRfc4514('bell\x07\x1b[31m')).toBe('bell\\07\\1b[31m');
  });
});

describe('verifyChain', () => {
  const bundle = loadCaBundle(pem('ca-rsa') + pem('ca-ec'));

  it('loads every CA of a PEM bundle', () => {
    expect(bundle.cas.map((c) => c.info.subject)).toEqual(['CN=kubernetes-ca', 'CN=etcd-ca']);
    expect(bundle.errors).toBe(0);
  });

  it('ok for a leaf issued by a bundle CA, by IP and by host (incl. wildcard)', () => {
    const chain = [cert('server-rsa')];
    expect(verifyChain(chain, bundle, { at, ip: '127.0.0.1' }).result).toBe('ok');
    expect(verifyChain(chain, bundle, { at, ip: '0:0:0:0:0:0:0:1' }).result).toBe('ok');
    expect(verifyChain(chain, bundle, { at, host: 'worker-1' }).result).toBe('ok');
    expect(verifyChain(chain, bundle, { at, host: 'a.nodes.example.com' }).result).toBe('ok');
    expect(verifyChain([cert('server-ec'), cert('ca-ec')], bundle, { at, ip: '10.0.0.5' })).toEqual({
      result: 'ok',
      reason: 'chains to CN=etcd-ca in the CA bundle',
    });
  });

  it('name-mismatch for an address or host the certificate does not name', () => {
    const v = verifyChain([cert('server-rsa')], bundle, { at, ip: '10.0.0.21' });
    expect(v.result).toBe('name-mismatch');
    expect(v.reason).toContain('10.0.0.21');
    expect(verifyChain([cert('server-rsa')], bundle, { at, host: 'a.b.nodes.example.com' }).result).toBe('name-mismatch');
  });

  it('expired and not-yet-valid at the capture time, not now', () => {
    const c = cert('server-rsa');
    expect(verifyChain([c], bundle, { at: new Date(Date.parse(c.notAfter) + 1000) }).result).toBe('expired');
    expect(verifyChain([c], bundle, { at: new Date(Date.parse(c.notBefore) - 1000) }).result).toBe('not-yet-valid');
  });

  it('self-signed for a kubelet-style certificate not in the bundle', () => {
    const v = verifyChain([cert('kubelet-self')], bundle, { at, host: 'worker-1' });
    expect(v.result).toBe('self-signed');
    expect(v.reason).toContain('CN=worker-1@1700000000');
    // Trusted once the user puts it in the bundle.
    expect(verifyChain([cert('kubelet-self')], loadCaBundle(pem('kubelet-self')), { at, host: 'worker-1' }).result).toBe('ok');
  });

  it('unknown-issuer when nothing in chain or bundle issued the leaf', () => {
    expect(verifyChain([cert('server-rsa')], loadCaBundle(pem('other-ca')), { at }).result).toBe('unknown-issuer');
    expect(verifyChain([], bundle, { at }).result).toBe('unknown-issuer');
  });

  it('bad-signature when the named issuer’s key does not verify the signature', () => {
    // forged.pem names CN=kubernetes-ca as issuer but was signed by the impostor's key.
    expect(verifyChain([cert('forged')], bundle, { at, ip: '127.0.0.1' }).result).toBe('bad-signature');
    // A genuine leaf with one flipped signature bit.
    const d = Uint8Array.from(der('server-rsa'));
    d[d.length - 5] ^= 0x01;
    const tampered = parseCertificate(d)!;
    expect(tampered.sha256).not.toBe(cert('server-rsa').sha256);
    expect(verifyChain([tampered], bundle, { at }).result).toBe('bad-signature');
  });

  it('matches wildcards only in the left-most label', () => {
    expect(hostMatches('*.example.com', 'a.example.com')).toBe(true);
    expect(hostMatches('*.example.com', 'example.com')).toBe(false);
    expect(hostMatches('*.example.com', 'a.b.example.com')).toBe(false);
    expect(hostMatches('*.com', 'a.com')).toBe(false);
    expect(hostMatches('Worker-1.', 'worker-1')).toBe(true);
  });
});
