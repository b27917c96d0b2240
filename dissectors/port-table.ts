import type { DissectorId } from './types';

/** Numeric codes stored in the port table (0 = no preference). */
const CODE_OF: Record<DissectorId, number> = { tls: 1, http: 2, http2: 3, ssh: 4, dns: 5 };
const ID_OF: readonly (DissectorId | null)[] = [null, 'tls', 'http', 'http2', 'ssh', 'dns'];

/**
 * Default port → dissector preferences. Ports are only a hint about which probe to try first: every
 * dissector is still recognised on any port by its probe (SSH on 443, h2c on an odd port).
 */
export const DEFAULT_PORTS: ReadonlyArray<readonly [number, DissectorId]> = [
  [6443, 'tls'], // kube-apiserver
  [443, 'tls'],
  [10250, 'tls'], // kubelet API
  [2379, 'tls'], // etcd client
  [2380, 'tls'], // etcd peer
  [8132, 'tls'], // konnectivity agent → server
  [8131, 'tls'], // konnectivity apiserver → server
  [10257, 'tls'], // kube-controller-manager
  [10259, 'tls'], // kube-scheduler
  [4443, 'tls'], // metrics-server and friends
  [10255, 'http'], // kubelet read-only port
  [8080, 'http'], // legacy insecure API server port
  [80, 'http'],
  [22, 'ssh'],
  [53, 'dns'], // DNS over TCP (large answers, NodeLocal DNSCache's forwarding)
];

/** A flat 65536-entry table of dissector codes, looked up by port without hashing (gopacket style). */
export class PortTable {
  private readonly table = new Uint8Array(65536);

  constructor(entries: ReadonlyArray<readonly [number, DissectorId]> = DEFAULT_PORTS) {
    for (const [port, id] of entries) this.set(port, id);
  }

  /** Prefers `id` on `port`; null clears the preference. Out-of-range ports are ignored. */
  set(port: number, id: DissectorId | null): void {
    if (!Number.isInteger(port) || port < 0 || port > 65535) return;
    this.table[port] = id === null ? 0 : CODE_OF[id];
  }

  get(port: number): DissectorId | null {
    if (port < 0 || port > 65535) return null;
    return ID_OF[this.table[port | 0]!] ?? null;
  }

  clear(): void {
    this.table.fill(0);
  }
}

/** The table sessions use unless told otherwise; configurable at start-up. */
export const defaultPortTable = new PortTable();

/** Sets the preferred dissector for a port in the default table (null removes it). */
export function setPortDissector(port: number, id: DissectorId | null): void {
  defaultPortTable.set(port, id);
}

/** The preferred dissector for a port in the default table, or null. */
export function portDissector(port: number): DissectorId | null {
  return defaultPortTable.get(port);
}
