import type { FlowRecord } from '../model/flow-record';
import type { CredentialIdentity, HttpRequestRecord } from '../model/records';
import type { Role } from './topology';

/**
 * Who is at the client end, as one connection shows it by itself: a node's or a component's client
 * certificate or user agent, or a person's tool or administrator credential. The classifier reads it
 * for the connection it judges; the topology records it for the address, so that the address's other
 * connections (TLS 1.3, where neither is visible) are judged with it.
 */

/** The client identity this connection shows by itself: its client certificate, its credential or its user agent. */
export function ownClientIdentity(f: FlowRecord): { role: Role; reason: string; name?: string | null } | null {
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
  const token = credentialRole(f);
  if (token !== null) return token;
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
    if (relayedByProxy(h)) continue;
    if (h.userAgent && USER_TOOL_AGENT.test(h.userAgent)) return `sends User-Agent ${h.userAgent.slice(0, 40)}, a user's tool`;
  }
  const cert = f.tls?.clientCertificates[0];
  if (cert && cert.subjectO.includes('system:masters') && ownClientIdentity(f) === null) {
    return `presents an administrator's client certificate ${cert.subject}`;
  }
  return null;
}

/**
 * The controller manager's own service accounts (kube-system), whose tokens it uses for each controller
 * when run with --use-service-account-credentials (kubeadm's default).
 */
const CONTROLLER_ACCOUNTS = new Set([
  'attachdetach-controller', 'bootstrap-signer', 'certificate-controller', 'clusterrole-aggregation-controller',
  'cronjob-controller', 'daemon-set-controller', 'deployment-controller', 'disruption-controller', 'endpoint-controller',
  'endpointslice-controller', 'endpointslicemirroring-controller', 'ephemeral-volume-controller', 'expand-controller',
  'generic-garbage-collector', 'horizontal-pod-autoscaler', 'job-controller', 'legacy-service-account-token-cleaner',
  'namespace-controller', 'node-controller', 'persistent-volume-binder', 'pod-garbage-collector',
  'pv-protection-controller', 'pvc-protection-controller', 'replicaset-controller', 'replication-controller',
  'resourcequota-controller', 'root-ca-cert-publisher', 'route-controller', 'service-account-controller',
  'service-controller', 'statefulset-controller', 'token-cleaner', 'ttl-after-finished-controller', 'ttl-controller',
  'validatingadmissionpolicy-status-controller', 'cloud-provider', 'selinux-warning-controller', 'service-cidrs-controller',
]);

/** The credential identity this connection's client sends as its own (not one relayed by a proxy). */
export function ownCredential(f: FlowRecord): { request: HttpRequestRecord; identity: CredentialIdentity } | null {
  for (const h of f.http) {
    if (relayedByProxy(h)) continue;
    if (h.authIdentity) return { request: h, identity: h.authIdentity };
  }
  return null;
}

/**
 * The role a client's credential shows: a token bound to a pod is that pod's; kube-proxy's service
 * account runs on every node with the host's network; the controller manager's controllers have
 * accounts of their own; a bootstrap token is a node joining the cluster. Null for the rest (a
 * service account's token without a pod may be used from anywhere, a CI system as well as a pod).
 */
export function credentialRole(f: FlowRecord): { role: Role; reason: string; name: string | null } | null {
  const own = ownCredential(f);
  if (own === null) return null;
  const id = own.identity;
  const token = `bearer token of ${describeIdentity(id)}`;
  if (id.kind === 'bootstrap') return { role: 'node', reason: `${token}: a node joining the cluster (kubelet TLS bootstrapping)`, name: null };
  if (id.kind !== 'serviceaccount' && id.kind !== 'serviceaccount-legacy') return null;
  if (id.namespace === 'kube-system' && id.serviceAccount === 'kube-proxy') {
    return { role: 'node', reason: `${token}: kube-proxy runs on every node with the host's network`, name: null };
  }
  if (id.pod !== null) return { role: 'pod', reason: token, name: `${id.namespace ?? '?'}/${id.pod}` };
  if (id.namespace === 'kube-system' && id.serviceAccount !== null && CONTROLLER_ACCOUNTS.has(id.serviceAccount)) {
    return { role: 'controlplane-component', reason: `${token}: one of the controller manager's controllers`, name: 'kube-controller-manager' };
  }
  return null;
}

/** One line naming a credential's identity, for reasons and evidence: "service account kube-system/coredns (pod …)". */
export function describeIdentity(id: CredentialIdentity): string {
  switch (id.kind) {
    case 'serviceaccount':
    case 'serviceaccount-legacy': {
      const sa = id.namespace !== null && id.serviceAccount !== null ? `${id.namespace}/${id.serviceAccount}` : id.subject;
      const parts = [sa === null ? 'a service account not named in the token' : `service account ${sa}`];
      if (id.pod !== null) parts.push(`bound to pod ${id.namespace ?? '?'}/${id.pod}${id.node !== null ? ` on node ${id.node}` : ''}`);
      else if (id.secret !== null) parts.push(`from Secret ${id.secret}`);
      if (id.kind === 'serviceaccount-legacy') parts.push('legacy token without expiry');
      return parts.join(', ');
    }
    case 'bootstrap':
      return `bootstrap token ${id.subject}`;
    case 'basic':
      return `basic credentials of user ${id.subject}`;
    case 'jwt':
      return `token of ${id.subject ?? 'an unnamed subject'}${id.issuer !== null ? ` issued by ${id.issuer}` : ''}`;
    case 'aws-iam': {
      const key = id.subject?.replace(/^aws:/, '') ?? '?';
      const what = key.startsWith('AKIA') ? 'a long-term IAM user key' : key.startsWith('ASIA') ? 'temporary credentials of a role session' : 'an AWS key';
      return `EKS token signed with AWS access key ${key} (${what}${id.audiences[0] ? `, region ${id.audiences[0]}` : ''})`;
    }
    case 'gcp-oauth':
      return 'Google OAuth 2.0 access token (opaque: it does not name its holder)';
    case 'etcd':
      return id.subject !== null ? `etcd user ${id.subject.replace(/^etcd:/, '')}` : 'etcd simple token (opaque: it does not name its user)';
  }
}

/**
 * A request the API server's proxy relays (it adds X-Forwarded-*): its user agent and credential are
 * the original client's, not those of the connection's client.
 */
export function relayedByProxy(h: HttpRequestRecord): boolean {
  return Boolean(h.xForwardedFor || h.xForwardedUri || h.xForwardedHost);
}

/** A stored identity (`http_requests.auth_identity`, JSON) read back, with the line that describes it. */
export function storedIdentity(json: string | null | undefined): { identity: CredentialIdentity | null; holder: string | null; expires: number | null } {
  let identity: CredentialIdentity | null = null;
  if (json) {
    try {
      identity = JSON.parse(json) as CredentialIdentity;
    } catch {
      identity = null;
    }
  }
  return {
    identity,
    holder: identity === null ? null : describeIdentity(identity),
    expires: typeof identity?.expires === 'number' ? identity.expires : null,
  };
}
