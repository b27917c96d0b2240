/**
 * The cluster's PKI, shaped like kubeadm's: cluster CA, API server serving certificate, component and
 * node client certificates, an ECDSA P-256 etcd CA with its server/peer/client certificates, kubelet
 * serving certificates (the kubelet's own `HOST-ca@UNIXTIME` style and CA-signed ones), plus the
 * broken ones the risk scenarios need (expired, SHA-1 over RSA-1024).
 *
 * Keys come from node:crypto (fast RSA and EC); certificates are encoded with node-forge's ASN.1
 * (the TBSCertificate) and signed with node:crypto, which works the same for RSA and ECDSA issuers.
 * Keys and certificates are kept under captures/pki/ and reused, so samples keep the same
 * certificates across regenerations; `--new-pki` makes fresh ones.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { CLUSTER } from './cluster.js';

const { asn1 } = forge;

/** Reference time of every certificate: validity windows are placed around the capture start. */
export const CAPTURE_START_MS = Date.UTC(2026, 2, 2, 10, 0, 0);
/** When the kubelets generated their self-signed certificates (2025-09-01T00:00:00Z). */
export const KUBELET_SELF_SIGNED_AT = 1756684800;

const day = 86_400_000;
const ISSUED = new Date(Date.UTC(2025, 8, 1));
const ONE_YEAR = new Date(Date.UTC(2026, 8, 1));
const TEN_YEARS = new Date(Date.UTC(2035, 7, 30));

type KeyType = 'rsa2048' | 'rsa1024' | 'ec256';
type Usage = 'ca' | 'server' | 'client' | 'both';

export interface CertSpec {
  name: string;
  /** Attributes in DER order, e.g. [['O','system:nodes'],['CN','system:node:worker-1']]. */
  subject: [string, string][];
  /** Name of the issuing spec, or 'self'. */
  issuer: string;
  key: KeyType;
  hash?: 'sha256' | 'sha1';
  usage: Usage;
  dns?: string[];
  ips?: string[];
  notBefore?: Date;
  notAfter?: Date;
}

export interface Issued {
  name: string;
  certPem: string;
  keyPem: string;
  /** Subject as "A=x, B=y" in DER order (the form the truth files use). */
  subject: string;
  issuer: string;
  sha256: string;
}

const K = KUBELET_SELF_SIGNED_AT;
const apiSans = ['cp-1', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];

export const CERT_SPECS: CertSpec[] = [
  { name: 'ca', subject: [['CN', 'kubernetes']], issuer: 'self', key: 'rsa2048', usage: 'ca', notAfter: TEN_YEARS },
  { name: 'apiserver', subject: [['CN', 'kube-apiserver']], issuer: 'ca', key: 'rsa2048', usage: 'server',
    dns: apiSans, ips: ['10.96.0.1', CLUSTER.cp.ip] },
  { name: 'apiserver-kubelet-client', subject: [['O', 'kubeadm:cluster-admins'], ['CN', 'kube-apiserver-kubelet-client']], issuer: 'ca', key: 'rsa2048', usage: 'client' },
  { name: 'scheduler', subject: [['CN', 'system:kube-scheduler']], issuer: 'ca', key: 'rsa2048', usage: 'client' },
  { name: 'controller-manager', subject: [['CN', 'system:kube-controller-manager']], issuer: 'ca', key: 'rsa2048', usage: 'client' },
  { name: 'konnectivity-server', subject: [['CN', 'konnectivity-server']], issuer: 'ca', key: 'rsa2048', usage: 'server', dns: ['cp-1', 'konnectivity-server'], ips: [CLUSTER.cp.ip] },
  { name: 'konnectivity-agent', subject: [['CN', 'system:konnectivity-agent']], issuer: 'ca', key: 'rsa2048', usage: 'client' },
  // Node client certificates (kubelet → API server).
  ...[1, 2, 3].map((i): CertSpec => ({ name: `node-worker-${i}`, subject: [['O', 'system:nodes'], ['CN', `system:node:worker-${i}`]], issuer: 'ca', key: i === 3 ? 'ec256' : 'rsa2048', usage: 'client' })),
  { name: 'node-edge-1', subject: [['O', 'system:nodes'], ['CN', 'system:node:edge-1']], issuer: 'ca', key: 'rsa2048', usage: 'client' },
  // Kubelet serving certificates.
  { name: 'kubelet-worker-1-ca', subject: [['CN', `worker-1-ca@${K}`]], issuer: 'self', key: 'rsa2048', usage: 'ca', notBefore: new Date(K * 1000), notAfter: new Date((K + 365 * 86400) * 1000) },
  { name: 'kubelet-worker-1', subject: [['CN', `worker-1@${K}`]], issuer: 'kubelet-worker-1-ca', key: 'rsa2048', usage: 'server', dns: ['worker-1'], notBefore: new Date(K * 1000), notAfter: new Date((K + 365 * 86400) * 1000) },
  { name: 'kubelet-worker-2', subject: [['O', 'system:nodes'], ['CN', 'system:node:worker-2']], issuer: 'ca', key: 'ec256', usage: 'server', dns: ['worker-2'], ips: [CLUSTER.workers[1]!.ip] },
  { name: 'kubelet-worker-2-expired', subject: [['O', 'system:nodes'], ['CN', 'system:node:worker-2']], issuer: 'ca', key: 'rsa2048', usage: 'server', dns: ['worker-2'], ips: [CLUSTER.workers[1]!.ip], notBefore: new Date(Date.UTC(2025, 0, 10)), notAfter: new Date(Date.UTC(2026, 0, 10)) },
  { name: 'kubelet-worker-3', subject: [['CN', `worker-3@${K}`]], issuer: 'self', key: 'rsa2048', usage: 'server', dns: ['worker-3'], notBefore: new Date(K * 1000), notAfter: new Date((K + 365 * 86400) * 1000) },
  { name: 'kubelet-worker-3-rotated', subject: [['O', 'system:nodes'], ['CN', 'system:node:worker-3']], issuer: 'ca', key: 'rsa2048', usage: 'server', dns: ['worker-3'], ips: [CLUSTER.workers[2]!.ip], notBefore: new Date(CAPTURE_START_MS - day) },
  // etcd: its own CA, ECDSA P-256 throughout (kubeadm --encryption-algorithm=ECDSA-P256).
  { name: 'etcd-ca', subject: [['CN', 'etcd-ca']], issuer: 'self', key: 'ec256', usage: 'ca', notAfter: TEN_YEARS },
  ...CLUSTER.etcd.map((e): CertSpec => ({ name: `etcd-server-${e.name}`, subject: [['CN', e.name]], issuer: 'etcd-ca', key: 'ec256', usage: 'both', dns: [e.name, 'localhost'], ips: [e.ip, '127.0.0.1'] })),
  ...CLUSTER.etcd.map((e): CertSpec => ({ name: `etcd-peer-${e.name}`, subject: [['CN', e.name]], issuer: 'etcd-ca', key: 'ec256', usage: 'both', dns: [e.name, 'localhost'], ips: [e.ip, '127.0.0.1'] })),
  { name: 'apiserver-etcd-client', subject: [['CN', 'kube-apiserver-etcd-client']], issuer: 'etcd-ca', key: 'ec256', usage: 'client' },
  // Workloads: a dashboard behind the service proxy, a legacy app with a weak certificate.
  { name: 'dashboard', subject: [['CN', 'kubernetes-dashboard']], issuer: 'self', key: 'rsa2048', usage: 'server', dns: ['kubernetes-dashboard', 'kubernetes-dashboard.kubernetes-dashboard.svc'] },
  { name: 'legacy-app', subject: [['O', 'Legacy Inc'], ['CN', 'legacy-app']], issuer: 'self', key: 'rsa1024', hash: 'sha1', usage: 'server', dns: ['legacy-app.default.svc'] },
  { name: 'wrong-ca', subject: [['CN', 'kubernetes']], issuer: 'self', key: 'rsa2048', usage: 'ca', notAfter: TEN_YEARS },
  { name: 'example-com', subject: [['CN', 'example.com']], issuer: 'self', key: 'ec256', usage: 'server', dns: ['example.com', 'www.example.com'] },
];

const OID: Record<string, string> = {
  sha256WithRSA: '1.2.840.113549.1.1.11',
  sha1WithRSA: '1.2.840.113549.1.1.5',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA1: '1.2.840.10045.4.1',
};

function newKey(type: KeyType): KeyObject {
  if (type === 'ec256') return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  return generateKeyPairSync('rsa', { modulusLength: type === 'rsa1024' ? 1024 : 2048 }).privateKey;
}

function algorithmIdentifier(issuerKey: KeyObject, hash: 'sha256' | 'sha1'): forge.asn1.Asn1 {
  const ec = issuerKey.asymmetricKeyType === 'ec';
  const oid = ec ? (hash === 'sha1' ? OID.ecdsaWithSHA1! : OID.ecdsaWithSHA256!) : hash === 'sha1' ? OID.sha1WithRSA! : OID.sha256WithRSA!;
  const parts = [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes())];
  // RSA algorithm identifiers carry NULL parameters; ECDSA ones carry none (RFC 5758 §3.2).
  if (!ec) parts.push(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''));
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, parts);
}

/** SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 method 1). */
function keyIdentifier(key: KeyObject): string {
  const pub = createPublicKey(key);
  const bits = pub.asymmetricKeyType === 'rsa'
    ? pub.export({ type: 'pkcs1', format: 'der' })
    : pub.export({ type: 'spki', format: 'der' }).subarray(-65); // uncompressed P-256 point
  return createHash('sha1').update(bits).digest().toString('binary');
}

function serialFor(name: string): string {
  // Positive, deterministic per certificate name.
  return '4' + createHash('sha256').update(name).digest('hex').slice(0, 31);
}

function issue(spec: CertSpec, key: KeyObject, issuerSpec: CertSpec, issuerKey: KeyObject): string {
  const cert = forge.pki.createCertificate();
  // A placeholder key lets forge encode the TBSCertificate; the real SubjectPublicKeyInfo is put in below.
  cert.publicKey = forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger('3'), new forge.jsbn.BigInteger('65537'));
  cert.serialNumber = serialFor(spec.name);
  cert.validity.notBefore = spec.notBefore ?? ISSUED;
  cert.validity.notAfter = spec.notAfter ?? ONE_YEAR;
  const attrs = (a: [string, string][]) => a.map(([shortName, value]) => ({ shortName, value }));
  cert.setSubject(attrs(spec.subject));
  cert.setIssuer(attrs(issuerSpec.subject));
  const spkiDer = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const ext: any[] = [];
  if (spec.usage === 'ca') {
    ext.push({ name: 'basicConstraints', cA: true, critical: true });
    ext.push({ name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true, keyCertSign: true });
  } else {
    ext.push({ name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: key.asymmetricKeyType === 'rsa' });
    ext.push({ name: 'extKeyUsage', serverAuth: spec.usage !== 'client', clientAuth: spec.usage !== 'server' });
    ext.push({ name: 'basicConstraints', cA: false, critical: true });
  }
  ext.push({ id: '2.5.29.14', value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, keyIdentifier(key)) });
  if (spec.issuer !== 'self' || spec.usage !== 'ca') ext.push({ name: 'authorityKeyIdentifier', keyIdentifier: keyIdentifier(issuerKey) });
  const alt = [...(spec.dns ?? []).map((value) => ({ type: 2, value })), ...(spec.ips ?? []).map((ip) => ({ type: 7, ip }))];
  if (alt.length) ext.push({ name: 'subjectAltName', altNames: alt });
  cert.setExtensions(ext);
  cert.siginfo.algorithmOid = OID.sha256WithRSA!;
  // getTBSCertificate exists in node-forge but is missing from its typings.
  const tbs = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  const algId = algorithmIdentifier(issuerKey, spec.hash ?? 'sha256');
  const tbsParts = tbs.value as forge.asn1.Asn1[];
  tbsParts[2] = algId;
  tbsParts[6] = asn1.fromDer(forge.util.createBuffer(spkiDer.toString('binary')));
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  const sig = sign(spec.hash ?? 'sha256', tbsDer, issuerKey);
  const certAsn1 = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    algorithmIdentifier(issuerKey, spec.hash ?? 'sha256'),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x00' + sig.toString('binary')),
  ]);
  const der = Buffer.from(asn1.toDer(certAsn1).getBytes(), 'binary');
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

export function formatSubject(attrs: [string, string][]): string {
  return attrs.map(([k, v]) => `${k}=${v}`).join(', ');
}

export class Pki {
  private readonly issued = new Map<string, Issued>();

  /** Loads keys/certificates from `dir`, creating what is missing. */
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    const byName = new Map(CERT_SPECS.map((s) => [s.name, s]));
    const keys = new Map<string, KeyObject>();
    const keyOf = (s: CertSpec): KeyObject => {
      let k = keys.get(s.name);
      if (k) return k;
      const path = join(dir, `${s.name}.key`);
      if (existsSync(path)) k = createPrivateKey(readFileSync(path, 'utf8'));
      else {
        k = newKey(s.key);
        writeFileSync(path, k.export({ type: 'pkcs8', format: 'pem' }) as string);
      }
      keys.set(s.name, k);
      return k;
    };
    for (const spec of CERT_SPECS) {
      const issuerSpec = spec.issuer === 'self' ? spec : byName.get(spec.issuer)!;
      const key = keyOf(spec);
      const crtPath = join(dir, `${spec.name}.crt`);
      let certPem: string;
      if (existsSync(crtPath)) certPem = readFileSync(crtPath, 'utf8');
      else {
        certPem = issue(spec, key, issuerSpec, keyOf(issuerSpec));
        writeFileSync(crtPath, certPem);
      }
      const x = new X509Certificate(certPem);
      this.issued.set(spec.name, {
        name: spec.name,
        certPem,
        keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string,
        subject: formatSubject(spec.subject),
        issuer: formatSubject(issuerSpec.subject),
        sha256: x.fingerprint256.replace(/:/g, '').toLowerCase(),
      });
    }
  }

  get(name: string): Issued {
    const i = this.issued.get(name);
    if (!i) throw new Error(`no certificate named ${name}`);
    return i;
  }

  /** Leaf followed by its issuer (what servers send), unless `leafOnly`. */
  chain(name: string, leafOnly = false): string {
    const spec = CERT_SPECS.find((s) => s.name === name)!;
    if (leafOnly || spec.issuer === 'self') return this.get(name).certPem;
    return this.get(name).certPem + this.get(spec.issuer).certPem;
  }
}
