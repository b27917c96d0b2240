import type { PathId } from '../model/analysis';

const DOC = 'https://kubernetes.io/docs/concepts/architecture/control-plane-node-communication/';

/** What each path id means to a reader, and the documentation section it comes from. */
export const PATH_INFO: Record<PathId, { title: string; section: string; reference: string }> = {
  'node-to-apiserver': { title: 'Node → API server', section: 'Node to Control Plane', reference: `${DOC}#node-to-control-plane` },
  'pod-to-apiserver': { title: 'Pod → API server', section: 'Node to Control Plane', reference: `${DOC}#node-to-control-plane` },
  'controlplane-to-apiserver': { title: 'Control plane → API server', section: 'Node to Control Plane', reference: `${DOC}#node-to-control-plane` },
  'apiserver-to-kubelet': { title: 'API server → kubelet', section: 'API server to kubelet', reference: `${DOC}#api-server-to-kubelet` },
  'apiserver-proxy': { title: 'API server proxy', section: 'API server to nodes, pods, and services', reference: `${DOC}#api-server-to-nodes-pods-and-services` },
  'ssh-tunnel': { title: 'SSH tunnel', section: 'SSH tunnels', reference: `${DOC}#ssh-tunnels` },
  konnectivity: { title: 'Konnectivity', section: 'Konnectivity service', reference: `${DOC}#konnectivity-service` },
  'apiserver-to-etcd': { title: 'API server → etcd', section: 'Cluster architecture: etcd', reference: 'https://kubernetes.io/docs/concepts/architecture/#etcd' },
  'etcd-peer': { title: 'etcd peers', section: 'Cluster architecture: etcd', reference: 'https://kubernetes.io/docs/concepts/architecture/#etcd' },
  other: { title: 'Other traffic', section: '—', reference: '' },
};
