/**
 * Ports that identify the server side of a connection whose SYN was not seen (midstream) and of
 * UDP flows. Control-plane ports first: API server, kubelet, etcd, Konnectivity, SSH tunnels.
 * A flat 65536-entry table so the check is one array read.
 */
export const KNOWN_SERVER_PORTS: readonly number[] = [
  6443, 16443, 443, 8443, 10250, 10255, 10256, 10257, 10259, 2379, 2380, 8132, 8131, 22, 8080, 80, 53, 9443,
  4443, 5473, 179, 9099, 9100, 9090, 123, 4789, 6081, 8472, 3000, 5000, 8000, 8888,
];

const table = new Uint8Array(65536);
for (const p of KNOWN_SERVER_PORTS) table[p] = 1;

export function isKnownServerPort(port: number): boolean {
  return table[port & 0xffff] === 1;
}

/** Ports below this are privileged (assigned services); ephemeral client ports are above. */
const PRIVILEGED_PORTS = 1024;

/**
 * Decides the server by ports alone: a known server port wins; else a privileged port against an
 * unprivileged one. Otherwise `byLowerPort` (TCP picked up midstream) takes the lower port as the
 * server, and without it (UDP) the first sender stays the client.
 */
export function srcLooksLikeServer(srcPort: number, dstPort: number, byLowerPort: boolean): boolean {
  const s = isKnownServerPort(srcPort);
  const d = isKnownServerPort(dstPort);
  if (s !== d) return s;
  const sp = srcPort < PRIVILEGED_PORTS;
  const dp = dstPort < PRIVILEGED_PORTS;
  if (sp !== dp) return sp;
  return byLowerPort && srcPort < dstPort;
}
