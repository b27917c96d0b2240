/**
 * Real etcd (Debian's etcd-server and etcd-client) recorded on a lab network (netns-lab.ts):
 *
 * - `cp1..cp3`: a three-member cluster with TLS on both ports and client certificates required, as
 *   kubeadm sets etcd up (certificates from an etcd CA, the API server's client certificate
 *   CN=kube-apiserver-etcd-client);
 * - `p1, p2`: a two-member cluster without TLS at all, on ports of its own (12379 for clients, 12380
 *   for peers), so that only what it says on the wire can tell it is etcd;
 * - `n1`: one member with TLS that asks for no client certificate;
 * - `api`: the API server's host, running the clients: etcdctl (gRPC over HTTP/2, TLS 1.3 from Go),
 *   curl to etcd's JSON gateway over TLS 1.2 writing a key log, and openssl s_client over TLS 1.2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { issue, makeCa, type KeySpec } from './lab-pki';
import { NetnsLab } from './netns-lab';
import type { RunResult } from './loopback-capture';

export const ETCD_HOSTS = { api: 10, cp1: 11, cp2: 12, cp3: 13, p1: 21, p2: 22, n1: 23 } as const;
const SUBNET = '10.61.0';
export const addressOf = (h: keyof typeof ETCD_HOSTS): string => `${SUBNET}.${ETCD_HOSTS[h]}`;

/** The key the clients write and read back, as Kubernetes names a Pod in etcd. */
export const POD_KEY = '/registry/pods/default/web-1';

/** Client and peer ports of the cluster without TLS. */
export const PLAIN_PORTS = { client: 12379, peer: 12380 } as const;

export interface EtcdRecording {
  pcap: string;
  /** The database `planewatch live` wrote while watching the lab's bridge, when asked for. */
  liveDb: string | null;
  /** Exit code and output of that `planewatch live`, and when it was told to stop (epoch seconds). */
  live: { code: number | null; output: string; stoppedAt: number } | null;
  keylog: string;
  caFile: string;
  /** What each client printed, by step name, for messages when a tool misbehaved. */
  runs: Record<string, RunResult>;
  tcpdumpReport: string;
}

/** etcd's certificates as kubeadm makes them: EC P-256. */
const EC: KeySpec = { ec: 'P-256' };

function makePki(dir: string): void {
  makeCa(dir, '/CN=etcd-ca', EC);
  for (const h of ['cp1', 'cp2', 'cp3', 'n1'] as const) {
    // kubeadm's etcd server/peer certificates: CN = the node name, SANs = its names and addresses.
    issue(dir, h, `/CN=${h}`, `subjectAltName=DNS:${h},DNS:localhost,IP:${addressOf(h)},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n`, EC);
  }
  issue(dir, 'apiserver-etcd-client', '/O=system:masters/CN=kube-apiserver-etcd-client', 'extendedKeyUsage=clientAuth\n', EC);
}

function memberArgs(dir: string, name: string, scheme: 'http' | 'https', cluster: string, ports = { client: 2379, peer: 2380 }): string[] {
  const a = addressOf(name as keyof typeof ETCD_HOSTS);
  return ['--name', name, '--data-dir', join(dir, `data-${name}`),
    '--listen-client-urls', `${scheme}://${a}:${ports.client}`, '--advertise-client-urls', `${scheme}://${a}:${ports.client}`,
    '--listen-peer-urls', `${scheme}://${a}:${ports.peer}`, '--initial-advertise-peer-urls', `${scheme}://${a}:${ports.peer}`,
    '--initial-cluster', cluster, '--initial-cluster-state', 'new', '--log-level', 'warn'];
}

function tlsArgs(dir: string, name: string, clientAuth: boolean): string[] {
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const ca = join(dir, 'ca.crt');
  // A trusted CA for clients makes etcd require their certificates, whatever --client-cert-auth says.
  return ['--cert-file', crt, '--key-file', key, ...(clientAuth ? ['--trusted-ca-file', ca, '--client-cert-auth'] : []),
    '--peer-cert-file', crt, '--peer-key-file', key, '--peer-trusted-ca-file', ca, '--peer-client-cert-auth'];
}

/** Retries `step` until it exits 0 or `ms` pass; the last result either way. */
async function until(step: () => Promise<RunResult>, ms: number): Promise<RunResult> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await step();
    if (r.code === 0 || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
}

const CLI = join(import.meta.dirname, '../../bin/planewatch.js');

/** `planewatch live` on the bridge, with the key log curl is going to write; resolves once it captures. */
async function startLive(iface: string, db: string, keylog: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [CLI, 'live', '-i', iface, '--bpf', 'tcp', '--db', db, '--keylog', keylog], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const deadline = Date.now() + 10000;
  while (!existsSync(db)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`planewatch live did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // tcpdump reports that it listens a moment before its first packet can be taken.
  await new Promise((r) => setTimeout(r, 1500));
  return { child, output: () => out };
}

async function stopLive(live: { child: ChildProcess; output: () => string }): Promise<{ code: number | null; output: string; stoppedAt: number }> {
  const exited = new Promise<number | null>((r) => live.child.once('exit', (code) => r(code)));
  const stoppedAt = Date.now() / 1000;
  live.child.kill('SIGINT');
  const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 15000))]);
  return { code, output: live.output(), stoppedAt };
}

/**
 * Builds the lab, records the scenario into `dir`/etcd.pcap and tears everything down again. With
 * `live`, `planewatch live` watches the same bridge meanwhile, into `dir`/live.db.
 */
export async function recordEtcd(dir: string, opts: { live?: boolean } = {}): Promise<EtcdRecording> {
  mkdirSync(dir, { recursive: true });
  makePki(dir);
  const pcap = join(dir, 'etcd.pcap');
  const keylog = join(dir, 'curl.keys');
  const runs: Record<string, RunResult> = {};
  const lab = NetnsLab.create('e', SUBNET, ETCD_HOSTS);
  try {
    const cap = await lab.capture(pcap);
    const liveDb = opts.live ? join(dir, 'live.db') : null;
    const live = liveDb !== null ? await startLive(lab.interfaceName, liveDb, keylog) : null;
    const tlsCluster = (['cp1', 'cp2', 'cp3'] as const).map((h) => `${h}=https://${addressOf(h)}:2380`).join(',');
    for (const h of ['cp1', 'cp2', 'cp3'] as const) lab.start(h, 'etcd', [...memberArgs(dir, h, 'https', tlsCluster), ...tlsArgs(dir, h, true)]);
    const plainCluster = (['p1', 'p2'] as const).map((h) => `${h}=http://${addressOf(h)}:${PLAIN_PORTS.peer}`).join(',');
    for (const h of ['p1', 'p2'] as const) lab.start(h, 'etcd', memberArgs(dir, h, 'http', plainCluster, PLAIN_PORTS));
    lab.start('n1', 'etcd', [...memberArgs(dir, 'n1', 'https', `n1=https://${addressOf('n1')}:2380`), ...tlsArgs(dir, 'n1', false)]);

    const ca = join(dir, 'ca.crt');
    const clientTls = ['--cacert', ca, '--cert', join(dir, 'apiserver-etcd-client.crt'), '--key', join(dir, 'apiserver-etcd-client.key')];
    const tlsEndpoints = ['--endpoints', (['cp1', 'cp2', 'cp3'] as const).map((h) => `https://${addressOf(h)}:2379`).join(',')];
    const etcdctl = (args: string[]): Promise<RunResult> => lab.run('api', 'etcdctl', args, { ETCDCTL_API: '3' });

    // Each cluster answers once it has a leader.
    runs.tlsReady = await until(() => etcdctl([...clientTls, ...tlsEndpoints, 'endpoint', 'health']), 20000);
    runs.plainReady = await until(() => etcdctl(['--endpoints', `http://${addressOf('p1')}:${PLAIN_PORTS.client}`, 'endpoint', 'health']), 20000);
    runs.noAuthReady = await until(() => etcdctl(['--cacert', ca, '--endpoints', `https://${addressOf('n1')}:2379`, 'endpoint', 'health']), 20000);

    runs.put = await etcdctl([...clientTls, ...tlsEndpoints, 'put', POD_KEY, '{"kind":"Pod"}']);
    runs.get = await etcdctl([...clientTls, ...tlsEndpoints, 'get', '/registry/pods', '--prefix']);
    runs.health = await etcdctl([...clientTls, ...tlsEndpoints, 'endpoint', 'health', '--cluster']);
    runs.plainPut = await etcdctl(['--endpoints', `http://${addressOf('p1')}:${PLAIN_PORTS.client}`, 'put', '/registry/secrets/kube-system/token', '{"kind":"Secret"}']);
    runs.plainGet = await etcdctl(['--endpoints', `http://${addressOf('p2')}:${PLAIN_PORTS.client}`, 'get', '/registry/secrets', '--prefix']);
    // etcd's JSON gateway over TLS 1.2 and over TLS 1.3, with the API server's client certificate and
    // a key log that curl writes as it goes (after the ServerHello it receives).
    const gateway = (tls: string[]): Promise<RunResult> => lab.run('api', 'curl', ['-sS', ...tls, '--cacert', ca,
      '--cert', join(dir, 'apiserver-etcd-client.crt'), '--key', join(dir, 'apiserver-etcd-client.key'),
      '-X', 'POST', '-d', JSON.stringify({ key: Buffer.from(POD_KEY).toString('base64') }), `https://${addressOf('cp1')}:2379/v3/kv/range`],
      { SSLKEYLOGFILE: keylog });
    runs.gateway = await gateway(['--tlsv1.2', '--tls-max', '1.2']);
    runs.gateway13 = await gateway(['--tlsv1.3']);
    // TLS 1.2 to the member that asks for no client certificate: the handshake says so in the clear.
    runs.noAuth = await lab.run('api', 'openssl', ['s_client', '-connect', `${addressOf('n1')}:2379`, '-tls1_2', '-CAfile', ca]);
    // Heartbeats between members carry on meanwhile; let a few more pass.
    await new Promise((r) => setTimeout(r, 500));
    // Both recorders stop together, so they have seen the same connections.
    const [liveResult, tcpdumpReport] = await Promise.all([live !== null ? stopLive(live) : Promise.resolve(null), cap.stop()]);
    return { pcap, liveDb, live: liveResult, keylog, caFile: ca, runs, tcpdumpReport };
  } finally {
    await lab.destroy();
  }
}
