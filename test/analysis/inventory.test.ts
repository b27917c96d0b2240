import { describe, expect, it } from 'vitest';
import { emptyInventory, inNetworks, insideCluster, inventoryServes, mergeInventory, parseServerEntry } from '../../src/analysis/inventory';

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

describe('what the cluster’s own objects tell about its networks and API servers', () => {
  it('takes the pod network from the nodes’ podCIDRs: an unlisted pod is a pod, and inside the cluster', () => {
    const inv = emptyInventory();
    mergeInventory(inv, { kind: 'List', items: [
      { kind: 'Node', metadata: { name: 'worker-1' }, spec: { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.21' }] } },
      { kind: 'Node', metadata: { name: 'worker-2' }, spec: { podCIDR: 'not-a-cidr' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.22' }] } },
    ] }, 'kubectl.json');
    expect(inv.hasPodNetworks).toBe(true);
    expect(inNetworks(inv.podNetworks, '10.244.1.77')).toBe(true);
    expect(inNetworks(inv.podNetworks, 'fd00:10:244:1::9')).toBe(true);
    expect(inNetworks(inv.podNetworks, '10.244.2.7')).toBe(false);
    expect(insideCluster(inv, '10.244.1.77')).toBe(true);
    expect(insideCluster(inv, '203.0.113.7')).toBe(false);
  });

  it('reads kubeadm-config, kube-proxy and cluster-info ConfigMaps: pod and service networks, the control-plane endpoint', () => {
    const cm = (namespace: string, name: string, data: Record<string, string>) => ({ kind: 'ConfigMap', metadata: { namespace, name }, data });
    const inv = emptyInventory();
    mergeInventory(inv, { kind: 'List', items: [
      cm('kube-system', 'kubeadm-config', { ClusterConfiguration: [
        'apiVersion: kubeadm.k8s.io/v1beta4', 'controlPlaneEndpoint: 10.0.0.5:7443', 'kind: ClusterConfiguration',
        'networking:', '  dnsDomain: cluster.local', '  podSubnet: "10.244.0.0/16,fd00:10:244::/56"', '  serviceSubnet: 10.96.0.0/12 # services',
      ].join('\n') }),
      cm('kube-system', 'kube-proxy', { 'config.conf': 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nclusterCIDR: 10.245.0.0/16\nmode: iptables\n' }),
      cm('kube-public', 'cluster-info', { kubeconfig: 'apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: LS0t\n    server: https://10.0.0.10:6443\n  name: ""\n' }),
      cm('default', 'kubeadm-config', { ClusterConfiguration: 'podSubnet: 192.168.0.0/16' }), // not kubeadm's
    ] }, 'kubectl.json');
    expect(['10.244.3.3', 'fd00:10:244::5', '10.245.0.9', '192.168.1.1'].map((ip) => inNetworks(inv.podNetworks, ip))).toEqual([true, true, true, false]);
    expect(inNetworks(inv.serviceNetworks, '10.96.0.1')).toBe(true);
    expect(inventoryServes(inv, 'apiserver', '10.0.0.5', 7443)).toBe(true);
    expect(inventoryServes(inv, 'apiserver', '10.0.0.10', 6443)).toBe(true);
    expect(inventoryServes(inv, 'apiserver', '10.0.0.10', 443)).toBe(false);
  });

  it('reads a kubeconfig (kubectl config view -o json): its API servers by address, host names passed over', () => {
    const inv = emptyInventory();
    mergeInventory(inv, { apiVersion: 'v1', kind: 'Config', clusters: [
      { name: 'lab', cluster: { server: 'https://10.0.0.10:6443' } },
      { name: 'kind', cluster: { server: 'https://127.0.0.1:39017' } },
      { name: 'v6', cluster: { server: 'https://[fd00::10]' } },
      { name: 'eks', cluster: { server: 'https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com' } },
    ] }, 'kubeconfig.json');
    expect(inventoryServes(inv, 'apiserver', '10.0.0.10', 6443)).toBe(true);
    expect(inventoryServes(inv, 'apiserver', '127.0.0.1', 39017)).toBe(true);
    expect(inventoryServes(inv, 'apiserver', 'fd00::10', 443)).toBe(true);
    expect([...inv.apiServers].sort()).toEqual(['10.0.0.10', '127.0.0.1', 'fd00::10']);
    // The same without "kind", as some tools write it.
    const bare = emptyInventory();
    mergeInventory(bare, { clusters: [{ cluster: { server: 'https://10.0.0.11:6443' } }] }, 'kubeconfig.json');
    expect(inventoryServes(bare, 'apiserver', '10.0.0.11', 6443)).toBe(true);
  });
});
