import type { K8sPathInfo } from '../../src/model/records';

/**
 * Kubernetes meaning of an HTTP request target: API server paths (/api, /apis and the
 * non-resource endpoints) and kubelet API paths (/containerLogs, /exec, ...). Pure; never throws.
 */

const KUBELET_PORTS = new Set([10250, 10255]);
const MAX_SEGMENTS = 64;

/** API server subresources whose meaning is an operation of their own. */
const SUBRESOURCE_OPS: Record<string, string> = {
  log: 'logs',
  exec: 'exec',
  attach: 'attach',
  portforward: 'portforward',
  proxy: 'proxy',
};

const PROXY_TARGETS: Record<string, string> = { pods: 'pod', nodes: 'node', services: 'service' };

export function parseK8sPath(method: string, path: string, port?: number): K8sPathInfo | null {
  try {
    return parse(method.toUpperCase(), path, port);
  } catch {
    return null;
  }
}

function parse(method: string, rawPath: string, port: number | undefined): K8sPathInfo | null {
  let path = rawPath;
  // Absolute form (proxy requests): drop scheme and authority.
  const schemeEnd = path.indexOf('://');
  if (schemeEnd > 0 && schemeEnd < 10) {
    const slash = path.indexOf('/', schemeEnd + 3);
    path = slash < 0 ? '/' : path.slice(slash);
  }
  const hash = path.indexOf('#');
  if (hash >= 0) path = path.slice(0, hash);
  const q = path.indexOf('?');
  const query = q >= 0 ? path.slice(q + 1) : '';
  if (q >= 0) path = path.slice(0, q);
  if (path.charCodeAt(0) !== 47) return null;
  const segs = splitSegments(path);
  if (segs.length === 0) return null;
  const first = segs[0]!;
  const watchQuery = queryFlag(query, 'watch');

  const kubeletPort = port !== undefined && KUBELET_PORTS.has(port);
  const kubelet = kubeletPath(segs, kubeletPort);
  if (kubelet) return kubelet;
  if (first === 'api' || first === 'apis') return apiServerResource(method, segs, watchQuery);
  switch (first) {
    case 'healthz':
    case 'livez':
    case 'readyz':
    case 'version':
    case 'openapi':
    case 'logs':
    case '.well-known':
      return info('apiserver', 'other', null, null, null, null);
    case 'metrics':
      return info('apiserver', 'metrics', null, null, null, null);
    case 'debug':
      return info('apiserver', segs[1] === 'pprof' ? 'pprof' : 'other', null, null, null, null);
    default:
      return null;
  }
}

function kubeletPath(segs: string[], kubeletPort: boolean): K8sPathInfo | null {
  const first = segs[0]!;
  switch (first) {
    case 'containerLogs': // /containerLogs/NS/POD/CONTAINER
      return info('kubelet', 'logs', 'pods', segs[1] ?? null, segs[2] ?? null, null);
    case 'exec': // /exec/NS/POD/[UID/]CONTAINER
    case 'attach':
    case 'run':
      return info('kubelet', first, 'pods', segs[1] ?? null, segs[2] ?? null, null);
    case 'portForward': // /portForward/NS/POD[/UID]
      return info('kubelet', 'portforward', 'pods', segs[1] ?? null, segs[2] ?? null, null);
    case 'pods':
    case 'runningpods':
      return segs.length === 1 ? info('kubelet', 'pods', 'pods', null, null, null) : null;
    case 'stats':
      return info('kubelet', 'stats', null, null, null, null);
    case 'configz':
      return info('kubelet', 'configz', null, null, null, null);
    case 'spec':
    case 'checkpoint':
      return info('kubelet', 'other', null, null, null, null);
    case 'metrics':
      return kubeletPort ? info('kubelet', 'metrics', null, null, null, null) : null;
    case 'healthz':
      return kubeletPort ? info('kubelet', 'healthz', null, null, null, null) : null;
    case 'logs':
      return kubeletPort ? info('kubelet', 'other', null, null, null, null) : null;
    case 'debug':
      return kubeletPort && segs[1] === 'pprof' ? info('kubelet', 'pprof', null, null, null, null) : null;
    default:
      return null;
  }
}

/** /api/v1/... and /apis/GROUP/VERSION/... */
function apiServerResource(method: string, segs: string[], watchQuery: boolean): K8sPathInfo {
  const versionEnd = segs[0] === 'api' ? 2 : 3;
  if (segs.length <= versionEnd) return info('apiserver', 'other', null, null, null, null); // discovery
  let rest = segs.slice(versionEnd);
  let watch = watchQuery;
  let legacyProxy = false;
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
  } else if (rest[0] === 'proxy') {
    // Deprecated form: /api/v1/proxy/namespaces/NS/pods/NAME/...
    legacyProxy = true;
    rest = rest.slice(1);
  }
  let namespace: string | null = null;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  const resource = rest[0] ?? null;
  const name = rest[1] ?? null;
  const sub = rest[2] ?? null;
  if (resource === null) return info('apiserver', 'other', null, namespace, null, null);
  const subOp = legacyProxy ? 'proxy' : sub !== null ? SUBRESOURCE_OPS[sub] : undefined;
  if (subOp === 'proxy' && name !== null) {
    const target = PROXY_TARGETS[resource] ?? resource;
    const parsed = splitProxyName(name);
    return info('apiserver', 'proxy', target, namespace, parsed.name, parsed.scheme);
  }
  if (subOp !== undefined && name !== null) return info('apiserver', subOp, resource, namespace, name, null);
  return info('apiserver', verb(method, name !== null, watch), resource, namespace, name, null);
}

function verb(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return watch ? 'watch' : named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return 'other';
  }
}

/** "[https:]name[:port]" as used in proxy paths; the scheme is http unless prefixed. */
function splitProxyName(s: string): { name: string; scheme: 'http' | 'https' } {
  let scheme: 'http' | 'https' = 'http';
  let rest = s;
  if (rest.startsWith('https:')) {
    scheme = 'https';
    rest = rest.slice(6);
  } else if (rest.startsWith('http:')) {
    rest = rest.slice(5);
  }
  const colon = rest.indexOf(':');
  return { name: colon >= 0 ? rest.slice(0, colon) : rest, scheme };
}

function splitSegments(path: string): string[] {
  const out: string[] = [];
  for (const raw of path.split('/', MAX_SEGMENTS)) {
    if (raw === '') continue;
    out.push(percentDecode(raw));
  }
  return out;
}

function percentDecode(s: string): string {
  if (s.indexOf('%') < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function queryFlag(query: string, key: string): boolean {
  if (query === '') return false;
  for (const part of query.split('&', MAX_SEGMENTS)) {
    const eq = part.indexOf('=');
    const k = percentDecode(eq < 0 ? part : part.slice(0, eq));
    if (k !== key) continue;
    const v = eq < 0 ? '' : percentDecode(part.slice(eq + 1)).toLowerCase();
    return v === 'true' || v === '1';
  }
  return false;
}

function info(
  api: 'apiserver' | 'kubelet',
  operation: string,
  target: string | null,
  namespace: string | null,
  name: string | null,
  scheme: 'http' | 'https' | null,
): K8sPathInfo {
  return { api, operation, target, namespace, name, scheme };
}
