// Requests read on the connections (plain HTTP, or TLS read with a key log), newest first: the
// Kubernetes operation on which object, with whose credential, from which client to which server.
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { endpointText, fmtNum, fmtTime, pathBadge, roleBadge, sevBadge } from '../format.js';
import { go, href } from '../router.js';
import { first, input, select } from './filters.js';

const PAGE = 50;
const OPERATIONS = ['exec', 'attach', 'portforward', 'logs', 'proxy', 'get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
const STATUSES = [['2xx', '2xx'], ['101', '101 upgraded'], ['401', '401'], ['403', '403'], ['4xx', '4xx'], ['5xx', '5xx']];

/** The object a request acted on, as kubectl names it: `pods default/web-0`. */
function objectText(r) {
  const name = [r.namespace, r.name].filter((x) => x !== null).join('/');
  return [r.resource, name].filter((x) => x).join(' ');
}

function side(ip, port, role, name) {
  return h('div', null,
    h('span', { class: 'mono' }, port === null ? ip : endpointText(ip, port)),
    role ? h('span', null, ' ', roleBadge(role)) : null,
    name ? h('div', { class: 'sub' }, name) : null);
}

export async function renderRequests(root, route) {
  const p = route.params;
  const offset = Number(p.offset) || 0;
  const query = { operation: first(p.operation), api: p.api, namespace: p.namespace, status: p.status, credential: p.credential, ip: p.ip, q: p.q, limit: PAGE, offset };
  const res = await api('requests', query);
  const set = (k) => (v) => go('requests', null, { ...p, [k]: v, offset: undefined });
  const table = h('table', { class: 'grid requests-table' },
    h('thead', null, h('tr', null, ['Time', 'Operation', 'Request', 'Status', 'Credential', 'Client', 'Server', 'Connection'].map((x) => h('th', null, x)))),
    h('tbody', null, res.items.map((r) => h('tr', { 'data-request': String(r.id), class: r.status === 401 || r.status === 403 ? 'row-medium' : '' },
      h('td', { class: 'nowrap' }, fmtTime(r.ts)),
      h('td', null, r.operation ? h('strong', { 'data-operation': '' }, r.operation) : h('span', { class: 'muted' }, '—'),
        objectText(r) ? h('div', { class: 'sub mono' }, objectText(r)) : null),
      h('td', { class: 'wrap mono' }, `${r.method ?? ''} ${r.target ?? ''}`.trim(),
        r.userAgent ? h('div', { class: 'sub' }, r.userAgent) : null),
      h('td', { class: 'num' }, r.status === null ? (r.grpcStatus === null ? '—' : `gRPC ${r.grpcStatus}`) : String(r.status),
        r.reason ? h('div', { class: 'sub' }, r.reason) : null),
      h('td', { class: 'wrap' }, r.authSubject ? h('div', { class: 'mono' }, r.authSubject) : h('span', { class: 'muted' }, r.auth && r.auth !== 'none' ? r.auth : 'none'),
        r.impersonateUser ? h('div', { class: 'sub' }, `impersonating ${r.impersonateUser}`) : null,
        r.authHash ? h('div', { class: 'sub mono' }, r.authHash) : null),
      h('td', null, side(r.clientIp, null, r.clientRole, r.clientName)),
      h('td', null, side(r.serverIp, r.serverPort, r.serverRole, r.serverName)),
      h('td', null, h('a', { href: href('flow', r.flowId), 'data-flow': String(r.flowId) }, r.flowKey), ' ', pathBadge(r.flowPath),
        r.cleartext ? h('div', null, sevBadge('high', 'cleartext')) : null)))));
  mount(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Requests'),
      h('p', { class: 'muted' }, `${fmtNum(res.total)}${res.totalCapped ? ' or more' : ''} read on the connections (plain HTTP, or TLS with a key log), newest first; credentials are kept as hashes`)),
    h('div', { class: 'filters' },
      select('operation', 'Operation', OPERATIONS, first(p.operation), set('operation')),
      select('api', 'API', [['apiserver', 'API server'], ['kubelet', 'kubelet']], p.api, set('api')),
      select('status', 'Status', STATUSES, p.status, set('status')),
      input('namespace', 'Namespace', p.namespace, set('namespace')),
      input('credential', 'Credential subject or hash', p.credential, set('credential')),
      input('q', 'Search target, user agent, name', p.q, set('q')),
      p.ip ? h('span', { class: 'chips' }, h('a', { class: 'chip on', href: href('requests', null, { ...p, ip: undefined, offset: undefined }), title: 'remove this filter' }, `address: ${p.ip} ✕`)) : null),
    res.items.length ? table : h('p', { class: 'empty' }, 'No requests match. Requests inside TLS are read only with a key log (--keylog, or a pcapng Decryption Secrets Block).'),
    res.total > PAGE ? h('nav', { class: 'pager' },
      offset > 0 ? h('a', { class: 'btn', href: href('requests', null, { ...p, offset: Math.max(0, offset - PAGE) || undefined }) }, '← Previous') : null,
      offset + PAGE < res.total ? h('a', { class: 'btn', href: href('requests', null, { ...p, offset: offset + PAGE }) }, 'Next →') : null) : null);
}
