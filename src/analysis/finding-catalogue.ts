import type { Severity } from '../model/analysis';

/**
 * Every finding planewatch raises: stable id, severity, what it means, what to do, and the
 * documentation it rests on. The ids are a contract (DESIGN.md §3.2).
 */
export interface FindingDefinition {
  id: string;
  severity: Severity;
  title: string;
  recommendation: string;
  reference: string;
  cis: string | null;
}

const DOC = 'https://kubernetes.io/docs/concepts/architecture/control-plane-node-communication/';

export const FINDINGS: Record<string, FindingDefinition> = {
  'plaintext-proxy': {
    id: 'plaintext-proxy',
    severity: 'high',
    title: 'API-server proxy traffic in plain HTTP',
    recommendation:
      'Traffic the API server proxies to nodes, pods and services is neither authenticated nor encrypted by default. Keep it off untrusted networks: route it through the Konnectivity service, or restrict who may use the proxy subresources (RBAC on pods/proxy, services/proxy, nodes/proxy).',
    reference: `${DOC}#api-server-to-nodes-pods-and-services`,
    cis: null,
  },
  'proxy-tls-unverified': {
    id: 'proxy-tls-unverified',
    severity: 'medium',
    title: 'API-server proxy over HTTPS without certificate validation',
    recommendation:
      'An https: proxy target is encrypted, but the API server validates no certificate and presents no client credentials, so integrity is not guaranteed. Treat the path as untrusted; use Konnectivity across untrusted networks.',
    reference: `${DOC}#api-server-to-nodes-pods-and-services`,
    cis: null,
  },
  'kubelet-tls-unverified': {
    id: 'kubelet-tls-unverified',
    severity: 'high',
    title: "Kubelet TLS that the API server cannot be verifying",
    recommendation:
      "Issue kubelet serving certificates from the cluster CA (serverTLSBootstrap: true and approve the CSRs) and start the API server with --kubelet-certificate-authority, so a man in the middle cannot impersonate the kubelet. Otherwise tunnel the path (Konnectivity).",
    reference: `${DOC}#api-server-to-kubelet`,
    cis: 'CIS Kubernetes Benchmark 1.2.5: --kubelet-certificate-authority is set',
  },
  'kubelet-tls-indeterminate': {
    id: 'kubelet-tls-indeterminate',
    severity: 'info',
    title: 'Kubelet certificate not visible (TLS 1.3): verification cannot be judged',
    recommendation:
      'TLS 1.3 encrypts the certificate. Provide a TLS key log (SSLKEYLOGFILE or a pcapng Decryption Secrets Block), capture a TLS 1.2 connection to the same kubelet, or check the kubelet serving certificate and --kubelet-certificate-authority on the hosts.',
    reference: `${DOC}#api-server-to-kubelet`,
    cis: 'CIS Kubernetes Benchmark 1.2.5: --kubelet-certificate-authority is set',
  },
  'kubelet-readonly-port': {
    id: 'kubelet-readonly-port',
    severity: 'high',
    title: "Kubelet read-only port in use",
    recommendation:
      'The read-only port (10255) serves pod and node information without authentication or encryption. Set readOnlyPort: 0 in the kubelet configuration and scrape the authenticated port 10250 instead.',
    reference: 'https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/',
    cis: 'CIS Kubernetes Benchmark 4.2.4: --read-only-port is set to 0',
  },
  'kubelet-direct-access': {
    id: 'kubelet-direct-access',
    severity: 'medium',
    title: 'A client other than the API server talks to a kubelet API',
    recommendation:
      'Only the API server (and monitoring you trust) should reach the kubelet API. Enable kubelet authentication and authorization (anonymous-auth=false, authorization-mode=Webhook) and restrict port 10250 with network policy or host firewalls.',
    reference: `${DOC}#api-server-to-kubelet`,
    cis: 'CIS Kubernetes Benchmark 4.2.1/4.2.2: kubelet anonymous-auth false, authorization-mode not AlwaysAllow',
  },
  'apiserver-insecure-port': {
    id: 'apiserver-insecure-port',
    severity: 'critical',
    title: 'Plain-HTTP requests to the API server (insecure port)',
    recommendation:
      'Requests on the legacy insecure port bypass authentication and authorization entirely. Disable it (--insecure-port=0 on old releases; it was removed in 1.20) and use the secure port with client authentication.',
    reference: `${DOC}#node-to-control-plane`,
    cis: 'CIS Kubernetes Benchmark (v1.6) 1.2.19: --insecure-port is set to 0',
  },
  'bearer-token-cleartext': {
    id: 'bearer-token-cleartext',
    severity: 'critical',
    title: 'Credentials sent in cleartext',
    recommendation:
      'An Authorization header crossed the network unencrypted: anyone on the path can replay it. Rotate the credential (delete and recreate the service account token or secret) and move the client to HTTPS.',
    reference: `${DOC}#node-to-control-plane`,
    cis: null,
  },
  'anonymous-request': {
    id: 'anonymous-request',
    severity: 'medium',
    title: 'Control-plane request without credentials',
    recommendation:
      'The request carried no credentials. Disable anonymous access (--anonymous-auth=false on the API server and kubelets) or make sure authorization gives system:anonymous nothing.',
    reference: `${DOC}#node-to-control-plane`,
    cis: 'CIS Kubernetes Benchmark 1.2.1 / 4.2.1: --anonymous-auth is set to false',
  },
  'etcd-plaintext': {
    id: 'etcd-plaintext',
    severity: 'critical',
    title: 'etcd traffic without TLS',
    recommendation:
      'etcd holds every object of the cluster, Secrets included. Serve client and peer traffic over TLS (--cert-file/--key-file, --peer-cert-file/--peer-key-file) and give the API server --etcd-certfile/--etcd-keyfile/--etcd-cafile.',
    reference: 'https://kubernetes.io/docs/concepts/architecture/#etcd',
    cis: 'CIS Kubernetes Benchmark 2.1 / 2.4: etcd --cert-file/--key-file and peer certificates are set',
  },
  'etcd-no-client-auth': {
    id: 'etcd-no-client-auth',
    severity: 'high',
    title: 'etcd does not ask for client certificates',
    recommendation:
      'Without client-certificate authentication anyone who reaches etcd can read and write the cluster state. Set --client-cert-auth=true (and --peer-client-cert-auth=true) with --trusted-ca-file.',
    reference: 'https://kubernetes.io/docs/tasks/administer-cluster/configure-upgrade-etcd/',
    cis: 'CIS Kubernetes Benchmark 2.2 / 2.5: --client-cert-auth and --peer-client-cert-auth are true',
  },
  'ssh-tunnel-deprecated': {
    id: 'ssh-tunnel-deprecated',
    severity: 'low',
    title: 'Deprecated SSH tunnels between the API server and nodes',
    recommendation: 'SSH tunnels are deprecated. Replace them with the Konnectivity service.',
    reference: `${DOC}#ssh-tunnels`,
    cis: null,
  },
  'weak-tls': {
    id: 'weak-tls',
    severity: 'medium',
    title: 'Weak TLS on a control-plane connection',
    recommendation:
      'Use TLS 1.2 or later with AEAD cipher suites (--tls-min-version=VersionTLS12, --tls-cipher-suites), SHA-256 or better signatures and RSA keys of at least 2048 bits (or ECDSA).',
    reference: 'https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/',
    cis: 'CIS Kubernetes Benchmark 1.2.31 / 4.2.12: only strong cryptographic ciphers',
  },
  'cert-expired': {
    id: 'cert-expired',
    severity: 'medium',
    title: 'Certificate not valid at capture time',
    recommendation: 'Renew the certificate (kubeadm certs renew, or kubelet certificate rotation) and find out why the peer accepted it.',
    reference: 'https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/',
    cis: null,
  },
  'tls-handshake-failure': {
    id: 'tls-handshake-failure',
    severity: 'medium',
    title: 'TLS handshake failed with a fatal alert',
    recommendation:
      'A peer rejected the certificate or parameters (e.g. unknown_ca). Check which CA each side trusts; repeated failures may also be a man-in-the-middle attempt or a misconfigured client.',
    reference: 'https://kubernetes.io/docs/tasks/tls/managing-tls-in-a-cluster/',
    cis: null,
  },
  'cert-changed': {
    id: 'cert-changed',
    severity: 'high',
    title: 'Server endpoint presented a different certificate',
    recommendation:
      'The same address and port showed more than one certificate in the data. A rotation or servers behind a load balancer explain it (pass the cluster CA with --ca to have such replicas recognised); an unexpected change on a path that is not verified may be interception. Compare fingerprints with the host.',
    reference: `${DOC}#api-server-to-kubelet`,
    cis: null,
  },
  'untrusted-network': {
    id: 'untrusted-network',
    severity: 'medium',
    title: 'Control-plane traffic with an endpoint outside the cluster networks',
    recommendation:
      'An endpoint of this control-plane connection lies outside the networks the inventory declares. Make sure the path is meant to cross that network, and that every unsafe path on it is tunnelled (Konnectivity) or verified.',
    reference: DOC,
    cis: null,
  },
  'credential-rejected': {
    id: 'credential-rejected',
    severity: 'low',
    title: 'A credential was rejected by the API server, a kubelet or etcd',
    recommendation:
      "A 401 (etcd: gRPC UNAUTHENTICATED, or a failed Authenticate) means the credential did not authenticate: expired, revoked, a wrong password, or a token from elsewhere tried here; a 403 (etcd: PERMISSION_DENIED) means it did, and asked for more than its subject may do. Either is how a stolen credential is tried out. Find its holder (the evidence names it and its hash), check where else it was used (planewatch credentials, flows --credential), rotate it if it should not be there, and review the subject's RBAC if the request was not its job.",
    reference: `${DOC}#node-to-control-plane`,
    cis: null,
  },
  'legacy-serviceaccount-token': {
    id: 'legacy-serviceaccount-token',
    severity: 'low',
    title: 'A legacy service-account token that never expires is in use',
    recommendation:
      "Tokens kept in kubernetes.io/service-account-token Secrets never expire and outlive the pods that use them: one copied out stays valid until its Secret is deleted. Give the workload a projected, bound token instead (what the kubelet mounts by default since 1.22), delete the Secret, and let the legacy token cleaner (1.29 and later) remove the unused ones.",
    reference: 'https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/',
    cis: null,
  },
  'token-used-elsewhere': {
    id: 'token-used-elsewhere',
    severity: 'high',
    title: "A pod's service-account token used from another workload",
    recommendation:
      "The token's claims bind it to one pod, yet another pod or node of the cluster presented it: the token was most likely taken from that pod (a mounted token file is readable by anything that can read the pod's filesystem). Delete the pod the token is bound to (its tokens stop being accepted with it), find how the presenting workload obtained it, and review what the service account may do.",
    reference: `${DOC}#node-to-control-plane`,
    cis: 'CIS Kubernetes Benchmark 5.1.6: service account tokens are only mounted where necessary',
  },
};

export const FINDING_IDS = Object.keys(FINDINGS);
