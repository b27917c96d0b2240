/**
 * DER certificate → CertificateInfo.
 *
 * node-forge reads the structure: its ASN.1 parser handles every certificate, while its
 * `certificateFromAsn1` refuses anything but RSA keys, so the TBSCertificate is walked here and
 * forge decodes the extensions. `node:crypto`'s X509Certificate supplies what forge cannot: key
 * type/size/curve for EC and Ed25519, and the self-signature check. If forge cannot read the DER
 * at all, X509Certificate's own fields are the fallback. Nothing throws: an unreadable certificate
 * is null and the caller counts `tls.malformed_certificate`.
 *
 * Results are cached (bounded, `MAX_CERT_CACHE`): a kubelet or API server presents the same
 * certificate on every connection, and parsing it once per process is enough. Cached objects are
 * shared; callers must not mutate them.
 */
import { createHash, X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import type { CertificateInfo } from '../../src/model/records';
import { OID_CN, OID_O, parseName, type ParsedName } from './rfc4514';
import { digestOf } from '../../src/digest';

const asn1 = forge.asn1;

/** Distinct certificates kept parsed per process. */
export const MAX_CERT_CACHE = 4096;
/** Longest DER accepted (a certificate with many SANs is a few KiB; 64 KiB is generous). */
export const MAX_CERT_DER_BYTES = 65536;

const SIGNATURE_ALGORITHMS: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.1': 'ecdsa-with-SHA224',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
  '1.2.840.10040.4.3': 'dsa-with-sha1',
  '2.16.840.1.101.3.4.3.2': 'dsa-with-sha256',
};

const EKU_NAMES: Readonly<Record<string, string>> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.3': 'codeSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
};

const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;

const CURVE_NAMES: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/** A parsed certificate and the DER it came from (a copy: the caller's bytes are reused). */
interface Cached {
  der: Uint8Array;
  info: CertificateInfo;
}

/**
 * Parsed certificates by a hash of their DER's length and last bytes (the signature, as good as
 * random), each compared in full on a hit. Digesting every certificate of every handshake to look
 * it up cost more than the rest of the certificate message.
 */
const cache = new Map<number, Cached[]>();
let cached = 0;
/** Certificates kept per hash: DER crafted to collide is parsed again rather than compared at length. */
const MAX_PER_BUCKET = 8;
/** Bytes at the end of the DER that the cache's hash reads. */
const HASHED_TAIL = 64;

/** Number of certificates currently cached (for tests and stats). */
export function certCacheSize(): number {
  return cached;
}

function derHash(der: Uint8Array): number {
  let h = Math.imul(der.length ^ 0x811c9dc5, 0x01000193);
  for (let i = der.length > HASHED_TAIL ? der.length - HASHED_TAIL : 0; i < der.length; i++) {
    h = Math.imul(h ^ der[i]!, 0x01000193);
  }
  return h;
}

function lookup(bucket: Cached[] | undefined, der: Uint8Array): CertificateInfo | undefined {
  if (bucket === undefined) return undefined;
  for (const c of bucket) if (c.der.length === der.length && Buffer.compare(c.der, der) === 0) return c.info;
  return undefined;
}

function remember(h: number, der: Uint8Array, info: CertificateInfo): void {
  let bucket = cache.get(h);
  if (bucket !== undefined && bucket.length >= MAX_PER_BUCKET) return;
  if (cached >= MAX_CERT_CACHE) {
    // Oldest first: Map iteration follows insertion order.
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) {
      cached -= cache.get(oldest)!.length;
      cache.delete(oldest);
      if (oldest === h) bucket = undefined;
    }
  }
  const entry = { der: Uint8Array.prototype.slice.call(der), info };
  if (bucket === undefined) cache.set(h, [entry]);
  else bucket.push(entry);
  cached++;
}

/** IPv4 dotted or IPv6 in RFC 5952 form (longest zero run compressed, lower case). */
export function formatIp(b: Uint8Array): string | null {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) return null;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

interface TbsFields {
  serial: string;
  issuer: ParsedName;
  subject: ParsedName;
  notBefore: Date;
  notAfter: Date;
  signatureAlgorithm: string;
  sanDns: string[];
  sanIp: string[];
  isCA: boolean;
  keyUsage: string[];
  extKeyUsage: string[];
}

function serialHex(bytes: string): string {
  let hex = forge.util.bytesToHex(bytes);
  // DER prepends 00 to keep a positive INTEGER positive; the serial people compare omits it.
  while (hex.length > 2 && hex.startsWith('00')) hex = hex.slice(2);
  return hex.toLowerCase();
}

function timeOf(node: forge.asn1.Asn1): Date {
  const v = node.value as string;
  return node.type === asn1.Type.UTCTIME ? asn1.utcTimeToDate(v) : asn1.generalizedTimeToDate(v);
}

type ForgeExtension = {
  name?: string;
  id: string;
  cA?: boolean;
  altNames?: { type: number; value: string }[];
  [k: string]: unknown;
};
const extensionFromAsn1 = (forge.pki as unknown as { certificateExtensionFromAsn1(e: forge.asn1.Asn1): ForgeExtension })
  .certificateExtensionFromAsn1;

/** Walks the TBSCertificate with forge's ASN.1 parser. Throws on malformed input (caller catches). */
function readTbs(der: Uint8Array): TbsFields {
  const root = asn1.fromDer(forge.util.createBuffer(Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('latin1')), {
    strict: true,
    parseAllBytes: true,
    decodeBitStrings: false,
  } as unknown as boolean);
  const top = root.value as forge.asn1.Asn1[];
  const tbs = top[0].value as forge.asn1.Asn1[];
  let i = 0;
  if (tbs[0].tagClass === asn1.Class.CONTEXT_SPECIFIC && tbs[0].type === 0) i++;
  const serial = serialHex(tbs[i++].value as string);
  i++; // inner signature AlgorithmIdentifier; the outer one is authoritative
  const issuer = parseName(tbs[i++]);
  const validity = tbs[i++].value as forge.asn1.Asn1[];
  const subject = parseName(tbs[i++]);
  i++; // SubjectPublicKeyInfo: key details come from node:crypto
  const sigOid = asn1.derToOid((top[1].value as forge.asn1.Asn1[])[0].value as string);
  const out: TbsFields = {
    serial,
    issuer,
    subject,
    notBefore: timeOf(validity[0]),
    notAfter: timeOf(validity[1]),
    signatureAlgorithm: SIGNATURE_ALGORITHMS[sigOid] ?? sigOid,
    sanDns: [],
    sanIp: [],
    isCA: false,
    keyUsage: [],
    extKeyUsage: [],
  };
  for (; i < tbs.length; i++) {
    const node = tbs[i];
    if (node.tagClass !== asn1.Class.CONTEXT_SPECIFIC || node.type !== 3) continue;
    const exts = (node.value as forge.asn1.Asn1[])[0].value as forge.asn1.Asn1[];
    for (const raw of exts) {
      const e = extensionFromAsn1(raw);
      if (e.name === 'basicConstraints') out.isCA = e.cA === true;
      else if (e.name === 'keyUsage') {
        for (const bit of KEY_USAGE_BITS) if (e[bit] === true) out.keyUsage.push(bit);
      } else if (e.id === '2.5.29.37') {
        // forge flags each purpose by its name; the OIDs are re-read to keep the wire order.
        const seq = asn1.fromDer(((raw.value as forge.asn1.Asn1[]).at(-1) as forge.asn1.Asn1).value as string);
        for (const p of seq.value as forge.asn1.Asn1[]) {
          const oid = asn1.derToOid(p.value as string);
          out.extKeyUsage.push(EKU_NAMES[oid] ?? oid);
        }
      } else if (e.name === 'subjectAltName' && e.altNames) {
        for (const an of e.altNames) {
          if (an.type === 2) out.sanDns.push(an.value);
          else if (an.type === 7) {
            const ip = formatIp(Buffer.from(an.value, 'latin1'));
            if (ip !== null) out.sanIp.push(ip);
          }
        }
      }
    }
  }
  return out;
}

/** The fallback when forge cannot read the DER: X509Certificate's text forms. */
function readTbsFromX509(x: X509Certificate): TbsFields {
  const toName = (s: string): ParsedName => {
    const attrs = s.split('\n').filter((l) => l.length > 0);
    const attributes = attrs.map((l) => {
      const eq = l.indexOf('=');
      const k = l.slice(0, eq);
      return { oid: k === 'CN' ? OID_CN : k === 'O' ? OID_O : k, value: l.slice(eq + 1) };
    });
    return { rfc4514: attrs.slice().reverse().join(','), attributes };
  };
  const sanDns: string[] = [];
  const sanIp: string[] = [];
  for (const part of (x.subjectAltName ?? '').split(', ')) {
    if (part.startsWith('DNS:')) sanDns.push(part.slice(4));
    else if (part.startsWith('IP Address:')) sanIp.push(part.slice(11).toLowerCase());
  }
  return {
    serial: x.serialNumber.toLowerCase().replace(/^(00)+(?=.)/, ''),
    issuer: toName(x.issuer),
    subject: toName(x.subject),
    notBefore: new Date(x.validFrom),
    notAfter: new Date(x.validTo),
    signatureAlgorithm: 'unknown',
    sanDns,
    sanIp,
    isCA: x.ca,
    keyUsage: [],
    extKeyUsage: (x.keyUsage ?? []).map((o) => EKU_NAMES[o] ?? o),
  };
}

function isoOrEmpty(d: Date): string {
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function keyDetails(x: X509Certificate): Pick<CertificateInfo, 'keyType' | 'keyBits' | 'curve'> {
  const k = x.publicKey;
  const d = k.asymmetricKeyDetails ?? {};
  switch (k.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return { keyType: 'rsa', keyBits: d.modulusLength ?? 0, curve: null };
    case 'dsa':
      return { keyType: 'dsa', keyBits: d.modulusLength ?? 0, curve: null };
    case 'ec': {
      const named = d.namedCurve ?? null;
      const curve = named === null ? null : (CURVE_NAMES[named] ?? named);
      const bits = curve === 'P-256' ? 256 : curve === 'P-384' ? 384 : curve === 'P-521' ? 521 : 0;
      return { keyType: 'ec', keyBits: bits, curve };
    }
    case 'ed25519':
      return { keyType: 'ed25519', keyBits: 256, curve: 'Ed25519' };
    case 'ed448':
      return { keyType: 'ed448', keyBits: 448, curve: 'Ed448' };
    default:
      return { keyType: 'unknown', keyBits: 0, curve: null };
  }
}

function valuesOf(name: ParsedName, oid: string): string[] {
  const out: string[] = [];
  for (const a of name.attributes) if (a.oid === oid) out.push(a.value);
  return out;
}

/** The most specific CN (the last in DER order), as RFC 6125 and Go's crypto/x509 read it. */
function cnOf(name: ParsedName): string | null {
  const cns = valuesOf(name, OID_CN);
  return cns.length > 0 ? cns[cns.length - 1] : null;
}

/** Parses one DER certificate (or finds it parsed already). Returns null when the DER cannot be read. */
export function parseCertificate(der: Uint8Array): CertificateInfo | null {
  if (der.length === 0 || der.length > MAX_CERT_DER_BYTES) return null;
  const h = derHash(der);
  const hit = lookup(cache.get(h), der);
  if (hit !== undefined) return hit;
  const sha256 = digestOf('sha256', der, 'hex');
  let x: X509Certificate;
  try {
    x = new X509Certificate(der);
  } catch {
    return null;
  }
  let tbs: TbsFields;
  try {
    tbs = readTbs(der);
  } catch {
    try {
      tbs = readTbsFromX509(x);
    } catch {
      return null;
    }
  }
  let key: Pick<CertificateInfo, 'keyType' | 'keyBits' | 'curve'>;
  let selfSigned = false;
  try {
    key = keyDetails(x);
    selfSigned = tbs.subject.rfc4514 === tbs.issuer.rfc4514 && x.verify(x.publicKey);
  } catch {
    key = { keyType: 'unknown', keyBits: 0, curve: null };
  }
  const info: CertificateInfo = {
    subject: tbs.subject.rfc4514,
    issuer: tbs.issuer.rfc4514,
    subjectCN: cnOf(tbs.subject),
    subjectO: valuesOf(tbs.subject, OID_O),
    issuerCN: cnOf(tbs.issuer),
    issuerO: valuesOf(tbs.issuer, OID_O),
    san: [...tbs.sanDns, ...tbs.sanIp],
    sanDns: tbs.sanDns,
    sanIp: tbs.sanIp,
    serial: tbs.serial,
    notBefore: isoOrEmpty(tbs.notBefore),
    notAfter: isoOrEmpty(tbs.notAfter),
    keyType: key.keyType,
    keyBits: key.keyBits,
    curve: key.curve,
    signatureAlgorithm: tbs.signatureAlgorithm,
    sha256,
    sha1: createHash('sha1').update(der).digest('hex'),
    isCA: tbs.isCA,
    keyUsage: tbs.keyUsage,
    extKeyUsage: tbs.extKeyUsage,
    selfSigned,
    der: Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64'),
  };
  remember(h, der, info);
  return info;
}

/** The X509Certificate behind a record (for verification), or null if its DER is unreadable. */
export function toX509(info: CertificateInfo): X509Certificate | null {
  try {
    return new X509Certificate(Buffer.from(info.der, 'base64'));
  } catch {
    return null;
  }
}
