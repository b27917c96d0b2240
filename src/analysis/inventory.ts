import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';

/**
 * What the user tells planewatch about the cluster: a `kubectl get nodes,pods,services -A -o json`
 * List, and/or a small planewatch file naming API servers and the cluster's networks.
 */
export interface Inventory {
  nodes: Map<string, { name: string; controlPlane: boolean }>; // address → node
  pods: Map<string, { namespace: string; name: string; node: string | null; hostNetwork: boolean; component: string | null }>;
  /**
   * Every pod by "namespace/name" (host-network ones too): its uid, addresses and node's address, to
   * tell where a token bound to it may legitimately come from.
   */
  podsByName: Map<string, InventoryPod>;
  services: Map<string, { namespace: string; name: string }>; // cluster IP → service
  apiServers: Set<string>;
  etcdServers: Set<string>;
  konnectivityServers: Set<string>;
  /**
   * Ports the inventory places a server on, by role and address: given with the address
   * (`"10.0.0.10:6443"`) or read from a static pod's flags (`--secure-port`, `--listen-client-urls`).
   * An address listed without any keeps its role's usual ports (INVENTORY_DEFAULT_PORTS): a
   * control-plane host serves many things besides (metrics, health checks, exporters).
   */
  serverPorts: Record<InventoryServerRole, Map<string, Set<number>>>;
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
    podsByName: new Map(),
    services: new Map(),
    apiServers: new Set(),
    etcdServers: new Set(),
    konnectivityServers: new Set(),
    serverPorts: { apiserver: new Map(), etcd: new Map(), 'konnectivity-server': new Map() },
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

export type InventoryServerRole = 'apiserver' | 'etcd' | 'konnectivity-server';

export interface InventoryPod {
  uid: string | null;
  ips: string[];
  /** The address of the node it runs on. */
  hostIP: string | null;
  node: string | null;
}

/**
 * Where a server the inventory lists without ports listens: the API server's secure port as kubeadm
 * and most installers set it, 443 (managed clusters, load balancers) and 8443 (minikube and others);
 * etcd's client and peer ports; the Konnectivity server's ports for agents and for the API server,
 * as the Kubernetes documentation's example and the server's own defaults set them.
 */
export const INVENTORY_DEFAULT_PORTS: Record<InventoryServerRole, ReadonlySet<number>> = {
  apiserver: new Set([6443, 443, 8443]),
  etcd: new Set([2379, 2380]),
  'konnectivity-server': new Set([8132, 8131, 8091, 8090]),
};

function serversOf(inv: Inventory, role: InventoryServerRole): Set<string> {
  return role === 'apiserver' ? inv.apiServers : role === 'etcd' ? inv.etcdServers : inv.konnectivityServers;
}

/** True when the inventory places a server of `role` at ip:port. */
export function inventoryServes(inv: Inventory, role: InventoryServerRole, ip: string, port: number): boolean {
  if (!serversOf(inv, role).has(ip)) return false;
  return (inv.serverPorts[role].get(ip) ?? INVENTORY_DEFAULT_PORTS[role]).has(port);
}

function addServer(inv: Inventory, role: InventoryServerRole, ip: string, ports: readonly number[]): void {
  serversOf(inv, role).add(ip);
  if (ports.length === 0) return;
  let set = inv.serverPorts[role].get(ip);
  if (set === undefined) inv.serverPorts[role].set(ip, (set = new Set()));
  for (const p of ports) set.add(p);
}

/** `10.0.0.10`, `10.0.0.10:6443`, `fd00::10`, `[fd00::10]:6443` → address and ports; null if neither. */
export function parseServerEntry(text: string): { ip: string; ports: number[] } | null {
  const t = text.trim();
  if (isIP(t)) return { ip: t, ports: [] };
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(t) ?? /^([^:]+):(\d{1,5})$/.exec(t);
  if (m === null || !isIP(m[1]!)) return null;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { ip: m[1]!, ports: [port] } : null;
}

/** The ports of the URLs in a flag's comma-separated value (`https://10.0.0.10:2379,https://127.0.0.1:2379`). */
function urlPorts(value: string): number[] {
  const out: number[] = [];
  for (const u of value.split(',')) {
    const m = /:(\d{1,5})\/?$/.exec(u.trim());
    if (m !== null) out.push(Number(m[1]));
  }
  return out;
}

/** A static pod's command line flag (`--name=value` or `--name value`), or null. */
function flagValue(args: readonly string[], name: string): string | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
    if (a === `--${name}` && i + 1 < args.length) return args[i + 1]!;
  }
  return null;
}

/** Ports a control-plane pod's flags set for `component` (none found: the role's usual ports apply). */
function componentPorts(component: string, args: readonly string[]): number[] {
  const port = (name: string): number[] => {
    const v = flagValue(args, name);
    const n = v === null ? NaN : Number(v);
    return Number.isInteger(n) && n > 0 && n <= 65535 ? [n] : [];
  };
  switch (component) {
    case 'kube-apiserver': {
      const secure = port('secure-port');
      return [...(secure.length > 0 ? secure : [6443]), ...port('insecure-port')];
    }
    case 'etcd':
      return [...urlPorts(flagValue(args, 'listen-client-urls') ?? ''), ...urlPorts(flagValue(args, 'listen-peer-urls') ?? '')];
    case 'konnectivity-server':
      return [...port('agent-port'), ...port('server-port')];
    default:
      return [];
  }
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
  metadata?: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string> };
  spec?: {
    nodeName?: string; hostNetwork?: boolean; clusterIP?: string; clusterIPs?: string[];
    containers?: { command?: unknown; args?: unknown }[];
    /** Node: the pod addresses it hands out (set when the controller manager allocates them). */
    podCIDR?: string; podCIDRs?: string[];
  };
  /** ConfigMap. */
  data?: Record<string, unknown>;
  /** kubeconfig (`kubectl config view -o json`). */
  clusters?: { name?: string; cluster?: { server?: string } }[];
  status?: { addresses?: { type?: string; address?: string }[]; podIP?: string; podIPs?: { ip?: string }[]; hostIP?: string };
  /** Endpoints (v1). */
  subsets?: { addresses?: { ip?: string }[]; ports?: { port?: number }[] }[];
  /** EndpointSlice (discovery.k8s.io/v1). */
  endpoints?: { addresses?: string[] }[];
  ports?: { port?: number }[] | null;
}

/** Valid TCP/UDP port numbers of a list of port objects. */
function portNumbers(list: readonly { port?: number }[] | null | undefined): number[] {
  return (list ?? []).map((p) => p.port).filter((p): p is number => Number.isInteger(p) && p! > 0 && p! <= 65535);
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
  if (Array.isArray(d.clusters)) {
    addKubernetesObject(inv, { ...(d as K8sObject), kind: 'Config' });
    return;
  }
  const list = (k: string): string[] => (Array.isArray(d[k]) ? (d[k] as unknown[]).filter((x): x is string => typeof x === 'string') : []);
  const servers = (k: string, role: InventoryServerRole): void => {
    for (const text of list(k)) {
      const e = parseServerEntry(text);
      if (e === null) throw new Error(`${source}: ${k}: ${JSON.stringify(text.slice(0, 80))} is not an address or address:port`);
      addServer(inv, role, e.ip, e.ports);
    }
  };
  servers('apiServers', 'apiserver');
  servers('etcdServers', 'etcd');
  servers('konnectivityServers', 'konnectivity-server');
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
      // The node's share of the pod network: its pods' addresses, listed or not.
      const cidrs = new Set([o.spec?.podCIDR, ...(o.spec?.podCIDRs ?? [])].filter((c): c is string => typeof c === 'string'));
      for (const c of cidrs) addPodNetwork(inv, c);
      break;
    }
    // kubeadm's cluster configuration, kube-proxy's configuration and the cluster-info kubeconfig
    // (`kubectl get cm -A -o json`): the pod and service networks, the API server's endpoint.
    case 'ConfigMap': {
      const text = (key: string): string => (typeof o.data?.[key] === 'string' ? (o.data[key] as string) : '');
      if (ns === 'kube-system' && name === 'kubeadm-config') {
        const config = text('ClusterConfiguration');
        for (const c of yamlList(config, 'podSubnet')) addPodNetwork(inv, c);
        for (const c of yamlList(config, 'serviceSubnet')) addServiceNetwork(inv, c);
        // Without a port the endpoint is the API server's bind port, 6443 unless set otherwise.
        for (const e of yamlList(config, 'controlPlaneEndpoint')) addApiServerUrl(inv, /:\d+$/.test(e) ? `https://${e}` : `https://${e}:6443`);
      } else if (ns === 'kube-system' && name === 'kube-proxy') {
        for (const c of yamlList(text('config.conf'), 'clusterCIDR')) addPodNetwork(inv, c);
      } else if (ns === 'kube-public' && name === 'cluster-info') {
        for (const u of yamlList(text('kubeconfig'), 'server')) addApiServerUrl(inv, u);
      }
      break;
    }
    case 'Config': {
      for (const c of o.clusters ?? []) if (typeof c.cluster?.server === 'string') addApiServerUrl(inv, c.cluster.server);
      break;
    }
    case 'Pod': {
      const ips = new Set<string>();
      if (o.status?.podIP) ips.add(o.status.podIP);
      for (const p of o.status?.podIPs ?? []) if (p.ip) ips.add(p.ip);
      const component = labels['component'] ?? labels['k8s-app'] ?? null;
      const hostNetwork = o.spec?.hostNetwork === true || (o.status?.hostIP !== undefined && ips.has(o.status.hostIP));
      const args: string[] = [];
      for (const c of o.spec?.containers ?? []) {
        for (const part of [c.command, c.args]) if (Array.isArray(part)) for (const a of part) if (typeof a === 'string') args.push(a);
      }
      const ports = component !== null ? componentPorts(component, args) : [];
      inv.podsByName.set(`${ns}/${name}`, {
        uid: typeof o.metadata?.uid === 'string' ? o.metadata.uid : null,
        ips: [...ips].filter((ip) => isIP(ip) !== 0),
        hostIP: o.status?.hostIP && isIP(o.status.hostIP) ? o.status.hostIP : null,
        node: o.spec?.nodeName ?? null,
      });
      for (const ip of ips) {
        if (!isIP(ip)) continue;
        // A host-network pod shares its node's address: the address stays the node's.
        if (!hostNetwork) inv.pods.set(ip, { namespace: ns, name, node: o.spec?.nodeName ?? null, hostNetwork, component });
        if (ns === 'kube-system' && component === 'kube-apiserver') addServer(inv, 'apiserver', ip, ports);
        if (ns === 'kube-system' && component === 'etcd') addServer(inv, 'etcd', ip, ports);
        if (component === 'konnectivity-server') addServer(inv, 'konnectivity-server', ip, ports);
      }
      break;
    }
    // The `kubernetes` Service's endpoints are the API servers, with the port they serve on: all a
    // managed control plane (EKS, GKE, AKS: no kube-apiserver pods to list) shows of them.
    case 'Endpoints': {
      if (ns !== 'default' || name !== 'kubernetes') break;
      for (const sub of o.subsets ?? []) {
        const ports = portNumbers(sub.ports);
        for (const a of sub.addresses ?? []) if (a.ip && isIP(a.ip)) addServer(inv, 'apiserver', a.ip, ports);
      }
      break;
    }
    case 'EndpointSlice': {
      if (ns !== 'default' || labels['kubernetes.io/service-name'] !== 'kubernetes') break;
      const ports = portNumbers(o.ports);
      for (const e of o.endpoints ?? []) for (const ip of e.addresses ?? []) if (isIP(ip)) addServer(inv, 'apiserver', ip, ports);
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

/**
 * Networks and endpoints read from the cluster's own objects: entries that are not what they should
 * be (a host name where an address is wanted) are passed over, not errors — the user did not write them.
 */
function addPodNetwork(inv: Inventory, cidr: string): void {
  if (tryAddCidr(inv, inv.podNetworks, cidr)) inv.hasPodNetworks = true;
}

function addServiceNetwork(inv: Inventory, cidr: string): void {
  if (tryAddCidr(inv, inv.serviceNetworks, cidr)) inv.hasServiceNetworks = true;
}

function tryAddCidr(inv: Inventory, list: BlockList, cidr: string): boolean {
  try {
    addCidr(inv, list, cidr.trim(), '');
    return true;
  } catch {
    return false;
  }
}

/** An API server's URL (`https://10.0.0.10:6443`); one naming a host rather than an address is passed over. */
function addApiServerUrl(inv: Inventory, url: string): void {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    return;
  }
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  if (!isIP(host)) return;
  addServer(inv, 'apiserver', host, [u.port === '' ? (u.protocol === 'http:' ? 80 : 443) : Number(u.port)]);
}

/**
 * The values of a key in YAML text, as kubeadm and kube-proxy write it (`key: value`, quoted or not,
 * comma-separated lists split): no YAML parser is needed for these flat scalars.
 */
function yamlList(text: string, key: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`^\\s*${key}:\\s*["']?([^"'\\s#]+)["']?\\s*(?:#.*)?$`, 'gm');
  for (const m of text.matchAll(re)) for (const v of m[1]!.split(',')) if (v.trim() !== '') out.push(v.trim());
  return out;
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
