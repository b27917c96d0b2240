import { describe, expect, it } from 'vitest';
import { emptyInventory, inventoryServes, mergeInventory, parseServerEntry } from '../../src/analysis/inventory';

describe('inventory servers and their ports', () => {
  it('reads an address with or without its port, IPv6 in brackets', () => {
    expect(parseServerEntry('10.0.0.10')).toEqual({ ip: '10.0.0.10', ports: [] });
    expect(parseServerEntry(' 10.0.0.10:16443 ')).toEqual({ ip: '10.0.0.10', ports: [16443] });
    expect(parseServerEntry('fd00::10')).toEqual({ ip: 'fd00::10', ports: [] });
    expect(parseServerEntry('[fd00::10]:6443')).toEqual({ ip: 'fd00::10', ports: [6443] });
    for (const bad of ['api.example.com', 'api.example.com:6443', '10.0.0.10:0', '10.0.0.10:70000', 'fd00::10:6443x', '']) {
      expect(parseServerEntry(bad), bad).toBeNull();
    }
  });

  it('places a listed server on its given ports, else on its role’s usual ones', () => {
    const inv = emptyInventory();
    mergeInventory(inv, { apiServers: ['10.0.0.10', '10.0.0.11:16443', '[fd00::10]:6443'], etcdServers: ['10.0.0.12'] }, 'cluster.json');
    expect([6443, 443, 8443, 10250, 2381].map((p) => inventoryServes(inv, 'apiserver', '10.0.0.10', p))).toEqual([true, true, true, false, false]);
    expect([16443, 6443].map((p) => inventoryServes(inv, 'apiserver', '10.0.0.11', p))).toEqual([true, false]);
    expect(inventoryServes(inv, 'apiserver', 'fd00::10', 6443)).toBe(true);
    expect([2379, 2380, 2381].map((p) => inventoryServes(inv, 'etcd', '10.0.0.12', p))).toEqual([true, true, false]);
    expect(inventoryServes(inv, 'etcd', '10.0.0.10', 2379)).toBe(false);
  });

  it("reads the ports from control-plane static pods' flags, in either form, in command or args", () => {
    const pod = (component: string, ip: string, container: { command?: string[]; args?: string[] }) => ({
      kind: 'Pod', metadata: { name: `${component}-x`, namespace: 'kube-system', labels: { component } },
      spec: { hostNetwork: true, containers: [container] }, status: { podIP: ip, hostIP: ip },
    });
    const inv = emptyInventory();
    mergeInventory(inv, { kind: 'List', items: [
      pod('kube-apiserver', '10.0.0.10', { command: ['kube-apiserver'], args: ['--secure-port', '9443'] }),
      pod('kube-apiserver', '10.0.0.11', { command: ['kube-apiserver', '--advertise-address=10.0.0.11'] }),
      pod('etcd', '10.0.0.10', { command: ['etcd', '--listen-client-urls=https://127.0.0.1:12379,https://10.0.0.10:12379', '--listen-peer-urls=https://10.0.0.10:12380'] }),
      { kind: 'Pod', metadata: { name: 'konnectivity-server-x', namespace: 'kube-system', labels: { 'k8s-app': 'konnectivity-server' } },
        spec: { hostNetwork: true, containers: [{ args: ['--agent-port=8132', '--server-port=0'] }] }, status: { podIP: '10.0.0.10', hostIP: '10.0.0.10' } },
    ] }, 'kubectl.json');
    expect([9443, 6443].map((p) => inventoryServes(inv, 'apiserver', '10.0.0.10', p))).toEqual([true, false]);
    // No --secure-port: the API server's default.
    expect([6443, 443].map((p) => inventoryServes(inv, 'apiserver', '10.0.0.11', p))).toEqual([true, false]);
    expect([12379, 12380, 2379].map((p) => inventoryServes(inv, 'etcd', '10.0.0.10', p))).toEqual([true, true, false]);
    // --server-port=0 is a Unix socket: only the agents' port.
    expect([8132, 8131, 0].map((p) => inventoryServes(inv, 'konnectivity-server', '10.0.0.10', p))).toEqual([true, false, false]);
  });

  it("takes the API servers and their port from the kubernetes Service's Endpoints or EndpointSlice (managed control planes)", () => {
    const inv = emptyInventory();
    mergeInventory(inv, { kind: 'List', items: [
      { kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default' },
        subsets: [{ addresses: [{ ip: '172.16.5.10' }, { ip: '172.16.6.10' }], ports: [{ name: 'https', port: 443, protocol: 'TCP' }] }] },
      { kind: 'EndpointSlice', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
        addressType: 'IPv4', endpoints: [{ addresses: ['172.16.7.10'] }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] },
      // Another Service's endpoints are not API servers.
      { kind: 'Endpoints', metadata: { name: 'web', namespace: 'default' }, subsets: [{ addresses: [{ ip: '10.244.1.5' }], ports: [{ port: 443 }] }] },
    ] }, 'kubectl.json');
    expect([443, 6443].map((p) => inventoryServes(inv, 'apiserver', '172.16.5.10', p))).toEqual([true, false]);
    expect(inventoryServes(inv, 'apiserver', '172.16.6.10', 443)).toBe(true);
    expect([6443, 443].map((p) => inventoryServes(inv, 'apiserver', '172.16.7.10', p))).toEqual([true, false]);
    expect(inv.apiServers.has('10.244.1.5')).toBe(false);
  });
});
