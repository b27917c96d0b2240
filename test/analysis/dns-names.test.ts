import { describe, expect, it } from 'vitest';
import type { DnsTransaction } from '../../dissectors/dns/dns-log';
import { classifyFlow } from '../../src/analysis/classifier';
import { clusterName, DnsNames, namesOf, reverseAddress } from '../../src/analysis/dns-names';
import { Topology } from '../../src/analysis/topology';
import { flow, tls, T0 } from './flow-builder';

function answer(query: string, ...answers: [string, string, string][]): DnsTransaction {
  return {
    id: 1, ts: T0, frame: 1, query, qtype: 'A', rcode: 'NOERROR', responseTs: T0 + 0.001, responseFrame: 2, truncated: false,
    answers: answers.map(([name, type, data]) => ({ name, type, data, ttl: 30 })),
  };
}

function dnsFlow(...dns: DnsTransaction[]) {
  return flow('10.244.1.7:53211', '10.96.0.10:53', { transport: 'udp', app: 'dns', dns, history: 'Dd', state: 'SF' });
}

describe('names from the capture\'s DNS answers', () => {
  it('read what cluster DNS names say: a Service, the kubernetes Service, a pod, a headless Service\'s pod', () => {
    expect(clusterName('kubernetes.default.svc.cluster.local')).toEqual({ role: 'service', name: 'default/kubernetes', kubernetesService: true });
    expect(clusterName('kubernetes.default')).toMatchObject({ kubernetesService: true });
    expect(clusterName('metrics-server.kube-system.svc.k8s.example.')).toEqual({ role: 'service', name: 'kube-system/metrics-server', kubernetesService: false });
    expect(clusterName('etcd-0.etcd.kube-system.svc.cluster.local')).toEqual({ role: 'pod', name: 'kube-system/etcd-0', kubernetesService: false });
    expect(clusterName('10-244-1-7.default.pod.cluster.local')).toEqual({ role: 'pod', name: null, kubernetesService: false });
    for (const other of ['www.example.com', 'svc.cluster.local', 'a.svc', 'kubernetes.default.evil.com', '-x.ns.svc.cluster.local']) expect(clusterName(other)).toBeNull();
  });

  it('turn reverse-lookup names back into addresses', () => {
    expect(reverseAddress('21.0.0.10.in-addr.arpa')).toBe('10.0.0.21');
    expect(reverseAddress('21.0.0.10.in-addr.arpa.')).toBe('10.0.0.21');
    expect(reverseAddress('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa')).toBe('2001:db8::1');
    for (const bad of ['300.0.0.10.in-addr.arpa', '0.10.in-addr.arpa', 'x.ip6.arpa', 'example.com']) expect(reverseAddress(bad)).toBeNull();
  });

  it('name an address by the question it answered (A/AAAA) and by PTR; failures and other types name nothing', () => {
    expect(namesOf(answer('api.example.com', ['api.example.com', 'CNAME', 'lb.example.net'], ['lb.example.net', 'A', '203.0.113.5']))).toEqual([
      { ip: '203.0.113.5', name: 'api.example.com', ts: T0 + 0.001 },
    ]);
    expect(namesOf(answer('21.0.0.10.in-addr.arpa', ['21.0.0.10.in-addr.arpa', 'PTR', 'worker-1.example.internal']))).toEqual([
      { ip: '10.0.0.21', name: 'worker-1.example.internal', ts: T0 + 0.001 },
    ]);
    expect(namesOf({ ...answer('x.example', ['x.example', 'A', '10.0.0.1']), rcode: 'NXDOMAIN' })).toEqual([]);
    expect(namesOf(answer('x.example', ['x.example', 'A', 'not an address']))).toEqual([]);
  });

  it('keep the earliest name of an address whatever the order they are learned in', () => {
    const a = new DnsNames();
    const b = new DnsNames();
    a.add('10.0.0.1', 'late.example', 20);
    a.add('10.0.0.1', 'early.example', 10);
    b.add('10.0.0.1', 'early.example', 10);
    b.add('10.0.0.1', 'late.example', 20);
    expect(a.nameOf('10.0.0.1')).toBe('early.example');
    expect(b.nameOf('10.0.0.1')).toBe('early.example');
  });

  it('let the topology know a Service address, the API server behind kubernetes.default, and name endpoints', () => {
    // A pod's TLS 1.3 connection to 10.96.0.1:443, as client-go makes it: no SNI, no certificate seen.
    const toApi = flow('10.244.1.7:40100', '10.96.0.1:443', { app: 'tls', tls: tls('1.3') });
    const bare = new Topology();
    bare.observe(toApi);
    const without = classifyFlow(toApi, bare);

    const t = new Topology();
    t.observe(dnsFlow(
      answer('kubernetes.default.svc.cluster.local', ['kubernetes.default.svc.cluster.local', 'A', '10.96.0.1']),
      answer('metrics-server.kube-system.svc.cluster.local', ['metrics-server.kube-system.svc.cluster.local', 'A', '10.96.0.20']),
      answer('db.example.com', ['db.example.com', 'A', '203.0.113.9']),
    ));
    t.observe(toApi);
    const c = classifyFlow(toApi, t);
    expect(c.path).toBe('pod-to-apiserver');
    expect(c.reasons[0]).toBe('10.96.0.1 is the kubernetes Service address (DNAT to the API server)');
    // Without the answer, nothing on that connection says API server.
    expect(without.path).toBe('other');
    expect(t.endpoints.get('10.96.0.1')!.primaryRole).toBe('service');
    expect(t.endpoints.get('10.96.0.20')!.name).toBe('kube-system/metrics-server');
    expect(t.endpoints.get('10.96.0.20')!.claims.get('service')!.reason).toMatch(/^the cluster DNS answers metrics-server\.kube-system\.svc\.cluster\.local with it \(flow t\d+\)$/);
    // Any other name is a name only: no role, and no endpoint for an address nothing talked to.
    expect(t.endpoints.has('203.0.113.9')).toBe(false);
    expect(t.nameOf('203.0.113.9')).toBe('db.example.com');
    expect(t.nameOf('10.96.0.20')).toBe('kube-system/metrics-server');
    // The server that answered for the cluster's zone is the cluster DNS.
    expect(t.nameOf('10.96.0.10')).toBe('cluster DNS');
  });

  it("name the cluster DNS only by answers for the cluster's zone, and let a name an answer gives it win", () => {
    const t = new Topology();
    t.observe(flow('10.244.1.7:53000', '192.0.2.53:53', { transport: 'udp', app: 'dns', history: 'Dd', state: 'SF',
      dns: [answer('db.example.com', ['db.example.com', 'A', '203.0.113.9'])] }));
    expect(t.nameOf('192.0.2.53')).toBeNull();
    t.observe(dnsFlow(answer('web.shop.svc.cluster.local', ['web.shop.svc.cluster.local', 'A', '10.96.3.4'])));
    expect(t.nameOf('10.96.0.10')).toBe('cluster DNS');
    t.observe(dnsFlow(answer('kube-dns.kube-system.svc.cluster.local', ['kube-dns.kube-system.svc.cluster.local', 'A', '10.96.0.10'])));
    expect(t.nameOf('10.96.0.10')).toBe('kube-system/kube-dns');
  });

  it('count a name learned after an address\'s flows as a change of its facts (verdicts reading names are judged again)', () => {
    const t = new Topology();
    t.observe(flow('10.0.0.10:40000', '10.0.0.30:8443', { app: 'tls', tls: tls('1.3') }));
    const before = t.endpoints.get('10.0.0.30')!.changedAt;
    t.observe(dnsFlow(answer('api.internal.example', ['api.internal.example', 'A', '10.0.0.30'])));
    expect(t.endpoints.get('10.0.0.30')!.changedAt).toBeGreaterThan(before);
    expect(t.nameOf('10.0.0.30')).toBe('api.internal.example');
    // The same answer again changes nothing.
    const after = t.endpoints.get('10.0.0.30')!.changedAt;
    t.observe(dnsFlow(answer('api.internal.example', ['api.internal.example', 'A', '10.0.0.30'])));
    expect(t.endpoints.get('10.0.0.30')!.changedAt).toBe(after);
  });
});
