import type { Endpoint, FlowRecord } from '../model/flow-record';
import { endpointText } from '../decode/address';
import type { Classification, PathId } from '../model/analysis';
import type { HttpRequestRecord } from '../model/records';
import type { NatPair, Role, Topology } from './topology';
import { neverOpened } from './connection-attempt';
import { describeIdentity, ownClientIdentity, ownCredential, personalClient } from './client-identity';

/**
 * Decides which documented communication path a flow belongs to.
 *
 * A pure function of the flow's evidence and the topology: same input, same output. Ports are only
 * hints: a certificate, a user agent or an HTTP path outweighs them, and the confidence says how much
 * evidence there was. Every decision carries the reasons that made it.
 */

const STRONG = 0.75;
const SOME = 0.5;

/** What we know about one side of the connection for one role: strength and the reason. */
function ev(t: Topology, ip: string, role: Role): { s: number; why: string } {
  const c = t.claimOf(ip, role);
  return c ? { s: c.strength, why: c.reason } : { s: 0, why: '' };
}

/** Evidence that the service the flow reached (server ip:port) has `role`. */
function evs(t: Topology, f: FlowRecord, role: Role): { s: number; why: string } {
  const c = t.serverClaim(f.server.ip, f.server.port, role);
  return c ? { s: c.strength, why: c.reason } : { s: 0, why: '' };
}

function describeServer(t: Topology, f: FlowRecord, role: Role): string {
  const c = t.serverClaim(f.server.ip, f.server.port, role);
  const who = `${endpointText(f.server.ip, f.server.port)} is ${roleName(role)}`;
  return c ? `${who}: ${c.reason}` : who;
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

function clamp(x: number): number {
  return Math.round(Math.min(0.99, Math.max(0.05, x)) * 100) / 100;
}

function describeRole(t: Topology, ip: string, role: Role): string {
  const c = t.claimOf(ip, role);
  return c ? `${ip} is ${roleName(role)}: ${c.reason}` : `${ip} is ${roleName(role)}`;
}

export function roleName(role: Role): string {
  switch (role) {
    case 'apiserver':
      return 'an API server';
    case 'kubelet':
      return 'a kubelet';
    case 'etcd':
      return 'an etcd member';
    case 'konnectivity-server':
      return 'a Konnectivity server';
    case 'controlplane-component':
      return 'a control-plane component';
    case 'node':
      return 'a node';
    case 'pod':
      return 'a pod';
    case 'service':
      return 'a Service address';
    case 'user':
      return "a person's workstation";
    default:
      return 'unknown';
  }
}

/** Kubelet API operation from the visible requests; 'unknown' when the requests are encrypted. */
function kubeletOperation(f: FlowRecord): string {
  // TLS shows requests only when decrypted with a key log (tls.decrypted); otherwise f.http is empty.
  if (f.app !== 'http' && f.app !== 'http2' && f.tls?.decrypted !== true) return 'unknown';
  const ops = new Set(['logs', 'exec', 'attach', 'portforward', 'run']);
  for (const h of f.http) {
    const op = h.k8s?.api === 'kubelet' ? h.k8s.operation : undefined;
    if (op && ops.has(op)) return op;
  }
  return f.http.length > 0 ? 'other' : 'unknown';
}

/** Proxy target from X-Forwarded-Uri (`/api/v1/namespaces/NS/pods/NAME/proxy/…`) or the address. */
function proxyTarget(t: Topology, f: FlowRecord): { target: string; why: string } {
  for (const h of f.http) {
    const uri = h.xForwardedUri;
    if (!uri) continue;
    const m = /\/api\/v1\/(?:namespaces\/[^/]+\/)?(pods|services|nodes)\/[^/]+\/proxy/.exec(uri);
    if (m) {
      const target = m[1] === 'pods' ? 'pod' : m[1] === 'services' ? 'service' : 'node';
      return { target, why: `X-Forwarded-Uri ${uri.slice(0, 80)} is a ${target} proxy path` };
    }
  }
  const ip = f.server.ip;
  if (t.strength(ip, 'pod') >= SOME) return { target: 'pod', why: describeRole(t, ip, 'pod') };
  if (t.strength(ip, 'service') >= SOME) return { target: 'service', why: describeRole(t, ip, 'service') };
  if (t.strength(ip, 'node') >= SOME) return { target: 'node', why: describeRole(t, ip, 'node') };
  return { target: 'unknown', why: 'the target address has no known role' };
}

/**
 * The Service a connection names in its SNI (`<service>.<namespace>.svc`, with or without the cluster
 * domain), or null; `kubernetes.default` is the API server itself. The API server names a Service so
 * when it calls an admission webhook or an aggregated API server (and checks the answer against the
 * caBundle configured for it); its proxy to nodes, pods and services dials an endpoint's address and
 * names nothing, and it reaches kubelets by node address or host name.
 */
function calledService(f: FlowRecord): string | null {
  const sni = f.tls?.sni?.toLowerCase();
  if (!sni) return null;
  const m = /^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.svc(?:\.|$)/.exec(sni);
  if (m === null || (m[1] === 'kubernetes' && m[2] === 'default')) return null;
  return `${m[1]}.${m[2]}`;
}

function hasForwardedHeaders(f: FlowRecord): HttpRequestRecord | undefined {
  return f.http.find((h) => h.xForwardedUri !== null || h.xForwardedFor !== null || h.xForwardedHost !== null);
}

function result(path: PathId, confidence: number, reasons: string[], detail: Record<string, string> = {}): Classification {
  return { path, pathDetail: detail, confidence: clamp(confidence), reasons };
}

export function classifyFlow(f: FlowRecord, t: Topology): Classification {
  const nat = t.natPairOf(f);
  const c = classifyView(f, t, nat);
  if (nat !== undefined) c.reasons.push(natReason(f, nat));
  const attempt = neverOpened(f);
  if (attempt !== null) c.reasons.push(`a connection attempt only: ${attempt} (${f.state}), no byte exchanged; the path is the one it aimed at`);
  return c;
}

function ep(e: Endpoint): string {
  return endpointText(e.ip, e.port);
}

/** What the other view of a connection seen across a NAT adds to this one's reasons. */
function natReason(f: FlowRecord, p: NatPair): string {
  const original = p.original.flowId === f.id;
  const other = original ? p.translated : p.original;
  const same = `the same connection is flow ${other.flowId}`;
  if (p.kind === 'dnat') {
    return original
      ? `the capturing host translated (DNAT) this connection to ${ep(other.server)}: ${same}`
      : `the client sent this connection to ${ep(other.server)}, translated (DNAT) by the capturing host: ${same}`;
  }
  return original
    ? `the capturing host rewrote (SNAT) this connection's client to ${ep(other.client)}: ${same}`
    : `the connection's client is ${ep(other.client)}, rewritten (SNAT) by the capturing host: ${same}`;
}

/** An API server that the capturing host translated (DNAT) connections to ip:port to, or null. */
function apiServerBehind(t: Topology, ip: string, port: number): { strength: number; why: string } | null {
  let best: { strength: number; why: string } | null = null;
  for (const to of t.translationsOf(ip, port)) {
    const claim = t.serverClaim(to.ip, to.port, 'apiserver');
    if (claim && claim.strength >= 0.3 && (best === null || claim.strength > best.strength)) {
      best = { strength: claim.strength, why: `${endpointText(ip, port)} is translated (DNAT) to the API server ${ep(to)}: ${claim.reason}` };
    }
  }
  return best;
}

function classifyView(f: FlowRecord, t: Topology, nat: NatPair | undefined): Classification {
  if (f.transport !== 'tcp') {
    return result('other', 0.9, [`${f.transport.toUpperCase()} traffic is not part of the control-plane paths`]);
  }
  // Behind a source NAT the client's own address is the one it had before the rewrite.
  const c = nat?.kind === 'snat' && nat.translated.flowId === f.id ? nat.original.client.ip : f.client.ip;
  const s = f.server.ip;
  const port = f.server.port;
  const clientApi = ev(t, c, 'apiserver');
  const serverEntry = t.get(s);
  const clientCert = f.tls?.clientCertificates[0];

  // SSH tunnels: the API server dials a node's sshd.
  if (f.app === 'ssh' || (f.app === 'unknown' && port === 22)) {
    if (clientApi.s >= SOME) {
      const node = ev(t, s, 'node');
      const reasons = [`SSH from ${describeRole(t, c, 'apiserver')}`];
      if (f.ssh?.serverBanner) reasons.push(`server banner ${f.ssh.serverBanner.slice(0, 60)}`);
      if (node.s > 0) reasons.push(describeRole(t, s, 'node'));
      return result('ssh-tunnel', 0.5 + clientApi.s * 0.3 + (node.s > 0 ? 0.15 : 0) + (f.app === 'ssh' ? 0.05 : 0), reasons);
    }
    return result('other', 0.7, ['SSH from a client that is not known as an API server (not a control-plane tunnel)']);
  }

  // etcd: peers on 2380 or between members; the API server as client on 2379.
  const serverEtcd = evs(t, f, 'etcd');
  if (serverEtcd.s >= 0.3 && (port === 2379 || port === 2380 || serverEtcd.s >= SOME)) {
    const clientEtcd = ev(t, c, 'etcd');
    if (port === 2380 || (clientEtcd.s >= SOME && clientApi.s < SOME)) {
      const reasons = [describeServer(t, f, 'etcd')];
      if (port === 2380) reasons.push('port 2380 is etcd peer traffic');
      if (clientEtcd.s > 0) reasons.push(describeRole(t, c, 'etcd'));
      return result('etcd-peer', 0.4 + serverEtcd.s * 0.3 + (port === 2380 ? 0.2 : 0) + clientEtcd.s * 0.1, reasons);
    }
    if (clientApi.s >= SOME || (clientApi.s === 0 && !knownOther(t, c, 'apiserver'))) {
      const reasons = [describeServer(t, f, 'etcd')];
      if (clientApi.s > 0) reasons.push(describeRole(t, c, 'apiserver'));
      else reasons.push(`client ${c} has no other known role; the API server is etcd's client`);
      return result('apiserver-to-etcd', 0.35 + serverEtcd.s * 0.35 + clientApi.s * 0.3, reasons);
    }
  }

  // Konnectivity: agents dial the server (8132); the API server dials it too (8131 / HTTP CONNECT).
  const serverKonn = evs(t, f, 'konnectivity-server');
  if (serverKonn.s >= SOME || (serverKonn.s > 0 && (f.tls?.alpn.includes('h2') || f.app === 'http2'))) {
    const reasons = [describeServer(t, f, 'konnectivity-server')];
    reasons.push(clientApi.s >= SOME ? `the API server dials the Konnectivity server (${describeRole(t, c, 'apiserver')})` : `client ${c} is a Konnectivity agent`);
    return result('konnectivity', 0.4 + serverKonn.s * 0.5, reasons);
  }

  // The API server calling a Service by name: an admission webhook or an aggregated API server (such
  // as metrics-server, which listens on 10250 like a kubelet). None of the page's paths, and not its
  // proxy: what that section says of the proxy's HTTPS does not apply.
  const serverKubelet = evs(t, f, 'kubelet');
  const serverApi = evs(t, f, 'apiserver');
  const service = serverApi.s < SOME && serverKubelet.s < STRONG ? calledService(f) : null;
  if (service !== null && clientApi.s < 0.3) {
    return result('other', 0.8, [
      `SNI ${f.tls!.sni!.slice(0, 100)} names the Service ${service}: a call to an in-cluster Service by its name, none of the page's paths (kubelets are not reached by a Service name)`,
    ], { service });
  }
  if (service !== null) {
    return result('other', 0.5 + clientApi.s * 0.4, [
      describeRole(t, c, 'apiserver'),
      `SNI ${f.tls!.sni!.slice(0, 100)} names the Service ${service}: the API server calling an admission webhook or an aggregated API server, checked against the caBundle configured for it (unless its APIService sets insecureSkipTLSVerify)`,
      "not one of the page's node and control-plane paths: the API server's proxy to nodes, pods and services dials an endpoint's address and names no Service",
    ], { callout: 'service', service });
  }

  // The kubelet API (10250, read-only 10255).
  const kubeletPathSeen = f.http.some((h) => h.k8s?.api === 'kubelet');
  // Kubelets listen on node addresses: a pod's port 10250 (metrics-server's default) is not one by
  // its number alone.
  const podNotNode = t.strength(s, 'pod') >= SOME && t.strength(s, 'node') < SOME;
  const kubeletPort = (port === 10250 || port === 10255) && serverKubelet.s >= (podNotNode ? SOME : 0.3);
  if (kubeletPort || serverKubelet.s >= STRONG || kubeletPathSeen) {
    const reasons = [describeServer(t, f, 'kubelet')];
    const op = kubeletOperation(f);
    const notApi = isKnownNonApiClient(f, t);
    if (notApi) reasons.push(`client ${c} is not an API server (${describeOther(t, c)}): direct use of the kubelet API`);
    else if (clientApi.s >= SOME || (clientCert?.subjectCN ?? '').startsWith('kube-apiserver')) reasons.push(describeRole(t, c, 'apiserver'));
    else if (clientApi.s > 0) reasons.push(`client ${c} may be an API server: ${clientApi.why}`);
    else reasons.push(`client ${c} has no known role other than talking to the kubelet`);
    if (op !== 'unknown') reasons.push(`kubelet operation ${op} seen in the request path`);
    else if (f.app === 'tls') reasons.push('requests are encrypted: the kubelet operation is not visible');
    const apiEvidence = notApi ? 0 : clientApi.s >= SOME ? 0.3 : clientApi.s > 0 ? 0.15 : 0.1;
    return result('apiserver-to-kubelet', 0.3 + serverKubelet.s * 0.4 + apiEvidence, reasons, { operation: op });
  }

  // API-server proxy: the API server connects to a node, pod or service on any port.
  const fwd = hasForwardedHeaders(f);
  // The API server reached through a Service address: declared so by the inventory, or seen
  // translated (DNAT) to one, from either side of the rewrite.
  const kubernetesService = serverEntry?.kubernetesService ?? false;
  const behind = kubernetesService ? null : apiServerBehind(t, s, port);
  const sentToService = nat?.kind === 'dnat' && nat.translated.flowId === f.id && serverApi.s >= 0.3;
  const viaService = kubernetesService || behind !== null || sentToService;
  // The kubelet's health probes come from the node, not through the proxy (which adds X-Forwarded-*).
  if ((clientApi.s >= SOME || fwd) && serverApi.s < SOME && !viaService && (fwd || kubeletProbe(f) === null)) {
    const { target, why } = proxyTarget(t, f);
    const scheme = f.app === 'tls' ? 'https' : 'http';
    if (fwd || target !== 'unknown') {
      const reasons: string[] = [];
      if (clientApi.s > 0) reasons.push(describeRole(t, c, 'apiserver'));
      if (fwd) reasons.push(`request carries the proxy's X-Forwarded-* headers (${(fwd.xForwardedUri ?? fwd.xForwardedFor ?? '').slice(0, 80)})`);
      reasons.push(why);
      reasons.push(scheme === 'http' ? 'plain HTTP' : 'HTTPS');
      return result('apiserver-proxy', 0.35 + (fwd ? 0.35 : 0) + Math.min(clientApi.s, 0.9) * 0.3, reasons, { target, scheme });
    }
  }

  // Everything that terminates at the API server.
  if (serverApi.s >= 0.3 || viaService) {
    const serverWhy = kubernetesService
      ? `${s} is the kubernetes Service address (DNAT to the API server)`
      : behind !== null ? behind.why : describeServer(t, f, 'apiserver');
    const base = kubernetesService ? 0.5 : Math.max(serverApi.s, behind?.strength ?? 0) * 0.5;
    const comp = ev(t, c, 'controlplane-component');
    const node = ev(t, c, 'node');
    const pod = ev(t, c, 'pod');
    const sni = f.tls?.sni?.toLowerCase() ?? '';
    const bearer = f.http.some((h) => h.auth === 'bearer');
    // What this connection itself shows about its client outweighs what the address did elsewhere:
    // one control-plane host runs the kubelet, the scheduler and the controller manager side by side.
    const own = ownClientIdentity(f);
    if (own?.role === 'controlplane-component' || own?.role === 'apiserver') {
      return result('controlplane-to-apiserver', base + 0.45, [serverWhy, own.reason]);
    }
    if (own?.role === 'node') return result('node-to-apiserver', base + 0.45, [serverWhy, own.reason]);
    if (own?.role === 'pod') {
      // The address may be known as another pod (the token travelled): both are said.
      const address = describeRole(t, c, 'pod');
      const named = own.name != null && address.includes(own.name);
      return result('pod-to-apiserver', base + 0.45, named || ev(t, c, 'pod').s < SOME ? [serverWhy, own.reason] : [serverWhy, own.reason, address]);
    }
    const onHost = isLoopback(c) || c === s;
    // A person's tool (kubectl, helm …) is none of the documented clients: wherever it runs, the
    // closest path is kept, with that said and a lower confidence.
    const toolWhy = personalClient(f);
    const toolCut = toolWhy.length === 0 ? 0 : 0.1;
    if (onHost && (clientApi.s >= SOME || comp.s >= SOME)) {
      return result('controlplane-to-apiserver', base + 0.3 - 2 * toolCut, [serverWhy, `client on the API server's own host (${c})`, ...toolWhy]);
    }
    if (comp.s >= SOME) {
      return result('controlplane-to-apiserver', base + comp.s * 0.5, [serverWhy, describeRole(t, c, 'controlplane-component')]);
    }
    if (pod.s >= SOME && pod.s >= node.s) {
      const reasons = [serverWhy, describeRole(t, c, 'pod')];
      if (bearer) reasons.push(bearerReason(f));
      return result('pod-to-apiserver', base + pod.s * 0.45 + (bearer ? 0.05 : 0) - toolCut, [...reasons, ...toolWhy]);
    }
    if (node.s >= SOME) {
      const reasons = [serverWhy, describeRole(t, c, 'node')];
      if (f.tls && f.tls.clientCertificates.length === 0 && f.tls.version === '1.3') {
        reasons.push('client certificate not visible on this TLS 1.3 connection: identity inherited from the address');
      }
      return result('node-to-apiserver', base + node.s * 0.5 - toolCut, [...reasons, ...toolWhy]);
    }
    if (viaService || sni.startsWith('kubernetes.default')) {
      const reasons = [serverWhy];
      if (viaService && !kubernetesService) reasons.push('reached through a Service address, the way pods reach the API server');
      if (sni) reasons.push(`SNI ${f.tls?.sni} is the in-cluster name pods use`);
      if (bearer) reasons.push(bearerReason(f));
      return result('pod-to-apiserver', base + 0.2 + (bearer ? 0.1 : 0), reasons);
    }
    // The address may be known as a person's from another of its connections (its TLS 1.3 ones show
    // neither a user agent nor a certificate).
    if (onHost) {
      // The API server's own host runs everything: only this connection's own evidence says who it is.
      return result('controlplane-to-apiserver', base + 0.2 - toolCut, [serverWhy, `client on the API server's own host (${c})`, ...toolWhy]);
    }
    const user = ev(t, c, 'user');
    const personCut = toolWhy.length === 0 && user.s === 0 ? 0 : 0.1;
    const who = user.s > 0 ? `client ${c} is a person's workstation (${user.why})` : `client ${c} has no known role`;
    return result('node-to-apiserver', base + 0.1 - personCut / 2, [serverWhy, `${who}; node-to-control-plane traffic is the closest documented path`, ...toolWhy]);
  }

  return result('other', 0.8, otherReasons(f, t));
}

/**
 * A kubelet client that is known not to be an API server (a pod, a node, an address the inventory
 * does not list among the API servers). Unknown clients are not assumed either way.
 */
export function isKnownNonApiClient(f: FlowRecord, t: Topology): boolean {
  const c = f.client.ip;
  if (t.strength(c, 'apiserver') >= SOME) return false;
  if ((f.tls?.clientCertificates[0]?.subjectCN ?? '').startsWith('kube-apiserver')) return false;
  return knownOther(t, c, 'apiserver');
}

/** True when the address has a strong role that rules out `role` (for "client is not an API server"). */
function knownOther(t: Topology, ip: string, role: Role): boolean {
  const e = t.get(ip);
  if (!e) return false;
  if ((e.claims.get(role)?.strength ?? 0) >= SOME) return false;
  for (const c of e.claims.values()) if (c.role !== role && c.strength >= SOME) return true;
  // The inventory lists the API servers: an address not among them is not one.
  return t.inventory.apiServers.size > 0 && role === 'apiserver' && !t.inventory.apiServers.has(ip);
}

function describeOther(t: Topology, ip: string): string {
  const e = t.get(ip);
  if (!e) return 'no known role';
  for (const c of e.claims.values()) if (c.role !== 'apiserver' && c.strength >= SOME) return `${roleName(c.role)}: ${c.reason}`;
  return 'not among the inventory API servers';
}

function otherReasons(f: FlowRecord, t: Topology): string[] {
  const reasons: string[] = [];
  const probe = kubeletProbe(f);
  if (probe !== null) reasons.push(`the kubelet's health probe (User-Agent ${probe.slice(0, 40)}): a node checking a container, none of the page's paths`);
  // A control-plane host serves much besides (metrics, health checks, exporters): say why its role
  // does not carry over to this port.
  for (const role of ['apiserver', 'etcd', 'konnectivity-server'] as const) {
    const c = t.claimOf(f.server.ip, role);
    if (c !== undefined && c.strength >= SOME && c.reason.startsWith('inventory:')) {
      reasons.push(`${f.server.ip} is ${roleName(role)} (${c.reason}), but nothing places that server on port ${f.server.port}`);
    }
  }
  if (reasons.length > 0) return reasons;
  return [f.tls?.sni ? `TLS to ${f.tls.sni}: no control-plane role on either side` : `no control-plane role on either side (server port ${f.server.port})`];
}

/** The user agent of the kubelet's prober when every request of the flow carries it, else null. */
function kubeletProbe(f: FlowRecord): string | null {
  if (f.http.length === 0) return null;
  const ua = f.http[0]!.userAgent ?? '';
  return ua.startsWith('kube-probe/') && f.http.every((h) => h.userAgent === ua) ? ua : null;
}

/** What the client's bearer token says of it, for a reason. */
function bearerReason(f: FlowRecord): string {
  const own = ownCredential(f);
  if (own !== null && own.identity.kind !== 'basic') return `authenticates with the bearer token of ${describeIdentity(own.identity)}`;
  return 'authenticates with a bearer token (service account)';
}
