/**
 * The scenario list: one small capture per control-plane path and per risk. Each scenario drives real
 * stacks and states, connection by connection, what planewatch must conclude (DESIGN.md §3).
 */
import { sign } from 'node:crypto';
import { CLUSTER, apiserverUA, componentUA, kubeletUA } from './cluster.js';
import { uidOf } from './inventory.js';
import type { ScenarioContext } from './scenario.js';
import { tlsTruth } from './scenario.js';
import { http1Exchange, http2Exchange, sshTunnel, tlsClose, tlsHandshake, type HttpCall, type TlsSetup } from './stacks.js';
import type { TruthHttp } from './truth.js';
import { grpcFrame, rangeRequest, rangeResponse, konnectivityDial, dnsQuery, dnsResponse } from './payloads.js';

export interface Scenario {
  name: string;
  sentence: string;
  run(ctx: ScenarioContext): Promise<void>;
}

const CP = CLUSTER.cp.ip;
const W1 = CLUSTER.workers[0]!.ip;
const W2 = CLUSTER.workers[1]!.ip;
const W3 = CLUSTER.workers[2]!.ip;
const API = `${CP}:6443`;

const toTruth = (calls: HttpCall[], host: string | null): TruthHttp[] =>
  calls.map((c) => ({ method: c.method, path: c.path, host: c.headers['Host'] ?? host, status: c.upgrade ? 101 : (c.status ?? 200) }));

const json = (o: unknown) => JSON.stringify(o);

/** What the API server sends to a kubelet for each operation (`kubectl logs/exec/attach/port-forward`). */
function kubeletCall(op: 'logs' | 'exec' | 'attach' | 'portforward' | 'run', pod = 'web-0', host = `${CLUSTER.workers[0]!.ip}:10250`, container = 'web'): HttpCall {
  const base = { Host: host, 'User-Agent': apiserverUA, 'Accept-Encoding': 'gzip' };
  const spdy = { ...base, Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io', 'Content-Length': '0' };
  switch (op) {
    case 'logs':
      return { method: 'GET', path: `/containerLogs/default/${pod}/${container}?follow=true`, headers: base,
        responseHeaders: { 'Content-Type': 'text/plain' },
        responseBody: '2026-03-02T09:59:58.123Z GET /healthz 200\n2026-03-02T09:59:59.456Z GET / 200\n' };
    case 'exec':
      return { method: 'POST', path: `/exec/default/${pod}/${container}?command=sh&input=1&output=1&tty=1`, headers: spdy, upgrade: 'SPDY/3.1' };
    case 'attach':
      return { method: 'POST', path: `/attach/default/${pod}/${container}?input=1&output=1&tty=1`, headers: spdy, upgrade: 'SPDY/3.1' };
    case 'portforward':
      return { method: 'POST', path: `/portForward/default/${pod}`, headers: { ...spdy, 'X-Stream-Protocol-Version': 'portforward.k8s.io' }, upgrade: 'SPDY/3.1' };
    case 'run':
      return { method: 'POST', path: `/run/default/${pod}/${container}?cmd=ls`, headers: { ...base, 'Content-Length': '0' },
        responseHeaders: { 'Content-Type': 'text/plain' }, responseBody: 'bin\netc\nusr\n' };
  }
}

/** API server → kubelet over TLS, one connection per operation. */
async function kubeletSession(ctx: ScenarioContext, node: string, setup: TlsSetup, op: Parameters<typeof kubeletCall>[0], findings: string[], pod = 'web-0') {
  const call = kubeletCall(op, pod, `${node}:10250`);
  const ends = await ctx.tcp(CP, `${node}:10250`, async (wire) => {
    const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
    await http1Exchange(wire, ctx.cap, pair.client, pair.server, [call]);
    await tlsClose(wire, pair);
  });
  ctx.truth.push({
    ...ends, transport: 'tcp', app: 'tls', path: 'apiserver-to-kubelet', pathDetail: { operation: 'unknown' },
    findings: findings as never, tls: tlsTruth(ctx.pki, setup), http: [], ssh: null,
    actualOperation: op, actualHttp: toTruth([call], null),
  });
}

const kubeletTls = (serverCert: string, version: '1.2' | '1.3' = '1.2', leafOnly = false): TlsSetup => ({
  version, serverCert, leafOnly, clientCert: 'apiserver-kubelet-client', requestCert: true, alpn: ['http/1.1'],
});

export const SCENARIOS: Scenario[] = [
  {
    name: 'node-to-apiserver',
    sentence: 'Kubelets on worker-1 (TLS 1.2, node client certificate, HTTP/2) and worker-2 (TLS 1.3) talk to the API server: node status, lease renewal, watches.',
    async run(ctx) {
      const s1: TlsSetup = { version: '1.2', serverCert: 'apiserver', clientCert: 'node-worker-1', requestCert: true, alpn: ['h2', 'http/1.1'] };
      const calls = [
        { m: 'GET', p: '/api/v1/nodes/worker-1?timeout=10s', body: json({ kind: 'Node', apiVersion: 'v1', metadata: { name: 'worker-1' } }) },
        { m: 'PUT', p: '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-1?timeout=10s', body: json({ kind: 'Lease', metadata: { name: 'worker-1' } }) },
        { m: 'GET', p: '/api/v1/pods?fieldSelector=spec.nodeName%3Dworker-1&resourceVersion=1204&timeoutSeconds=425&watch=true', body: json({ type: 'ADDED', object: { kind: 'Pod', metadata: { name: 'web-0' } } }) },
      ];
      for (const [node, setup] of [['worker-1', s1], ['worker-2', { ...s1, version: '1.3', clientCert: 'node-worker-2' } as TlsSetup]] as const) {
        const ip = node === 'worker-1' ? W1 : W2;
        const ends = await ctx.tcp(ip, API, async (wire) => {
          const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
          await http2Exchange(wire, `https://${API}`, pair.client, pair.server, calls.map((c) => ({
            headers: { ':method': c.m, ':path': c.p.replace(/worker-1/g, node), 'user-agent': kubeletUA, accept: 'application/vnd.kubernetes.protobuf,application/json' },
            body: c.m === 'PUT' ? Buffer.from(json({ spec: { holderIdentity: node, renewTime: '2026-03-02T10:00:00.000000Z' } })) : undefined,
            responseHeaders: { ':status': '200', 'content-type': 'application/json', 'audit-id': '8a7cbb94-1d4e-4c2e-9e41-0d2a3b6a1f11' },
            responseBody: Buffer.from(c.body.replace(/worker-1/g, node)),
          })));
          await tlsClose(wire, pair);
        });
        ctx.truth.push({
          ...ends, transport: 'tcp', app: 'tls', path: 'node-to-apiserver', pathDetail: {}, findings: [],
          tls: tlsTruth(ctx.pki, setup), http: [], ssh: null,
          actualHttp: calls.map((c) => ({ method: c.m, path: c.p.replace(/worker-1/g, node), host: API, status: 200 })),
        });
      }
    },
  },
  {
    name: 'pod-to-apiserver',
    sentence: 'A pod on worker-1 calls the API server through the kubernetes Service address 10.96.0.1:443 over TLS 1.3 with its service-account bearer token.',
    async run(ctx) {
      const setup: TlsSetup = { version: '1.3', sni: 'kubernetes.default.svc', serverCert: 'apiserver', alpn: ['http/1.1'] };
      const calls: HttpCall[] = [{ method: 'GET', path: '/api/v1/namespaces/default/pods?limit=500', headers: {
        Host: 'kubernetes.default.svc', 'User-Agent': 'kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46',
        Authorization: 'Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InNhLWtleSJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2lnbmF0dXJl',
        Accept: 'application/json' }, responseBody: json({ kind: 'PodList', items: [] }) }];
      const ends = await ctx.tcp('10.244.1.5', `${CLUSTER.apiServerVip}:443`, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, calls);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'tls', path: 'pod-to-apiserver', pathDetail: {}, findings: [],
        tls: tlsTruth(ctx.pki, setup), http: [], ssh: null, actualHttp: toTruth(calls, null) });
    },
  },
  {
    name: 'controlplane-to-apiserver',
    sentence: 'kube-scheduler and kube-controller-manager on cp-1 open watches on the API server with their client certificates (TLS 1.2).',
    async run(ctx) {
      for (const comp of ['scheduler', 'controller-manager'] as const) {
        const setup: TlsSetup = { version: '1.2', serverCert: 'apiserver', clientCert: comp, requestCert: true, alpn: ['http/1.1'] };
        const ua = componentUA(comp === 'scheduler' ? 'kube-scheduler' : 'kube-controller-manager');
        const calls: HttpCall[] = [
          { method: 'GET', path: '/api/v1/pods?fieldSelector=status.phase%21%3DSucceeded&limit=500&resourceVersion=0', headers: { Host: API, 'User-Agent': ua }, responseBody: json({ kind: 'PodList', items: [] }) },
          { method: 'PUT', path: `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-${comp}?timeout=5s`, headers: { Host: API, 'User-Agent': ua, 'Content-Type': 'application/json' }, body: json({ spec: { holderIdentity: `cp-1_${comp}` } }), responseBody: '{}' },
        ];
        const ends = await ctx.tcp(CP, API, async (wire) => {
          const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
          await http1Exchange(wire, ctx.cap, pair.client, pair.server, calls);
          await tlsClose(wire, pair);
        });
        ctx.truth.push({ ...ends, transport: 'tcp', app: 'tls', path: 'controlplane-to-apiserver', pathDetail: {}, findings: [],
          tls: tlsTruth(ctx.pki, setup), http: [], ssh: null, actualHttp: toTruth(calls, null) });
      }
    },
  },
  {
    name: 'kubelet-logs-exec-self-signed',
    sentence: 'The API server runs kubectl logs, exec, attach and port-forward against worker-1, whose kubelet serves its own self-signed worker-1@1756684800 certificate (TLS 1.2).',
    async run(ctx) {
      for (const op of ['logs', 'exec', 'attach', 'portforward'] as const) {
        await kubeletSession(ctx, W1, kubeletTls('kubelet-worker-1', '1.2', true), op, ['kubelet-tls-unverified']);
      }
    },
  },
  {
    name: 'kubelet-exec-ca-signed',
    sentence: 'The API server execs into and runs a command in a pod on worker-2, whose kubelet serves a valid cluster-CA-signed ECDSA certificate naming the node (TLS 1.2).',
    async run(ctx) {
      await kubeletSession(ctx, W2, kubeletTls('kubelet-worker-2'), 'exec', [], 'web-1');
      await kubeletSession(ctx, W2, kubeletTls('kubelet-worker-2'), 'run', [], 'web-1');
    },
  },
  {
    name: 'kubelet-logs-tls13',
    sentence: 'The API server fetches logs from worker-3 over TLS 1.3: the kubelet certificate is encrypted, so without keys its validity cannot be told.',
    async run(ctx) {
      await kubeletSession(ctx, W3, kubeletTls('kubelet-worker-3', '1.3'), 'logs', ['kubelet-tls-indeterminate'], 'db-0');
    },
  },
  {
    name: 'kubelet-readonly-port',
    sentence: 'A metrics scraper pod reads /pods and /stats/summary from the kubelet read-only port 10255 on worker-1 in plain HTTP, without credentials.',
    async run(ctx) {
      const ua = 'metrics-scraper/v1.0.8';
      const calls: HttpCall[] = [
        { method: 'GET', path: '/pods', headers: { Host: `${W1}:10255`, 'User-Agent': ua, Accept: 'application/json' }, responseBody: json({ kind: 'PodList', items: [{ metadata: { name: 'web-0' } }] }) },
        { method: 'GET', path: '/stats/summary', headers: { Host: `${W1}:10255`, 'User-Agent': ua, Accept: 'application/json' }, responseBody: json({ node: { nodeName: 'worker-1', cpu: { usageNanoCores: 123456789 } } }) },
      ];
      const ends = await ctx.tcp('10.244.2.8', `${W1}:10255`, async (wire) => {
        await http1Exchange(wire, ctx.cap, wire.client, wire.server, calls);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'http', path: 'apiserver-to-kubelet', pathDetail: { operation: 'other' },
        findings: ['kubelet-readonly-port', 'kubelet-direct-access', 'anonymous-request'], tls: null, http: toTruth(calls, null), ssh: null });
    },
  },
  {
    name: 'kubelet-direct-access',
    sentence: 'A pod on worker-3 talks straight to the kubelet API of worker-2 (10250, TLS 1.2) with a bearer token, bypassing the API server.',
    async run(ctx) {
      const setup: TlsSetup = { version: '1.2', serverCert: 'kubelet-worker-2', alpn: ['http/1.1'] };
      const calls: HttpCall[] = [{ method: 'GET', path: '/runningpods/', headers: { Host: `${W2}:10250`, 'User-Agent': 'curl/8.5.0', Authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpkZWJ1ZyJ9.c2ln' }, responseBody: json({ kind: 'PodList', items: [] }) }];
      const ends = await ctx.tcp('10.244.3.4', `${W2}:10250`, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, calls);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'tls', path: 'apiserver-to-kubelet', pathDetail: { operation: 'unknown' },
        findings: ['kubelet-direct-access'], tls: tlsTruth(ctx.pki, setup), http: [], ssh: null, actualOperation: 'other', actualHttp: toTruth(calls, null) });
    },
  },
  {
    name: 'apiserver-proxy-http',
    sentence: 'kubectl proxies through the API server to a pod (web-0:8080) and to a node port (worker-1:9100); the API server forwards in plain HTTP with X-Forwarded-* headers.',
    async run(ctx) {
      const targets = [
        { ip: '10.244.1.7', port: 8080, uri: '/api/v1/namespaces/default/pods/web-0:8080/proxy/', path: '/', target: 'pod' },
        { ip: W1, port: 9100, uri: '/api/v1/nodes/worker-1:9100/proxy/metrics', path: '/metrics', target: 'node' },
      ];
      for (const t of targets) {
        const calls: HttpCall[] = [{ method: 'GET', path: t.path, headers: {
          Host: `${t.ip}:${t.port}`, 'User-Agent': 'kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46', Accept: '*/*',
          'X-Forwarded-For': '192.168.10.15', 'X-Forwarded-Host': 'cp-1:6443', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Uri': t.uri,
          'Accept-Encoding': 'gzip' }, responseHeaders: { 'Content-Type': 'text/plain; charset=utf-8' }, responseBody: t.target === 'pod' ? 'hello from web-0\n' : 'node_load1 0.42\n' }];
        const ends = await ctx.tcp(CP, `${t.ip}:${t.port}`, async (wire) => {
          await http1Exchange(wire, ctx.cap, wire.client, wire.server, calls);
        });
        ctx.truth.push({ ...ends, transport: 'tcp', app: 'http', path: 'apiserver-proxy', pathDetail: { target: t.target, scheme: 'http' },
          findings: ['plaintext-proxy'], tls: null, http: toTruth(calls, null), ssh: null });
      }
    },
  },
  {
    name: 'apiserver-proxy-https-service',
    sentence: 'The API server proxies to the kubernetes-dashboard Service address over HTTPS (TLS 1.2) without verifying its self-signed certificate.',
    async run(ctx) {
      const setup: TlsSetup = { version: '1.2', serverCert: 'dashboard', alpn: ['http/1.1'] };
      const calls: HttpCall[] = [{ method: 'GET', path: '/', headers: { Host: '10.96.120.15:443', 'User-Agent': 'Mozilla/5.0', 'X-Forwarded-For': '192.168.10.15',
        'X-Forwarded-Uri': '/api/v1/namespaces/kubernetes-dashboard/services/https:kubernetes-dashboard:/proxy/' }, responseHeaders: { 'Content-Type': 'text/html' }, responseBody: '<!doctype html><title>Kubernetes Dashboard</title>' }];
      const ends = await ctx.tcp(CP, '10.96.120.15:443', async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, calls);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'tls', path: 'apiserver-proxy', pathDetail: { target: 'service', scheme: 'https' },
        findings: ['proxy-tls-unverified'], tls: tlsTruth(ctx.pki, setup), http: [], ssh: null, actualHttp: toTruth(calls, null) });
    },
  },
  {
    name: 'ssh-tunnel',
    sentence: 'The API server reaches worker-1 through the deprecated SSH tunnel (port 22) and sends a kubelet log request through a direct-tcpip channel.',
    async run(ctx) {
      const call = kubeletCall('logs', 'web-0', '127.0.0.1:10250');
      let banners = { clientBanner: '', serverBanner: '' };
      const ends = await ctx.tcp(CP, `${W1}:22`, async (wire) => {
        await sshTunnel(wire, ctx.cap, ctx.ssh, { host: '127.0.0.1', port: 10250 }, call);
      });
      banners = sshBanners(ctx);
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'ssh', path: 'ssh-tunnel', pathDetail: {}, findings: ['ssh-tunnel-deprecated'],
        tls: null, http: [], ssh: banners, actualHttp: toTruth([call], '127.0.0.1:10250') });
    },
  },
  {
    name: 'konnectivity',
    sentence: 'The Konnectivity agent on worker-1 connects to the Konnectivity server on cp-1:8132 with gRPC AgentService/Connect over h2 on TLS 1.2.',
    async run(ctx) {
      const setup: TlsSetup = { version: '1.2', sni: 'cp-1', serverCert: 'konnectivity-server', clientCert: 'konnectivity-agent', requestCert: true, alpn: ['h2'] };
      const ends = await ctx.tcp(W1, `${CP}:8132`, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http2Exchange(wire, 'https://cp-1:8132', pair.client, pair.server, [{
          headers: { ':method': 'POST', ':path': '/agent.AgentService/Connect', 'content-type': 'application/grpc', te: 'trailers',
            'user-agent': 'grpc-go/1.65.0', agentid: 'worker-1', agentidentifiers: 'ipv4=10.0.0.21&host=worker-1' },
          body: grpcFrame(konnectivityDial(1)),
          responseHeaders: { ':status': '200', 'content-type': 'application/grpc', serverid: 'cp-1-konnectivity', serverCount: '1' },
          responseBody: grpcFrame(konnectivityDial(2)), trailers: { 'grpc-status': '0' },
        }]);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'tls', path: 'konnectivity', pathDetail: {}, findings: [],
        tls: tlsTruth(ctx.pki, setup), http: [], ssh: null, actualHttp: [{ method: 'POST', path: '/agent.AgentService/Connect', host: 'cp-1:8132', status: 200 }] });
    },
  },
  {
    name: 'apiserver-to-etcd',
    sentence: 'The API server reads from etcd on cp-1:2379 with gRPC KV/Range over h2 and TLS 1.2, authenticated by the ECDSA kube-apiserver-etcd-client certificate.',
    async run(ctx) {
      const setup: TlsSetup = { version: '1.2', serverCert: 'etcd-server-cp-1', clientCert: 'apiserver-etcd-client', requestCert: true, alpn: ['h2'] };
      const ends = await ctx.tcp(CP, `${CP}:2379`, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http2Exchange(wire, 'https://127.0.0.1:2379', pair.client, pair.server, [etcdRange()]);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'tls', path: 'apiserver-to-etcd', pathDetail: {}, findings: [],
        tls: tlsTruth(ctx.pki, setup), http: [], ssh: null, actualHttp: [{ method: 'POST', path: '/etcdserverpb.KV/Range', host: '127.0.0.1:2379', status: 200 }] });
    },
  },
  {
    name: 'etcd-plaintext',
    sentence: 'The API server talks to etcd-2 (10.0.0.11:2379) over plaintext h2c: gRPC KV/Range with no TLS at all.',
    async run(ctx) {
      const ends = await ctx.tcp(CP, '10.0.0.11:2379', async (wire) => {
        await http2Exchange(wire, 'http://10.0.0.11:2379', wire.client, wire.server, [etcdRange('10.0.0.11:2379')]);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'http2', path: 'apiserver-to-etcd', pathDetail: {}, findings: ['etcd-plaintext'],
        tls: null, http: [{ method: 'POST', path: '/etcdserverpb.KV/Range', host: '10.0.0.11:2379', status: 200 }], ssh: null });
    },
  },
  {
    name: 'etcd-no-client-auth',
    sentence: 'The API server connects to etcd-3 (10.0.0.12:2379) over TLS 1.2, but etcd never asks for a client certificate.',
    async run(ctx) {
      const setup: TlsSetup = { version: '1.2', serverCert: 'etcd-server-etcd-3', requestCert: false, alpn: ['h2'] };
      const ends = await ctx.tcp(CP, '10.0.0.12:2379', async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http2Exchange(wire, 'https://10.0.0.12:2379', pair.client, pair.server, [etcdRange('10.0.0.12:2379')]);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'tls', path: 'apiserver-to-etcd', pathDetail: {}, findings: ['etcd-no-client-auth'],
        tls: tlsTruth(ctx.pki, setup), http: [], ssh: null, actualHttp: [{ method: 'POST', path: '/etcdserverpb.KV/Range', host: '10.0.0.12:2379', status: 200 }] });
    },
  },
  {
    name: 'etcd-peer',
    sentence: 'etcd-2 opens the raft message stream to etcd-3 on the peer port 2380 (mutual TLS 1.2, ECDSA peer certificates).',
    async run(ctx) {
      const setup: TlsSetup = { version: '1.2', serverCert: 'etcd-peer-etcd-3', clientCert: 'etcd-peer-etcd-2', requestCert: true, alpn: ['http/1.1'] };
      const calls: HttpCall[] = [{ method: 'GET', path: '/raft/stream/msgappv2/6e3bd23ae5f1eae0', headers: { Host: '10.0.0.12:2380', 'User-Agent': 'etcdserver/3.5.15 (linux/amd64)', 'X-Server-From': '8211f1d0f64f3269', 'X-Raft-To': '6e3bd23ae5f1eae0', 'X-Etcd-Cluster-ID': 'cdf818194e3a8c32' }, responseHeaders: { 'Content-Type': 'application/octet-stream' }, responseBody: 'raft' }];
      const ends = await ctx.tcp('10.0.0.11', '10.0.0.12:2380', async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, calls);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'tls', path: 'etcd-peer', pathDetail: {}, findings: [],
        tls: tlsTruth(ctx.pki, setup), http: [], ssh: null, actualHttp: toTruth(calls, null) });
    },
  },
  {
    name: 'apiserver-insecure-port',
    sentence: 'kube-controller-manager on cp-1 still uses the legacy insecure port 8080: plain HTTP list requests with no credentials.',
    async run(ctx) {
      const ua = componentUA('kube-controller-manager');
      const calls: HttpCall[] = [
        { method: 'GET', path: '/api/v1/pods', headers: { Host: `${CP}:8080`, 'User-Agent': ua, Accept: 'application/json' }, responseBody: json({ kind: 'PodList', apiVersion: 'v1', items: [] }) },
        { method: 'GET', path: '/api/v1/namespaces/kube-system/secrets?limit=500', headers: { Host: `${CP}:8080`, 'User-Agent': ua, Accept: 'application/json' }, responseBody: json({ kind: 'SecretList', apiVersion: 'v1', items: [] }) },
      ];
      const ends = await ctx.tcp(CP, `${CP}:8080`, async (wire) => {
        await http1Exchange(wire, ctx.cap, wire.client, wire.server, calls);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'http', path: 'controlplane-to-apiserver', pathDetail: {},
        findings: ['apiserver-insecure-port', 'anonymous-request'], tls: null, http: toTruth(calls, null), ssh: null });
    },
  },
  {
    name: 'bearer-token-cleartext',
    sentence: 'A CI pod sends its service-account bearer token to the API server in plain HTTP (insecure port 8080).',
    async run(ctx) {
      const calls: HttpCall[] = [{ method: 'GET', path: '/api/v1/namespaces/default/secrets', headers: { Host: `${CP}:8080`, 'User-Agent': 'kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46',
        Authorization: 'Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImNpIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2k6cnVubmVyIn0.dG9rZW4', Accept: 'application/json' },
        responseBody: json({ kind: 'SecretList', items: [] }) }];
      const ends = await ctx.tcp('10.244.1.6', `${CP}:8080`, async (wire) => {
        await http1Exchange(wire, ctx.cap, wire.client, wire.server, calls);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'http', path: 'pod-to-apiserver', pathDetail: {},
        findings: ['bearer-token-cleartext', 'apiserver-insecure-port'], tls: null, http: toTruth(calls, null), ssh: null });
    },
  },
  {
    name: 'tls-handshake-failure',
    sentence: 'The kubelet on worker-3, bootstrapped with the wrong CA, rejects the API server certificate: TLS 1.2 fatal alert unknown_ca.',
    async run(ctx) {
      const setup: TlsSetup = { version: '1.2', serverCert: 'apiserver', clientCert: 'node-worker-3', requestCert: true, alpn: ['h2', 'http/1.1'] };
      const ends = await ctx.tcp(W3, API, async (wire) => {
        // A verifying client answers the server's flight with a fatal unknown_ca alert (RFC 5246 §7.2.2)
        // instead of its own flight; node:tls only checks after the handshake, so the alert is put here.
        wire.clientFilter = (chunk, index) => (index === 0 ? chunk : index === 1 ? Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x30]) : null);
        await tlsHandshake(wire, ctx.cap, ctx.pki, setup, true);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'tls', path: 'node-to-apiserver', pathDetail: {}, findings: ['tls-handshake-failure'],
        tls: { ...tlsTruth(ctx.pki, setup, { alert: 'unknown_ca' }), clientSubject: null }, http: [], ssh: null });
    },
  },
  {
    name: 'kubelet-cert-changed',
    sentence: 'worker-3 serves a self-signed kubelet certificate, then (after switching to serverTLSBootstrap) a CA-signed one: the same endpoint presents two certificates.',
    async run(ctx) {
      await kubeletSession(ctx, W3, kubeletTls('kubelet-worker-3'), 'logs', ['kubelet-tls-unverified', 'cert-changed'], 'db-0');
      await kubeletSession(ctx, W3, kubeletTls('kubelet-worker-3-rotated'), 'logs', ['cert-changed'], 'db-0');
    },
  },
  {
    name: 'weak-tls',
    sentence: 'An old client on worker-2 reaches the API server over TLS 1.0, and the API server proxies to a legacy pod serving an RSA-1024/SHA-1 certificate.',
    async run(ctx) {
      const s1: TlsSetup = { version: '1.0', serverCert: 'apiserver', clientCert: 'node-worker-2', requestCert: true, legacy: true, alpn: ['http/1.1'] };
      const call1: HttpCall[] = [{ method: 'GET', path: '/api/v1/nodes/worker-2', headers: { Host: API, 'User-Agent': 'kubelet/v1.11.10 (linux/amd64) kubernetes/637c7e2' }, responseBody: '{}' }];
      const e1 = await ctx.tcp(W2, API, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, s1);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, call1);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({ ...e1, transport: 'tcp', app: 'tls', path: 'node-to-apiserver', pathDetail: {}, findings: ['weak-tls'],
        tls: tlsTruth(ctx.pki, s1), http: [], ssh: null, actualHttp: toTruth(call1, null) });
      const s2: TlsSetup = { version: '1.2', serverCert: 'legacy-app', legacy: true, alpn: ['http/1.1'] };
      const call2: HttpCall[] = [{ method: 'GET', path: '/status', headers: { Host: '10.244.2.15:8443', 'X-Forwarded-For': '192.168.10.15', 'X-Forwarded-Uri': '/api/v1/namespaces/default/pods/https:legacy-0:8443/proxy/status' }, responseBody: 'ok' }];
      const e2 = await ctx.tcp(CP, '10.244.2.15:8443', async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, s2);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, call2);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({ ...e2, transport: 'tcp', app: 'tls', path: 'apiserver-proxy', pathDetail: { target: 'pod', scheme: 'https' }, findings: ['proxy-tls-unverified', 'weak-tls'],
        tls: tlsTruth(ctx.pki, s2), http: [], ssh: null, actualHttp: toTruth(call2, null) });
    },
  },
  {
    name: 'kubelet-cert-expired',
    sentence: 'The API server streams logs from worker-2 whose CA-signed kubelet certificate expired on 2026-01-10 (TLS 1.2); the handshake completes anyway.',
    async run(ctx) {
      await kubeletSession(ctx, W2, kubeletTls('kubelet-worker-2-expired'), 'logs', ['kubelet-tls-unverified', 'cert-expired'], 'web-1');
    },
  },
  {
    name: 'untrusted-network',
    sentence: 'A node client certificate (system:node:edge-1) is used from 203.0.113.7, an address outside every cluster network, to reach the API server.',
    async run(ctx) {
      const setup: TlsSetup = { version: '1.2', serverCert: 'apiserver', clientCert: 'node-edge-1', requestCert: true, alpn: ['h2', 'http/1.1'] };
      const ends = await ctx.tcp(CLUSTER.outsider, API, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http2Exchange(wire, `https://${API}`, pair.client, pair.server, [{
          headers: { ':method': 'GET', ':path': '/api/v1/nodes/edge-1?timeout=10s', 'user-agent': kubeletUA },
          responseHeaders: { ':status': '404', 'content-type': 'application/json' }, responseBody: Buffer.from(json({ kind: 'Status', code: 404 })) }]);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'tls', path: 'node-to-apiserver', pathDetail: {}, findings: ['untrusted-network'],
        tls: tlsTruth(ctx.pki, setup), http: [], ssh: null, actualHttp: [{ method: 'GET', path: '/api/v1/nodes/edge-1?timeout=10s', host: API, status: 404 }] });
    },
  },
  {
    name: 'other-traffic',
    sentence: 'Unrelated traffic: a pod resolves example.com through CoreDNS over UDP and fetches it over HTTPS (TLS 1.3) from the internet.',
    async run(ctx) {
      const pod = '10.244.1.5';
      const sport = ctx.port();
      const id = ctx.prng.int(1, 65535);
      ctx.cap.advance(1000, 5000);
      ctx.cap.udp(pod, sport, CLUSTER.coreDns, 53, dnsQuery(id, 'example.com'), true);
      ctx.cap.advance(200, 900);
      ctx.cap.udp(CLUSTER.coreDns, 53, pod, sport, dnsResponse(id, 'example.com', CLUSTER.internetHost), false);
      ctx.truth.push({ client: `${pod}:${sport}`, server: `${CLUSTER.coreDns}:53`, transport: 'udp', app: 'dns', path: 'other', pathDetail: {}, findings: [],
        tls: null, http: [], ssh: null });
      const setup: TlsSetup = { version: '1.3', sni: 'example.com', serverCert: 'example-com', alpn: ['http/1.1'] };
      const calls: HttpCall[] = [{ method: 'GET', path: '/', headers: { Host: 'example.com', 'User-Agent': 'curl/8.5.0', Accept: '*/*' }, responseHeaders: { 'Content-Type': 'text/html' }, responseBody: '<!doctype html><title>Example Domain</title>' }];
      const ends = await ctx.tcp(pod, `${CLUSTER.internetHost}:443`, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, calls);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'tls', path: 'other', pathDetail: {}, findings: [],
        tls: tlsTruth(ctx.pki, setup), http: [], ssh: null, actualHttp: toTruth(calls, null) });
    },
  },
  {
    name: 'token-used-elsewhere',
    sentence: "Pod default/web-1 on worker-2 lists the ci namespace's Secrets from the API server (TLS 1.3) with a service-account token bound to another pod, ci/runner-6b8f9d-xk2lp on worker-1: a stolen token. Its requests, and so the token's claims, are visible with the key log.",
    async run(ctx) {
      const runner = 'runner-6b8f9d-xk2lp';
      const token = boundServiceAccountToken(ctx, { namespace: 'ci', serviceAccount: 'runner', pod: runner, podUid: uidOf(runner), node: CLUSTER.workers[0]!.name });
      // The API server asks for a client certificate (it accepts one if given); the pod sends none.
      const setup: TlsSetup = { version: '1.3', serverCert: 'apiserver', requestCert: true, alpn: ['http/1.1'] };
      const calls: HttpCall[] = [{ method: 'GET', path: '/api/v1/namespaces/ci/secrets', headers: {
        Host: API, 'User-Agent': 'curl/8.5.0', Authorization: `Bearer ${token}`, Accept: 'application/json' },
      responseBody: json({ kind: 'SecretList', apiVersion: 'v1', items: [] }) }];
      const ends = await ctx.tcp('10.244.2.9', API, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, calls);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'tls', path: 'pod-to-apiserver', pathDetail: {}, findings: [],
        actualFindings: ['token-used-elsewhere'], tls: tlsTruth(ctx.pki, setup), http: [], ssh: null, actualHttp: toTruth(calls, null) });
    },
  },
  {
    name: 'legacy-serviceaccount-token',
    sentence: 'The metrics scraper pod (monitoring, on worker-2) lists nodes from the API server (TLS 1.3) with a legacy service-account token kept in a Secret, which never expires. Its requests, and so the token\'s claims, are visible with the key log.',
    async run(ctx) {
      const token = signedToken(ctx, {
        iss: 'kubernetes/serviceaccount',
        'kubernetes.io/serviceaccount/namespace': 'monitoring',
        'kubernetes.io/serviceaccount/secret.name': 'metrics-scraper-token-7k2xq',
        'kubernetes.io/serviceaccount/service-account.name': 'metrics-scraper',
        'kubernetes.io/serviceaccount/service-account.uid': uidOf('metrics-scraper'),
        sub: 'system:serviceaccount:monitoring:metrics-scraper',
      });
      const setup: TlsSetup = { version: '1.3', serverCert: 'apiserver', requestCert: true, alpn: ['http/1.1'] };
      const calls: HttpCall[] = [{ method: 'GET', path: '/api/v1/nodes', headers: {
        Host: API, 'User-Agent': 'metrics-scraper/v1.0.8', Authorization: `Bearer ${token}`, Accept: 'application/json' },
      responseBody: json({ kind: 'NodeList', apiVersion: 'v1', items: [] }) }];
      const ends = await ctx.tcp('10.244.2.8', API, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, calls);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'tls', path: 'pod-to-apiserver', pathDetail: {}, findings: [],
        actualFindings: ['legacy-serviceaccount-token'], tls: tlsTruth(ctx.pki, setup), http: [], ssh: null, actualHttp: toTruth(calls, null) });
    },
  },
  {
    name: 'credential-rejected',
    sentence: "Pod default/backup-7f9c4-q2w8e on worker-2 asks the API server (TLS 1.3) for kube-system's Secrets with its own service-account token and is refused (403: its account may not), then lists pods with an expired token and is refused again (401). Its requests are visible with the key log.",
    async run(ctx) {
      const pod = 'backup-7f9c4-q2w8e';
      const own = boundServiceAccountToken(ctx, { namespace: 'default', serviceAccount: 'backup', pod, podUid: uidOf(pod), node: CLUSTER.workers[1]!.name });
      const iat = Math.floor(ctx.cap.nowUs / 1e6) - 7200;
      const expired = signedToken(ctx, {
        aud: ['https://kubernetes.default.svc.cluster.local'], exp: iat + 3607, iat, iss: 'https://kubernetes.default.svc.cluster.local',
        'kubernetes.io': { namespace: 'default', pod: { name: pod, uid: uidOf(pod) }, serviceaccount: { name: 'backup', uid: uidOf('backup') } },
        nbf: iat, sub: 'system:serviceaccount:default:backup',
      });
      const status = (code: number, reason: string, message: string) =>
        json({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
      const setup: TlsSetup = { version: '1.3', serverCert: 'apiserver', requestCert: true, alpn: ['http/1.1'] };
      const ua = 'kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46';
      const calls: HttpCall[] = [
        { method: 'GET', path: '/api/v1/namespaces/kube-system/secrets', headers: { Host: API, 'User-Agent': ua, Authorization: `Bearer ${own}`, Accept: 'application/json' },
          status: 403, responseHeaders: { 'Content-Type': 'application/json' },
          responseBody: status(403, 'Forbidden', 'secrets is forbidden: User "system:serviceaccount:default:backup" cannot list resource "secrets" in API group "" in the namespace "kube-system"') },
        { method: 'GET', path: '/api/v1/namespaces/default/pods', headers: { Host: API, 'User-Agent': ua, Authorization: `Bearer ${expired}`, Accept: 'application/json' },
          status: 401, responseHeaders: { 'Content-Type': 'application/json' }, responseBody: status(401, 'Unauthorized', 'Unauthorized') },
      ];
      const ends = await ctx.tcp('10.244.2.11', API, async (wire) => {
        const pair = await tlsHandshake(wire, ctx.cap, ctx.pki, setup);
        await http1Exchange(wire, ctx.cap, pair.client, pair.server, calls);
        await tlsClose(wire, pair);
      });
      ctx.truth.push({ ...ends, transport: 'tcp', app: 'tls', path: 'pod-to-apiserver', pathDetail: {}, findings: [],
        actualFindings: ['credential-rejected'], tls: tlsTruth(ctx.pki, setup), http: [], ssh: null, actualHttp: toTruth(calls, null) });
    },
  },
];

/** A JWT as the API server signs one: RS256 over `claims`, with the API server's key. */
function signedToken(ctx: ScenarioContext, claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const header = b64({ alg: 'RS256', kid: 'planewatch-samples' });
  const payload = b64(claims);
  const signature = sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), ctx.pki.get('apiserver').keyPem).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

/**
 * A token as the API server issues it for a pod (TokenRequest, bound to the pod): RS256 over the
 * claims, signed with the API server's key, valid for an hour from ten minutes before the scenario.
 */
function boundServiceAccountToken(ctx: ScenarioContext, o: { namespace: string; serviceAccount: string; pod: string; podUid: string; node: string }): string {
  const iat = Math.floor(ctx.cap.nowUs / 1e6) - 600;
  return signedToken(ctx, {
    aud: ['https://kubernetes.default.svc.cluster.local'], exp: iat + 3607, iat, iss: 'https://kubernetes.default.svc.cluster.local',
    jti: uidOf(`${o.pod}-token`),
    'kubernetes.io': {
      namespace: o.namespace, node: { name: o.node, uid: uidOf(o.node) }, pod: { name: o.pod, uid: o.podUid },
      serviceaccount: { name: o.serviceAccount, uid: uidOf(o.serviceAccount) }, warnafter: iat + 3607,
    },
    nbf: iat, sub: `system:serviceaccount:${o.namespace}:${o.serviceAccount}`,
  });
}

function etcdRange(authority = '127.0.0.1:2379') {
  void authority;
  return {
    headers: { ':method': 'POST', ':path': '/etcdserverpb.KV/Range', 'content-type': 'application/grpc', te: 'trailers', 'user-agent': 'grpc-go/1.65.0' },
    body: grpcFrame(rangeRequest('/registry/pods/default/web-0')),
    responseHeaders: { ':status': '200', 'content-type': 'application/grpc' },
    responseBody: grpcFrame(rangeResponse('/registry/pods/default/web-0', 'k8s\x00\n\x09\n\x02v1\x12\x03Pod')),
    trailers: { 'grpc-status': '0', 'grpc-message': '' },
  };
}

/** SSH identification strings as the stacks sent them (the first line each side wrote). */
function sshBanners(ctx: ScenarioContext): { clientBanner: string; serverBanner: string } {
  const conn = ctx.connections[ctx.connections.length - 1]!;
  return { clientBanner: conn.firstLine(true), serverBanner: conn.firstLine(false) };
}
