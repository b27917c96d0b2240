/**
 * Verifies a presented chain against a CA bundle the user supplies, at the capture's time.
 *
 * The question planewatch asks is "could the peer have verified this certificate?", so the answer
 * is one verdict with a reason a person can read. Checks run in the order a verifier fails:
 * signatures and trust first, then validity at `at` for every certificate on the path, then the
 * name (an IP against SAN IPs, a host against SAN DNS names with RFC 6125 wildcards; no CN
 * fallback, as in Go's crypto/x509 which Kubernetes components use).
 */
import { isIP } from 'node:net';
import type { X509Certificate } from 'node:crypto';
import type { CertificateInfo } from '../../src/model/records';
import { formatIp, parseCertificate, toX509 } from './parse-certificate';

/** Longest path followed from leaf to anchor. */
export const MAX_CHAIN_DEPTH = 10;
/** Most CA certificates read from one bundle. */
export const MAX_BUNDLE_CERTS = 1000;

export type ChainResult = 'ok' | 'unknown-issuer' | 'bad-signature' | 'expired' | 'not-yet-valid' | 'name-mismatch' | 'self-signed';

export interface ChainVerdict {
  result: ChainResult;
  reason: string;
}

interface Entry {
  info: CertificateInfo;
  x509: X509Certificate;
}

export interface CaBundle {
  readonly cas: readonly Entry[];
  /** PEM blocks that could not be read. */
  readonly errors: number;
}

export interface VerifyOptions {
  at: Date;
  host?: string;
  ip?: string;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

export function loadCaBundle(pem: string): CaBundle {
  const cas: Entry[] = [];
  let errors = 0;
  for (const m of pem.matchAll(PEM_BLOCK)) {
    if (cas.length >= MAX_BUNDLE_CERTS) break;
    const der = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
    const info = parseCertificate(der);
    const x509 = info === null ? null : toX509(info);
    if (info === null || x509 === null) errors++;
    else cas.push({ info, x509 });
  }
  return { cas, errors };
}

function entry(info: CertificateInfo): Entry | null {
  const x509 = toX509(info);
  return x509 === null ? null : { info, x509 };
}

function issuedBy(child: Entry, parent: Entry): boolean {
  return child.info.issuer === parent.info.subject || child.x509.checkIssued(parent.x509);
}

function signedBy(child: Entry, parent: Entry): boolean {
  try {
    return child.x509.verify(parent.x509.publicKey);
  } catch {
    return false;
  }
}

function label(info: CertificateInfo): string {
  return info.subject.length > 0 ? info.subject : `sha256:${info.sha256.slice(0, 16)}`;
}

type PathOutcome = { path: Entry[] } | ChainVerdict;

/** Leaf → … → a bundle CA, by issuer name and signature. */
function buildPath(chain: Entry[], bundle: CaBundle): PathOutcome {
  const path: Entry[] = [chain[0]];
  let cur = chain[0];
  for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
    // A certificate that is itself in the bundle is trusted directly.
    if (bundle.cas.some((ca) => ca.info.sha256 === cur.info.sha256)) return { path };
    let nameMatched: Entry | null = null;
    for (const ca of bundle.cas) {
      if (!issuedBy(cur, ca)) continue;
      if (signedBy(cur, ca)) {
        path.push(ca);
        return { path };
      }
      nameMatched = ca;
    }
    let next: Entry | null = null;
    for (const cand of chain) {
      if (cand === cur || path.includes(cand) || !issuedBy(cur, cand)) continue;
      if (signedBy(cur, cand)) {
        next = cand;
        break;
      }
      nameMatched ??= cand;
    }
    if (next === null) {
      if (nameMatched !== null) {
        return {
          result: 'bad-signature',
          reason: `the signature of ${label(cur.info)} does not verify with the key of ${label(nameMatched.info)}`,
        };
      }
      if (cur.info.selfSigned) {
        return cur === chain[0]
          ? { result: 'self-signed', reason: `${label(cur.info)} is self-signed and not in the CA bundle` }
          : { result: 'unknown-issuer', reason: `the chain ends in ${label(cur.info)}, a self-signed certificate not in the CA bundle` };
      }
      return { result: 'unknown-issuer', reason: `no certificate in the chain or the CA bundle issued ${label(cur.info)} (issuer ${cur.info.issuer})` };
    }
    path.push(next);
    cur = next;
  }
  return { result: 'unknown-issuer', reason: `no trusted issuer within ${MAX_CHAIN_DEPTH} certificates` };
}

function normaliseIp(ip: string): string {
  const kind = isIP(ip);
  if (kind === 4) return ip;
  if (kind !== 6) return ip.toLowerCase();
  // Expand then re-compress so that "::1" and "0:0:0:0:0:0:0:1" compare equal.
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const h = head.length > 0 ? head.split(':') : [];
  const t = tail.length > 0 ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  if (groups.length !== 8 || groups.some((g) => g.includes('.'))) return ip.toLowerCase();
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    bytes[i * 2] = v >> 8;
    bytes[i * 2 + 1] = v & 0xff;
  });
  return formatIp(bytes) ?? ip.toLowerCase();
}

/** RFC 6125 §6.4.3: '*' only as the whole left-most label, matching exactly one label. */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!p.startsWith('*.')) return p === h;
  const suffix = p.slice(1); // ".example.com"
  if (suffix.includes('*') || suffix.split('.').length < 3) return false; // no "*.com"
  if (!h.endsWith(suffix)) return false;
  const label = h.slice(0, h.length - suffix.length);
  return label.length > 0 && !label.includes('.');
}

export function verifyChain(chain: CertificateInfo[], bundle: CaBundle, opts: VerifyOptions): ChainVerdict {
  if (chain.length === 0) return { result: 'unknown-issuer', reason: 'no certificate was presented' };
  const entries: Entry[] = [];
  for (const c of chain.slice(0, MAX_CHAIN_DEPTH)) {
    const e = entry(c);
    if (e === null) return { result: 'bad-signature', reason: `certificate ${label(c)} cannot be read` };
    entries.push(e);
  }
  const built = buildPath(entries, bundle);
  if (!('path' in built)) return built;
  const at = opts.at.getTime();
  for (const e of built.path) {
    const nb = Date.parse(e.info.notBefore);
    const na = Date.parse(e.info.notAfter);
    if (!(nb <= at)) return { result: 'not-yet-valid', reason: `${label(e.info)} is not valid before ${e.info.notBefore}` };
    if (!(at <= na)) return { result: 'expired', reason: `${label(e.info)} expired at ${e.info.notAfter}` };
  }
  const leaf = chain[0];
  if (opts.ip !== undefined) {
    const want = normaliseIp(opts.ip);
    if (!leaf.sanIp.some((s) => normaliseIp(s) === want)) {
      return { result: 'name-mismatch', reason: `${label(leaf)} does not name ${opts.ip} (SAN IPs: ${leaf.sanIp.join(', ') || 'none'})` };
    }
  }
  if (opts.host !== undefined) {
    const host = opts.host;
    if (!leaf.sanDns.some((p) => hostMatches(p, host))) {
      return { result: 'name-mismatch', reason: `${label(leaf)} does not name ${host} (SAN DNS: ${leaf.sanDns.join(', ') || 'none'})` };
    }
  }
  const anchor = built.path[built.path.length - 1];
  return { result: 'ok', reason: `chains to ${label(anchor.info)} in the CA bundle` };
}
