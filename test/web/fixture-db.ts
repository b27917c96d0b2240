/**
 * Builds a believable cluster database for the dashboard tests with the store's own writers:
 * API server 10.0.0.10, workers 10.0.0.21-23, etcd 10.0.0.11/.15, scheduler and controller manager,
 * Konnectivity, pods on 10.244.x, the `kubernetes` Service 10.96.0.1. Every path id, findings of each
 * severity, TLS with certificate chains, HTTP requests, an SSH session — and hostile strings in SNI,
 * user agent, HTTP path, certificate subject and a finding's reference link.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlowWriter, openStore, type StoredFlow } from '../../src/store/store';
import { VerdictWriter } from '../../src/store/verdict-writer';
import type { FlowRecord } from '../../src/model/flow-record';
import type { CertificateInfo, HttpRequestRecord, SshInfo, TlsInfo } from '../../src/model/records';
import type { Acceptance, AcceptedFinding, Classification, Finding, PathId, Severity } from '../../src/model/analysis';

export const T0 = 1_700_000_000;
export const HOSTILE = {
  sni: '<script>alert(1)</script>',
  userAgent: '"><svg onload=window.__xss=1>',
  path: '/api/v1/namespaces/default/pods/web/proxy/<img src=x onerror=window.__xss=1>',
  subject: 'CN=<img src=x onerror=alert(1)>,O="><svg onload=window.__xss=1>',
  reference: 'javascript:window.__xss=1',
  pod: 'web-<img src=x onerror=window.__xss=1>',
};

const DOC = 'https://kubernetes.io/docs/concepts/architecture/control-plane-node-communication/';

/** Deterministic hex of a seed (stands in for fingerprints and hashes). */
function hex(seed: string, len: number): string {
  return createHash('sha256').update(seed).digest('hex').repeat(2).slice(0, len);
}

export function cert(subject: string, issuer: string, o: Partial<CertificateInfo> = {}): CertificateInfo {
  const cn = /CN=([^,]*)/.exec(subject)?.[1] ?? null;
  const icn = /CN=([^,]*)/.exec(issuer)?.[1] ?? null;
  return {
    subject, issuer, subjectCN: cn, subjectO: [], issuerCN: icn, issuerO: [], san: [], sanDns: [], sanIp: [],
    serial: hex(subject, 16), notBefore: '2023-01-01T00:00:00Z', notAfter: '2033-01-01T00:00:00Z', keyType: 'rsa', keyBits: 2048,
    curve: null, signatureAlgorithm: 'sha256WithRSAEncryption', sha256: hex(`${subject}|${issuer}|${o.notAfter ?? ''}`, 64),
    sha1: hex(`sha1${subject}`, 40), isCA: false, keyUsage: [], extKeyUsage: [], selfSigned: subject === issuer, der: '', ...o,
  };
}

const CA = cert('CN=kubernetes', 'CN=kubernetes', { isCA: true });
const ETCD_CA = cert('CN=etcd-ca', 'CN=etcd-ca', { isCA: true });
export const CERTS = {
  ca: CA,
  apiserver: cert('CN=kube-apiserver', 'CN=kubernetes', { san: ['kubernetes', 'kubernetes.default.svc', '10.96.0.1', '10.0.0.10'], sanDns: ['kubernetes', 'kubernetes.default.svc'], sanIp: ['10.96.0.1', '10.0.0.10'] }),
  node1: cert('CN=system:node:worker-1,O=system:nodes', 'CN=kubernetes', { subjectO: ['system:nodes'] }),
  kubeletSelf: cert('CN=worker-1@1700000000', 'CN=worker-1@1700000000', { san: ['worker-1'], sanDns: ['worker-1'] }),
  kubeletClient: cert('CN=kube-apiserver-kubelet-client,O=system:masters', 'CN=kubernetes'),
  scheduler: cert('CN=system:kube-scheduler', 'CN=kubernetes'),
  etcdServer: cert('CN=etcd-1', 'CN=etcd-ca', { san: ['etcd-1', '10.0.0.11'] }),
  etcdCa: ETCD_CA,
  etcdClient: cert('CN=kube-apiserver-etcd-client', 'CN=etcd-ca'),
  expired: cert('CN=old-node,O=system:nodes', 'CN=kubernetes', { notBefore: '2020-01-01T00:00:00Z', notAfter: '2021-01-01T00:00:00Z' }),
  hostile: cert(HOSTILE.subject, HOSTILE.subject, { san: ['<b>bold</b>'] }),
  konnectivity: cert('CN=konnectivity-server', 'CN=kubernetes'),
};

export function tls(o: Partial<TlsInfo> = {}): TlsInfo {
  return {
    version: '1.2', clientVersion: '1.2', sni: null, alpn: [], alpnSelected: null, cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    cipherId: 0xc02f, clientCiphers: [], clientExtensions: [], serverExtensions: [], supportedGroups: [], signatureAlgorithms: [],
    supportedVersions: [], ecPointFormats: [], sessionTicket: false, psk: false, ech: false, helloRetryRequest: false, resumed: false,
    ja3: 'e7d705a3286e19ea42f587b344ee6865', ja3Full: null, ja3s: 'ae4edc6faf64d08308082ad26be60767', ja3sFull: null,
    ja4: 't13d1516h2_8daaf6152771_e5627efa2ab1', serverCertificates: [], clientCertificates: [], clientCertRequested: null, alerts: [],
    established: true, encryptedFromFrame: [5, 6], appDataRecords: [3, 3], appDataBytes: [900, 4000], clientHelloFrame: 4,
    serverHelloFrame: 5, certificateFrame: 5, ...o,
  };
}

export function http(o: Partial<HttpRequestRecord> = {}): HttpRequestRecord {
  return {
    method: 'GET', path: '/', version: '1.1', host: null, userAgent: null, auth: 'none', authHash: null, contentType: null,
    requestBodyBytes: 0, status: 200, reason: 'OK', responseContentType: 'application/json', responseBodyBytes: 512, upgrade: null,
    streamProtocol: null, xForwardedFor: null, xForwardedUri: null, xForwardedHost: null, xForwardedProto: null, grpcMethod: null,
    streamId: null, frame: 4, ts: T0, k8s: null, ...o,
  };
}

let seq = 0;
export function flow(client: string, cport: number, server: string, sport: number, o: Partial<FlowRecord> = {}): FlowRecord {
  seq++;
  const first = o.firstTs ?? T0 + seq;
  return {
    id: `f${seq}`, communityId: `1:${Buffer.from(hex(`cid${seq}`, 40), 'hex').toString('base64').slice(0, 27)}=`, transport: 'tcp',
    ipVersion: 4, client: { ip: client, port: cport }, server: { ip: server, port: sport }, firstTs: first, lastTs: first + 2.5,
    firstFrame: seq * 10, lastFrame: seq * 10 + 9, packets: [6, 5], bytes: [1200, 5400], payloadBytes: [800, 5000],
    missingBytes: [0, 0], history: 'ShADadFf', state: 'SF', midstream: false, endReason: 'fin', tunnel: null, vlan: 0, anomalies: {},
    captureIndex: 1, app: 'unknown', tls: null, http: [], ssh: null, ...o,
  };
}

function finding(rule: string, severity: Severity, title: string, evidence: string, o: Partial<Finding> = {}): Finding {
  return {
    rule, severity, flowId: null, title, evidence, recommendation: `Fix ${rule}: see the referenced section.`,
    reference: DOC, cis: null, ts: null, frame: null, ...o,
  };
}

interface Planned {
  rec: FlowRecord;
  path: PathId;
  detail?: Record<string, string>;
  reasons: string[];
  findings: Finding[];
  accepted?: AcceptedFinding[];
}

/**
 * The findings `buildFixtureDb({ accepted: true })` stores as accepted as risks, by the fixture's flow
 * name: none is among the open findings, so the open counts stay as without them.
 */
export const ACCEPTED: Record<'person' | 'kubelet13', { rule: string; severity: Severity; title: string; evidence: string; acceptance: Acceptance }> = {
  person: {
    rule: 'untrusted-network', severity: 'medium', title: 'Control-plane traffic with an endpoint outside the cluster networks',
    evidence: 'client 192.168.10.15 is outside 10.0.0.0/16 and 10.244.0.0/16',
    acceptance: { reason: 'Administrators reach the API server from the office VPN', until: '2030-06-30', source: 'accept.yaml#1' },
  },
  kubelet13: {
    rule: 'cert-changed', severity: 'high', title: 'Server endpoint presented a different certificate',
    evidence: '10.0.0.22:10250 presented 2 certificates',
    acceptance: { reason: 'Kubelet serving certificates rotate every day', until: null, source: 'accept.yaml#2' },
  },
};

export interface FixtureInfo {
  file: string;
  /** flow key → database id */
  ids: Map<string, number>;
  keys: Record<string, string>;
  flowCount: number;
}

const SSH: SshInfo = {
  clientBanner: 'SSH-2.0-OpenSSH_9.6', serverBanner: 'SSH-2.0-OpenSSH_9.2p1 Debian-2', clientProtocol: '2.0', serverProtocol: '2.0',
  hassh: 'ec7378c1a92f5a8dde7e8b7a1ddf33d1', hasshAlgorithms: null, hasshServer: 'b12d2871a1189eff20364cf5333619ee',
  hasshServerAlgorithms: null, clientKex: null, serverKex: null, encryptedFromFrame: [12, 13], bytes: [3000, 4000],
};

/**
 * Writes the fixture database; `extraFlows` adds that many plain node → API server flows for paging
 * tests; `accepted` stores the findings of ACCEPTED as accepted as risks on their flows.
 */
export function buildFixtureDb(opts: { file?: string; extraFlows?: number; accepted?: boolean } = {}): FixtureInfo {
  const file = opts.file ?? join(mkdtempSync(join(tmpdir(), 'planewatch-web-')), 'fixture.db');
  const db = openStore(file);
  const cap = db
    .prepare(`INSERT INTO captures (file, sha256, format, status, packets, bytes, flows, first_ts, last_ts, link_types, anomalies, started_at, finished_at)
      VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`)
    .run('captures/cluster-demo.pcapng', hex('capture', 64), 'pcapng', 'complete', 4242, 3_100_000, 0, T0, T0 + 600, '["ethernet"]',
      '{"tcp.retransmission":3}', '2024-01-01T00:00:00Z', '2024-01-01T00:00:05Z');
  const captureId = Number(cap.lastInsertRowid);

  const API = '10.0.0.10';
  const plan: Planned[] = [];
  const keys: Record<string, string> = {};
  const add = (name: string, p: Planned) => {
    keys[name] = p.rec.id;
    plan.push(p);
  };

  add('node', {
    rec: flow('10.0.0.21', 40100, API, 6443, { app: 'tls', tls: tls({ version: '1.3', sni: 'cp-1', alpn: ['h2', 'http/1.1'], alpnSelected: 'h2', cipher: 'TLS_AES_128_GCM_SHA256', serverCertificates: [], clientCertificates: [] }) }),
    path: 'node-to-apiserver', reasons: ['client 10.0.0.21 is a kubelet', 'server port 6443'], findings: [],
  });
  add('nodeTls12', {
    rec: flow('10.0.0.22', 40200, API, 6443, { app: 'tls', tls: tls({ sni: 'kubernetes', serverCertificates: [CERTS.apiserver, CERTS.ca], clientCertificates: [CERTS.node1], clientCertRequested: true }) }),
    path: 'node-to-apiserver', reasons: ['client certificate O=system:nodes', 'server certificate CN=kube-apiserver'], findings: [],
  });
  add('weak', {
    rec: flow('10.0.0.23', 40300, API, 6443, { app: 'tls', tls: tls({ version: '1.1', clientVersion: '1.1', cipher: 'TLS_RSA_WITH_AES_128_CBC_SHA', serverCertificates: [CERTS.apiserver, CERTS.ca], clientCertificates: [CERTS.expired], clientCertRequested: true }) }),
    path: 'node-to-apiserver', reasons: ['client certificate O=system:nodes'],
    findings: [
      finding('weak-tls', 'medium', 'TLS 1.1 negotiated', 'ServerHello version TLS 1.1, cipher TLS_RSA_WITH_AES_128_CBC_SHA'),
      finding('cert-expired', 'medium', 'Expired client certificate', 'CN=old-node notAfter 2021-01-01'),
    ],
  });
  add('pod', {
    rec: flow('10.244.1.5', 51000, '10.96.0.1', 443, { app: 'tls', natLink: '1a2b-3c4d@40', tls: tls({ version: '1.3', sni: 'kubernetes.default.svc', cipher: 'TLS_AES_256_GCM_SHA384' }) }),
    path: 'pod-to-apiserver', reasons: ['SNI kubernetes.default.svc', 'server is the kubernetes Service VIP'], findings: [],
  });
  // The same connection after kube-proxy's DNAT, as `tcpdump -i any` on the node records it too.
  add('podAfterDnat', {
    rec: flow('10.244.1.5', 51000, API, 6443, { app: 'tls', natLink: '1a2b-3c4d@40', natRepeat: true, tls: tls({ version: '1.3', sni: 'kubernetes.default.svc', cipher: 'TLS_AES_256_GCM_SHA384' }) }),
    path: 'pod-to-apiserver', reasons: ['SNI kubernetes.default.svc'], findings: [],
  });
  add('hostileSni', {
    rec: flow('10.244.2.7', 51100, '10.96.0.1', 443, { app: 'tls', tls: tls({ version: '1.3', sni: HOSTILE.sni }) }),
    path: 'pod-to-apiserver', reasons: ['server is the kubernetes Service VIP'], findings: [],
  });
  add('scheduler', {
    rec: flow('10.0.0.12', 42000, API, 6443, { app: 'tls', tls: tls({ serverCertificates: [CERTS.apiserver, CERTS.ca], clientCertificates: [CERTS.scheduler], clientCertRequested: true }) }),
    path: 'controlplane-to-apiserver', reasons: ['client certificate CN=system:kube-scheduler'], findings: [],
  });
  add('controller', {
    rec: flow('10.0.0.13', 42100, API, 6443, { app: 'tls', tls: tls({ version: '1.3' }) }),
    path: 'controlplane-to-apiserver', reasons: ['client 10.0.0.13 is the controller manager'], findings: [],
  });
  add('kubelet', {
    rec: flow(API, 43000, '10.0.0.21', 10250, { app: 'tls', tls: tls({ sni: null, serverCertificates: [CERTS.kubeletSelf], clientCertificates: [CERTS.kubeletClient], clientCertRequested: true }) }),
    path: 'apiserver-to-kubelet', detail: { operation: 'unknown' }, reasons: ['server port 10250', 'client certificate CN=kube-apiserver-kubelet-client'],
    findings: [finding('kubelet-tls-unverified', 'high', 'Kubelet serving certificate cannot be verified', 'self-signed certificate CN=worker-1@1700000000 presented on 10.0.0.21:10250; handshake completed', { cis: '1.2.5' })],
  });
  add('kubelet13', {
    rec: flow(API, 43100, '10.0.0.22', 10250, { app: 'tls', tls: tls({ version: '1.3', cipher: 'TLS_AES_128_GCM_SHA256' }) }),
    path: 'apiserver-to-kubelet', detail: { operation: 'unknown' }, reasons: ['server port 10250'],
    findings: [finding('kubelet-tls-indeterminate', 'info', 'Kubelet TLS 1.3: certificate not visible', 'TLS 1.3 without a key log')],
  });
  add('kubelet13b', {
    rec: flow(API, 43200, '10.0.0.23', 10250, { app: 'tls', tls: tls({ version: '1.3', cipher: 'TLS_AES_128_GCM_SHA256' }) }),
    path: 'apiserver-to-kubelet', detail: { operation: 'unknown' }, reasons: ['server port 10250'],
    findings: [finding('kubelet-tls-indeterminate', 'info', 'Kubelet TLS 1.3: certificate not visible', 'TLS 1.3 without a key log')],
  });
  add('proxy', {
    rec: flow(API, 44000, '10.244.2.7', 8080, {
      app: 'http',
      http: [
        http({ method: 'GET', path: HOSTILE.path, host: '10.244.2.7:8080', userAgent: HOSTILE.userAgent, auth: 'bearer', authHash: 'sha256:0f1e2d3c4b5a6978', authIdentity: { kind: 'serviceaccount', subject: 'system:serviceaccount:default:web', issuer: 'https://kubernetes.default.svc', namespace: 'default', serviceAccount: 'web', pod: HOSTILE.pod, podUid: null, node: 'worker-2', secret: null, audiences: [], issuedAt: T0 - 100, notBefore: T0 - 100, expires: T0 + 3500 }, xForwardedFor: '10.0.0.99', xForwardedUri: '/api/v1/namespaces/default/pods/web/proxy/', k8s: { api: 'apiserver', operation: 'proxy', target: 'pod', namespace: 'default', name: 'web', scheme: 'http' } }),
        http({ method: 'POST', path: '/healthz', host: '10.244.2.7:8080', userAgent: 'kube-apiserver/v1.31.0', status: 204, reason: 'No Content' }),
      ],
    }),
    path: 'apiserver-proxy', detail: { target: 'pod', scheme: 'http' }, reasons: ['X-Forwarded-For from the API server', 'plain HTTP'],
    findings: [
      finding('plaintext-proxy', 'high', 'API server proxy traffic in plaintext', `GET ${HOSTILE.path}`),
      finding('bearer-token-cleartext', 'critical', 'Bearer token crosses in cleartext', 'Authorization: Bearer sha256:0f1e2d3c4b5a6978', { reference: HOSTILE.reference }),
    ],
  });
  add('proxyTls', {
    rec: flow(API, 44100, '10.244.3.9', 8443, { app: 'tls', tls: tls({ sni: null, serverCertificates: [CERTS.hostile] }) }),
    path: 'apiserver-proxy', detail: { target: 'pod', scheme: 'https' }, reasons: ['API server to pod port 8443'],
    findings: [finding('proxy-tls-unverified', 'medium', 'Proxy over HTTPS without verification', `server certificate ${HOSTILE.subject}`)],
  });
  add('readonly', {
    rec: flow('10.244.3.9', 52000, '10.0.0.23', 10255, { app: 'http', http: [http({ path: '/pods', host: '10.0.0.23:10255', userAgent: 'curl/8.5.0', k8s: { api: 'kubelet', operation: 'pods', target: null, namespace: null, name: null, scheme: null } })] }),
    path: 'other', reasons: ['kubelet read-only port 10255'],
    findings: [
      finding('kubelet-readonly-port', 'high', 'Kubelet read-only port in use', 'GET /pods on 10.0.0.23:10255', { cis: '4.2.4' }),
      finding('anonymous-request', 'medium', 'Request without credentials', 'GET /pods with no Authorization header'),
      finding('kubelet-direct-access', 'medium', 'Pod talks to a kubelet directly', '10.244.3.9 is not an API server'),
    ],
  });
  add('insecure', {
    rec: flow('10.244.1.5', 52100, API, 8080, { app: 'http', http: [http({ path: '/api/v1/secrets', host: '10.0.0.10:8080', userAgent: 'kubectl/v1.31.0', auth: 'none', impersonateUser: 'jane@example.com', k8s: { api: 'apiserver', operation: 'list', target: 'secrets', namespace: null, name: null, scheme: null } })] }),
    path: 'pod-to-apiserver', reasons: ['HTTP API path /api/v1/secrets to the API server'],
    findings: [finding('apiserver-insecure-port', 'critical', 'Plaintext API request to the API server', 'GET /api/v1/secrets on 10.0.0.10:8080', { cis: '1.2.19' })],
  });
  add('ssh', {
    rec: flow(API, 45000, '10.0.0.23', 22, { app: 'ssh', ssh: SSH }),
    path: 'ssh-tunnel', reasons: ['SSH banners', 'API server to node port 22'],
    findings: [finding('ssh-tunnel-deprecated', 'low', 'Deprecated SSH tunnel in use', 'SSH-2.0-OpenSSH_9.6 → SSH-2.0-OpenSSH_9.2p1')],
  });
  add('ssh2', {
    rec: flow(API, 45100, '10.0.0.22', 22, { app: 'ssh', ssh: { ...SSH, clientBanner: 'SSH-2.0-Go' } }),
    path: 'ssh-tunnel', reasons: ['SSH banners'],
    findings: [finding('ssh-tunnel-deprecated', 'low', 'Deprecated SSH tunnel in use', 'SSH-2.0-Go → SSH-2.0-OpenSSH_9.2p1')],
  });
  add('konnectivity', {
    rec: flow('10.0.0.21', 46000, '10.0.0.14', 8132, { app: 'tls', tls: tls({ version: '1.3', alpn: ['h2'], alpnSelected: 'h2', sni: 'konnectivity' }) }),
    path: 'konnectivity', reasons: ['agent to server port 8132, ALPN h2'], findings: [],
  });
  add('etcd', {
    rec: flow(API, 47000, '10.0.0.11', 2379, { app: 'tls', tls: tls({ serverCertificates: [CERTS.etcdServer, CERTS.etcdCa], clientCertificates: [CERTS.etcdClient], clientCertRequested: true }) }),
    path: 'apiserver-to-etcd', reasons: ['client certificate CN=kube-apiserver-etcd-client'], findings: [],
  });
  add('etcdPlain', {
    rec: flow(API, 47100, '10.0.0.11', 2379, { app: 'http2' }),
    path: 'apiserver-to-etcd', reasons: ['server port 2379', 'HTTP/2 preface in cleartext'],
    findings: [finding('etcd-plaintext', 'critical', 'etcd traffic without TLS', 'h2c preface on 10.0.0.11:2379', { cis: '2.1' })],
  });
  add('etcdPeer', {
    rec: flow('10.0.0.11', 48000, '10.0.0.15', 2380, { app: 'tls', tls: tls({ serverCertificates: [CERTS.etcdServer], clientCertRequested: false }) }),
    path: 'etcd-peer', reasons: ['port 2380 between etcd members'],
    findings: [finding('etcd-no-client-auth', 'high', 'etcd peer does not request a client certificate', 'no CertificateRequest in the TLS 1.2 handshake', { cis: '2.4' })],
  });
  add('alert', {
    rec: flow('10.0.0.22', 40400, API, 6443, { app: 'tls', tls: tls({ established: false, alerts: [{ level: 'fatal', description: 'unknown_ca', code: 48, from: 'client', plaintext: true, frame: 7, ts: T0 + 1 }] }) }),
    path: 'node-to-apiserver', reasons: ['server port 6443'],
    findings: [finding('tls-handshake-failure', 'medium', 'TLS handshake failed: unknown_ca', 'fatal alert unknown_ca from the client')],
  });
  add('person', {
    rec: flow('192.168.10.15', 52000, API, 6443, { app: 'tls', tls: tls({ version: '1.3' }) }),
    path: 'node-to-apiserver', reasons: ["client 192.168.10.15 is a person's workstation (sends User-Agent kubectl/v1.31.2, a user's tool)"], findings: [],
  });
  add('dns', {
    rec: flow('10.0.0.21', 53000, '10.0.0.99', 53, {
      transport: 'udp', history: 'Dd', state: 'SF', app: 'dns',
      dns: [{
        id: 4660, ts: T0 + 2, frame: 11, query: 'kubernetes.default.svc.cluster.local', qtype: 'A', rcode: 'NOERROR', truncated: false,
        answers: [{ name: 'kubernetes.default.svc.cluster.local', type: 'A', data: '10.96.0.1', ttl: 30 }], responseTs: T0 + 2.001, responseFrame: 12,
      }, {
        id: 4661, ts: T0 + 3, frame: 13, query: 'nothing.example', qtype: 'AAAA', rcode: null, truncated: false, answers: [], responseTs: null, responseFrame: null,
      }],
    }),
    path: 'other', reasons: ['not control-plane traffic'], findings: [],
  });
  if (opts.accepted) {
    for (const [name, a] of Object.entries(ACCEPTED)) {
      const p = plan.find((x) => x.rec.id === keys[name])!;
      p.accepted = [{ ...finding(a.rule, a.severity, a.title, a.evidence), acceptance: a.acceptance }];
    }
  }
  const extra = opts.extraFlows ?? 0;
  for (let i = 0; i < extra; i++) {
    const worker = `10.0.0.${21 + (i % 3)}`;
    plan.push({
      rec: flow(worker, 30000 + (i % 30000), API, 6443, { firstTs: T0 + 10 + i * 0.5, app: 'tls', bytes: [1000 + i, 2000 + (i % 97)] }),
      path: 'node-to-apiserver', reasons: ['server port 6443'], findings: [],
    });
  }

  const fw = new FlowWriter(db, captureId);
  for (const p of plan) fw.add(p.rec);
  fw.flush();
  const verdicts = new VerdictWriter(db);
  db.transaction(() => {
    verdicts.write(
      plan.map((p) => {
        const dbId = fw.ids.get(p.rec.id)!;
        const stored = { ...p.rec, dbId, captureId } as StoredFlow;
        const c: Classification = { path: p.path, pathDetail: p.detail ?? {}, confidence: p.reasons.length > 1 ? 0.95 : 0.6, reasons: p.reasons };
        const on = { flowId: p.rec.id, ts: p.rec.firstTs, frame: p.rec.firstFrame };
        return {
          flow: stored,
          verdict: { classification: c, findings: p.findings.map((f) => ({ ...f, ...on })), accepted: (p.accepted ?? []).map((f) => ({ ...f, ...on })) },
        };
      }),
    );
  })();
  db.prepare('UPDATE captures SET flows = ? WHERE id = ?').run(plan.length, captureId);

  const endpoints: [string, string, string[], string | null, string[]][] = [
    ['10.0.0.10', 'apiserver', ['apiserver'], 'cp-1', ['server certificate CN=kube-apiserver']],
    ['10.0.0.11', 'etcd', ['etcd'], 'etcd-1', ['serves 2379 with CN=etcd-1']],
    ['10.0.0.15', 'etcd', ['etcd'], 'etcd-2', ['etcd peer on 2380']],
    ['10.0.0.12', 'controlplane-component', ['controlplane-component'], 'cp-1-scheduler', ['client certificate CN=system:kube-scheduler']],
    ['10.0.0.13', 'controlplane-component', ['controlplane-component'], 'cp-1-cm', ['inventory']],
    ['10.0.0.14', 'konnectivity-server', ['konnectivity-server'], 'konnectivity', ['serves 8132']],
    ['10.0.0.21', 'kubelet', ['kubelet', 'node'], 'worker-1', ['self-signed certificate CN=worker-1@1700000000 on 10250']],
    ['10.0.0.22', 'kubelet', ['kubelet'], 'worker-2', ['serves 10250']],
    ['10.0.0.23', 'kubelet', ['kubelet'], 'worker-3', ['serves 10250']],
    ['10.96.0.1', 'service', ['service'], 'kubernetes', ['kubernetes Service VIP']],
    ['192.168.10.15', 'user', ['user'], null, ["sends User-Agent kubectl/v1.31.2, a user's tool"]],
    ['10.244.1.5', 'pod', ['pod'], null, ['pod network 10.244.0.0/16']],
    ['10.244.2.7', 'pod', ['pod'], null, ['pod network 10.244.0.0/16']],
    ['10.244.3.9', 'pod', ['pod'], null, ['pod network 10.244.0.0/16']],
  ];
  const ins = db.prepare('INSERT INTO endpoints (ip, primary_role, roles, name, reasons, flows, bytes, first_ts, last_ts) VALUES (?,?,?,?,?,?,?,?,?)');
  const act = db.prepare(`SELECT COUNT(*) AS n, COALESCE(SUM(bytes_client + bytes_server), 0) AS b, MIN(first_ts) AS a, MAX(last_ts) AS z
    FROM flows WHERE client_ip = ? OR server_ip = ?`);
  for (const [ip, role, roles, name, reasons] of endpoints) {
    const a = act.get(ip, ip) as { n: number; b: number; a: number | null; z: number | null };
    // As writeEndpoints stores them: each role with the strength of its claim, strongest first.
    const claims = roles.map((r, i) => ({ role: r, strength: Math.round((0.9 - i * 0.1) * 100) / 100 }));
    ins.run(ip, role, JSON.stringify(claims), name, JSON.stringify(reasons), a.n, a.b, a.a, a.z);
  }
  db.close();
  return { file, ids: fw.ids, keys, flowCount: plan.length };
}
