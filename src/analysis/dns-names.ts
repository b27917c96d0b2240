import { isIP } from 'node:net';
import type { DnsTransaction } from '../../dissectors/dns/dns-log';
import type { Role } from './topology';

/**
 * Names the capture's own DNS answers give addresses, as Wireshark's "use captured DNS packet data
 * for address resolution" does: a name is shown where nothing better names the address, and never
 * looked up. Cluster DNS names also say what the address is (Kubernetes DNS for Services and Pods):
 * `<service>.<namespace>.svc.<zone>` is a Service address, `kubernetes.default.svc…` the API server's
 * Service, `<a-b-c-d>.<namespace>.pod.<zone>` and a headless Service's `<host>.<service>.<namespace>.svc.<zone>`
 * a pod.
 */

/** Addresses named at most (a capture of a busy resolver); later ones go unnamed. */
export const MAX_DNS_NAMES = 65_536;

const LABEL = '[a-z0-9]([a-z0-9-]*[a-z0-9])?';
const SERVICE = new RegExp(`^(${LABEL})\\.(${LABEL})\\.svc(\\.[a-z0-9.-]+)?\\.?$`);
const HEADLESS_POD = new RegExp(`^(${LABEL})\\.(${LABEL})\\.(${LABEL})\\.svc(\\.[a-z0-9.-]+)?\\.?$`);
const POD = new RegExp(`^(\\d{1,3}-\\d{1,3}-\\d{1,3}-\\d{1,3}|[0-9a-f-]+)\\.(${LABEL})\\.pod(\\.[a-z0-9.-]+)?\\.?$`);
const KUBERNETES = /^kubernetes\.default(\.svc(\.[a-z0-9.-]+)?)?\.?$/;

export interface ClusterName {
  role: Extract<Role, 'service' | 'pod'>;
  /** `namespace/name`, as the inventory names Services and pods (null: a pod named by its address). */
  name: string | null;
  /** The `kubernetes` Service in `default`: the API server's. */
  kubernetesService: boolean;
}

/** What a cluster DNS name says about the address it resolves to, or null for any other name. */
export function clusterName(name: string): ClusterName | null {
  if (KUBERNETES.test(name)) return { role: 'service', name: 'default/kubernetes', kubernetesService: true };
  let m = SERVICE.exec(name);
  if (m !== null) return { role: 'service', name: `${m[3]}/${m[1]}`, kubernetesService: false };
  m = HEADLESS_POD.exec(name);
  if (m !== null) return { role: 'pod', name: `${m[5]}/${m[1]}`, kubernetesService: false };
  m = POD.exec(name);
  if (m !== null) return { role: 'pod', name: null, kubernetesService: false };
  return null;
}

/** The address a reverse-lookup name (`4.3.2.1.in-addr.arpa`, RFC 3596 `ip6.arpa`) asks about, or null. */
export function reverseAddress(query: string): string | null {
  const q = query.endsWith('.') ? query.slice(0, -1) : query;
  if (q.endsWith('.in-addr.arpa')) {
    const parts = q.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
    return parts.reverse().map(Number).join('.');
  }
  if (q.endsWith('.ip6.arpa')) {
    const nibbles = q.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return null;
    const hex = nibbles.reverse().join('');
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    // Through the URL parser for RFC 5952's canonical text (zeros compressed, lower case).
    const text = new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
    return isIP(text) === 6 ? text : null;
  }
  return null;
}

/** A name an answer gave an address: the name the client asked for, and when. */
export interface AddressName {
  ip: string;
  name: string;
  ts: number;
}

/** The address-to-name pairs one DNS transaction's answers give (A/AAAA by the question; PTR reversed). */
export function namesOf(t: DnsTransaction): AddressName[] {
  if (t.rcode !== 'NOERROR' || t.query === null) return [];
  const ts = t.responseTs ?? t.ts;
  const out: AddressName[] = [];
  for (const a of t.answers) {
    if ((a.type === 'A' || a.type === 'AAAA') && isIP(a.data) !== 0) out.push({ ip: a.data, name: stripDot(t.query), ts });
    else if (a.type === 'PTR' && a.data !== '') {
      const ip = reverseAddress(a.name);
      if (ip !== null) out.push({ ip, name: stripDot(a.data), ts });
    }
  }
  return out;
}

function stripDot(name: string): string {
  return name.length > 1 && name.endsWith('.') ? name.slice(0, -1) : name;
}

/** What an address that answered cluster DNS names is called when no answer names it. */
export const CLUSTER_DNS_NAME = 'cluster DNS';

/**
 * Each address's name from DNS. Of several, the one answered first is kept (ties: the smaller name),
 * so the result does not depend on the order flows are observed in; an address that answered for
 * the cluster's zone is `cluster DNS` where no answer names it.
 */
export class DnsNames {
  private readonly names = new Map<string, { name: string; ts: number }>();
  /** Addresses that answered for the cluster's zone. */
  private readonly resolvers = new Set<string>();

  /** Records a name; true when the address's name changed. */
  add(ip: string, name: string, ts: number): boolean {
    const prev = this.names.get(ip);
    if (prev === undefined) {
      if (this.names.size >= MAX_DNS_NAMES) return false;
      this.names.set(ip, { name, ts });
      return true;
    }
    if (ts < prev.ts || (ts === prev.ts && name < prev.name)) {
      const changed = prev.name !== name;
      prev.name = name;
      prev.ts = ts;
      return changed;
    }
    return false;
  }

  /** Records an address that answered for the cluster's DNS zone; true when it is new. */
  addResolver(ip: string): boolean {
    if (this.resolvers.has(ip) || this.resolvers.size >= MAX_DNS_NAMES) return false;
    this.resolvers.add(ip);
    return !this.names.has(ip);
  }

  /** The name an answer gave the address, else `cluster DNS` for one that answered for the cluster. */
  nameOf(ip: string): string | null {
    return this.names.get(ip)?.name ?? (this.resolvers.has(ip) ? CLUSTER_DNS_NAME : null);
  }

  get size(): number {
    return this.names.size;
  }

  /** Every address with the name `nameOf` gives it. */
  *entries(): Iterable<[ip: string, name: string]> {
    for (const [ip, { name }] of this.names) yield [ip, name];
    for (const ip of this.resolvers) if (!this.names.has(ip)) yield [ip, CLUSTER_DNS_NAME];
  }
}
