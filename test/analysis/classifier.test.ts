import { describe, expect, it } from 'vitest';
import { classifyFlow } from '../../src/analysis/classifier';
import { findingsForFlow } from '../../src/analysis/findings';
import { Topology } from '../../src/analysis/topology';
import { emptyInventory, mergeInventory } from '../../src/analysis/inventory';
import { loadCaBundle } from '../../dissectors/x509/verify-chain';
import { applyAuthorization, grpcMethodFromPath } from '../../dissectors/http/http-record';
import { applyEtcdToken } from '../../dissectors/http2/etcd-auth';
import { parseK8sPath } from '../../dissectors/http/k8s-path';
import { ownCredential } from '../../src/analysis/client-identity';
import type { HttpRequestRecord } from '../../src/model/records';
import { boundTokenClaims, legacyTokenClaims, signedJwt } from '../dissectors/http/tokens';
import type { FlowRecord } from '../../src/model/flow-record';
import { fixtureCert, fixturePem, flow, req, tls } from './flow-builder';

function analyse(flows: FlowRecord[], opts: { inventory?: unknown; ca?: string } = {}) {
  const inv = emptyInventory();
  if (opts.inventory) mergeInventory(inv, opts.inventory, 'test-inventory');
  const t = new Topology(inv);
  for (const f of flows) t.observe(f);
  const ca = opts.ca ? loadCaBundle(opts.ca) : null;
  return flows.map((f) => {
    const c = classifyFlow(f, t);
    return { c, rules: findingsForFlow(f, c, { topology: t, ca }).map((x) => x.rule).sort(), findings: findingsForFlow(f, c, { topology: t, ca }) };
  });
}

const apiserverCert = { inventory: { apiServers: ['10.0.0.10'], nodeCidrs: ['10.0.0.0/24'], podCidrs: ['10.244.0.0/16'], serviceCidrs: ['10.96.0.0/12'] } };

describe('classifier and findings', () => {
  it('flags a self-signed kubelet certificate on a completed TLS 1.2 handshake from the API server', () => {
    const f = flow('10.0.0.10:40000', '127.0.0.1:10250', {
      app: 'tls',
      tls: tls('1.2', { serverCertificates: [fixtureCert('kubelet-self')], clientCertRequested: true }),
    });
    const [r] = analyse([f], apiserverCert);
    expect(r!.c.path).toBe('apiserver-to-kubelet');
    expect(r!.c.pathDetail).toEqual({ operation: 'unknown' });
    expect(r!.rules).toContain('kubelet-tls-unverified');
    expect(r!.findings.find((x) => x.rule === 'kubelet-tls-unverified')!.evidence).toMatch(/self-signed/);
    expect(r!.c.reasons.join(' ')).toMatch(/API server/);
  });

  it('raises nothing for a CA-signed kubelet certificate that names the address, with the CA supplied', () => {
    const f = flow('10.0.0.10:40001', '127.0.0.1:10250', {
      app: 'tls',
      tls: tls('1.2', { serverCertificates: [fixtureCert('server-rsa'), fixtureCert('ca-rsa')] }),
    });
    const [r] = analyse([f], { ...apiserverCert, ca: fixturePem('ca-rsa') });
    expect(r!.c.path).toBe('apiserver-to-kubelet');
    expect(r!.rules).not.toContain('kubelet-tls-unverified');
    expect(r!.rules).not.toContain('kubelet-tls-indeterminate');
  });

  it('flags a CA-signed kubelet certificate that does not chain to the supplied CA', () => {
    const f = flow('10.0.0.10:40002', '127.0.0.1:10250', {
      app: 'tls',
      tls: tls('1.2', { serverCertificates: [fixtureCert('server-rsa')] }),
    });
    const [r] = analyse([f], { ...apiserverCert, ca: fixturePem('other-ca') });
    expect(r!.rules).toContain('kubelet-tls-unverified');
  });

  it("a person's tool (kubectl) keeps the closest path, says what it is, and is less certain", () => {
    const list = (ua: string, client: string) =>
      flow(`${client}:41000`, '10.0.0.10:6443', { app: 'http', http: [req('GET', '/api/v1/nodes', { userAgent: ua }, 6443)] });
    // A workstation; loopback; the API server's own address; a worker node; a pod.
    const cases = [['10.9.9.9', '10.9.9.7'], ['127.0.0.1', '127.0.0.1'], ['10.0.0.10', '10.0.0.10'], ['10.0.0.21', '10.0.0.22'], ['10.244.1.5', '10.244.1.6']] as const;
    const paths: Record<string, string> = { '10.0.0.21': 'node-to-apiserver', '10.9.9.9': 'node-to-apiserver', '10.244.1.5': 'pod-to-apiserver' };
    for (const [client, other] of cases) {
      const [tool, plain] = analyse([list('kubectl/v1.31.0 (linux/amd64) kubernetes/abc', client), list('curl/8.0', other)], apiserverCert);
      expect(tool!.c.path).toBe(plain!.c.path);
      expect(tool!.c.path).toBe(paths[client] ?? 'controlplane-to-apiserver');
      expect(tool!.c.reasons.join(' ')).toMatch(/User-Agent kubectl\/v1\.31\.0.*user's tool/);
      expect(plain!.c.reasons.join(' ')).not.toMatch(/user's tool/);
      expect(tool!.c.confidence).toBeLessThan(plain!.c.confidence);
    }
  });

  it("an address a person's tool was seen at is a person's workstation, for its connections that show nothing", () => {
    const kubectl = flow('10.9.9.9:41000', '10.0.0.10:6443', { app: 'http', http: [req('GET', '/api/v1/nodes', { userAgent: 'kubectl/v1.31.0 (linux/amd64) kubernetes/abc' }, 6443)] });
    const hidden = flow('10.9.9.9:41001', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3') });
    const stranger = flow('10.9.9.7:41002', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3') });
    const inv = emptyInventory();
    mergeInventory(inv, apiserverCert.inventory, 'test-inventory');
    const t = new Topology(inv);
    for (const f of [hidden, kubectl, stranger]) t.observe(f);
    expect(t.get('10.9.9.9')!.primaryRole).toBe('user');
    expect(t.get('10.9.9.7')!.primaryRole).toBe('unknown');
    const h = classifyFlow(hidden, t);
    const s = classifyFlow(stranger, t);
    expect(h.path).toBe('node-to-apiserver');
    expect(h.reasons.join(' ')).toMatch(/client 10\.9\.9\.9 is a person's workstation \(sends User-Agent kubectl\/v1\.31\.0.*a user's tool/);
    expect(s.reasons.join(' ')).toContain('client 10.9.9.7 has no known role');
    expect(h.confidence).toBeLessThan(s.confidence);
  });

  it("is only a hint: a pod or a node where someone runs kubectl stays a pod or a node, and a proxied request's tool is not the API server's", () => {
    const ua = { userAgent: 'kubectl/v1.31.0 (linux/amd64) kubernetes/abc' };
    const fromPod = flow('10.244.1.6:41000', '10.0.0.10:6443', { app: 'http', http: [req('GET', '/api/v1/pods', ua, 6443)] });
    const fromNode = flow('10.0.0.21:41000', '10.0.0.10:6443', { app: 'http', http: [req('GET', '/api/v1/pods', ua, 6443)] });
    const proxied = flow('10.0.0.10:44000', '10.244.1.7:8080', { app: 'http', http: [req('GET', '/', { ...ua, xForwardedFor: '192.0.2.1' })] });
    const inv = emptyInventory();
    mergeInventory(inv, apiserverCert.inventory, 'test-inventory');
    const t = new Topology(inv);
    for (const f of [fromPod, fromNode, proxied]) t.observe(f);
    expect(t.get('10.244.1.6')!.primaryRole).toBe('pod');
    expect(t.get('10.0.0.21')!.primaryRole).toBe('node');
    expect(t.get('10.0.0.10')!.claims.has('user')).toBe(false);
    expect(t.get('10.244.1.6')!.claims.has('user')).toBe(true);
    expect(classifyFlow(fromPod, t).path).toBe('pod-to-apiserver');
  });

  it("knows the API server by its aggregation-layer client certificate (kubeadm's front-proxy-client)", () => {
    const base = fixtureCert('client-rsa');
    const frontProxy = { ...base, subject: 'CN=front-proxy-client', subjectCN: 'front-proxy-client', subjectO: [], issuer: 'CN=front-proxy-ca', issuerCN: 'front-proxy-ca' };
    // Calling an aggregated API server by its Service name, then (another connection) a pod by its address.
    const [callout, proxied] = analyse([
      flow('10.0.0.12:45300', '10.244.1.8:443', { app: 'tls', tls: tls('1.2', { sni: 'custom-metrics.monitoring.svc', clientCertificates: [frontProxy] }) }),
      flow('10.0.0.12:45301', '10.244.1.9:8443', { app: 'tls', tls: tls('1.3') }),
    ], { inventory: { podCidrs: ['10.244.0.0/16'] } });
    expect(callout!.c.path).toBe('other');
    expect(callout!.c.pathDetail).toEqual({ callout: 'service', service: 'custom-metrics.monitoring' });
    expect(callout!.c.reasons[0]).toMatch(/^10\.0\.0\.12 is an API server: client certificate CN=front-proxy-client, the aggregation layer's/);
    expect(proxied!.c.path).toBe('apiserver-proxy');
  });

  it("an administrator's client certificate (group system:masters) is a person's credential, said so with less certainty", () => {
    const base = fixtureCert('server-rsa');
    const admin = { ...base, subject: 'CN=kubernetes-admin,O=system:masters', subjectCN: 'kubernetes-admin', subjectO: ['system:masters'] };
    const other = { ...base, subject: 'CN=backup-job,O=ops', subjectCN: 'backup-job', subjectO: ['ops'] };
    const conn = (cert: typeof base, client: string) => flow(`${client}:41000`, '10.0.0.10:6443', { app: 'tls', tls: tls('1.2', { clientCertificates: [cert] }) });
    const [a, o] = analyse([conn(admin, '10.9.9.8'), conn(other, '10.9.9.6')], apiserverCert);
    expect(a!.c.path).toBe(o!.c.path);
    expect(a!.c.reasons.join(' ')).toContain("client certificate CN=kubernetes-admin,O=system:masters is an administrator's credential");
    expect(o!.c.reasons.join(' ')).not.toContain('administrator');
    expect(a!.c.confidence).toBeLessThan(o!.c.confidence);
  });

  it('says "cannot tell" for TLS 1.3 to a kubelet whose certificate was never seen', () => {
    const f = flow('10.0.0.10:40003', '10.0.0.21:10250', { app: 'tls', tls: tls('1.3') });
    const [r] = analyse([f], apiserverCert);
    expect(r!.c.path).toBe('apiserver-to-kubelet');
    expect(r!.rules).toEqual(['kubelet-tls-indeterminate']);
  });

  it('judges a TLS 1.3 connection by the certificate another connection to the same kubelet showed', () => {
    const seen = flow('10.0.0.10:40004', '127.0.0.1:10250', { app: 'tls', tls: tls('1.2', { serverCertificates: [fixtureCert('kubelet-self')] }) });
    const hidden = flow('10.0.0.10:40005', '127.0.0.1:10250', { app: 'tls', tls: tls('1.3') });
    const [, r] = analyse([seen, hidden], apiserverCert);
    expect(r!.rules).toContain('kubelet-tls-unverified');
    expect(r!.findings[0]!.evidence).toMatch(/another connection/);
  });

  it('does not claim unverified when the handshake failed', () => {
    const f = flow('10.0.0.10:40006', '127.0.0.1:10250', {
      app: 'tls',
      tls: tls('1.2', {
        established: false,
        appDataRecords: [0, 0],
        serverCertificates: [fixtureCert('kubelet-self')],
        alerts: [{ level: 'fatal', description: 'unknown_ca', code: 48, from: 'client', plaintext: true, frame: 7, ts: 0 }],
      }),
    });
    const [r] = analyse([f], apiserverCert);
    expect(r!.rules).not.toContain('kubelet-tls-unverified');
    expect(r!.rules).toContain('tls-handshake-failure');
  });

  it("lets a node's TLS 1.3 connection inherit the identity its TLS 1.2 connection showed", () => {
    const apiCert = { serverCertificates: [] };
    const visible = flow('10.0.0.21:50000', '10.0.0.10:6443', { app: 'tls', tls: tls('1.2', { ...apiCert, clientCertificates: [fixtureCert('client-rsa')] }) });
    const hidden = flow('10.0.0.21:50001', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3') });
    const [a, b] = analyse([visible, hidden], apiserverCert);
    expect(a!.c.path).toBe('node-to-apiserver');
    expect(b!.c.path).toBe('node-to-apiserver');
    expect(b!.c.reasons.join(' ')).toMatch(/system:node:worker-1/);
  });

  it('classifies plain-HTTP proxy traffic by its X-Forwarded headers and flags it', () => {
    const f = flow('10.0.0.10:41000', '10.244.1.5:8080', {
      app: 'http',
      http: [req('GET', '/', { xForwardedUri: '/api/v1/namespaces/default/pods/web-0:8080/proxy/', xForwardedFor: '10.0.0.99' })],
    });
    const [r] = analyse([f], apiserverCert);
    expect(r!.c.path).toBe('apiserver-proxy');
    expect(r!.c.pathDetail).toEqual({ target: 'pod', scheme: 'http' });
    expect(r!.rules).toContain('plaintext-proxy');
  });

  it("tells the API server's calls to a webhook or aggregated API server (SNI names a Service) from its proxy", () => {
    // metrics-server listens on 10250 in a pod, as a kubelet does on its node: by name it is the Service.
    const webhook = flow('10.0.0.10:45000', '10.244.1.8:10250', { app: 'tls', tls: tls('1.3', { sni: 'metrics-server.kube-system.svc' }) });
    const admission = flow('10.0.0.10:45001', '10.244.1.9:9443', { app: 'tls', tls: tls('1.2', { sni: 'cert-manager-webhook.cert-manager.svc.cluster.local' }) });
    // The proxy dials the pod's address and names nothing: still the proxy, still unverified.
    const proxied = flow('10.0.0.10:45002', '10.244.1.8:8443', { app: 'tls', tls: tls('1.2') });
    const [a, b, p] = analyse([webhook, admission, proxied], apiserverCert);
    expect(a!.c.path).toBe('other');
    expect(a!.c.pathDetail).toEqual({ callout: 'service', service: 'metrics-server.kube-system' });
    expect(a!.c.reasons.join(' ')).toMatch(/admission webhook or an aggregated API server/);
    expect(a!.rules).toEqual([]);
    expect(b!.c.path).toBe('other');
    expect(b!.c.pathDetail).toEqual({ callout: 'service', service: 'cert-manager-webhook.cert-manager' });
    expect(b!.rules).toEqual([]);
    expect(p!.c.path).toBe('apiserver-proxy');
    expect(p!.rules).toContain('proxy-tls-unverified');
    // Without a name, a pod's port 10250 is not a kubelet by its number: the API server's proxy to
    // the pod, and a monitoring pod scraping it is neither kubelet access nor a finding.
    const unnamed = flow('10.0.0.10:45003', '10.244.1.8:10250', { app: 'tls', tls: tls('1.2') });
    const scrape = flow('10.244.2.4:47000', '10.244.1.8:10250', { app: 'tls', tls: tls('1.2') });
    const nodeKubelet = flow('10.244.2.4:47001', '10.0.0.21:10250', { app: 'tls', tls: tls('1.2') });
    const [u, sc, nk] = analyse([unnamed, scrape, nodeKubelet], apiserverCert);
    expect(u!.c.path).toBe('apiserver-proxy');
    expect(u!.c.pathDetail).toEqual({ target: 'pod', scheme: 'https' });
    expect(sc!.c.path).toBe('other');
    expect(sc!.rules).toEqual([]);
    // A node's 10250 still is the kubelet.
    expect(nk!.c.path).toBe('apiserver-to-kubelet');
    expect(nk!.rules).toContain('kubelet-direct-access');
    // A pod calling metrics-server by name, with nothing known about the addresses: not a kubelet.
    const [byName] = analyse([flow('10.244.2.4:47002', '10.244.1.8:10250', { app: 'tls', tls: tls('1.3', { sni: 'metrics-server.kube-system.svc' }) })]);
    expect(byName!.c.path).toBe('other');
    expect(byName!.c.pathDetail).toEqual({ service: 'metrics-server.kube-system' });
    expect(byName!.rules).toEqual([]);
    // Pods naming the in-cluster API server are not callouts.
    const podCall = flow('10.244.1.9:46000', '10.96.0.1:443', { app: 'tls', tls: tls('1.3', { sni: 'kubernetes.default.svc' }) });
    expect(analyse([podCall], apiserverCert)[0]!.c.path).toBe('pod-to-apiserver');
  });

  it("does not take k8s.io/apiserver's self-signed default (localhost@…) for a kubelet's certificate", () => {
    // metrics-server, prometheus-adapter and many webhooks serve what k8s.io/apiserver makes when given
    // no certificate: the kubelet's naming scheme, with "localhost" in place of a node name.
    const chain = [fixtureCert('apiserver-self'), fixtureCert('apiserver-self-ca')];
    // Within the certificates' validity (these fixtures were made apart from the others).
    const at = Date.parse(chain[0]!.notBefore) / 1000 + 86_400;
    const shown = (client: string, server: string, sni: string | null) =>
      flow(client, server, { firstTs: at, lastTs: at + 1, app: 'tls', tls: tls('1.2', { sni, serverCertificates: chain, certificateFrame: 3 }) });
    const [named, unnamed, scrape] = analyse([
      shown('10.0.0.10:45100', '10.244.1.8:10250', 'metrics-server.kube-system.svc'),
      shown('10.0.0.10:45101', '10.244.1.8:10250', null),
      shown('10.244.2.4:47100', '10.244.1.8:10250', null),
    ], apiserverCert);
    // The API server calling the aggregated API by its Service name.
    expect(named!.c.path).toBe('other');
    expect(named!.c.pathDetail).toEqual({ callout: 'service', service: 'metrics-server.kube-system' });
    expect(named!.rules).toEqual([]);
    // Without a name, the API server dialing a pod is its proxy (whose HTTPS is not verified), not a kubelet.
    expect(unnamed!.c.path).toBe('apiserver-proxy');
    expect(unnamed!.rules).toEqual(['proxy-tls-unverified']);
    expect(scrape!.c.path).toBe('other');
    expect(scrape!.rules).toEqual([]);
    for (const r of [named!, unnamed!, scrape!]) expect(r.c.reasons.join(' ')).not.toMatch(/kubelet-made/);
    // The kubelet's own self-signed certificate still names it.
    const [kubelet] = analyse([flow('10.0.0.10:45102', '10.0.0.21:10250', { app: 'tls', tls: tls('1.2', { serverCertificates: [fixtureCert('kubelet-self')] }) })], apiserverCert);
    expect(kubelet!.c.path).toBe('apiserver-to-kubelet');
    expect(kubelet!.c.reasons.join(' ')).toMatch(/kubelet-made serving certificate CN=worker-1@1700000000/);
  });

  it("does not call a cluster CA named like a self-made one (k3s's k3s-server-ca@…) the kubelet's own", () => {
    const leaf = fixtureCert('k3s-kubelet');
    const at = Date.parse(leaf.notBefore) / 1000 + 86_400;
    const kubelet = () =>
      flow('10.0.0.10:45200', '10.0.0.21:10250', { firstTs: at, lastTs: at + 1, app: 'tls', tls: tls('1.2', { serverCertificates: [leaf], certificateFrame: 3 }) });
    // Nothing wrong can be seen without the CA: neither self-signed, nor signed by a CA the kubelet
    // made, and it names the kubelet's address. No verdict either way.
    const [plain] = analyse([kubelet()], apiserverCert);
    expect(plain!.c.path).toBe('apiserver-to-kubelet');
    expect(plain!.rules).toEqual([]);
    // Given the cluster's CA it verifies; given another, it does not chain to it.
    const [verified] = analyse([kubelet()], { ...apiserverCert, ca: fixturePem('k3s-kubelet-ca') });
    expect(verified!.rules).toEqual([]);
    const [unverified] = analyse([kubelet()], { ...apiserverCert, ca: fixturePem('ca-rsa') });
    expect(unverified!.rules).toEqual(['kubelet-tls-unverified']);
    expect(unverified!.findings[0]!.evidence).not.toMatch(/own CA/);
  });

  it("keeps an inventory API server's role to its own ports: a control-plane host's metrics, exporters and probes are other traffic", () => {
    const probe = { userAgent: 'kube-probe/1.30' };
    const [kubeProxy, etcdMetrics, nodeExporter, hidden, probed, api] = analyse([
      flow('10.244.1.5:40000', '10.0.0.10:10249', { app: 'http', http: [req('GET', '/metrics', {}, 10249)] }),
      flow('10.244.1.5:40001', '10.0.0.10:2381', { app: 'http', http: [req('GET', '/metrics', {}, 2381)] }),
      flow('10.244.1.5:40002', '10.0.0.10:9100', { app: 'http', http: [req('GET', '/metrics', {}, 9100)] }),
      flow('10.244.1.5:40004', '10.0.0.10:10257', { app: 'tls', tls: tls('1.3') }),
      // The kubelet probing the controller manager on its own host: not the API server's proxy.
      flow('10.0.0.10:40005', '10.0.0.10:10257', { app: 'http', http: [req('GET', '/healthz', probe, 10257)] }),
      flow('10.244.1.5:40006', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3') }),
    ], apiserverCert);
    for (const r of [kubeProxy!, etcdMetrics!, nodeExporter!, hidden!, probed!]) {
      expect(r.c.path).toBe('other');
      expect(r.rules).toEqual([]);
    }
    expect(kubeProxy!.c.reasons).toEqual(['10.0.0.10 is an API server (inventory: API server address), but nothing places that server on port 10249']);
    expect(probed!.c.reasons[0]).toMatch(/^the kubelet's health probe \(User-Agent kube-probe\/1\.30\)/);
    // On its port the inventory's word is the strongest there is.
    expect(api!.c.path).toBe('pod-to-apiserver');
    expect(api!.c.reasons[0]).toBe('10.0.0.10:6443 is an API server: inventory: API server address');
  });

  it('takes the ports an inventory gives: with the address, or from the static pods\' flags', () => {
    const conn = (server: string) => flow(`10.244.1.5:${40000 + Number(server.split(':')[1]) % 1000}`, server, { app: 'tls', tls: tls('1.3') });
    // microk8s-style: the API server on 16443 only.
    const [custom, usual] = analyse([conn('10.0.0.10:16443'), conn('10.0.0.10:443')], { inventory: { apiServers: ['10.0.0.10:16443'], podCidrs: ['10.244.0.0/16'] } });
    expect(custom!.c.path).toBe('pod-to-apiserver');
    expect(usual!.c.path).toBe('other');
    // kubectl get pods -o json: kubeadm's static pods, host network, flags in the command.
    const staticPod = (component: string, command: string[]) => ({
      kind: 'Pod', metadata: { name: `${component}-cp-1`, namespace: 'kube-system', labels: { component, tier: 'control-plane' } },
      spec: { hostNetwork: true, nodeName: 'cp-1', containers: [{ name: component, command }] },
      status: { podIP: '10.0.0.10', hostIP: '10.0.0.10' },
    });
    const list = { kind: 'List', items: [
      staticPod('kube-apiserver', ['kube-apiserver', '--advertise-address=10.0.0.10', '--secure-port=8443']),
      staticPod('etcd', ['etcd', '--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.10:2379', '--listen-peer-urls=https://10.0.0.10:2380',
        '--listen-metrics-urls=http://127.0.0.1:2381']),
    ] };
    const apiFlow = flow('10.0.0.21:41000', '10.0.0.10:8443', { app: 'tls', tls: tls('1.3') });
    const etcdFlow = flow('10.0.0.10:41001', '10.0.0.10:2379', { app: 'tls', tls: tls('1.3') });
    const metrics = flow('10.0.0.21:41002', '10.0.0.10:2381', { app: 'http', http: [req('GET', '/metrics', {}, 2381)] });
    const [a, e, m] = analyse([apiFlow, etcdFlow, metrics], { inventory: list });
    expect(a!.c.reasons[0]).toBe('10.0.0.10:8443 is an API server: inventory: API server address');
    expect(e!.c.path).toBe('apiserver-to-etcd');
    expect(e!.c.reasons[0]).toBe('10.0.0.10:2379 is an etcd member: inventory: etcd member');
    expect(m!.c.path).toBe('other');
    expect(m!.rules).toEqual([]);
    const inv = emptyInventory();
    expect(() => mergeInventory(inv, { apiServers: ['api.example.com'] }, 'cluster.json')).toThrow(
      'cluster.json: apiServers: "api.example.com" is not an address or address:port');
  });

  it('names what little is known of a kubelet client that serves port 6443, with no inventory', () => {
    const [, , kubelet, stranger] = analyse([
      flow('172.18.0.3:40000', '172.18.0.2:6443', { app: 'tls', tls: tls('1.3') }),
      flow('172.18.0.4:40000', '172.18.0.9:6443', { app: 'tls', tls: tls('1.3') }),
      flow('172.18.0.2:40001', '172.18.0.3:10250', { app: 'tls', tls: tls('1.3') }),
      flow('172.18.0.7:40002', '172.18.0.3:10250', { app: 'tls', tls: tls('1.3') }),
    ]);
    expect(kubelet!.c.reasons).toContain("client 172.18.0.2 may be an API server: listens on port 6443, the API server's default");
    expect(stranger!.c.reasons).toContain('client 172.18.0.7 has no known role other than talking to the kubelet');
    expect(kubelet!.c.confidence).toBeGreaterThan(stranger!.c.confidence);
  });

  it('takes MicroK8s\'s API server port as the same weak hint as 6443, with no inventory', () => {
    const [usual, microk8s, other] = analyse([
      flow('172.18.0.3:40000', '172.18.0.2:6443', { app: 'tls', tls: tls('1.3') }),
      flow('172.18.0.3:40001', '172.18.0.2:16443', { app: 'tls', tls: tls('1.3') }),
      flow('172.18.0.3:40002', '172.18.0.2:16444', { app: 'tls', tls: tls('1.3') }),
    ]);
    expect(microk8s!.c.path).toBe(usual!.c.path);
    expect(microk8s!.c.path).not.toBe('other');
    expect(microk8s!.c.confidence).toBe(usual!.c.confidence);
    expect(microk8s!.c.reasons.join('\n')).toContain("listens on port 16443, MicroK8s's API server port");
    expect(other!.c.path).toBe('other');
  });

  it("knows a managed control plane's API endpoint on 443 by the name its clients ask for", () => {
    const conn = (client: string, sni: string) => flow(`${client}:43000`, '52.10.0.7:443', { app: 'tls', tls: tls('1.3', { sni }) });
    const [eks, aks, web] = analyse([
      conn('10.0.0.21', '0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com'),
      flow('10.0.0.22:43001', '20.1.2.3:443', { app: 'tls', tls: tls('1.3', { sni: 'prod-dns-1a2b3c4d.hcp.westeurope.azmk8s.io' }) }),
      flow('10.0.0.23:43002', '93.184.216.34:443', { app: 'tls', tls: tls('1.3', { sni: 'www.example.com' }) }),
    ], { inventory: { nodeCidrs: ['10.0.0.0/24'] } });
    expect(eks!.c.path).toBe('node-to-apiserver');
    expect(eks!.c.reasons[0]).toMatch(/52\.10\.0\.7:443 is an API server: clients ask for it by the name 0123.*eks\.amazonaws\.com \(SNI\), an Amazon EKS API endpoint/);
    expect(aks!.c.path).toBe('node-to-apiserver');
    expect(aks!.c.reasons[0]).toMatch(/an Azure AKS API endpoint/);
    expect(web!.c.path).toBe('other');
  });

  it("a scan's connection attempts (no answer, refused) tell no role by their port, say what they were, and raise no finding", () => {
    const attempt = (port: number, state: string, history: string) =>
      flow(`10.244.3.4:${40000 + port % 1000}`, `10.0.0.50:${port}`, { state, history, packets: [1, state === 'REJ' ? 1 : 0], payloadBytes: [0, 0], endReason: state === 'REJ' ? 'rst' : 'idle' });
    const scan = [attempt(6443, 'REJ', 'Sr'), attempt(10250, 'S0', 'S'), attempt(10255, 'REJ', 'Sr'), attempt(2379, 'RSTOS0', 'SR')];
    // The same kind of flow to a port something accepted on (a kubelet answering on 10250).
    const answered = flow('10.244.3.4:41000', '10.0.0.21:10250', { state: 'S1', history: 'Sh', payloadBytes: [0, 0] });
    const inv = { inventory: { podCidrs: ['10.244.0.0/16'] } };
    const out = analyse([...scan, answered], inv);
    for (const [i, f] of scan.entries()) {
      expect(out[i]!.c.path, `${f.server.port} ${f.state}`).toBe('other');
      expect(out[i]!.c.reasons.at(-1)).toMatch(new RegExp(`^a connection attempt only: .*\\(${f.state}\\), no byte exchanged`));
      expect(out[i]!.rules).toEqual([]);
    }
    expect(out[1]!.c.reasons.at(-1)).toContain('no answer seen');
    expect(out[0]!.c.reasons.at(-1)).toContain('the server refused it (RST)');
    expect(out[4]!.c.path).toBe('apiserver-to-kubelet');
    expect(out[4]!.rules).toContain('kubelet-direct-access');
    expect(out[4]!.c.reasons.some((r) => r.startsWith('a connection attempt'))).toBe(false);
  });

  it('an attempt to an address known by other traffic keeps that path, and a TCP Fast Open SYN that carried bytes is not a mere attempt', () => {
    const known = flow('10.0.0.10:40000', '10.0.0.21:10250', { app: 'tls', tls: { ...tls('1.2'), serverCertificates: [fixtureCert('kubelet-self')] } });
    const refused = flow('10.0.0.10:40001', '10.0.0.21:10250', { state: 'REJ', history: 'Sr', payloadBytes: [0, 0] });
    const fastOpen = flow('10.0.0.10:40002', '10.0.0.21:10250', { state: 'S0', history: 'SD', payloadBytes: [200, 0] });
    const out = analyse([known, refused, fastOpen]);
    expect(out.map((o) => o.c.path)).toEqual(['apiserver-to-kubelet', 'apiserver-to-kubelet', 'apiserver-to-kubelet']);
    expect(out[1]!.c.reasons.at(-1)).toMatch(/^a connection attempt only: the server refused it \(RST\) \(REJ\)/);
    expect(out[1]!.rules).toEqual([]);
    expect(out[2]!.c.reasons.some((r) => r.startsWith('a connection attempt'))).toBe(false);
  });

  it('flags the kubelet read-only port and a client that is not an API server', () => {
    const f = flow('10.244.2.7:42000', '10.0.0.22:10255', { app: 'http', http: [req('GET', '/pods', {}, 10255)] });
    const [r] = analyse([f], apiserverCert);
    expect(r!.rules).toContain('kubelet-readonly-port');
    expect(r!.rules).toContain('kubelet-direct-access');
  });

  it('writes IPv6 endpoints in brackets in reasons and evidence ([addr]:port)', () => {
    const f = flow('fd00:10:244::7:42000', 'fd00:10::22:10255', { ipVersion: 6, app: 'http', http: [req('GET', '/pods', {}, 10255)] });
    const [r] = analyse([f]);
    const readOnly = r!.findings.find((x) => x.rule === 'kubelet-readonly-port')!;
    expect(readOnly.evidence).toMatch(/^\[fd00:10:244::7\]:42000 → \[fd00:10::22\]:10255: /);
    expect(r!.c.reasons.join(' ')).toContain('[fd00:10::22]:10255 is a kubelet');
  });

  it('flags credentials in cleartext without keeping them', () => {
    const f = flow('10.244.1.9:43000', '10.0.0.10:8080', {
      app: 'http',
      http: [req('GET', '/api/v1/pods', { auth: 'bearer', authHash: 'sha256:0123456789abcdef' })],
    });
    const [r] = analyse([f], apiserverCert);
    expect(r!.c.path).toBe('pod-to-apiserver');
    expect(r!.rules).toEqual(expect.arrayContaining(['apiserver-insecure-port', 'bearer-token-cleartext']));
    expect(JSON.stringify(r!.findings)).toContain('sha256:0123456789abcdef');
  });

  it('flags an endpoint outside the declared networks', () => {
    const f = flow('203.0.113.7:44000', '10.0.0.10:6443', { app: 'tls', tls: tls('1.2', { clientCertificates: [fixtureCert('client-rsa')] }) });
    const [r] = analyse([f], apiserverCert);
    expect(r!.c.path).toBe('node-to-apiserver');
    expect(r!.rules).toContain('untrusted-network');
  });

  it('gives the same answer whatever order the flows were observed in', () => {
    const flows = [
      flow('10.0.0.21:50000', '10.0.0.10:6443', { app: 'tls', tls: tls('1.2', { clientCertificates: [fixtureCert('client-rsa')] }) }),
      flow('10.0.0.21:50001', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3') }),
      flow('10.0.0.10:40004', '127.0.0.1:10250', { app: 'tls', tls: tls('1.2', { serverCertificates: [fixtureCert('kubelet-self')] }) }),
    ];
    const forward = analyse(flows).map((r) => [r.c, r.rules]);
    const backward = analyse([...flows].reverse()).reverse().map((r) => [r.c, r.rules]);
    expect(backward).toEqual(forward);
  });

  it('knows etcd by the gRPC methods it serves, on any port, in the form the HTTP/2 dissector records them', () => {
    const method = grpcMethodFromPath('/etcdserverpb.KV/Range');
    const etcd = flow('10.0.0.10:45000', '10.0.0.31:32379', { app: 'http2', http: [req('POST', '/etcdserverpb.KV/Range', { grpcMethod: method, version: '2' })] });
    const [e] = analyse([etcd]);
    expect(e!.c.path).toBe('apiserver-to-etcd');
    expect(e!.c.reasons.join(' ')).toContain(`serves etcd gRPC ${method}`);
    expect(e!.rules).toContain('etcd-plaintext');
  });

  it("knows etcd peers by the peer API paths they call, on any port, and flags them in plain HTTP", () => {
    const raft = (client: string, server: string) =>
      flow(client, server, { app: 'http', http: [req('GET', '/raft/stream/msgapp/75d8b0f124aaad9a', { userAgent: 'Go-http-client/1.1' })] });
    const [a, b] = analyse([raft('10.0.0.21:41000', '10.0.0.22:12380'), raft('10.0.0.22:41001', '10.0.0.21:12380')]);
    for (const r of [a!, b!]) {
      expect(r.c.path).toBe('etcd-peer');
      expect(r.c.reasons.join(' ')).toMatch(/serves etcd's peer API path \/raft\/stream\/msgapp/);
      expect(r.rules).toContain('etcd-plaintext');
    }
    // A path that merely starts with the letters is not etcd's.
    const [other] = analyse([flow('10.0.0.30:41002', '10.0.0.31:8080', { app: 'http', http: [req('GET', '/rafters', {})] })]);
    expect(other!.c.path).not.toBe('etcd-peer');
  });

  it('judges server roles per port on a stacked control-plane host (API server, etcd and kubelet on one address)', () => {
    const etcd = flow('10.0.0.10:45000', '10.0.0.10:2379', { app: 'http2', http: [req('POST', '/etcdserverpb.KV/Range', { grpcMethod: grpcMethodFromPath('/etcdserverpb.KV/Range'), version: '2' })] });
    const api = flow('10.0.0.10:45001', '10.0.0.10:8080', { app: 'http', http: [req('GET', '/api/v1/pods')] });
    const kubelet = flow('10.0.0.10:45002', '10.0.0.10:10250', { app: 'tls', tls: tls('1.3') });
    const [e, a, k] = analyse([etcd, api, kubelet], apiserverCert);
    expect(e!.c.path).toBe('apiserver-to-etcd');
    expect(e!.rules).toContain('etcd-plaintext');
    expect(a!.c.path).toBe('controlplane-to-apiserver');
    expect(a!.rules).toContain('apiserver-insecure-port');
    expect(a!.rules).not.toContain('etcd-plaintext');
    expect(k!.c.path).toBe('apiserver-to-kubelet');
  });

  describe('a connection seen on both sides of a NAT', () => {
    // A pod's connection to a Service address before the node's DNAT and to the API server after it,
    // both TLS 1.3 (nothing visible): only the port hints at the API server.
    const dnat = (link: string | null) => [
      flow('10.1.2.3:40000', '10.96.0.1:443', { id: 'before', app: 'tls', tls: tls('1.3'), natLink: link }),
      flow('10.1.2.3:40000', '10.0.0.10:6443', { id: 'after', app: 'tls', tls: tls('1.3'), natLink: link }),
    ];

    it('knows a Service address from its translation, and both views for a pod reaching the API server through it', () => {
      const [before, after] = analyse(dnat('1a-2b@7'));
      expect(before!.c.path).toBe('pod-to-apiserver');
      expect(after!.c.path).toBe('pod-to-apiserver');
      expect(before!.c.reasons[0]).toMatch(/^10\.96\.0\.1:443 is translated \(DNAT\) to the API server 10\.0\.0\.10:6443: listens on port 6443/);
      expect(before!.c.reasons).toContain('the capturing host translated (DNAT) this connection to 10.0.0.10:6443: the same connection is flow after');
      expect(after!.c.reasons).toContain('the client sent this connection to 10.96.0.1:443, translated (DNAT) by the capturing host: the same connection is flow before');
      const t = new Topology();
      for (const f of dnat('1a-2b@7')) t.observe(f);
      expect(t.get('10.96.0.1')!.primaryRole).toBe('service');
      expect(t.get('10.96.0.1')!.claims.get('service')!.reason).toBe('the capturing host translates (DNAT) connections to it to 10.0.0.10:6443 (flows before and after)');
      expect(t.get('10.0.0.10')!.claims.has('service')).toBe(false);
    });

    it('without the link the same two flows say less: the Service address is unknown, its client a guess', () => {
      const [before, after] = analyse(dnat(null));
      expect(before!.c.path).toBe('other');
      expect(after!.c.path).toBe('node-to-apiserver');
    });

    it("judges a connection rewritten by a source NAT by its client before the rewrite", () => {
      const inventory = { inventory: { nodeCidrs: ['10.0.0.0/24'], podCidrs: ['10.244.0.0/16'] } };
      const snat = (link: string | null) => [
        flow('10.244.1.5:40000', '10.0.0.10:6443', { id: 'pod-side', app: 'tls', tls: tls('1.2', { serverCertificates: [fixtureCert('server-rsa')] }), natLink: link }),
        flow('10.0.0.21:40000', '10.0.0.10:6443', { id: 'node-side', app: 'tls', tls: tls('1.2', { serverCertificates: [fixtureCert('server-rsa')] }), natLink: link }),
      ];
      const [pod, node] = analyse(snat('3c-4d@9'), inventory);
      expect(pod!.c.path).toBe('pod-to-apiserver');
      expect(node!.c.path).toBe('pod-to-apiserver');
      expect(node!.c.reasons).toContain('10.244.1.5 is a pod: address in the declared pod network');
      expect(node!.c.reasons).toContain("the connection's client is 10.244.1.5:40000, rewritten (SNAT) by the capturing host: the same connection is flow pod-side");
      expect(analyse(snat(null), inventory)[1]!.c.path).toBe('node-to-apiserver');
    });

    it('judges a load-balanced address by the service behind it: Konnectivity agents through a VIP', () => {
      const agent = (link: string | null) => [
        flow('10.0.0.21:50000', '10.96.5.5:8132', { id: 'to-vip', app: 'tls', tls: tls('1.3'), natLink: link }),
        flow('10.0.0.21:50000', '10.0.0.10:8132', { id: 'to-server', app: 'tls', tls: tls('1.3'), natLink: link }),
        // Another agent's connection to the server itself shows what it serves.
        flow('10.0.0.22:50001', '10.0.0.10:8132', { app: 'http2', http: [req('POST', '/agent.AgentService/Connect', { grpcMethod: grpcMethodFromPath('/agent.AgentService/Connect'), version: '2' })] }),
      ];
      const [vip, server] = analyse(agent('5e-6f@3'));
      expect(server!.c.path).toBe('konnectivity');
      expect(vip!.c.path).toBe('konnectivity');
      expect(vip!.c.reasons[0]).toMatch(/^10\.96\.5\.5:8132 is a Konnectivity server: translated \(DNAT\) to 10\.0\.0\.10:8132: serves Konnectivity gRPC agent\.AgentService\/Connect/);
      expect(analyse(agent(null))[0]!.c.path).toBe('other');
    });

    it('does not call a Service address spread over two API servers a certificate change; one endpoint behind it still is', () => {
      const [a, b] = [fixtureCert('server-rsa'), fixtureCert('kubelet-self')];
      const viaVip = (sport: number, backend: string, cert: typeof a, link: string) => [
        flow(`10.244.1.5:${sport}`, '10.96.0.1:443', { app: 'tls', tls: tls('1.2', { serverCertificates: [cert] }), natLink: link }),
        flow(`10.244.1.5:${sport}`, `${backend}:6443`, { app: 'tls', tls: tls('1.2', { serverCertificates: [cert] }), natLink: link }),
      ];
      const spread = analyse([...viaVip(40000, '10.0.0.10', a, 'a1-b1@1'), ...viaVip(40001, '10.0.0.11', b, 'a2-b2@2')]);
      expect(spread.flatMap((r) => r.rules)).not.toContain('cert-changed');
      const one = analyse([...viaVip(40000, '10.0.0.10', a, 'a1-b1@1'), ...viaVip(40001, '10.0.0.10', b, 'a2-b2@2')]);
      expect(one.map((r) => r.rules.includes('cert-changed'))).toEqual([true, true, true, true]);
    });

    it('a load-balanced address whose DNAT is not in view: replicas are told from an impostor by the supplied CA', () => {
      // Two API servers behind one address, each with its own certificate from the cluster CA, both
      // naming the address the clients use; and an impostor whose certificate only carries the CA's name.
      // A time inside every certificate's validity (the replica's was made later than the others).
      const at = Date.parse(fixtureCert('server-rsa-replica').notBefore) / 1000 + 86_400;
      const seq = { n: 0 };
      const when = () => ({ firstTs: at + ++seq.n, lastTs: at + seq.n + 1 });
      const via = (sport: number, cert: string) =>
        flow(`10.244.1.5:${sport}`, '127.0.0.1:6443', { ...when(), app: 'tls', tls: tls('1.2', { serverCertificates: [fixtureCert(cert)] }) });
      const replicas = [via(40000, 'server-rsa'), via(40001, 'server-rsa-replica'), via(40002, 'server-rsa')];
      const impostor = [via(40000, 'server-rsa'), via(40001, 'forged')];
      const rules = (rs: ReturnType<typeof analyse>) => rs.map((r) => r.rules.includes('cert-changed'));
      // Without a CA nothing can be checked: the change is reported, with what it may be.
      const unchecked = analyse(replicas);
      expect(rules(unchecked)).toEqual([true, true, true]);
      expect(unchecked[1]!.findings.find((x) => x.rule === 'cert-changed')!.evidence).toMatch(
        /both name 127\.0\.0\.1 and carry the issuer name CN=kubernetes-ca, as servers behind one load-balanced address do/,
      );
      expect(analyse(impostor)[1]!.findings.find((x) => x.rule === 'cert-changed')!.evidence).toMatch(/load-balanced/);
      const ca = fixturePem('ca-rsa');
      expect(rules(analyse(replicas, { ca }))).toEqual([false, false, false]);
      expect(rules(analyse(impostor, { ca }))).toEqual([true, true]);
      // A replica that does not name what the client asked for (its SNI) is a change even with the CA.
      const sni = (sport: number, cert: string, name: string) =>
        flow(`10.244.1.5:${sport}`, '127.0.0.1:6443', { ...when(), app: 'tls', tls: tls('1.2', { sni: name, serverCertificates: [fixtureCert(cert)] }) });
      expect(rules(analyse([sni(40000, 'server-rsa', 'a.nodes.example.com'), sni(40001, 'server-rsa-replica', 'a.nodes.example.com')], { ca }))).toEqual([false, false]);
      expect(rules(analyse([sni(40000, 'server-rsa', 'worker-1'), sni(40001, 'server-rsa-replica', 'worker-1')], { ca }))).toEqual([true, true]);
    });

    it('gives the same answer whichever view was observed first, and links nothing across captures', () => {
      const flows = dnat('1a-2b@7');
      const forward = analyse(flows).map((r) => r.c);
      expect(analyse([...flows].reverse()).reverse().map((r) => r.c)).toEqual(forward);
      const [before, after] = flows;
      const apart = analyse([before!, { ...after!, captureIndex: 2 }]);
      expect(apart[0]!.c.path).toBe('other');
    });
  });
});

describe('what a client’s credential says of it', () => {
  const api = { inventory: { apiServers: ['10.0.0.10'] } };
  /** A request carrying `Authorization: Bearer <token>`, read as the dissectors read it. */
  const withToken = (path: string, token: string, over: Partial<HttpRequestRecord> = {}) => {
    const r = req('GET', path, over);
    applyAuthorization(r, `Bearer ${token}`);
    return r;
  };
  const podToken = signedJwt(boundTokenClaims({ namespace: 'kube-system', serviceAccount: 'coredns', pod: 'coredns-69cbfb9798-jv9gn', node: 'worker-1', iat: 1_700_000_000, exp: 4_000_000_000 }));

  it('a token bound to a pod makes the client that pod, on this connection and on its address’s others', () => {
    const decrypted = flow('10.0.0.31:41000', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3', { decrypted: true }), http: [withToken('/api/v1/endpoints', podToken)] });
    const hidden = flow('10.0.0.31:41001', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3') });
    const [a, b] = analyse([decrypted, hidden], api);
    expect(a!.c.path).toBe('pod-to-apiserver');
    expect(a!.c.reasons.join(' ')).toContain('bearer token of service account kube-system/coredns, bound to pod kube-system/coredns-69cbfb9798-jv9gn on node worker-1');
    expect(b!.c.path).toBe('pod-to-apiserver');
    expect(b!.c.reasons.join(' ')).toContain('coredns-69cbfb9798-jv9gn');
    // Without the token the same address has no known role.
    const [alone] = analyse([hidden], api);
    expect(alone!.c.reasons.join(' ')).toMatch(/no known role/);
  });

  it('kube-proxy’s account is a node’s, the controller manager’s controllers are a control-plane component, a bootstrap token is a node joining', () => {
    const proxy = signedJwt(boundTokenClaims({ namespace: 'kube-system', serviceAccount: 'kube-proxy', pod: 'kube-proxy-x2x8k' }));
    const controller = signedJwt(boundTokenClaims({ namespace: 'kube-system', serviceAccount: 'replicaset-controller' }));
    const [p, c, b, other] = analyse([
      flow('10.0.0.21:41000', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3', { decrypted: true }), http: [withToken('/api/v1/services', proxy)] }),
      flow('10.0.0.11:41000', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3', { decrypted: true }), http: [withToken('/apis/apps/v1/replicasets', controller)] }),
      flow('10.0.0.23:41000', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3', { decrypted: true }), http: [withToken('/apis/certificates.k8s.io/v1/certificatesigningrequests', '07401b.f395accd246ae52d')] }),
      // a service account's token not bound to a pod may be used from anywhere: it names no role
      flow('10.0.0.24:41000', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3', { decrypted: true }), http: [withToken('/api/v1/pods', signedJwt(boundTokenClaims({ namespace: 'ci', serviceAccount: 'deployer' })))] }),
    ], api);
    expect([p!.c.path, c!.c.path, b!.c.path]).toEqual(['node-to-apiserver', 'controlplane-to-apiserver', 'node-to-apiserver']);
    expect(p!.c.reasons.join(' ')).toContain('kube-proxy runs on every node');
    expect(c!.c.reasons.join(' ')).toContain("one of the controller manager's controllers");
    expect(b!.c.reasons.join(' ')).toContain('bootstrap token system:bootstrap:07401b: a node joining the cluster');
    expect(other!.c.reasons.join(' ')).toMatch(/no known role/);
  });

  it('a token relayed by the API server’s proxy says nothing of the connection’s client', () => {
    const relayed = withToken('/api/v1/pods', podToken, { xForwardedFor: '10.0.0.99', xForwardedUri: '/api/v1/namespaces/x/services/y/proxy/' });
    expect(ownCredential(flow('10.0.0.10:41000', '10.244.2.7:8080', { app: 'http', http: [relayed] }))).toBeNull();
  });

  it('says whose a cleartext credential is and whether it was still valid when sent', () => {
    const live = signedJwt(boundTokenClaims({ namespace: 'ci', serviceAccount: 'runner', pod: 'runner-6b8f9d-xk2lp', iat: 1_700_000_000, exp: 4_000_000_000 }));
    const stale = signedJwt(boundTokenClaims({ namespace: 'ci', serviceAccount: 'runner', pod: 'runner-old', iat: 1_000_000_000, exp: 1_000_003_607 }));
    const legacy = signedJwt(legacyTokenClaims('ci', 'runner', 'runner-token-abcde'));
    const evidence = (token: string) => {
      const [r] = analyse([flow('10.244.1.9:43000', '10.0.0.10:8080', { app: 'http', http: [withToken('/api/v1/pods', token)] })], api);
      return r!.findings.find((x) => x.rule === 'bearer-token-cleartext')!.evidence;
    };
    expect(evidence(live)).toContain('; service account ci/runner, bound to pod ci/runner-6b8f9d-xk2lp, valid until 2096-10-02T07:06:40.000Z) sent in cleartext');
    expect(evidence(stale)).toContain('already expired (2001-09-09T02:46:47.000Z) when sent');
    expect(evidence(legacy)).toContain('from Secret runner-token-abcde, legacy token without expiry)');
    for (const t of [live, stale, legacy]) expect(evidence(t)).not.toContain(t.split('.')[2]!);
  });

  it('names the holder of the credential used straight against a kubelet', () => {
    const debug = signedJwt(boundTokenClaims({ namespace: 'default', serviceAccount: 'debug', pod: 'debug-shell' }));
    const f = flow('10.244.3.4:50714', '10.0.0.22:10250', { app: 'tls', tls: tls('1.3', { decrypted: true }), http: [withToken('/runningpods/', debug)] });
    f.http[0]!.k8s = parseK8sPath('GET', '/runningpods/', 10250);
    const [r] = analyse([f], { inventory: { apiServers: ['10.0.0.10'], podCidrs: ['10.244.0.0/16'] } });
    expect(r!.c.path).toBe('apiserver-to-kubelet');
    expect(r!.findings.find((x) => x.rule === 'kubelet-direct-access')!.evidence).toContain('it sends the bearer token of service account default/debug, bound to pod default/debug-shell');
  });
});

describe('a pod’s token presented by another workload (token-used-elsewhere)', () => {
  const RUNNER_UID = '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';
  const node = (name: string, ip: string) => ({ kind: 'Node', metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: ip }] } });
  const pod = (ns: string, name: string, uid: string, ip: string, nodeName: string, hostIP: string) =>
    ({ kind: 'Pod', metadata: { name, namespace: ns, uid }, spec: { nodeName }, status: { podIP: ip, podIPs: [{ ip }], hostIP } });
  const inventory = { inventory: { apiVersion: 'v1', kind: 'List', items: [
    node('worker-1', '10.0.0.21'), node('worker-2', '10.0.0.22'), node('gateway', '10.0.0.30'),
    pod('ci', 'runner-6b8f9d-xk2lp', RUNNER_UID, '10.244.1.6', 'worker-1', '10.0.0.21'),
    pod('default', 'web-1', '0a0b0c0d-0000-4000-8000-000000000001', '10.244.2.9', 'worker-2', '10.0.0.22'),
  ] } };
  const runnerToken = (uid = RUNNER_UID) => {
    const claims = boundTokenClaims({ namespace: 'ci', serviceAccount: 'runner', pod: 'runner-6b8f9d-xk2lp', node: 'worker-1', exp: 4_000_000_000 });
    ((claims['kubernetes.io'] as { pod: { uid: string } }).pod).uid = uid;
    return signedJwt(claims);
  };
  const from = (client: string, token = runnerToken(), over: Partial<FlowRecord> = {}) => {
    const r = req('GET', '/api/v1/namespaces/ci/secrets');
    applyAuthorization(r, `Bearer ${token}`);
    return flow(`${client}:45000`, '10.0.0.10:6443', { app: 'tls', tls: tls('1.3', { decrypted: true }), http: [r], ...over });
  };
  const raised = (flows: FlowRecord[]) => analyse(flows, inventory).map((r) => r.findings.filter((x) => x.rule === 'token-used-elsewhere'));

  it('is raised when another pod of the cluster presents the token, naming both', () => {
    const [found] = raised([from('10.244.2.9')]);
    expect(found).toHaveLength(1);
    expect(found![0]!.severity).toBe('high');
    expect(found![0]!.evidence).toContain(`the service-account token of pod ci/runner-6b8f9d-xk2lp (uid ${RUNNER_UID}), which the inventory places at 10.244.1.6 on node worker-1, was presented from 10.244.2.9 (pod default/web-1) with GET /api/v1/namespaces/ci/secrets`);
    expect(found![0]!.frame).toBe(4);
    // Another node of the cluster too.
    expect(raised([from('10.0.0.22')])[0]).toHaveLength(1);
  });

  it('is not raised from the pod itself or its node, from an address the inventory does not know, or for an earlier pod of the same name', () => {
    expect(raised([from('10.244.1.6'), from('10.0.0.21'), from('10.0.0.5'), from('10.244.2.9', runnerToken('11111111-2222-4333-8444-555555555555'))]).flat()).toEqual([]);
  });

  it('is not raised for the view a source NAT rewrote, whose original client is the pod', () => {
    const views = (link: string | null) => [
      from('10.244.1.6', runnerToken(), { id: 'pod-side', natLink: link }),
      { ...from('10.0.0.30', runnerToken(), { id: 'gateway-side', natLink: link }), client: { ip: '10.0.0.30', port: 45000 } },
    ];
    expect(raised(views('7a-8b@1')).flat()).toEqual([]);
    // Without the link the gateway's view alone is another node presenting the pod's token.
    expect(raised(views(null))[1]).toHaveLength(1);
  });
});

describe('a host-network pod’s token on a node’s address', () => {
  it('leaves the address a node for its other connections: what shows the kubelet prevails', () => {
    const cilium = signedJwt(boundTokenClaims({ namespace: 'kube-system', serviceAccount: 'cilium', pod: 'cilium-x7k2p', node: 'worker-1' }));
    const r = req('GET', '/api/v1/nodes');
    applyAuthorization(r, `Bearer ${cilium}`);
    const agent = flow('10.0.0.21:41000', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3', { decrypted: true }), http: [r] });
    // The kubelet seen by its user agent alone (a decrypted connection with no client certificate).
    const kubelet12 = flow('10.0.0.21:41001', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3', { decrypted: true }), http: [req('GET', '/api/v1/nodes/worker-1', { userAgent: 'kubelet/v1.31.0 (linux/amd64) kubernetes/9a9f1ec' })] });
    const kubelet13 = flow('10.0.0.21:41002', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3') });
    const [a, k12, k13] = analyse([agent, kubelet12, kubelet13], { inventory: { apiServers: ['10.0.0.10'] } });
    // The agent's own connection is a pod's, by its token; the node's other connection stays the node's.
    expect(a!.c.path).toBe('pod-to-apiserver');
    expect(k12!.c.path).toBe('node-to-apiserver');
    expect(k13!.c.path).toBe('node-to-apiserver');
  });
});

describe('a legacy service-account token (legacy-serviceaccount-token)', () => {
  it('is raised where a request is seen carrying one, not for a bound token nor for one the proxy relays', () => {
    const withToken = (token: string, over: Partial<HttpRequestRecord> = {}) => {
      const r = req('GET', '/api/v1/nodes', over);
      applyAuthorization(r, `Bearer ${token}`);
      return flow('10.244.2.8:40000', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3', { decrypted: true }), http: [r] });
    };
    const legacy = signedJwt(legacyTokenClaims('monitoring', 'metrics-scraper', 'metrics-scraper-token-7k2xq'));
    const bound = signedJwt(boundTokenClaims({ namespace: 'monitoring', serviceAccount: 'metrics-scraper', pod: 'metrics-scraper-0' }));
    const [l, b, relayed] = analyse([withToken(legacy), withToken(bound), withToken(legacy, { xForwardedFor: '10.0.0.99', xForwardedUri: '/api/v1/namespaces/x/services/y/proxy/' })], { inventory: { apiServers: ['10.0.0.10'] } });
    expect(relayed!.rules).not.toContain('legacy-serviceaccount-token');
    const found = l!.findings.filter((x) => x.rule === 'legacy-serviceaccount-token');
    expect(found).toHaveLength(1);
    expect(found[0]!.severity).toBe('low');
    expect(found[0]!.evidence).toContain('GET /api/v1/nodes at frame 4 carries the token of service account monitoring/metrics-scraper, from Secret metrics-scraper-token-7k2xq, legacy token without expiry (sha256:');
    expect(b!.rules).not.toContain('legacy-serviceaccount-token');
  });
});

describe('a rejected credential (credential-rejected)', () => {
  it('is raised once per connection whose credentialed requests were answered 401 or 403, never for anonymous ones or a success', () => {
    const withStatus = (port: number, statuses: number[], auth = true) =>
      flow(`10.244.2.11:${port}`, '10.0.0.10:6443', {
        app: 'tls', tls: tls('1.3', { decrypted: true }),
        http: statuses.map((status) => {
          const r = req('GET', '/api/v1/namespaces/kube-system/secrets', { status });
          if (auth) applyAuthorization(r, 'Bearer opaque-static-token-1');
          return r;
        }),
      });
    const [both, ok, anonymous] = analyse([withStatus(40000, [403, 200, 401]), withStatus(40001, [200, 404]), withStatus(40002, [401], false)], { inventory: { apiServers: ['10.0.0.10'] } });
    const found = both!.findings.filter((x) => x.rule === 'credential-rejected');
    expect(found).toHaveLength(1);
    expect(found[0]!.severity).toBe('low');
    expect(found[0]!.evidence).toMatch(/^10\.244\.2\.11:40000 → 10\.0\.0\.10:6443: 2 requests with a credential answered 403 and 401; first GET \/api\/v1\/namespaces\/kube-system\/secrets at frame 4 → 403 \(sha256:[0-9a-f]{16}\)$/);
    expect(ok!.rules).not.toContain('credential-rejected');
    expect(anonymous!.rules).not.toContain('credential-rejected');
  });

  it("reads etcd's refusals from the gRPC status of calls carrying a token: UNAUTHENTICATED and PERMISSION_DENIED, not other errors", () => {
    const etcd = (port: number, grpcStatus: number, grpcMessage: string | null) => {
      const r = req('POST', '/etcdserverpb.KV/Range', { status: 200, grpcMethod: 'etcdserverpb.KV/Range', grpcStatus, grpcMessage, contentType: 'application/grpc' });
      applyEtcdToken(r, 'qzEzPlRvYdBIzxzW.42');
      return flow(`10.0.0.10:${port}`, '10.0.0.11:2379', { app: 'http2', http: [r] });
    };
    const [expired, denied, notFound] = analyse([etcd(45000, 16, 'etcdserver: invalid auth token'), etcd(45001, 7, 'etcdserver: permission denied'), etcd(45002, 5, null)],
      { inventory: { apiServers: ['10.0.0.10'], etcdServers: ['10.0.0.11'] } });
    expect(expired!.c.path).toBe('apiserver-to-etcd');
    expect(expired!.findings.find((x) => x.rule === 'credential-rejected')!.evidence).toMatch(
      /^10\.0\.0\.10:45000 → 10\.0\.0\.11:2379: 1 request with a credential answered grpc-status 16 UNAUTHENTICATED; first POST \/etcdserverpb\.KV\/Range at frame 4 → grpc-status 16 UNAUTHENTICATED "etcdserver: invalid auth token" \(sha256:[0-9a-f]{16}/,
    );
    expect(denied!.findings.find((x) => x.rule === 'credential-rejected')!.evidence).toContain('grpc-status 7 PERMISSION_DENIED "etcdserver: permission denied"');
    expect(notFound!.rules).not.toContain('credential-rejected');
  });
});
