/** The believable cluster every scenario lives in (addresses, names, CIDRs). */
export interface Host {
  name: string;
  ip: string;
}

export const CLUSTER = {
  cp: { name: 'cp-1', ip: '10.0.0.10' } as Host,
  workers: [
    { name: 'worker-1', ip: '10.0.0.21' },
    { name: 'worker-2', ip: '10.0.0.22' },
    { name: 'worker-3', ip: '10.0.0.23' },
  ] as Host[],
  /** etcd members: stacked on cp-1 plus two etcd-only nodes (registered, as RKE-style clusters do). */
  etcd: [
    { name: 'cp-1', ip: '10.0.0.10' },
    { name: 'etcd-2', ip: '10.0.0.11' },
    { name: 'etcd-3', ip: '10.0.0.12' },
  ] as Host[],
  apiServerVip: '10.96.0.1',
  coreDns: '10.96.0.10',
  podCidr: '10.244.0.0/16',
  serviceCidr: '10.96.0.0/12',
  nodeCidr: '10.0.0.0/24',
  /** Outside every cluster network: a node client dialling in from the internet. */
  outsider: '203.0.113.7',
  internetHost: '93.184.215.14',
  k8sVersion: 'v1.31.2',
  gitCommit: '5864a4677267e6adeae276ad85882a8714d69d9d',
} as const;

export const kubeletUA = `kubelet/${CLUSTER.k8sVersion} (linux/amd64) kubernetes/${CLUSTER.gitCommit.slice(0, 7)}`;
export const apiserverUA = `kube-apiserver/${CLUSTER.k8sVersion} (linux/amd64) kubernetes/${CLUSTER.gitCommit.slice(0, 7)}`;
export const componentUA = (c: string) => `${c}/${CLUSTER.k8sVersion} (linux/amd64) kubernetes/${CLUSTER.gitCommit.slice(0, 7)}`;
