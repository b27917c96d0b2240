import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';

/**
 * What the user tells planewatch about the cluster: a `kubectl get nodes,pods,services -A -o json`
 * List, and/or a small planewatch file naming API servers and the cluster's networks.
 */
export interface Inventory {
  nodes: Map<string, { name: string; controlPlane: boolean }>; // address → node
  pods: Map<string, { namespace: string; name: string; node: string | null; hostNetwork: boolean; component: string | null }>;
  services: Map<string, { namespace: string; name: string }>; // cluster IP → service
  apiServers: Set<string>;
  etcdServers: Set<string>;
  konnectivityServers: Set<string>;
  /** Declared cluster networks (node, pod, service CIDRs), for `untrusted-network`. */
  networks: BlockList;
  podNetworks: BlockList;
  serviceNetworks: BlockList;
  nodeNetworks: BlockList;
  /** True once any network was declared: only then can an address be "outside" the cluster. */
  hasNetworks: boolean;
  hasPodNetworks: boolean;
  hasServiceNetworks: boolean;
  hasNodeNetworks: boolean;
  sources: string[];
}

export function emptyInventory(): Inventory {
  return {
    nodes: new Map(),
    pods: new Map(),
    services: new Map(),
    apiServers: new Set(),
    etcdServers: new Set(),
    konnectivityServers: new Set(),
    networks: new BlockList(),
    podNetworks: new BlockList(),
    serviceNetworks: new BlockList(),
    nodeNetworks: new BlockList(),
    hasNetworks: false,
    hasPodNetworks: false,
    hasServiceNetworks: false,
    hasNodeNetworks: false,
    sources: [],
  };
}

/** Does a BlockList contain this address? (BlockList.check needs the family.) */
export function inNetworks(list: BlockList, ip: string): boolean {
  const family = isIP(ip);
  if (family === 0) return false;
  return list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

function addCidr(inv: Inventory, list: BlockList, cidr: string, source: string): void {
  const [net, bits] = cidr.split('/');
  const family = isIP(net ?? '');
  const prefix = Number(bits);
  if (!net || family === 0 || !Number.isInteger(prefix)) throw new Error(`${source}: not a CIDR: ${cidr}`);
  const type = family === 6 ? 'ipv6' : 'ipv4';
  list.addSubnet(net, prefix, type);
  inv.networks.addSubnet(net, prefix, type);
  inv.hasNetworks = true;
}

interface K8sObject {
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: { nodeName?: string; hostNetwork?: boolean; clusterIP?: string; clusterIPs?: string[] };
  status?: { addresses?: { type?: string; address?: string }[]; podIP?: string; podIPs?: { ip?: string }[]; hostIP?: string };
}

/** Loads one inventory file (either format) into `inv`. Throws with the file name on bad input. */
export function loadInventoryFile(inv: Inventory, file: string): void {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read inventory: ${(e as Error).message}`);
  }
  mergeInventory(inv, doc, file);
}

export function mergeInventory(inv: Inventory, doc: unknown, source: string): void {
  if (!doc || typeof doc !== 'object') throw new Error(`${source}: inventory must be a JSON object`);
  const d = doc as Record<string, unknown>;
  inv.sources.push(source);
  if (Array.isArray(d.items)) {
    for (const item of d.items as K8sObject[]) addKubernetesObject(inv, item);
    return;
  }
  if (d.kind && d.kind !== 'List') {
    addKubernetesObject(inv, d as K8sObject);
    return;
  }
  const list = (k: string): string[] => (Array.isArray(d[k]) ? (d[k] as unknown[]).filter((x): x is string => typeof x === 'string') : []);
  for (const ip of list('apiServers')) inv.apiServers.add(ip);
  for (const ip of list('etcdServers')) inv.etcdServers.add(ip);
  for (const ip of list('konnectivityServers')) inv.konnectivityServers.add(ip);
  for (const c of list('podCidrs')) {
    addCidr(inv, inv.podNetworks, c, source);
    inv.hasPodNetworks = true;
  }
  for (const c of list('serviceCidrs')) {
    addCidr(inv, inv.serviceNetworks, c, source);
    inv.hasServiceNetworks = true;
  }
  for (const c of list('nodeCidrs')) {
    addCidr(inv, inv.nodeNetworks, c, source);
    inv.hasNodeNetworks = true;
  }
  for (const c of list('clusterCidrs')) addCidr(inv, inv.networks, c, source);
}

function addKubernetesObject(inv: Inventory, o: K8sObject): void {
  const name = o.metadata?.name ?? '';
  const ns = o.metadata?.namespace ?? 'default';
  const labels = o.metadata?.labels ?? {};
  switch (o.kind) {
    case 'Node': {
      const controlPlane = 'node-role.kubernetes.io/control-plane' in labels || 'node-role.kubernetes.io/master' in labels;
      for (const a of o.status?.addresses ?? []) {
        if ((a.type === 'InternalIP' || a.type === 'ExternalIP') && a.address && isIP(a.address)) {
          inv.nodes.set(a.address, { name, controlPlane });
        }
      }
      break;
    }
    case 'Pod': {
      const ips = new Set<string>();
      if (o.status?.podIP) ips.add(o.status.podIP);
      for (const p of o.status?.podIPs ?? []) if (p.ip) ips.add(p.ip);
      const component = labels['component'] ?? labels['k8s-app'] ?? null;
      const hostNetwork = o.spec?.hostNetwork === true || (o.status?.hostIP !== undefined && ips.has(o.status.hostIP));
      for (const ip of ips) {
        if (!isIP(ip)) continue;
        // A host-network pod shares its node's address: the address stays the node's.
        if (!hostNetwork) inv.pods.set(ip, { namespace: ns, name, node: o.spec?.nodeName ?? null, hostNetwork, component });
        if (ns === 'kube-system' && component === 'kube-apiserver') inv.apiServers.add(ip);
        if (ns === 'kube-system' && component === 'etcd') inv.etcdServers.add(ip);
        if (component === 'konnectivity-server') inv.konnectivityServers.add(ip);
      }
      break;
    }
    case 'Service': {
      const ips = new Set<string>();
      if (o.spec?.clusterIP && o.spec.clusterIP !== 'None') ips.add(o.spec.clusterIP);
      for (const ip of o.spec?.clusterIPs ?? []) if (ip !== 'None') ips.add(ip);
      for (const ip of ips) if (isIP(ip)) inv.services.set(ip, { namespace: ns, name });
      break;
    }
    default:
      break;
  }
}

/** True when the address belongs to the declared cluster (a known node, pod, service or network). */
export function insideCluster(inv: Inventory, ip: string): boolean {
  if (ip.startsWith('127.') || ip === '::1') return true;
  return inv.nodes.has(ip) || inv.pods.has(ip) || inv.services.has(ip) || inv.apiServers.has(ip) || inNetworks(inv.networks, ip);
}

/** Whether the inventory says enough to call an address "outside" (nodes listed or networks declared). */
export function canJudgeNetworks(inv: Inventory): boolean {
  return inv.hasNetworks || inv.nodes.size > 0;
}
