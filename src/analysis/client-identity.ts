import type { FlowRecord } from '../model/flow-record';
import type { Role } from './topology';

/**
 * Who is at the client end, as one connection shows it by itself: a node's or a component's client
 * certificate or user agent, or a person's tool or administrator credential. The classifier reads it
 * for the connection it judges; the topology records it for the address, so that the address's other
 * connections (TLS 1.3, where neither is visible) are judged with it.
 */

/** The client identity this connection shows by itself: its client certificate or user agent. */
export function ownClientIdentity(f: FlowRecord): { role: Role; reason: string } | null {
  const cert = f.tls?.clientCertificates[0];
  if (cert) {
    const cn = cert.subjectCN ?? '';
    if (cn.startsWith('system:node:') || cert.subjectO.includes('system:nodes')) return { role: 'node', reason: `client certificate ${cert.subject}` };
    if (/^(system:)?(kube-scheduler|kube-controller-manager|cloud-controller-manager)$/.test(cn)) {
      return { role: 'controlplane-component', reason: `client certificate ${cert.subject}` };
    }
    if (cn.startsWith('kube-apiserver')) return { role: 'apiserver', reason: `client certificate ${cert.subject}` };
    if (cn === 'system:kube-proxy') return { role: 'node', reason: `client certificate ${cert.subject} (kube-proxy)` };
  }
  for (const h of f.http) {
    const ua = h.userAgent ?? '';
    if (ua.startsWith('kubelet/') || ua.startsWith('kube-proxy/')) return { role: 'node', reason: `User-Agent ${ua.slice(0, 60)}` };
    if (/^(kube-scheduler|kube-controller-manager|cloud-controller-manager)\//.test(ua)) {
      return { role: 'controlplane-component', reason: `User-Agent ${ua.slice(0, 60)}` };
    }
  }
  return null;
}

/** User agents of tools people run against the API server (kubectl, helm, k9s …). */
const USER_TOOL_AGENT = /^(kubectl|helm|k9s|kustomize|kubeadm|kubectx|kubens|stern|argocd|flux|Lens|OpenLens|Headlamp)[/ ]/i;

/**
 * What shows that a person, not a node or a component, is at the client end: a tool's user agent or
 * an administrator's client certificate (kubeadm's admin.conf: CN=kubernetes-admin, O=system:masters).
 * The reasons to give (none when nothing shows it).
 */
export function personalClient(f: FlowRecord): string[] {
  const why: string[] = [];
  const tool = userToolAgent(f);
  if (tool !== null) why.push(`User-Agent ${tool.slice(0, 60)} is a user's tool, not a node or a control-plane component`);
  const cert = f.tls?.clientCertificates[0];
  if (cert && cert.subjectO.includes('system:masters') && ownClientIdentity(f) === null) {
    why.push(`client certificate ${cert.subject} is an administrator's credential (group system:masters), not a node's or a control-plane component's`);
  }
  return why;
}

/** The user agent of a person's tool this connection carries, or null. */
export function userToolAgent(f: FlowRecord): string | null {
  for (const h of f.http) if (h.userAgent && USER_TOOL_AGENT.test(h.userAgent)) return h.userAgent;
  return null;
}

/**
 * What says, for the topology, that the client address is a person's: a user's tool sending its own
 * requests (a request the API server proxies keeps the tool's user agent, with X-Forwarded-* headers:
 * that one is not the client's), or an administrator's client certificate. Null when nothing does.
 */
export function personEvidence(f: FlowRecord): string | null {
  for (const h of f.http) {
    if (h.xForwardedFor || h.xForwardedUri || h.xForwardedHost) continue;
    if (h.userAgent && USER_TOOL_AGENT.test(h.userAgent)) return `sends User-Agent ${h.userAgent.slice(0, 40)}, a user's tool`;
  }
  const cert = f.tls?.clientCertificates[0];
  if (cert && cert.subjectO.includes('system:masters') && ownClientIdentity(f) === null) {
    return `presents an administrator's client certificate ${cert.subject}`;
  }
  return null;
}
