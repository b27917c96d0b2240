/**
 * A real kubectl against stand-in API servers on a lab network (netns-lab.ts). The servers are
 * node:http2 with just enough of the Kubernetes API for `kubectl get pods` (discovery, then the list);
 * what is under test is what kubectl, a real Go client, puts on the wire and what planewatch makes
 * of it:
 *
 * - `cp1`: an API server with TLS 1.3 (the default) on 6443 and the legacy insecure port 8080;
 * - `cp2`: an API server limited to TLS 1.2, so the client certificate crosses in the clear;
 * - `admin`: a person's workstation running kubectl with a bearer token (TLS 1.3 and plain HTTP)
 *   and with a client certificate (TLS 1.2).
 *
 * The servers write a key log, so the TLS connections can be decrypted.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issue, makeCa, type KeySpec } from './lab-pki';
import { NetnsLab } from './netns-lab';
import { waitForOutput, type RunResult } from './loopback-capture';
import { signedJwt } from '../dissectors/http/tokens';

export const KUBECTL_HOSTS = { admin: 50, cp1: 10, cp2: 11 } as const;
const SUBNET = '10.62.0';
export const kubectlAddress = (h: keyof typeof KUBECTL_HOSTS): string => `${SUBNET}.${KUBECTL_HOSTS[h]}`;

/**
 * The bearer token kubectl sends: a person's login as an OIDC identity provider issues it (a signed
 * JWT). A test checks it never appears in planewatch's output, and that whose it is does.
 */
/** The user the TLS 1.3 run acts as (`kubectl --as`). */
export const IMPERSONATED = 'jane@lab.example';

export const TOKEN = signedJwt({
  iss: 'https://dex.lab.example', sub: 'CiRhbGljZQ', aud: 'kubernetes', email: 'alice@lab.example',
  iat: 1_764_800_000, exp: 4_102_444_800,
});

export interface KubectlRecording {
  pcap: string;
  /** The same runs recorded as `tcpdump -i any` records them: each packet once per interface crossed. */
  anyPcap: string;
  keylog: string;
  caFile: string;
  runs: Record<string, RunResult>;
  tcpdumpReport: string;
}

/** kubeadm's keys are RSA 2048. */
const RSA: KeySpec = { rsa: 2048 };

/** kubeadm's layout: a cluster CA named "kubernetes", apiserver certificates naming the Service. */
function makePki(dir: string): void {
  makeCa(dir, '/CN=kubernetes', RSA);
  for (const h of ['cp1', 'cp2'] as const) {
    issue(dir, h, '/CN=kube-apiserver', `subjectAltName=DNS:${h},DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,` +
      `DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1,IP:${kubectlAddress(h)}\nextendedKeyUsage=serverAuth\n`, RSA);
  }
  issue(dir, 'admin', '/O=system:masters/CN=kubernetes-admin', 'extendedKeyUsage=clientAuth\n', RSA);
}

/** The stand-in API server: discovery and an empty pod list, JSON as the real one answers. */
const SERVER = `
import http from 'node:http';
import http2 from 'node:http2';
import { appendFileSync, readFileSync } from 'node:fs';
const [dir, name, address, maxVersion] = process.argv.slice(2);
const json = (res, status, body) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
function handle(req, res) {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/api') return json(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: address + ':6443' }] });
  if (path === '/apis') return json(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
  if (path === '/api/v1') return json(res, 200, { kind: 'APIResourceList', groupVersion: 'v1', resources: [
    { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list', 'watch'], shortNames: ['po'] }] });
  if (path === '/api/v1/namespaces/default/pods') return json(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] });
  json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
}
const tls = http2.createSecureServer({ key: readFileSync(dir + '/' + name + '.key'), cert: readFileSync(dir + '/' + name + '.crt'),
  ca: readFileSync(dir + '/ca.crt'), allowHTTP1: true, requestCert: true, rejectUnauthorized: false,
  ...(maxVersion ? { maxVersion } : {}) }, handle);
tls.on('keylog', (line) => appendFileSync(dir + '/server.keys', line));
const plain = http.createServer(handle);
tls.listen(6443, address, () => plain.listen(8080, address, () => console.log('serving')));
`;

/** Builds the lab, records kubectl's runs into `dir`/kubectl.pcap and tears everything down. */
export async function recordKubectl(dir: string): Promise<KubectlRecording> {
  mkdirSync(dir, { recursive: true });
  makePki(dir);
  const script = join(dir, 'apiserver.mjs');
  writeFileSync(script, SERVER);
  const pcap = join(dir, 'kubectl.pcap');
  const anyPcap = join(dir, 'kubectl-any.pcap');
  const runs: Record<string, RunResult> = {};
  const lab = NetnsLab.create('k', SUBNET, KUBECTL_HOSTS);
  try {
    const cap = await lab.capture(pcap);
    const anyCap = await lab.capture(anyPcap, { anyInterface: true });
    const servers = [
      lab.start('cp1', process.execPath, [script, dir, 'cp1', kubectlAddress('cp1')]),
      lab.start('cp2', process.execPath, [script, dir, 'cp2', kubectlAddress('cp2'), 'TLSv1.2']),
    ];
    await Promise.all(servers.map((s) => waitForOutput(s, 'serving', 10000)));
    // A fresh discovery cache for every run, so each one asks the server what it serves.
    const kubectl = (step: string, server: string, auth: string[]): Promise<RunResult> =>
      lab.run('admin', 'kubectl', ['--server', server, ...auth, '--cache-dir', join(dir, `cache-${step}`), 'get', 'pods', '--namespace', 'default'],
        { HOME: dir, KUBECONFIG: join(dir, 'no-kubeconfig') });
    const ca = join(dir, 'ca.crt');
    // Acting as another user (kubectl --as): the Impersonate-User header rides along.
    runs.tls13Token = await kubectl('tls13', `https://${kubectlAddress('cp1')}:6443`, ['--certificate-authority', ca, '--token', TOKEN, '--as', IMPERSONATED]);
    runs.tls12Cert = await kubectl('tls12', `https://${kubectlAddress('cp2')}:6443`,
      ['--certificate-authority', ca, '--client-certificate', join(dir, 'admin.crt'), '--client-key', join(dir, 'admin.key')]);
    runs.insecurePort = await kubectl('plain', `http://${kubectlAddress('cp1')}:8080`, ['--token', TOKEN]);
    const tcpdumpReport = (await cap.stop()) + (await anyCap.stop());
    return { pcap, anyPcap, keylog: join(dir, 'server.keys'), caFile: ca, runs, tcpdumpReport };
  } finally {
    await lab.destroy();
  }
}
