import { neverOpened } from './connection-attempt';
import type { FlowRecord } from '../model/flow-record';
import { endpointText } from '../decode/address';
import type { CertificateInfo, HttpRequestRecord } from '../model/records';
import { describeIdentity, ownCredential, relayedByProxy } from './client-identity';
import type { Classification, Finding } from '../model/analysis';
import { FINDINGS } from './finding-catalogue';
import { canJudgeNetworks, inNetworks, insideCluster } from './inventory';
import type { Topology, SeenChain } from './topology';
import { hostMatches, verifyChain, type CaBundle } from '../../dissectors/x509/verify-chain';
import { isKnownNonApiClient } from './classifier';
import { isEtcdCall } from '../../dissectors/http2/etcd-auth';
import { signedByOwnCa } from './self-made-certificates';

/**
 * The rules: each looks at one classified flow (and what the topology learned elsewhere) and says
 * what is unsafe, with the evidence — fields, frame numbers and times — that shows it.
 * A rule never claims what the traffic does not show: where the certificate was not seen, the
 * kubelet rule says "cannot tell" instead of guessing.
 */

export interface RuleContext {
  topology: Topology;
  ca: CaBundle | null;
}

const CONTROL_PLANE_HTTP_PATHS = new Set(['node-to-apiserver', 'pod-to-apiserver', 'controlplane-to-apiserver', 'apiserver-to-kubelet']);
const ETCD_PATHS = new Set(['apiserver-to-etcd', 'etcd-peer']);
const WEAK_CIPHER = /RC4|_DES_|3DES|DES40|_NULL_|NULL_WITH|EXPORT|_anon_|_MD5$/i;

/** A certificate's validity in milliseconds (NaN where a date is missing), parsed once per certificate. */
const validities = new WeakMap<CertificateInfo, { notBefore: number; notAfter: number }>();
function validity(c: CertificateInfo): { notBefore: number; notAfter: number } {
  let v = validities.get(c);
  if (v === undefined) {
    v = { notBefore: Date.parse(c.notBefore), notAfter: Date.parse(c.notAfter) };
    validities.set(c, v);
  }
  return v;
}

function isoTime(ts: number): string {
  return new Date(ts * 1000).toISOString();
}

function make(rule: string, f: FlowRecord, evidence: string, frame: number | null = f.firstFrame, ts: number | null = f.firstTs): Finding {
  const d = FINDINGS[rule]!;
  return {
    rule,
    severity: d.severity,
    flowId: f.id,
    title: d.title,
    evidence,
    recommendation: d.recommendation,
    reference: d.reference,
    cis: d.cis,
    ts,
    frame,
  };
}

function conn(f: FlowRecord): string {
  return `${endpointText(f.client.ip, f.client.port)} → ${endpointText(f.server.ip, f.server.port)}`;
}

function isPlaintextHttp(f: FlowRecord): boolean {
  return f.app === 'http' || f.app === 'http2';
}

function handshakeCompleted(f: FlowRecord): boolean {
  const t = f.tls;
  if (!t) return false;
  if (t.alerts.some((a) => a.level === 'fatal')) return false;
  return t.established || (t.appDataRecords[0] > 0 && t.appDataRecords[1] > 0);
}

/** Why a kubelet serving chain cannot be what a verifying API server accepts; empty = no problem seen. */
function kubeletChainProblems(chain: CertificateInfo[], f: FlowRecord, ctx: RuleContext): string[] {
  const leaf = chain[0]!;
  const problems: string[] = [];
  const at = new Date(f.firstTs * 1000);
  if (leaf.selfSigned) problems.push(`certificate ${leaf.subject} is self-signed`);
  else if (signedByOwnCa(leaf)) problems.push(`certificate ${leaf.subject} is signed by the kubelet's own CA ${leaf.issuer}, not a cluster CA`);
  if (ctx.ca) {
    const v = verifyChain(chain, ctx.ca, { at, ip: f.server.ip });
    if (v.result !== 'ok' && !(v.result === 'self-signed' && leaf.selfSigned)) problems.push(`against the supplied CA bundle: ${v.result} (${v.reason})`);
  } else {
    if (!leaf.sanIp.includes(f.server.ip)) problems.push(`certificate does not name the kubelet's address ${f.server.ip} (SAN: ${leaf.san.join(', ') || 'none'})`);
    const { notBefore: nb, notAfter: na } = validity(leaf);
    if (Number.isFinite(na) && at.getTime() > na) problems.push(`certificate expired ${leaf.notAfter}`);
    if (Number.isFinite(nb) && at.getTime() < nb) problems.push(`certificate not valid before ${leaf.notBefore}`);
  }
  return problems;
}

function kubeletTlsFindings(f: FlowRecord, ctx: RuleContext): Finding[] {
  const tls = f.tls;
  if (!tls || f.app !== 'tls') return [];
  let seen: SeenChain | null = null;
  let source = 'on this connection';
  if (tls.serverCertificates.length > 0) {
    seen = { chain: tls.serverCertificates, flowId: f.id, ts: f.firstTs, frame: tls.certificateFrame || f.firstFrame };
  } else {
    seen = ctx.topology.chainFor(f.server.ip, f.server.port, f.firstTs);
    if (seen) source = `on another connection to the same kubelet (first on flow ${seen.flowId}, frame ${seen.frame})`;
  }
  if (!seen) {
    const why =
      tls.version === '1.3'
        ? 'TLS 1.3 encrypts the certificate and no key log or TLS 1.2 connection to this kubelet shows it'
        : 'the kubelet certificate was not captured (resumed session or capture loss)';
    return [make('kubelet-tls-indeterminate', f, `${conn(f)}: ${why}; whether the API server verifies the kubelet cannot be told from this traffic`, tls.serverHelloFrame || f.firstFrame)];
  }
  if (!handshakeCompleted(f)) return [];
  const problems = kubeletChainProblems(seen.chain, f, ctx);
  if (problems.length === 0) return [];
  return [
    make(
      'kubelet-tls-unverified',
      f,
      `${conn(f)}: serving certificate seen ${source}: ${problems.join('; ')}; the TLS ${tls.version ?? ''} handshake still completed, so the API server accepted it without verification (sha256 ${seen.chain[0]!.sha256.slice(0, 16)}…)`,
      seen.frame,
    ),
  ];
}

function presentedCerts(f: FlowRecord): CertificateInfo[] {
  return f.tls ? [...f.tls.serverCertificates, ...f.tls.clientCertificates] : [];
}

export function findingsForFlow(f: FlowRecord, c: Classification, ctx: RuleContext): Finding[] {
  // Nothing crossed a connection that never opened: no finding is about it (its reasons say so).
  if (neverOpened(f) !== null) return [];
  const out: Finding[] = [];
  const controlPlane = c.path !== 'other';
  const plaintext = isPlaintextHttp(f);
  const firstReq = f.http[0];

  switch (c.path) {
    case 'apiserver-proxy':
      if (c.pathDetail.scheme === 'http') {
        const uri = firstReq?.xForwardedUri ?? firstReq?.path ?? '';
        out.push(make('plaintext-proxy', f, `${conn(f)}: proxied request ${firstReq?.method ?? ''} ${uri.slice(0, 120)} in plain HTTP (target ${c.pathDetail.target})`, firstReq?.frame ?? f.firstFrame, firstReq?.ts ?? f.firstTs));
      } else {
        out.push(make('proxy-tls-unverified', f, `${conn(f)}: HTTPS proxy connection (TLS ${f.tls?.version ?? '?'}, target ${c.pathDetail.target}); the API server does not validate the target's certificate`));
      }
      break;
    case 'apiserver-to-kubelet':
      if (isKnownNonApiClient(f, ctx.topology)) {
        const cred = ownCredential(f);
        const holder = cred === null ? '' : `; it sends the ${cred.identity.kind === 'basic' ? '' : 'bearer token of '}${describeIdentity(cred.identity)}`;
        out.push(make('kubelet-direct-access', f, `${conn(f)}: ${c.reasons.find((r) => r.includes('not an API server')) ?? 'client is not an API server'}${holder}`));
      } else {
        out.push(...kubeletTlsFindings(f, ctx));
      }
      break;
    case 'ssh-tunnel':
      out.push(make('ssh-tunnel-deprecated', f, `${conn(f)}: SSH ${f.ssh?.clientBanner ?? ''} → ${f.ssh?.serverBanner ?? ''}`.trim()));
      break;
    default:
      break;
  }

  if (f.server.port === 10255 && (plaintext || f.app === 'unknown') && f.payloadBytes[0] > 0) {
    const req = firstReq ? ` (${firstReq.method} ${firstReq.path.slice(0, 100)})` : '';
    out.push(make('kubelet-readonly-port', f, `${conn(f)}: unauthenticated plain HTTP to the kubelet read-only port${req}`, firstReq?.frame ?? f.firstFrame, firstReq?.ts ?? f.firstTs));
  }

  if (plaintext && CONTROL_PLANE_HTTP_PATHS.has(c.path) && c.path !== 'apiserver-to-kubelet') {
    const apiReq = f.http.find((h) => h.k8s?.api === 'apiserver');
    if (apiReq && ctx.topology.serverStrength(f.server.ip, f.server.port, 'apiserver') >= 0.3) {
      out.push(make('apiserver-insecure-port', f, `${conn(f)}: ${apiReq.method} ${apiReq.path.slice(0, 120)} in plain HTTP to the API server (port ${f.server.port})`, apiReq.frame, apiReq.ts));
    }
  }

  if (plaintext) {
    const withAuth = f.http.find((h) => h.auth !== 'none');
    if (withAuth) {
      out.push(make('bearer-token-cleartext', f, `${conn(f)}: ${credentialCarrier(withAuth)} (${withAuth.authHash ?? 'hash unavailable'}${credentialHolder(withAuth)}) sent in cleartext with ${withAuth.method} ${withAuth.path.slice(0, 100)} at frame ${withAuth.frame}`, withAuth.frame, withAuth.ts));
    }
    const anonymousScope = CONTROL_PLANE_HTTP_PATHS.has(c.path);
    const anon = f.http.find((h) => h.auth === 'none' && h.k8s !== null);
    if (anonymousScope && anon) {
      out.push(make('anonymous-request', f, `${conn(f)}: ${anon.method} ${anon.path.slice(0, 120)} carried no credentials${anon.status !== null ? ` and was answered ${anon.status}` : ''}`, anon.frame, anon.ts));
    }
  }

  if (ETCD_PATHS.has(c.path)) {
    if (f.app !== 'tls' && f.payloadBytes[0] + f.payloadBytes[1] > 0) {
      const grpc = f.http.find((h) => h.grpcMethod)?.grpcMethod;
      out.push(make('etcd-plaintext', f, `${conn(f)}: etcd ${c.path === 'etcd-peer' ? 'peer' : 'client'} traffic without TLS (${f.app}${grpc ? `, ${grpc}` : ''}, ${f.payloadBytes[0] + f.payloadBytes[1]} bytes readable)`));
    } else if (f.tls && f.tls.clientCertRequested === false && f.tls.version !== '1.3') {
      out.push(make('etcd-no-client-auth', f, `${conn(f)}: TLS ${f.tls.version} handshake completed without a CertificateRequest from etcd (server hello at frame ${f.tls.serverHelloFrame})`, f.tls.serverHelloFrame || f.firstFrame));
    }
  }

  if (controlPlane && f.tls) out.push(...tlsHygiene(f));
  if (controlPlane) out.push(...certChanged(f, ctx));

  if (controlPlane) {
    const elsewhere = tokenUsedElsewhere(f, ctx.topology);
    if (elsewhere !== null) out.push(elsewhere);
    const rejected = f.http.filter((h) => h.auth !== 'none' && refusal(h) !== null);
    if (rejected.length > 0) {
      const h = rejected[0]!;
      const codes = [...new Set(rejected.map((r) => refusal(r)!))].join(' and ');
      out.push(make('credential-rejected', f,
        `${conn(f)}: ${rejected.length} request${rejected.length === 1 ? '' : 's'} with a credential answered ${codes}; first ${h.method} ${h.path.slice(0, 100)} at frame ${h.frame} → ${refusal(h)}${h.grpcMessage ? ` "${h.grpcMessage.slice(0, 100)}"` : ''} (${h.authHash ?? 'hash unavailable'}${credentialHolder(h)})`,
        h.frame, h.ts));
    }
    const legacy = f.http.find((h) => h.authIdentity?.kind === 'serviceaccount-legacy' && !relayedByProxy(h));
    if (legacy) {
      out.push(make('legacy-serviceaccount-token', f,
        `${conn(f)}: ${legacy.method} ${legacy.path.slice(0, 100)} at frame ${legacy.frame} carries the token of ${describeIdentity(legacy.authIdentity!)} (${legacy.authHash ?? 'hash unavailable'})`,
        legacy.frame, legacy.ts));
    }
  }

  const inv = ctx.topology.inventory;
  if (controlPlane && canJudgeNetworks(inv)) {
    const outside = [f.client.ip, f.server.ip].filter((ip) => !insideCluster(inv, ip));
    if (outside.length > 0) {
      out.push(make('untrusted-network', f, `${conn(f)}: ${outside.join(' and ')} ${outside.length > 1 ? 'are' : 'is'} outside the cluster networks of the inventory (${inv.sources.join(', ')})`));
    }
  }
  return out;
}

/**
 * How a credentialed request was refused, or null: an API server's or kubelet's 401/403, or an etcd
 * call whose gRPC status says the caller was not authenticated (16 UNAUTHENTICATED: a bad or expired
 * token), not allowed (7 PERMISSION_DENIED), or — for Authenticate itself, which etcd answers with
 * 3 INVALID_ARGUMENT — gave a wrong user name or password.
 */
function refusal(h: HttpRequestRecord): string | null {
  if (h.k8s !== null && (h.status === 401 || h.status === 403)) return String(h.status);
  if (h.grpcMethod === null || !isEtcdCall(h.path)) return null;
  if (h.grpcStatus === 16) return 'grpc-status 16 UNAUTHENTICATED';
  if (h.grpcStatus === 7) return 'grpc-status 7 PERMISSION_DENIED';
  if (h.grpcStatus === 3 && h.path.endsWith('/Authenticate') && /authentication failed/i.test(h.grpcMessage ?? '')) return 'grpc-status 3 (authentication failed)';
  return null;
}

function tlsHygiene(f: FlowRecord): Finding[] {
  const tls = f.tls!;
  const out: Finding[] = [];
  const weak: string[] = [];
  if (tls.version === 'ssl3' || tls.version === '1.0' || tls.version === '1.1') weak.push(`protocol TLS ${tls.version}`);
  if (tls.cipher && WEAK_CIPHER.test(tls.cipher)) weak.push(`cipher ${tls.cipher}`);
  for (const cert of presentedCerts(f)) {
    // A root's signature on itself is never checked; every other signature is.
    if (/sha1|md5/i.test(cert.signatureAlgorithm) && !(cert.selfSigned && cert.isCA)) weak.push(`${cert.subject} signed with ${cert.signatureAlgorithm}`);
    if (cert.keyType === 'rsa' && cert.keyBits > 0 && cert.keyBits < 2048) weak.push(`${cert.subject} has an RSA ${cert.keyBits}-bit key`);
  }
  if (weak.length > 0) out.push(make('weak-tls', f, `${conn(f)}: ${weak.join('; ')}`, tls.serverHelloFrame || f.firstFrame));

  const at = f.firstTs * 1000;
  for (const cert of presentedCerts(f)) {
    const { notBefore: nb, notAfter: na } = validity(cert);
    if ((Number.isFinite(na) && at > na) || (Number.isFinite(nb) && at < nb)) {
      const state = Number.isFinite(na) && at > na ? `expired ${cert.notAfter}` : `not valid before ${cert.notBefore}`;
      out.push(make('cert-expired', f, `${conn(f)}: certificate ${cert.subject} ${state}; capture time ${isoTime(f.firstTs)}`, tls.certificateFrame || f.firstFrame));
      break;
    }
  }

  const fatal = tls.alerts.find((a) => a.level === 'fatal' && a.plaintext);
  if (fatal) {
    out.push(make('tls-handshake-failure', f, `${conn(f)}: ${fatal.from} sent fatal alert ${fatal.description} (${fatal.code}) at frame ${fatal.frame}`, fatal.frame, fatal.ts));
  }
  return out;
}

function certChanged(f: FlowRecord, ctx: RuleContext): Finding[] {
  const leaf = f.tls?.serverCertificates[0];
  if (!leaf) return [];
  // An address the capturing host spreads over several endpoints (a Service address, a load
  // balancer) shows each one's certificate by design; each endpoint is checked at its own address.
  if (ctx.topology.translationsOf(f.server.ip, f.server.port).length > 1) return [];
  // Every connection that showed one of the differing certificates is evidence of the change.
  const other = ctx.topology.otherLeafChain(f.server.ip, f.server.port, leaf.sha256);
  if (!other) return [];
  const o = other.chain[0]!;
  const sni = f.tls!.sni;
  const name = sni ?? f.server.ip;
  let note = '';
  if (ctx.ca) {
    // Servers behind one address the capture does not see through (a load balancer, a Service
    // address reached without the DNAT in view) each present their own certificate. When both
    // chain to the supplied CA and name what the client asked for, a verifying client accepts
    // either: the identity it checks did not change.
    const accepted = (chain: CertificateInfo[], ts: number) =>
      verifyChain(chain, ctx.ca!, sni ? { at: new Date(ts * 1000), host: sni } : { at: new Date(ts * 1000), ip: f.server.ip }).result === 'ok';
    if (accepted(f.tls!.serverCertificates, f.firstTs) && accepted(other.chain, other.ts)) return [];
  } else if (leaf.issuer === o.issuer && !leaf.selfSigned && !o.selfSigned && namesTarget(leaf, f) && namesTarget(o, f)) {
    note = `; both name ${name} and carry the issuer name ${leaf.issuer}, as servers behind one load-balanced address do: with --ca the chains are checked and such replicas are not reported`;
  }
  return [
    make(
      'cert-changed',
      f,
      `${endpointText(f.server.ip, f.server.port)} presented ${leaf.subject} (sha256 ${leaf.sha256.slice(0, 16)}…) on this connection, and ${o.subject} (sha256 ${o.sha256.slice(0, 16)}…) in flow ${other.flowId} at ${isoTime(other.ts)}${note}`,
      f.tls!.certificateFrame || f.firstFrame,
    ),
  ];
}

/** Whether a certificate names what the client asked for: the SNI when it sent one, else the address. */
function namesTarget(c: CertificateInfo, f: FlowRecord): boolean {
  const sni = f.tls?.sni;
  return sni ? c.sanDns.some((p) => hostMatches(p, sni)) : c.sanIp.includes(f.server.ip);
}

/** What carried a request's credential: the Authorization header, or etcd's own (a password, a token). */
function credentialCarrier(h: HttpRequestRecord): string {
  if (h.authIdentity?.kind === 'etcd') {
    return h.auth === 'basic' ? `etcd user's password in the ${h.path.replace(/^\/etcdserverpb\./, '')} call` : "etcd auth token (gRPC metadata 'token')";
  }
  return `Authorization: ${h.auth} credential`;
}

/**
 * Whose a credential seen in cleartext is, and whether it could still be used when it was sent: what
 * a responder needs to know what to revoke. Empty when the credential names no one.
 */
function credentialHolder(h: HttpRequestRecord): string {
  const id = h.authIdentity;
  if (!id) return '';
  let validity = '';
  if (id.expires !== null) {
    const until = new Date(id.expires * 1000).toISOString();
    validity = h.ts < id.expires ? `, valid until ${until}` : `, already expired (${until}) when sent`;
  } else if (id.kind === 'serviceaccount') {
    validity = ', no expiry';
  }
  return `; ${describeIdentity(id)}${validity}`;
}

/**
 * A token bound to a pod, presented by another pod or node of the cluster (by the inventory): the
 * token left its pod. Only said when the inventory knows the pod the token names (the same pod, by
 * uid) and knows the presenting address as another workload of the cluster: an address it does not
 * know (a load balancer in front of the API servers, which hides every client behind its own address)
 * proves nothing. The pod's own address and its node's (a host-network pod, a source NAT to the node)
 * are where the token belongs, and so is any address of the connection before a NAT rewrote it.
 */
function tokenUsedElsewhere(f: FlowRecord, t: Topology): Finding | null {
  const inv = t.inventory;
  if (inv.podsByName.size === 0) return null;
  const pair = t.natPairOf(f);
  const clients = pair ? [pair.original.client.ip, pair.translated.client.ip] : [f.client.ip];
  for (const h of f.http) {
    const id = h.authIdentity;
    if (!id || id.pod === null || id.namespace === null || relayedByProxy(h)) continue;
    const pod = inv.podsByName.get(`${id.namespace}/${id.pod}`);
    if (!pod || pod.uid === null || id.podUid === null || pod.uid !== id.podUid) continue;
    const home = new Set(pod.ips);
    if (pod.hostIP !== null) home.add(pod.hostIP);
    for (const [ip, n] of inv.nodes) if (n.name === pod.node || n.name === id.node) home.add(ip);
    if (clients.some((ip) => home.has(ip))) continue;
    const other = workloadAt(inv, f.client.ip);
    if (other === null) continue;
    const where = pod.ips.length > 0 ? `at ${pod.ips.join(', ')}${pod.node !== null ? ` on node ${pod.node}` : ''}` : `on node ${pod.node ?? '?'}`;
    return make('token-used-elsewhere', f,
      `${conn(f)}: the service-account token of pod ${id.namespace}/${id.pod} (uid ${id.podUid}), which the inventory places ${where}, was presented from ${f.client.ip} (${other}) with ${h.method} ${h.path.slice(0, 100)} at frame ${h.frame} (${h.authHash ?? 'hash unavailable'})`,
      h.frame, h.ts);
  }
  return null;
}

/** What the inventory knows an address as, when it is a workload of the cluster: a pod or a node. */
function workloadAt(inv: Topology['inventory'], ip: string): string | null {
  const pod = inv.pods.get(ip);
  if (pod) return `pod ${pod.namespace}/${pod.name}`;
  const node = inv.nodes.get(ip);
  if (node) return `node ${node.name}`;
  if (inv.hasPodNetworks && inNetworks(inv.podNetworks, ip)) return 'an address in the pod network';
  return null;
}
