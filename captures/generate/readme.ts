/** Writes captures/README.md: the sample table comes from the truth files, the rest is fixed text. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GeneratedSample } from './generate.js';
import type { TruthFile } from './truth.js';

export function writeReadme(dir: string, _samples: GeneratedSample[]): void {
  const samplesDir = join(dir, 'samples');
  const rows = readdirSync(samplesDir)
    .filter((f) => f.endsWith('.truth.json'))
    .sort()
    .map((f) => {
      const t = JSON.parse(readFileSync(join(samplesDir, f), 'utf8')) as TruthFile;
      const paths = [...new Set(t.connections.map((c) => c.path + (Object.keys(c.pathDetail).length ? ` (${Object.entries(c.pathDetail).map(([k, v]) => `${k}=${v}`).join(', ')})` : '')))];
      const findings = [...new Set(t.connections.flatMap((c) => c.findings))];
      return `| \`${t.capture}\` | ${t.scenario} | ${paths.join('; ')} | ${findings.length ? findings.map((x) => `\`${x}\``).join(' ') : '—'} |`;
    });
  writeFileSync(join(dir, 'README.md'), README.replace('{{TABLE}}', rows.join('\n')));
}

const README = `# Sample captures

Small captures of Kubernetes control-plane traffic, made by real protocol stacks talking to each other
in one process: \`node:tls\` (TLS 1.0–1.3, client certificates, ALPN), \`node:http\`, \`node:http2\`
(h2 and h2c, gRPC framing) and \`ssh2\`. Their bytes are recorded as TCP segments between the
addresses of a small cluster (three-way handshake with Linux options, 1448-byte segments with
timestamps, delayed ACKs, FIN close) and written as pcap/pcapng. They feed the golden tests, the demo
and the benchmark, and show users what each communication path looks like on the wire.

Every sample has a truth file next to it. **Expectations are for the capture analysed on its own with
\`--inventory captures/inventory.json --ca captures/cluster-ca.pem\`** (and no key log, except the
\`.dsb.pcapng\` file, which carries its keys).

## The cluster

| host | address | role |
|---|---|---|
| cp-1 | 10.0.0.10 | control plane: API server :6443 (insecure :8080 in two scenarios), etcd :2379/:2380, Konnectivity server :8132 |
| etcd-2, etcd-3 | 10.0.0.11, 10.0.0.12 | etcd-only members, registered as nodes with the \`etcd\` role (RKE-style), for etcd-peer and etcd-over-the-network cases |
| worker-1..3 | 10.0.0.21–23 | kubelet :10250 (read-only :10255 on worker-1), sshd :22 |
| pods | 10.244.N.x on the node with podCIDR 10.244.N.0/24 | see \`inventory.json\` |
| services | 10.96.0.0/12: \`kubernetes\` 10.96.0.1:443, kube-dns 10.96.0.10, dashboard 10.96.120.15 | Service VIPs (DNAT is not visible: pods talk to the VIP) |
| outsider | 203.0.113.7 | a node certificate used from outside every cluster network |
| internet | 93.184.215.14 (example.com) | unrelated traffic |

- \`inventory.json\` — \`kubectl get nodes,pods,services -A -o json\` of that cluster.
- \`planewatch-cluster.json\` — the declared networks (API servers, pod, service and node CIDRs).
- \`cluster-ca.pem\` — cluster CA (CN=kubernetes) followed by the etcd CA (CN=etcd-ca, ECDSA P-256).
- \`keylogs/<name>.keys\` — NSS key log (SSLKEYLOGFILE format) of every TLS session in a sample;
  \`tshark -o tls.keylog_file:captures/keylogs/<name>.keys\` decrypts it.
- \`pki/\` — the test PKI (keys and certificates, **test only**): kubeadm shapes — API server
  certificate with SANs kubernetes, kubernetes.default, kubernetes.default.svc,
  kubernetes.default.svc.cluster.local, 10.96.0.1, 10.0.0.10; node client certificates
  (O=system:nodes, CN=system:node:NAME); scheduler, controller-manager, apiserver-kubelet-client
  (O=kubeadm:cluster-admins), apiserver-etcd-client; kubelet serving certificates self-signed the
  kubelet way (\`worker-1-ca@1756684800\` signing \`worker-1@1756684800\`; only the leaf is sent) or
  self-signed directly (\`worker-3@1756684800\`), and CA-signed ones (O=system:nodes,
  CN=system:node:NAME, SAN name + IP); an expired one, an RSA-1024/SHA-1 one; the whole etcd chain is
  ECDSA P-256. Certificates are valid around the capture time 2026-03-02T10:00:00Z.

## Samples

| file | scenario | paths | findings |
|---|---|---|---|
{{TABLE}}

\`kubelet-logs-exec-self-signed\` also comes as variants with the same connections and truth: pcapng
with two interfaces (client→server on Ethernet with µs timestamps, server→client on raw IP with ns
timestamps), Linux SLL2 (\`tcpdump -i any\`), 802.1Q VLAN 120, and VXLAN (outer 172.31.0.21 →
172.31.0.100, UDP 4789, VNI 4242). \`kubelet-logs-tls13.dsb.pcapng\` carries its key log in a
Decryption Secrets Block; its truth file says \`"requiresDecryption": true\` and states what becomes
visible with the keys (the self-signed kubelet certificate, so \`kubelet-tls-unverified\`; the logs
request, so operation \`logs\`).

### How the expectations were decided (DESIGN.md §3)

- TLS hides HTTP: for TLS connections \`http\` is empty and kubelet \`operation\` is \`unknown\`; the
  real requests are in \`actualHttp\` / \`actualOperation\` (for people and for key-log analyses).
- TLS 1.3 hides certificates: \`serverSubject\`/\`clientSubject\` are null there; a TLS 1.3 kubelet flow
  is \`kubelet-tls-indeterminate\`, never \`kubelet-tls-unverified\`. A CA-signed, valid kubelet
  certificate that names the node yields no kubelet finding.
- \`anonymous-request\` is stated for visible HTTP requests without credentials to an API server or a
  kubelet; requests proxied to workloads and etcd gRPC (authenticated by certificates) are not counted.
- Kubelet API traffic from a client that is not an API server (a pod on 10255 or 10250) is placed on
  the \`apiserver-to-kubelet\` path (the kubelet API channel) and flagged \`kubelet-direct-access\`.
- \`cert-changed\` is stated on both connections to the endpoint that changed certificate.
- Service proxy: the API server dials the Service VIP, so the target is \`service\` by inventory.

## Truth file format

\`\`\`jsonc
{ "capture": "<name>.pcap", "scenario": "<one sentence>",
  "requiresDecryption": true,            // only when the expectations need the embedded key log
  "connections": [ {
    "client": "10.0.0.10:40001", "server": "10.0.0.21:10250", "transport": "tcp|udp",
    "app": "tls|http|http2|ssh|dns|unknown",
    "path": "<path id>", "pathDetail": { "operation": "unknown" },   // or {target, scheme}; {} otherwise
    "findings": ["<finding id>"],
    "tls": { "version": "1.2", "sni": null, "alpn": ["http/1.1"],    // ALPN offered by the client
             "serverSubject": "CN=…",  "actualServerSubject": "CN=…", "clientSubject": "O=…, CN=…",
             "clientCertRequested": true, "alert": null } | null,
    "http": [ { "method": "GET", "path": "/…", "host": "…", "status": 200 } ],  // visible ones only
    "ssh": { "clientBanner": "SSH-2.0-…", "serverBanner": "SSH-2.0-…" } | null,
    "actualOperation": "logs", "actualHttp": [ … ] } ] }
\`\`\`
Subjects are written \`A=x, B=y\` in certificate (DER) order.

## Regenerate

\`\`\`sh
npm run captures                        # everything under captures/ (≈ 2 s)
npm run captures -- --only etcd-peer    # some scenarios
npm run captures -- --new-pki           # fresh keys and certificates too
npm run captures -- --scale 2GB --out /tmp/big.pcap --nodes 300   # benchmark capture, not committed
\`\`\`

Same seed (default 20260302) → same scenario list, addresses, client ports, initial sequence
numbers, timestamps, HTTP/SSH plaintext sizes and frame structure. **What varies between runs:** TLS
client/server randoms, ECDHE key shares, session tickets and therefore every ciphertext byte and the
key logs; ECDSA signatures (their DER length can differ by a byte or two, which can shift a segment
boundary); SSH key-exchange values and ciphertext. Certificates and keys do not vary: they are kept in
\`pki/\` and only made anew with \`--new-pki\` (RSA signatures are deterministic; new ECDSA ones are not).

Scale mode records a few real sessions once, then replays their packets as templates with other
addresses (nodes in 10.1.0.0/16, 24 pods on each), ports and sequence numbers over up to 512
concurrent connections:
long-lived watch streams (one connection repeating event packets), bursts of logs/exec sessions,
connection churn, many small ACK packets. Each node's kubelet keeps one serving certificate for the
whole capture (half the nodes self-signed, half CA-signed), as real kubelets do. It streams to disk
and prints its MB/s (269 MB/s for 2 GB on the 2-core build machine).

SSH uses chacha20-poly1305 (OpenSSH's default): Wireshark 4.0 misparses ssh2's AES-GCM packets.
`;
