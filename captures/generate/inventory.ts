/** The inventory (`kubectl get nodes,pods,services -A -o json`) and the cluster network file. */
import { CLUSTER } from './cluster.js';

/** The uid the inventory gives an object of this name (tokens bound to a pod carry its uid). */
export const uidOf = (name: string): string => `00000000-0000-4000-8000-${Buffer.from(name).toString('hex').padEnd(12, '0').slice(0, 12)}`;

const meta = (name: string, namespace?: string, extra: Record<string, unknown> = {}) => ({
  name, ...(namespace ? { namespace } : {}), uid: uidOf(name),
  creationTimestamp: '2025-09-01T00:00:00Z', ...extra,
});

function node(name: string, ip: string, podCidr: string, roles: string[]) {
  const labels: Record<string, string> = { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' };
  for (const r of roles) labels[`node-role.kubernetes.io/${r}`] = r === 'etcd' ? 'true' : '';
  return {
    apiVersion: 'v1', kind: 'Node', metadata: meta(name, undefined, { labels }),
    spec: { podCIDR: podCidr, podCIDRs: [podCidr] },
    status: {
      addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: { kubeletVersion: CLUSTER.k8sVersion, kubeProxyVersion: CLUSTER.k8sVersion, osImage: 'Debian GNU/Linux 12 (bookworm)', containerRuntimeVersion: 'containerd://1.7.22', architecture: 'amd64', operatingSystem: 'linux' },
    },
  };
}

function pod(ns: string, name: string, ip: string, nodeName: string, hostIP: string, hostNetwork = false) {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: meta(name, ns),
    spec: { nodeName, hostNetwork, containers: [{ name: name.replace(/-[^-]+$/, ''), image: 'registry.example/app:1' }] },
    status: { phase: 'Running', hostIP, hostIPs: [{ ip: hostIP }], podIP: ip, podIPs: [{ ip }] },
  };
}

function service(ns: string, name: string, ip: string, ports: [string, number, number][]) {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: meta(name, ns),
    spec: { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: ports.map(([n, port, targetPort]) => ({ name: n, port, protocol: 'TCP', targetPort })) },
  };
}

export function buildInventory(): unknown {
  const [w1, w2, w3] = CLUSTER.workers as [typeof CLUSTER.workers[0], typeof CLUSTER.workers[0], typeof CLUSTER.workers[0]];
  const cp = CLUSTER.cp;
  const items = [
    node(cp.name, cp.ip, '10.244.0.0/24', ['control-plane', 'etcd']),
    node('etcd-2', '10.0.0.11', '10.244.4.0/24', ['etcd']),
    node('etcd-3', '10.0.0.12', '10.244.5.0/24', ['etcd']),
    node(w1!.name, w1!.ip, '10.244.1.0/24', []),
    node(w2!.name, w2!.ip, '10.244.2.0/24', []),
    node(w3!.name, w3!.ip, '10.244.3.0/24', []),
    pod('kube-system', 'kube-apiserver-cp-1', cp.ip, cp.name, cp.ip, true),
    pod('kube-system', 'etcd-cp-1', cp.ip, cp.name, cp.ip, true),
    pod('kube-system', 'kube-scheduler-cp-1', cp.ip, cp.name, cp.ip, true),
    pod('kube-system', 'kube-controller-manager-cp-1', cp.ip, cp.name, cp.ip, true),
    pod('kube-system', 'konnectivity-server-cp-1', cp.ip, cp.name, cp.ip, true),
    pod('kube-system', 'konnectivity-agent-x7k2p', w1!.ip, w1!.name, w1!.ip, true),
    pod('kube-system', 'coredns-7c65d6cfc9-abcde', '10.244.0.3', cp.name, cp.ip),
    pod('default', 'web-0', '10.244.1.7', w1!.name, w1!.ip),
    pod('default', 'toolbox-5d9c7f7b4-q2w8e', '10.244.1.5', w1!.name, w1!.ip),
    pod('ci', 'runner-6b8f9d-xk2lp', '10.244.1.6', w1!.name, w1!.ip),
    pod('default', 'web-1', '10.244.2.9', w2!.name, w2!.ip),
    pod('monitoring', 'metrics-scraper-84d7c6-tt9qz', '10.244.2.8', w2!.name, w2!.ip),
    pod('default', 'legacy-0', '10.244.2.15', w2!.name, w2!.ip),
    pod('default', 'db-0', '10.244.3.7', w3!.name, w3!.ip),
    pod('default', 'debug-shell', '10.244.3.4', w3!.name, w3!.ip),
    pod('kubernetes-dashboard', 'kubernetes-dashboard-6c8f9d-4hx7m', '10.244.3.9', w3!.name, w3!.ip),
    service('default', 'kubernetes', CLUSTER.apiServerVip, [['https', 443, 6443]]),
    service('kube-system', 'kube-dns', CLUSTER.coreDns, [['dns', 53, 53], ['dns-tcp', 53, 53], ['metrics', 9153, 9153]]),
    service('default', 'web', '10.96.45.12', [['http', 80, 8080]]),
    service('kubernetes-dashboard', 'kubernetes-dashboard', '10.96.120.15', [['https', 443, 8443]]),
  ];
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
}

export function buildClusterFile(): unknown {
  return { apiServers: [CLUSTER.cp.ip], podCidrs: [CLUSTER.podCidr], serviceCidrs: [CLUSTER.serviceCidr], nodeCidrs: [CLUSTER.nodeCidr] };
}
