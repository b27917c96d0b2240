// Endpoints: what each address is (roles and the evidence for them), the certificates it presented
// or sent, and whom it talked to.
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { card, fmtBytes, fmtNum, fmtTime, kv, pathBadge, roleBadge, sevBadge } from '../format.js';
import { go, href } from '../router.js';
import { input } from './filters.js';
import { certificateBlock } from './flow.js';

const PAGE = 100;
const SORTS = { bytes: 'Bytes', flows: 'Flows', ip: 'Address', role: 'Role', findings: 'Findings' };

export async function renderEndpoints(root, route) {
  const p = route.params;
  const offset = Number(p.offset) || 0;
  const sort = p.sort || 'bytes';
  const res = await api('endpoints', { role: p.role, q: p.q, sort, limit: PAGE, offset });
  const th = (key) => h('th', { class: ['bytes', 'flows', 'findings'].includes(key) ? 'num' : null }, h('a', { href: href('endpoints', null, { ...p, sort: key, offset: undefined }), class: `sort ${sort === key ? 'active' : ''}` }, SORTS[key]));
  mount(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Endpoints'), h('p', { class: 'muted' }, `${fmtNum(res.total)} addresses`)),
    h('div', { class: 'filters' },
      input('q', 'Search address or name', p.q, (v) => go('endpoints', null, { ...p, q: v, offset: undefined })),
      input('role', 'Role', p.role, (v) => go('endpoints', null, { ...p, role: v, offset: undefined }), { size: 14 })),
    h('table', { class: 'grid' },
      h('thead', null, h('tr', null, th('ip'), h('th', null, 'Name'), th('role'), h('th', null, 'Roles'), h('th', { class: 'num' }, 'As client'), h('th', { class: 'num' }, 'As server'), th('bytes'), th('findings'))),
      h('tbody', null, res.items.map((e) => h('tr', { class: 'row-link', 'data-ip': e.ip, on: { click: (ev) => { if (ev.target.tagName !== 'A') go('endpoint', e.ip); } } },
        h('td', null, h('a', { href: href('endpoint', e.ip), class: 'mono' }, e.ip)),
        h('td', null, e.name || h('span', { class: 'muted' }, '—')),
        h('td', null, roleBadge(e.primaryRole)),
        h('td', null, e.roles.join(', ')),
        h('td', { class: 'num' }, fmtNum(e.flowsAsClient)),
        h('td', { class: 'num' }, fmtNum(e.flowsAsServer)),
        h('td', { class: 'num' }, fmtBytes(e.bytes)),
        h('td', { class: 'num' }, e.findings ? sevBadge(e.worstSeverity, fmtNum(e.findings)) : h('span', { class: 'muted' }, '0')))))),
    res.total > PAGE ? h('nav', { class: 'pager' },
      offset > 0 ? h('a', { class: 'btn', href: href('endpoints', null, { ...p, offset: Math.max(0, offset - PAGE) || undefined }) }, '← Previous') : null,
      h('span', { class: 'muted' }, `${fmtNum(offset + 1)}–${fmtNum(Math.min(offset + PAGE, res.total))} of ${fmtNum(res.total)}`),
      offset + PAGE < res.total ? h('a', { class: 'btn', href: href('endpoints', null, { ...p, offset: offset + PAGE }) }, 'Next →') : null) : null);
}

export async function renderEndpoint(root, route) {
  const d = await api(`endpoints/${encodeURIComponent(route.arg)}`);
  const e = d.endpoint;
  mount(root,
    h('div', { class: 'page-head' },
      h('p', { class: 'crumbs' }, h('a', { href: href('endpoints') }, 'Endpoints'), ' / ', e.ip),
      h('h1', null, h('span', { class: 'mono' }, e.ip), e.name ? h('span', { class: 'muted' }, ` ${e.name}`) : null, ' ', roleBadge(e.primaryRole))),
    h('div', { class: 'detail-grid' },
      card('Roles', kv([
        ['Primary role', roleBadge(e.primaryRole)],
        ['All roles', e.roles.join(', ') || '—'],
        ['Seen', `${fmtTime(e.firstTs)} → ${fmtTime(e.lastTs)}`],
        ['Flows', [`${fmtNum(e.flowsAsClient)} as client, ${fmtNum(e.flowsAsServer)} as server · `, h('a', { href: href('flows', null, { ip: e.ip }) }, 'show flows'),
          ' · ', h('a', { href: href('requests', null, { ip: e.ip }), 'data-requests': '' }, 'requests')]],
        ['Findings', e.findings ? [sevBadge(e.worstSeverity, `${fmtNum(e.findings)} (worst ${e.worstSeverity})`), ' ', h('a', { href: href('findings', null, { ip: e.ip }) }, 'show')] : '0'],
      ]), h('h3', null, 'Why'), e.reasons.length ? h('ul', { class: 'reasons' }, e.reasons.map((r) => h('li', null, r))) : h('p', { class: 'muted' }, 'no evidence recorded')),
      card('Connections', d.scanCapped ? h('p', { class: 'muted small' }, `From the newest ${fmtNum(d.scannedFlows)} flows.`) : null,
        d.peers.length ? h('table', { class: 'grid compact' },
          h('thead', null, h('tr', null, ['Peer', 'Direction', 'Path', 'Port', 'Flows', 'Bytes', 'Worst'].map((x) => h('th', null, x)))),
          h('tbody', null, d.peers.map((x) => h('tr', null,
            h('td', null, h('a', { href: href('endpoint', x.ip), class: 'mono' }, x.ip), x.role ? h('div', { class: 'sub' }, x.role) : null),
            h('td', null, x.direction === 'outbound' ? '→ out' : '← in'),
            h('td', null, h('a', { href: href('flows', null, x.direction === 'outbound' ? { client: e.ip, server: x.ip, path: [x.path] } : { client: x.ip, server: e.ip, path: [x.path] }) }, pathBadge(x.path))),
            h('td', null, String(x.port)), h('td', { class: 'num' }, fmtNum(x.flows)), h('td', { class: 'num' }, fmtBytes(x.bytes)),
            h('td', null, x.worstSeverity ? sevBadge(x.worstSeverity) : h('span', { class: 'muted' }, '—')))))) : h('p', { class: 'muted' }, 'none'))),
    card(`Certificates (${d.certificates.length})`, d.certificates.length ? d.certificates.map((c) =>
      certificateBlock(c.certificate, [h('span', { class: 'pill' }, c.side === 'presented' ? 'presented as server' : 'sent as client'), h('span', { class: 'pill' }, `${fmtNum(c.flows)} flows`)])) : h('p', { class: 'muted' }, 'none seen')));
}
