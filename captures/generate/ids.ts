/** The path and finding ids the samples must cover: those of DESIGN.md §3.1/§3.2, and planewatch's own. */
export { PATH_IDS } from '../../src/model/analysis.js';

export const FINDING_IDS = [
  'plaintext-proxy',
  'proxy-tls-unverified',
  'kubelet-tls-unverified',
  'kubelet-tls-indeterminate',
  'kubelet-readonly-port',
  'kubelet-direct-access',
  'apiserver-insecure-port',
  'bearer-token-cleartext',
  'anonymous-request',
  'etcd-plaintext',
  'etcd-no-client-auth',
  'ssh-tunnel-deprecated',
  'weak-tls',
  'cert-expired',
  'tls-handshake-failure',
  'cert-changed',
  'untrusted-network',
  // beyond DESIGN.md §3.2
  'token-used-elsewhere',
  'legacy-serviceaccount-token',
  'credential-rejected',
] as const;
export type FindingId = (typeof FINDING_IDS)[number];
