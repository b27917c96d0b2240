import { neverOpened } from './connection-attempt';
import type { Endpoint, FlowRecord } from '../model/flow-record';
import { clusterName, DnsNames, namesOf } from './dns-names';
import type { CertificateInfo } from '../model/records';
import { emptyInventory, inNetworks, inventoryServes, type Inventory, type InventoryServerRole } from './inventory';
import { ServerChains, type SeenChain } from './server-chains';
import { credentialRole, personEvidence } from './client-identity';
import { kubeletSelfMadeHost } from './self-made-certificates';

/**
 * Endpoint roles learned from everything analysed together, plus the user's inventory.
 *
 * Every role claim carries a strength (how much the evidence proves) and a reason a person can read.
 * What one connection reveals (a node's client certificate, a kubelet's serving certificate) is then
 * available to every other connection of the same address — that is how a TLS 1.3 connection, whose
 * certificates are encrypted, inherits the identity its TLS 1.2 sibling showed.
 */

export const ROLES = [
  'apiserver',
  'kubelet',
  'etcd',
  'konnectivity-server',
  'controlplane-component',
  'node',
  'pod',
  'service',
  // a person's workstation: a user's tool (kubectl, helm …) or an administrator's credential
  'user',
  'unknown',
] as const;
export type Role = (typeof ROLES)[number];

/** Roles whose claim names an address, most telling first (see EndpointFacts.name). */
const NAMING_ORDER: readonly Role[] = [
  'node', 'pod', 'service', 'kubelet', 'apiserver', 'etcd', 'konnectivity-server', 'user', 'controlplane-component', 'unknown',
];

export interface RoleClaim {
  role: Role;
  /** 0..1: 1 = declared by the inventory, ~0.9 = a certificate says so, ~0.3 = only a port. */
  strength: number;
  reason: string;
  /** Node, pod or component name, when the evidence names one. */
  name: string | null;
  /** When the evidence was seen: the end of the flow that showed it (-Infinity: the inventory). */
  at: number;
}

/**
 * Counts the flows a topology has observed. Facts stamp themselves with it when they change, so that
 * a flow classified while the topology was still being learned can be told apart from one whose
 * inputs have not changed since (see InlineClassifier).
 */
export class ObservationClock {
  /** Flows observed so far; the flow being observed is number `now`. */
  now = 0;
  /** The end (last packet time) of the flow being observed; -Infinity before the first. */
  at = -Infinity;
}

/** The claims of an address nothing was claimed about: shared, never written (see EndpointFacts.claim). */
const NO_CLAIMS: ReadonlyMap<Role, RoleClaim> = new Map();

export class EndpointFacts {
  /**
   * The strongest claim per role. Addresses nothing is claimed about (a scan's targets, clients of no
   * known role) share one empty map until their first claim: a map of their own costs more than the
   * rest of the entry.
   */
  claims: ReadonlyMap<Role, RoleClaim> = NO_CLAIMS;
  flows = 0;
  bytes = 0;
  firstTs = Infinity;
  lastTs = -Infinity;
  /** Set when the address is the `kubernetes` Service (its traffic goes to an API server). */
  kubernetesService = false;
  /** The clock's reading when a claim last changed (0: only the inventory, before any flow). */
  changedAt = 0;

  constructor(
    readonly ip: string,
    private readonly clock: ObservationClock = new ObservationClock(),
  ) {}

  /**
   * Records a claim if it beats the one held for the role: a stronger one, or an equally strong one
   * seen earlier (then the smaller reason). The outcome does not depend on the order of the claims,
   * and since flows are observed roughly in the order they end, a later flow seldom displaces the
   * evidence cited already: the verdicts that cite it stay as they are.
   */
  claim(role: Role, strength: number, reason: string, name: string | null = null): void {
    const prev = this.claims.get(role);
    const at = this.clock.at;
    if (!prev || strength > prev.strength || (strength === prev.strength && (at < prev.at || (at === prev.at && reason < prev.reason)))) {
      const next = { role, strength, reason, name: name ?? prev?.name ?? null, at };
      if (this.claims === NO_CLAIMS) this.claims = new Map<Role, RoleClaim>();
      (this.claims as Map<Role, RoleClaim>).set(role, next);
      // The same evidence from an earlier flow changes nothing a verdict reads.
      if (!prev || prev.strength !== next.strength || prev.reason !== next.reason || prev.name !== next.name) {
        this.changedAt = this.clock.now;
      }
    } else if (name && !prev.name) {
      prev.name = name;
      this.changedAt = this.clock.now;
    }
  }

  /** Something a verdict reads about the address changed other than its claims. */
  touch(): void {
    this.changedAt = this.clock.now;
  }

  /**
   * What the address is called: the name of what owns the address (a node, a pod, a Service) before
   * the name of a server on it, and the name of a control-plane component last — it names a process,
   * and on a control-plane node the address is the node's (kube-scheduler and the API server share it).
   */
  get name(): string | null {
    for (const r of NAMING_ORDER) {
      const c = this.claims.get(r);
      if (c?.name) return c.name;
    }
    return null;
  }

  /** The most telling role: strongest claim, ties broken by the order of ROLES. */
  get primaryRole(): Role {
    let best: RoleClaim | null = null;
    for (const r of ROLES) {
      const c = this.claims.get(r);
      if (c && (!best || c.strength > best.strength)) best = c;
    }
    return best?.role ?? 'unknown';
  }
}

export type { SeenChain } from './server-chains';

/** NAT links are made per capture: the same link in two captures is two connections. */
function natKey(f: FlowRecord): string {
  return `${f.captureIndex}/${f.natLink}`;
}

/**
 * Complete NAT pairs kept in memory, the most recent: a verdict given while flows are loaded needs
 * the pair its flow just completed; later passes read older pairs back (`natViewReader`), so memory
 * stays flat on a capture where most connections go through a NAT.
 */
const NAT_PAIRS_KEPT = 4096;
/**
 * Views whose other view has not been observed yet, at most. Both views of a connection end
 * together, so few wait; the oldest are dropped beyond this (a pair they would have made is still
 * read back for verdicts, but the translation it shows is not learned).
 */
const NAT_HALVES_KEPT = 65536;

/** Both views of a connection, the one captured first (the connection as sent) first. */
export function natPairOfViews(a: NatView, b: NatView): NatPair {
  const aFirst = a.firstTs < b.firstTs || (a.firstTs === b.firstTs && a.firstFrame < b.firstFrame);
  const [original, translated] = aFirst ? [a, b] : [b, a];
  const dnat = original.client.ip === translated.client.ip && original.client.port === translated.client.port;
  return { kind: dnat ? 'dnat' : 'snat', original, translated };
}

/**
 * Host name suffixes of managed Kubernetes API endpoints. A managed control plane serves its API on
 * 443 (no 6443 to hint at it) and hides its certificate under TLS 1.3: the name clients ask for is
 * then the evidence there is.
 */
const MANAGED_API_SUFFIXES: readonly [suffix: string, what: string][] = [
  ['.eks.amazonaws.com', 'an Amazon EKS API endpoint'],
  ['.eks.amazonaws.com.cn', 'an Amazon EKS API endpoint'],
  ['.azmk8s.io', 'an Azure AKS API endpoint'],
  ['.gke.goog', 'a Google GKE DNS-based control-plane endpoint'],
  ['.k8s.ondigitalocean.com', 'a DigitalOcean Kubernetes API endpoint'],
];

/** What managed API endpoint a host name is, or null. */
function managedApiEndpoint(host: string): string | null {
  for (const [suffix, what] of MANAGED_API_SUFFIXES) if (host.endsWith(suffix) && host.length > suffix.length) return what;
  return null;
}

/** kubeadm's name for the API server's aggregation-layer client certificate (issued by front-proxy-ca). */
const FRONT_PROXY_CLIENT_CN = 'front-proxy-client';

/** Paths of etcd's peer API (raft messages, snapshots and membership), which members call on each other. */
export function isEtcdPeerPath(path: string): boolean {
  return path === '/raft' || path.startsWith('/raft/') || path === '/members' || path.startsWith('/members/');
}

/**
 * Ports that hint at the role of what listens on them (a weak claim, 0.3), and whose port each is,
 * as a reason names it. 16443 is MicroK8s's API server; minikube's 8443 is not here, being too common
 * a port of webhooks and other HTTPS services (an inventory names such an API server).
 */
export const PORT_HINTS: Readonly<Record<number, readonly [role: Role, whose: string]>> = {
  6443: ['apiserver', "the API server's default"],
  16443: ['apiserver', "MicroK8s's API server port"],
  10250: ['kubelet', "the kubelet's default"],
  10255: ['kubelet', "the kubelet's default"],
  2379: ['etcd', "etcd's default"],
  2380: ['etcd', "etcd's default"],
  8132: ['konnectivity-server', "the Konnectivity server's default"],
  8131: ['konnectivity-server', "the Konnectivity server's default"],
};

/**
 * One view of a connection seen on both sides of a NAT (flows with the same `natLink`, see
 * NatLinker), as observe() met it.
 */
export interface NatView {
  flowId: string;
  client: Endpoint;
  server: Endpoint;
  firstTs: number;
  lastTs: number;
  firstFrame: number;
}

/** The two views of one connection across a NAT, and what the capturing host rewrote. */
export interface NatPair {
  /** 'dnat': the server's address or port was rewritten (a Service address to an endpoint); 'snat': the client's. */
  kind: 'dnat' | 'snat';
  /** The view captured first: the connection as its client sent it, before the rewrite. */
  original: NatView;
  translated: NatView;
}

/**
 * Node ports (kube-proxy's default range): a node's own address translated to a pod there is a
 * NodePort Service's port, not a Service address. Only the port is claimed then, not the host.
 */
const NODE_PORT_MIN = 30000;
const NODE_PORT_MAX = 32767;

/** How strongly a tool's user agent or an administrator's certificate says a person is at an address. */
const USER_STRENGTH = 0.45;

/** Roles that belong to a listening service (ip:port), not to every port of the host. */
export const SERVICE_ROLES: ReadonlySet<Role> = new Set<Role>(['apiserver', 'kubelet', 'etcd', 'konnectivity-server']);

/** Claims about the server side of a flow: recorded for the service (ip:port) and for its host. */
/**
 * The server end of a flow: its host and its service (ip:port). The service's entry is made only when
 * something is claimed about it; until then it has no claims to read (serverClaim falls back to the
 * host), so a scan of many ports leaves no entry per port.
 */
class ServerSide {
  private service: EndpointFacts | null = null;

  constructor(
    private readonly host: EndpointFacts,
    private readonly serviceOf: () => EndpointFacts,
  ) {}

  claim(role: Role, strength: number, reason: string, name: string | null = null): void {
    (this.service ??= this.serviceOf()).claim(role, strength, reason, name);
    this.host.claim(role, strength, reason, name);
  }
}

export class Topology {
  readonly endpoints = new Map<string, EndpointFacts>();
  /**
   * Claims per listening service "ip:port". A control-plane host runs the API server, etcd, the
   * kubelet and Konnectivity on one address: which of them a connection reached is a property of
   * the port, so server roles are judged per service.
   */
  readonly services = new Map<string, EndpointFacts>();
  /** Certificate chains presented by each server endpoint "ip:port", in the order observed. */
  readonly serverChains = new Map<string, ServerChains>();
  readonly inventory: Inventory;
  /** Flows observed; every fact above is stamped with it when it changes. */
  readonly clock = new ObservationClock();
  /**
   * Addresses ("ip:port") the capturing host translated (DNAT) connections to, by the address the
   * client used: a Service address and its endpoints.
   */
  readonly translations = new Map<string, Map<string, Endpoint>>();
  /** Both views of the connections last seen across a NAT, by capture and link (NAT_PAIRS_KEPT at most). */
  private readonly natPairs = new Map<string, NatPair>();
  /** The first view of a linked connection whose second has not been observed yet. */
  private readonly natHalves = new Map<string, NatView>();
  /**
   * Reads back the stored views of a linked connection (capture id, link), for a pair no longer
   * kept in memory; set by whoever judges stored flows. Without it such a flow has no pair.
   */
  natViewReader: ((captureIndex: number, natLink: string) => NatView[]) | null = null;
  /** Names from the capture's DNS answers, by address. */
  private readonly dnsNames = new DnsNames();
  /** The service `service()` found last (the rules ask about one flow's service several times). */
  private lastServiceIp = '';
  private lastServicePort = -1;
  private lastService: EndpointFacts | undefined = undefined;

  constructor(inventory: Inventory = emptyInventory()) {
    this.inventory = inventory;
    this.applyInventory();
  }

  endpoint(ip: string): EndpointFacts {
    let e = this.endpoints.get(ip);
    if (!e) {
      e = new EndpointFacts(ip, this.clock);
      this.endpoints.set(ip, e);
      this.applyNetworks(e);
    }
    return e;
  }

  get(ip: string): EndpointFacts | undefined {
    return this.endpoints.get(ip);
  }

  private serviceFacts(ip: string, port: number): EndpointFacts {
    const key = `${ip}:${port}`;
    let e = this.services.get(key);
    if (!e) {
      e = new EndpointFacts(key, this.clock);
      this.services.set(key, e);
      this.lastServiceIp = ''; // the service looked up last may be this one, not known then
    }
    return e;
  }

  /**
   * The facts of the service at ip:port, if any. The rules ask about one flow's service several
   * times in a row: the last one asked for is kept at hand rather than its key built again.
   */
  private service(ip: string, port: number): EndpointFacts | undefined {
    if (ip !== this.lastServiceIp || port !== this.lastServicePort) {
      this.lastServiceIp = ip;
      this.lastServicePort = port;
      this.lastService = this.services.get(`${ip}:${port}`);
    }
    return this.lastService;
  }

  /**
   * What is known about `role` for the service at ip:port. For a service role (API server, kubelet,
   * etcd, Konnectivity server): the service's own evidence, or what the inventory declares about the
   * address when it places that server on this port, whichever is stronger — a control-plane host
   * serves metrics, health checks and exporters on other ports. For other roles: the service's
   * evidence when there is any, otherwise the host's. Behind a translated address (DNAT), what stands
   * behind it when that is stronger.
   */
  serverClaim(ip: string, port: number, role: Role): RoleClaim | undefined {
    const own = this.ownServerClaim(ip, port, this.service(ip, port), role);
    if (this.translations.size === 0) return own;
    const behind = this.claimBehind(ip, port, role);
    return behind !== undefined && (own === undefined || behind.strength > own.strength) ? behind : own;
  }

  private ownServerClaim(ip: string, port: number, sv: EndpointFacts | undefined, role: Role): RoleClaim | undefined {
    const evidence = sv !== undefined && sv.claims.size > 0 ? sv.claims.get(role) : undefined;
    if (!SERVICE_ROLES.has(role)) return sv !== undefined && sv.claims.size > 0 ? evidence : this.endpoints.get(ip)?.claims.get(role);
    if (role === 'kubelet') return evidence;
    const host = this.endpoints.get(ip)?.claims.get(role);
    const declared = host !== undefined && host.reason.startsWith('inventory:') && inventoryServes(this.inventory, role as InventoryServerRole, ip, port)
      ? host
      : undefined;
    if (declared === undefined) return evidence;
    return evidence === undefined || declared.strength > evidence.strength ? declared : evidence;
  }

  /**
   * The strongest claim for `role` of a service the capturing host translated (DNAT) ip:port to: a
   * Service address or a load balancer is what stands behind it (a Konnectivity server, etcd …), and
   * wins over what the address showed itself when stronger (its port's default, say).
   */
  private claimBehind(ip: string, port: number, role: Role): RoleClaim | undefined {
    const targets = this.translations.get(`${ip}:${port}`);
    if (targets === undefined || role === 'service') return undefined;
    let best: { to: string; claim: RoleClaim } | undefined;
    for (const to of targets.keys()) {
      const colon = to.lastIndexOf(':');
      const claim = this.ownServerClaim(to.slice(0, colon), Number(to.slice(colon + 1)), this.services.get(to), role);
      if (claim && (best === undefined || claim.strength > best.claim.strength || (claim.strength === best.claim.strength && to < best.to))) {
        best = { to, claim };
      }
    }
    if (best === undefined) return undefined;
    return { ...best.claim, reason: `translated (DNAT) to ${best.to}: ${best.claim.reason}` };
  }

  serverStrength(ip: string, port: number, role: Role): number {
    return this.serverClaim(ip, port, role)?.strength ?? 0;
  }

  /** Strength of the claim that `ip` has `role` (0 when there is none). */
  strength(ip: string, role: Role): number {
    return this.endpoints.get(ip)?.claims.get(role)?.strength ?? 0;
  }

  claimOf(ip: string, role: Role): RoleClaim | undefined {
    return this.endpoints.get(ip)?.claims.get(role);
  }

  private applyInventory(): void {
    const inv = this.inventory;
    for (const [ip, n] of inv.nodes) {
      this.endpoint(ip).claim('node', 1, `inventory: node ${n.name}`, n.name);
    }
    for (const [ip, p] of inv.pods) {
      this.endpoint(ip).claim('pod', 1, `inventory: pod ${p.namespace}/${p.name}`, `${p.namespace}/${p.name}`);
    }
    for (const [ip, s] of inv.services) {
      const e = this.endpoint(ip);
      e.claim('service', 1, `inventory: service ${s.namespace}/${s.name}`, `${s.namespace}/${s.name}`);
      if (s.namespace === 'default' && s.name === 'kubernetes') e.kubernetesService = true;
    }
    for (const ip of inv.apiServers) this.endpoint(ip).claim('apiserver', 1, 'inventory: API server address');
    for (const ip of inv.etcdServers) this.endpoint(ip).claim('etcd', 1, 'inventory: etcd member');
    for (const ip of inv.konnectivityServers) this.endpoint(ip).claim('konnectivity-server', 1, 'inventory: Konnectivity server');
  }

  private applyNetworks(e: EndpointFacts): void {
    const inv = this.inventory;
    if (inv.hasPodNetworks && inNetworks(inv.podNetworks, e.ip)) e.claim('pod', 0.8, 'address in the declared pod network');
    if (inv.hasServiceNetworks && inNetworks(inv.serviceNetworks, e.ip)) e.claim('service', 0.8, 'address in the declared service network');
    if (inv.hasNodeNetworks && inNetworks(inv.nodeNetworks, e.ip)) e.claim('node', 0.5, 'address in the declared node network');
  }

  /** Learns from one finished flow. Order of observation does not change the result. */
  observe(f: FlowRecord): void {
    this.clock.now++;
    this.clock.at = f.lastTs;
    if (neverOpened(f) !== null) {
      this.observeAttempt(f);
      return;
    }
    const client = this.endpoint(f.client.ip);
    const serverHost = this.endpoint(f.server.ip);
    const server = new ServerSide(serverHost, () => this.serviceFacts(f.server.ip, f.server.port));
    const bytes = f.bytes[0] + f.bytes[1];
    for (const e of [client, serverHost]) {
      e.flows++;
      e.bytes += bytes;
      if (f.firstTs < e.firstTs) e.firstTs = f.firstTs;
      if (f.lastTs > e.lastTs) e.lastTs = f.lastTs;
    }
    const where = `(flow ${f.id})`;

    const hint = PORT_HINTS[f.server.port];
    if (hint && f.transport === 'tcp') server.claim(hint[0], 0.3, `listens on port ${f.server.port}, ${hint[1]}`);

    const tls = f.tls;
    if (tls) {
      const leaf = tls.serverCertificates[0];
      if (leaf) {
        this.observeServerCert(server, leaf, tls.serverCertificates, where);
        const key = `${f.server.ip}:${f.server.port}`;
        let list = this.serverChains.get(key);
        if (!list) this.serverChains.set(key, (list = new ServerChains(this.clock)));
        list.add({ chain: tls.serverCertificates, flowId: f.id, ts: f.firstTs, frame: tls.certificateFrame || f.firstFrame });
      }
      const cleaf = tls.clientCertificates[0];
      if (cleaf) this.observeClientCert(client, cleaf, where);
      const sni = tls.sni?.toLowerCase() ?? '';
      if (sni === 'kubernetes' || sni.startsWith('kubernetes.default')) {
        server.claim('apiserver', 0.6, `clients ask for it by the name ${tls.sni} (SNI) ${where}`);
      } else {
        const managed = managedApiEndpoint(sni);
        if (managed !== null) server.claim('apiserver', 0.6, `clients ask for it by the name ${tls.sni} (SNI), ${managed} ${where}`);
      }
    }

    // A person at the client: only a hint, weaker than any network, inventory or certificate evidence
    // (a pod or a node where someone runs kubectl stays a pod or a node).
    const person = personEvidence(f);
    if (person !== null) client.claim('user', USER_STRENGTH, `${person} ${where}`);
    // A credential names its holder as surely as a user agent does (kube-proxy's, a controller's). A
    // pod's token is weaker evidence for the address: a host-network pod (a CNI agent) shares its
    // node's, and what shows the node (its kubelet's certificate or user agent) must prevail there.
    const credential = credentialRole(f);
    if (credential !== null) client.claim(credential.role, credential.role === 'pod' ? 0.6 : 0.8, `sends the ${credential.reason} ${where}`, credential.name);

    for (const h of f.http) {
      const ua = h.userAgent ?? '';
      if (ua.startsWith('kubelet/')) client.claim('node', 0.8, `sends User-Agent ${ua.slice(0, 40)} ${where}`);
      else if (ua.startsWith('kube-probe/')) client.claim('node', 0.8, `probes with User-Agent ${ua.slice(0, 40)} (the kubelet) ${where}`);
      else if (ua.startsWith('kube-proxy/')) client.claim('node', 0.7, `sends User-Agent ${ua.slice(0, 40)} ${where}`);
      else if (/^(kube-scheduler|kube-controller-manager|cloud-controller-manager)\//.test(ua)) {
        client.claim('controlplane-component', 0.8, `sends User-Agent ${ua.slice(0, 40)} ${where}`, ua.split('/')[0]!);
      }
      if (h.xForwardedUri || h.xForwardedFor) {
        client.claim('apiserver', 0.7, `adds the X-Forwarded-* headers of the API server's proxy ${where}`);
      }
      const k8s = h.k8s;
      if (k8s?.api === 'kubelet' && k8s.operation !== 'other') {
        server.claim('kubelet', 0.7, `serves kubelet API path ${h.path.slice(0, 60)} ${where}`);
      } else if (k8s?.api === 'apiserver' && /^\/apis?\//.test(h.path) && h.status !== null && h.status !== 404) {
        // Only resource paths (/api, /apis) say "API server": /metrics or /healthz are served by many.
        server.claim('apiserver', 0.6, `answers Kubernetes API path ${h.path.slice(0, 60)} ${where}`);
      }
      if (isEtcdPeerPath(h.path)) {
        // Only etcd members serve and call these (raft streams, membership): the peer port, whatever its number.
        server.claim('etcd', 0.85, `serves etcd's peer API path ${h.path.slice(0, 60)} ${where}`);
        client.claim('etcd', 0.8, `calls etcd's peer API path ${h.path.slice(0, 60)} ${where}`);
      }
      // grpcMethod is "pkg.Service/Method", without the path's leading slash (grpcMethodFromPath).
      if (h.grpcMethod?.startsWith('etcdserverpb.')) server.claim('etcd', 0.9, `serves etcd gRPC ${h.grpcMethod} ${where}`);
      if (h.grpcMethod?.startsWith('agent.AgentService/')) {
        server.claim('konnectivity-server', 0.9, `serves Konnectivity gRPC ${h.grpcMethod} ${where}`);
      }
    }
    if (f.dns !== undefined && f.dns.length > 0) this.observeDns(f, where);
    if (f.natLink) this.observeNat(f);
  }

  /**
   * A connection attempt that never opened (a scan's probe, a flood's SYN, a refused port) shows
   * nothing about either address: what listens on the port is unknown, and a flood's addresses are
   * spoofed by the million. So it makes no entry of its own, and its activity is counted from the
   * stored flows when the endpoints are written (writeEndpoints). Only an address inside a declared
   * network gets its entry: the network names its role, which the attempt's path reads.
   */
  private observeAttempt(f: FlowRecord): void {
    if (this.inventory.hasNetworks) {
      for (const ip of [f.client.ip, f.server.ip]) if (this.inDeclaredNetwork(ip)) this.endpoint(ip);
    }
    if (f.natLink) this.observeNat(f);
  }

  private inDeclaredNetwork(ip: string): boolean {
    const inv = this.inventory;
    return (
      (inv.hasPodNetworks && inNetworks(inv.podNetworks, ip)) ||
      (inv.hasServiceNetworks && inNetworks(inv.serviceNetworks, ip)) ||
      (inv.hasNodeNetworks && inNetworks(inv.nodeNetworks, ip))
    );
  }

  /** Addresses named by DNS answers, for endpoints the topology holds no entry for. */
  dnsNamedAddresses(): Iterable<[ip: string, name: string]> {
    return this.dnsNames.entries();
  }

  /**
   * A DNS flow's answers: each address gets the name it was asked by (shown where nothing better
   * names it), and a cluster DNS name says what the address is (dns-names.ts).
   */
  private observeDns(f: FlowRecord, where: string): void {
    for (const t of f.dns!) {
      for (const { ip, name, ts } of namesOf(t)) {
        // A verdict may read the name (an accept entry's serverName): a changed one is a changed fact.
        if (this.dnsNames.add(ip, name, ts)) this.endpoints.get(ip)?.touch();
        const cluster = clusterName(name);
        if (cluster === null) continue;
        // Whoever answers for the cluster's zone is the cluster DNS (kube-dns's Service, a CoreDNS pod,
        // NodeLocal DNSCache): named so where nothing better names it.
        if (this.dnsNames.addResolver(f.server.ip)) this.endpoints.get(f.server.ip)?.touch();
        const e = this.endpoint(ip);
        e.claim(cluster.role, 0.6, `the cluster DNS answers ${name} with it ${where}`, cluster.name);
        if (cluster.kubernetesService && !e.kubernetesService) {
          e.kubernetesService = true;
          e.touch();
        }
      }
    }
  }

  /** What an address is called: the name its claims give it (inventory, certificates), else its DNS name. */
  nameOf(ip: string): string | null {
    return this.endpoints.get(ip)?.name ?? this.dnsNames.nameOf(ip);
  }

  /**
   * A flow linked to another view of its connection: once both are observed, which is which (the
   * view captured first is the connection as sent: `tcpdump -i any` records a forwarded packet on
   * the interface it came in on before the one it leaves by) and what was rewritten. An address the
   * host translated (DNAT) to another is a virtual one: a Service address, or a node port.
   */
  private observeNat(f: FlowRecord): void {
    const key = natKey(f);
    const view: NatView = { flowId: f.id, client: f.client, server: f.server, firstTs: f.firstTs, lastTs: f.lastTs, firstFrame: f.firstFrame };
    const half = this.natHalves.get(key);
    if (half === undefined) {
      if (this.natPairs.has(key)) return;
      this.natHalves.set(key, view);
      if (this.natHalves.size > NAT_HALVES_KEPT) this.natHalves.delete(this.natHalves.keys().next().value!);
      return;
    }
    if (half.flowId === f.id) return;
    this.natHalves.delete(key);
    const pair = natPairOfViews(half, view);
    this.keepNatPair(key, pair);
    if (pair.kind !== 'dnat') return;
    const { original, translated } = pair;
    const from = `${original.server.ip}:${original.server.port}`;
    const to = `${translated.server.ip}:${translated.server.port}`;
    let targets = this.translations.get(from);
    if (!targets) this.translations.set(from, (targets = new Map()));
    const service = this.serviceFacts(original.server.ip, original.server.port);
    if (!targets.has(to)) {
      targets.set(to, translated.server);
      service.touch();
    }
    // The claim is stamped with the pair's end, whichever view was observed last: the order of
    // observation must not change which of several equal claims is kept.
    const at = this.clock.at;
    this.clock.at = Math.max(original.lastTs, translated.lastTs);
    const reason = `the capturing host translates (DNAT) connections to it to ${to} (flows ${original.flowId} and ${translated.flowId})`;
    service.claim('service', 0.9, reason);
    const port = original.server.port;
    if (port < NODE_PORT_MIN || port > NODE_PORT_MAX) this.endpoint(original.server.ip).claim('service', 0.9, reason);
    this.clock.at = at;
  }

  /** Views of connections across a NAT held in memory, paired or waiting: bounded whatever the capture. */
  get natViewsHeld(): number {
    return this.natPairs.size * 2 + this.natHalves.size;
  }

  private keepNatPair(key: string, pair: NatPair): void {
    this.natPairs.set(key, pair);
    if (this.natPairs.size > NAT_PAIRS_KEPT) this.natPairs.delete(this.natPairs.keys().next().value!);
  }

  /**
   * Both views of the connection `f` is one view of, when both were observed (or, for an older
   * pair, are stored and can be read back).
   */
  natPairOf(f: FlowRecord): NatPair | undefined {
    if (!f.natLink) return undefined;
    const key = natKey(f);
    const kept = this.natPairs.get(key);
    if (kept !== undefined || this.natViewReader === null || this.natHalves.has(key)) return kept;
    const views = this.natViewReader(f.captureIndex, f.natLink);
    if (views.length !== 2) return undefined;
    const pair = natPairOfViews(views[0]!, views[1]!);
    // Its other view is usually judged next (both are stale for the same reasons): keep it for that.
    this.keepNatPair(key, pair);
    return pair;
  }

  /** Where the capturing host translated (DNAT) connections to ip:port, in address order. */
  translationsOf(ip: string, port: number): Endpoint[] {
    // Most captures show no NAT: no key is built for them.
    if (this.translations.size === 0) return [];
    const targets = this.translations.get(`${ip}:${port}`);
    if (!targets) return [];
    return [...targets.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, e]) => e);
  }

  private observeServerCert(server: ServerSide, leaf: CertificateInfo, chain: CertificateInfo[], where: string): void {
    const cn = leaf.subjectCN ?? '';
    const sans = leaf.sanDns.map((s) => s.toLowerCase());
    if (cn === 'kube-apiserver' || sans.includes('kubernetes.default.svc') || sans.some((s) => s.startsWith('kubernetes.default.svc.'))) {
      server.claim('apiserver', 0.95, `server certificate ${leaf.subject} names the API server ${where}`);
      return;
    }
    const selfMade = kubeletSelfMadeHost(leaf);
    if (selfMade !== null) {
      server.claim('kubelet', 0.9, `kubelet-made serving certificate CN=${cn} ${where}`, selfMade);
      server.claim('node', 0.8, `runs a kubelet (certificate CN=${cn}) ${where}`, selfMade);
      return;
    }
    const issuerCN = chain[0]?.issuerCN ?? '';
    if (cn.startsWith('system:node:') && leaf.extKeyUsage.includes('serverAuth')) {
      const name = cn.slice('system:node:'.length);
      server.claim('kubelet', 0.9, `kubelet serving certificate CN=${cn} ${where}`, name);
      server.claim('node', 0.9, `serving certificate of node ${name} ${where}`, name);
      return;
    }
    if (/etcd/i.test(cn) || /etcd/i.test(issuerCN)) {
      server.claim('etcd', 0.85, `server certificate ${leaf.subject} issued by ${leaf.issuer} ${where}`);
      return;
    }
    if (/konnectivity|proxy-server/i.test(cn)) {
      server.claim('konnectivity-server', 0.85, `server certificate ${leaf.subject} ${where}`);
    }
  }

  private observeClientCert(client: EndpointFacts, leaf: CertificateInfo, where: string): void {
    const cn = leaf.subjectCN ?? '';
    if (cn.startsWith('system:node:') || leaf.subjectO.includes('system:nodes')) {
      const name = cn.startsWith('system:node:') ? cn.slice('system:node:'.length) : null;
      client.claim('node', 0.95, `client certificate ${leaf.subject} ${where}`, name);
    } else if (/^(system:)?(kube-scheduler|kube-controller-manager|cloud-controller-manager)$/.test(cn)) {
      client.claim('controlplane-component', 0.95, `client certificate ${leaf.subject} ${where}`, cn.replace(/^system:/, ''));
    } else if (cn.startsWith('kube-apiserver')) {
      client.claim('apiserver', 0.9, `client certificate ${leaf.subject} ${where}`);
    } else if (cn === FRONT_PROXY_CLIENT_CN) {
      // --proxy-client-cert-file: what the API server presents to aggregated API servers it calls.
      client.claim('apiserver', 0.9, `client certificate ${leaf.subject}, the aggregation layer's (kubeadm's name for it) ${where}`);
    } else if (cn === 'system:kube-proxy') {
      client.claim('node', 0.7, `client certificate ${leaf.subject} ${where}`);
    } else if (/etcd/i.test(cn) || /etcd/i.test(leaf.issuerCN ?? '')) {
      client.claim('etcd', 0.6, `client certificate ${leaf.subject} from the etcd CA ${where}`);
    } else if (/konnectivity|proxy-agent/i.test(cn)) {
      client.claim('node', 0.6, `Konnectivity agent client certificate ${leaf.subject} ${where}`);
    }
  }

  /**
   * The certificate chain server endpoint ip:port was presenting at `ts`, as first seen on a connection
   * to it (ServerChains.presentedAt).
   */
  chainFor(ip: string, port: number, ts: number): SeenChain | null {
    return this.serverChains.get(`${ip}:${port}`)?.presentedAt(ts) ?? null;
  }

  /** The first chain seen on server endpoint ip:port whose leaf is not `leafSha256`, or null. */
  otherLeafChain(ip: string, port: number, leafSha256: string): SeenChain | null {
    return this.serverChains.get(`${ip}:${port}`)?.firstOtherLeaf(leafSha256) ?? null;
  }

  /** Endpoints sorted by address, for the store and reports. */
  sortedEndpoints(): EndpointFacts[] {
    return [...this.endpoints.values()].sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  }
}
