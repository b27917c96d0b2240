import { describe, expect, it } from 'vitest';
import { parseK8sPath } from '../../../dissectors/http/k8s-path';

type Row = [method: string, path: string, port: number | undefined, expected: null | Partial<Record<string, unknown>>];

const rows: Row[] = [
  // API server: pods and their subresources
  ['GET', '/api/v1/namespaces/default/pods/web-0/log?container=app&follow=true', 6443, { api: 'apiserver', operation: 'logs', target: 'pods', namespace: 'default', name: 'web-0' }],
  ['POST', '/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true', 6443, { operation: 'exec', name: 'web-0' }],
  ['GET', '/api/v1/namespaces/default/pods/web-0/exec?command=ls', undefined, { operation: 'exec' }],
  ['POST', '/api/v1/namespaces/default/pods/web-0/attach', undefined, { operation: 'attach' }],
  ['POST', '/api/v1/namespaces/default/pods/web-0/portforward', undefined, { operation: 'portforward' }],
  ['GET', '/api/v1/namespaces/default/pods/web-0/proxy/metrics', undefined, { operation: 'proxy', target: 'pod', name: 'web-0', scheme: 'http' }],
  ['GET', '/api/v1/namespaces/default/pods/https:web-0:8443/proxy/', undefined, { operation: 'proxy', target: 'pod', name: 'web-0', scheme: 'https' }],
  ['GET', '/api/v1/namespaces/default/pods/web-0:8080/proxy', undefined, { operation: 'proxy', target: 'pod', name: 'web-0', scheme: 'http' }],
  // node and service proxy
  ['GET', '/api/v1/nodes/worker-1/proxy/stats/summary', undefined, { operation: 'proxy', target: 'node', name: 'worker-1', namespace: null }],
  ['GET', '/api/v1/nodes/worker-1:10250/proxy/metrics', undefined, { operation: 'proxy', target: 'node', name: 'worker-1' }],
  ['GET', '/api/v1/namespaces/kube-system/services/https:metrics-server:443/proxy/healthz', undefined, { operation: 'proxy', target: 'service', namespace: 'kube-system', name: 'metrics-server', scheme: 'https' }],
  ['GET', '/api/v1/namespaces/monitoring/services/grafana/proxy/', undefined, { operation: 'proxy', target: 'service', name: 'grafana', scheme: 'http' }],
  ['GET', '/api/v1/namespaces/monitoring/services/http:grafana:3000/proxy/', undefined, { operation: 'proxy', name: 'grafana', scheme: 'http' }],
  ['GET', '/api/v1/proxy/namespaces/default/pods/web-0/', undefined, { operation: 'proxy', target: 'pod', name: 'web-0' }],
  // percent-encoding
  ['GET', '/api/v1/namespaces/default/services/https%3Aweb%3A443/proxy/', undefined, { operation: 'proxy', name: 'web', scheme: 'https' }],
  ['GET', '/api/v1/namespaces/%64efault/pods', undefined, { operation: 'list', namespace: 'default' }],
  ['GET', '/api/v1/namespaces/default/pods/%zz', undefined, { operation: 'get', name: '%zz' }],
  // verbs
  ['GET', '/api/v1/namespaces/default/pods', undefined, { operation: 'list', target: 'pods', namespace: 'default', name: null }],
  ['GET', '/api/v1/pods', undefined, { operation: 'list', target: 'pods', namespace: null }],
  ['GET', '/api/v1/namespaces/default/pods/web-0', undefined, { operation: 'get', name: 'web-0' }],
  ['GET', '/api/v1/namespaces/default/pods?watch=true&resourceVersion=1', undefined, { operation: 'watch' }],
  ['GET', '/api/v1/namespaces/default/pods?watch=1', undefined, { operation: 'watch' }],
  ['GET', '/api/v1/namespaces/default/pods?watch=false', undefined, { operation: 'list' }],
  ['GET', '/api/v1/watch/namespaces/default/pods', undefined, { operation: 'watch', namespace: 'default', target: 'pods' }],
  ['POST', '/api/v1/namespaces/default/pods', undefined, { operation: 'create' }],
  ['PUT', '/api/v1/namespaces/default/pods/web-0', undefined, { operation: 'update' }],
  ['PATCH', '/api/v1/nodes/worker-1/status', undefined, { operation: 'patch', target: 'nodes', name: 'worker-1' }],
  ['DELETE', '/api/v1/namespaces/default/pods/web-0', undefined, { operation: 'delete' }],
  ['DELETE', '/api/v1/namespaces/default/pods', undefined, { operation: 'delete', name: null }],
  ['GET', '/api/v1/namespaces', undefined, { operation: 'list', target: 'namespaces' }],
  ['GET', '/api/v1/namespaces/kube-system', undefined, { operation: 'get', target: 'namespaces', name: 'kube-system' }],
  ['POST', '/api/v1/namespaces/default/pods/web-0/eviction', undefined, { operation: 'create', target: 'pods', name: 'web-0' }],
  // named groups
  ['GET', '/apis/apps/v1/namespaces/default/deployments', undefined, { operation: 'list', target: 'deployments' }],
  ['GET', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-1', undefined, { operation: 'get', target: 'leases', name: 'worker-1', namespace: 'kube-node-lease' }],
  ['PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/worker-1', undefined, { operation: 'update' }],
  ['GET', '/apis/apps/v1/watch/deployments', undefined, { operation: 'watch', target: 'deployments' }],
  ['POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', undefined, { operation: 'create', target: 'subjectaccessreviews' }],
  ['GET', '/apis', undefined, { operation: 'other', target: null }],
  ['GET', '/apis/apps/v1', undefined, { operation: 'other' }],
  ['GET', '/api', undefined, { operation: 'other' }],
  // API server non-resource endpoints
  ['GET', '/healthz', 6443, { api: 'apiserver', operation: 'other' }],
  ['GET', '/livez?verbose', undefined, { api: 'apiserver', operation: 'other' }],
  ['GET', '/readyz', undefined, { operation: 'other' }],
  ['GET', '/version', undefined, { operation: 'other' }],
  ['GET', '/openapi/v2', undefined, { operation: 'other' }],
  ['GET', '/metrics', 6443, { api: 'apiserver', operation: 'metrics' }],
  // kubelet
  ['GET', '/containerLogs/kube-system/coredns-5d78c9869d-abcde/coredns?tailLines=10', 10250, { api: 'kubelet', operation: 'logs', namespace: 'kube-system', name: 'coredns-5d78c9869d-abcde' }],
  ['POST', '/exec/default/web-0/app?command=sh&input=1&output=1&tty=1', 10250, { api: 'kubelet', operation: 'exec', namespace: 'default', name: 'web-0' }],
  ['POST', '/exec/default/web-0/0c2b-uid/app?command=ls', undefined, { api: 'kubelet', operation: 'exec', name: 'web-0' }],
  ['POST', '/attach/default/web-0/app', 10250, { api: 'kubelet', operation: 'attach' }],
  ['POST', '/portForward/default/web-0', 10250, { api: 'kubelet', operation: 'portforward', name: 'web-0' }],
  ['POST', '/run/default/web-0/app?cmd=ls', 10250, { api: 'kubelet', operation: 'run' }],
  ['GET', '/pods', 10255, { api: 'kubelet', operation: 'pods' }],
  ['GET', '/runningpods/', 10250, { api: 'kubelet', operation: 'pods' }],
  ['GET', '/metrics', 10250, { api: 'kubelet', operation: 'metrics' }],
  ['GET', '/metrics/cadvisor', 10250, { api: 'kubelet', operation: 'metrics' }],
  ['GET', '/metrics/resource', 10255, { api: 'kubelet', operation: 'metrics' }],
  ['GET', '/stats/summary', undefined, { api: 'kubelet', operation: 'stats' }],
  ['GET', '/healthz', 10250, { api: 'kubelet', operation: 'healthz' }],
  ['GET', '/configz', undefined, { api: 'kubelet', operation: 'configz' }],
  ['GET', '/debug/pprof/heap', 10250, { api: 'kubelet', operation: 'pprof' }],
  ['GET', '/debug/pprof/profile', 6443, { api: 'apiserver', operation: 'pprof' }],
  ['GET', '/spec/', 10250, { api: 'kubelet', operation: 'other' }],
  ['GET', '/logs/syslog', 10250, { api: 'kubelet', operation: 'other' }],
  // absolute form and fragments
  ['GET', 'http://10.0.1.21:10250/containerLogs/ns/pod/c', undefined, { api: 'kubelet', operation: 'logs', namespace: 'ns' }],
  ['GET', '/api/v1/namespaces/default/pods#frag', undefined, { operation: 'list' }],
  // not Kubernetes
  ['GET', '/', undefined, null],
  ['GET', '/index.html', undefined, null],
  ['GET', '*', undefined, null],
  ['GET', '', undefined, null],
  ['GET', 'not a path', undefined, null],
];

describe('parseK8sPath', () => {
  it.each(rows)('%s %s (port %s)', (method, path, port, expected) => {
    const got = parseK8sPath(method, path, port);
    if (expected === null) expect(got).toBeNull();
    else expect(got).toMatchObject(expected);
  });

  it('never throws on hostile input', () => {
    for (const p of ['/%', '/api/v1/namespaces/%E0%A4%A/pods', '/' + '/'.repeat(10000), '/api/v1/' + 'a/'.repeat(5000), '/?watch=%', '/apis/\u0000/\uffff']) {
      expect(() => parseK8sPath('GET', p)).not.toThrow();
    }
  });
});
