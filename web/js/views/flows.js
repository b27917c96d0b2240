// Flows: server-side filter, sort and keyset paging, so the table is as quick on a million rows as
// on a hundred. Every control rewrites the address; the address is the state.
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { APPS, PATHS, SEVERITIES, STATES, endpointText, fmtBytes, fmtDuration, fmtNum, fmtTime, pathBadge, roleBadge, sevBadge } from '../format.js';
import { go, href } from '../router.js';
import { first, input, select, timeInput } from './filters.js';

const PAGE = 100;
const SORTABLE = { time: 'Start', client: 'Client', server: 'Server', path: 'Path', bytes: 'Bytes', severity: 'Worst finding' };
const MULTI = ['path', 'app', 'state', 'severity'];

export async function renderFlows(root, route) {
  const p = route.params;
  const sort = p.sort || 'time';
  const order = p.order || 'desc';
  const q = { ...p, sort, order, limit: PAGE };
  const res = await api('flows', q);
  const set = (k, v) => {
    const next = { ...p, cursor: undefined };
    next[k] = v === undefined ? undefined : MULTI.includes(k) ? [v] : v;
    go('flows', null, next);
  };
  const sortLink = (key) => {
    const active = sort === key;
    const nextOrder = active && order === 'desc' ? 'asc' : 'desc';
    return h('a', { href: href('flows', null, { ...p, sort: key, order: nextOrder, cursor: undefined }), class: `sort ${active ? `active ${order}` : ''}`, 'data-sort': key },
      SORTABLE[key], active ? (order === 'desc' ? ' ↓' : ' ↑') : '');
  };
  const extra = ['clientGroup', 'serverGroup', 'capture', 'minSeverity', 'credential'].filter((k) => p[k]);
  const table = h('table', { class: 'grid flows-table' },
    h('thead', null, h('tr', null,
      h('th', null, sortLink('time')), h('th', null, sortLink('client')), h('th', null, sortLink('server')), h('th', null, sortLink('path')),
      h('th', null, 'App / TLS'), h('th', { class: 'num' }, sortLink('bytes')), h('th', { class: 'num' }, 'Duration / state'), h('th', null, sortLink('severity')))),
    h('tbody', null, res.items.map((f) => h('tr', { 'data-flow': f.id, class: `row-link ${f.worstSeverity ? `row-${f.worstSeverity}` : ''}`, on: { click: (ev) => { if (ev.target.tagName !== 'A') go('flow', f.id); } } },
      h('td', { class: 'nowrap' }, h('a', { href: href('flow', f.id), class: 'flow-link' }, fmtTime(f.firstTs))),
      h('td', null, h('span', { class: 'mono' }, endpointText(f.clientIp, f.clientPort)), h('div', { class: 'sub' }, f.clientRole || '')),
      h('td', null, h('span', { class: 'mono' }, endpointText(f.serverIp, f.serverPort)), h('div', { class: 'sub' }, f.serverRole || '')),
      h('td', null, pathBadge(f.path), h('div', { class: 'sub' }, `confidence ${Math.round(f.confidence * 100)}%`)),
      h('td', null, f.app, f.tlsVersion ? ` ${f.tlsVersion}` : '', f.sni ? h('div', { class: 'sub sni', title: f.sni }, f.sni) : null),
      h('td', { class: 'num' }, fmtBytes(f.bytes)),
      h('td', { class: 'num' }, fmtDuration(f.lastTs - f.firstTs), h('div', { class: 'sub', title: 'Zeek connection state' }, f.state)),
      h('td', null, f.worstSeverity ? sevBadge(f.worstSeverity, `${f.worstSeverity} ×${f.findingCount}`) : h('span', { class: 'muted' }, '—'))))));
  mount(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Flows'),
      h('p', { class: 'muted', 'data-total': res.total }, `${fmtNum(res.total)}${res.totalCapped ? '+' : ''} matching`)),
    h('form', { class: 'filters', on: { submit: (ev) => ev.preventDefault() } },
      select('path', 'Path', PATHS, first(p.path), (v) => set('path', v)),
      select('app', 'App', APPS, first(p.app), (v) => set('app', v)),
      select('state', 'State', STATES, first(p.state), (v) => set('state', v)),
      select('severity', 'Severity', SEVERITIES, first(p.severity), (v) => set('severity', v)),
      input('q', 'Search SNI, address, Community ID', p.q, (v) => set('q', v)),
      input('ip', 'Address (either side)', p.ip, (v) => set('ip', v), { size: 14 }),
      input('client', 'Client', p.client, (v) => set('client', v), { size: 12 }),
      input('server', 'Server', p.server, (v) => set('server', v), { size: 12 }),
      input('port', 'Port', p.port, (v) => set('port', v), { size: 6 }),
      input('rule', 'Finding rule', p.rule ? first(p.rule) : undefined, (v) => set('rule', v), { size: 14 }),
      timeInput('from', 'From (UTC)', p.from, (v) => set('from', v)),
      timeInput('to', 'To (UTC)', p.to, (v) => set('to', v)),
      extra.length ? h('span', { class: 'chips' }, extra.map((k) => h('a', { class: 'chip on', href: href('flows', null, { ...p, [k]: undefined, cursor: undefined }), title: 'remove this filter' }, `${k}: ${p[k]} ✕`))) : null,
      Object.keys(p).some((k) => !['sort', 'order'].includes(k)) ? h('a', { href: href('flows', null, { sort: p.sort, order: p.order }), class: 'btn ghost' }, 'Clear') : null),
    res.items.length ? table : h('p', { class: 'empty' }, 'No flows match these filters.'),
    h('nav', { class: 'pager' },
      p.cursor ? h('a', { class: 'btn', href: href('flows', null, { ...p, cursor: undefined }) }, '⇤ First page') : null,
      p.cursor ? h('button', { class: 'btn', type: 'button', on: { click: () => history.back() } }, '← Back') : null,
      h('span', { class: 'muted' }, `${fmtNum(res.items.length)} shown`),
      res.nextCursor ? h('a', { class: 'btn', href: href('flows', null, { ...p, cursor: res.nextCursor }), 'data-next': '1' }, 'Next page →') : null));
}
