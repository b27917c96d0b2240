// Certificates seen in handshakes, and where each was used.
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { card, endpointText, fmtNum, fmtTime, pathBadge } from '../format.js';
import { go, href } from '../router.js';
import { input, select } from './filters.js';
import { certificateBlock } from './flow.js';

const PAGE = 50;

export async function renderCertificates(root, route) {
  const p = route.params;
  const offset = Number(p.offset) || 0;
  const res = await api('certificates', { q: p.q, selfSigned: p.selfSigned, ip: p.ip, limit: PAGE, offset });
  mount(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Certificates'), h('p', { class: 'muted' }, `${fmtNum(res.total)} distinct`)),
    h('div', { class: 'filters' },
      input('q', 'Search subject, issuer, SAN, SHA-256', p.q, (v) => go('certificates', null, { ...p, q: v, offset: undefined })),
      select('selfSigned', 'Self-signed', [['true', 'self-signed only'], ['false', 'CA-issued only']], p.selfSigned, (v) => go('certificates', null, { ...p, selfSigned: v, offset: undefined }))),
    res.items.map((x) => certificateBlock(x.certificate, [
      h('span', { class: 'pill' }, `${fmtNum(x.flows)} flows`),
      x.servers.length ? h('span', { class: 'muted small' }, ` ${x.servers.join(', ')}`) : null,
    ])),
    res.total > PAGE ? h('nav', { class: 'pager' },
      offset > 0 ? h('a', { class: 'btn', href: href('certificates', null, { ...p, offset: Math.max(0, offset - PAGE) || undefined }) }, '← Previous') : null,
      offset + PAGE < res.total ? h('a', { class: 'btn', href: href('certificates', null, { ...p, offset: offset + PAGE }) }, 'Next →') : null) : null);
}

export async function renderCertificate(root, route) {
  const d = await api(`certificates/${encodeURIComponent(route.arg)}`);
  mount(root,
    h('div', { class: 'page-head' }, h('p', { class: 'crumbs' }, h('a', { href: href('certificates') }, 'Certificates'), ' / ', d.certificate.subjectCn || d.certificate.sha256.slice(0, 16)),
      h('h1', null, 'Certificate')),
    certificateBlock(d.certificate, h('span', { class: 'pill' }, `${fmtNum(d.flows)} flows`)),
    card('Seen on', h('table', { class: 'grid compact' },
      h('thead', null, h('tr', null, ['Flow', 'Side', 'Client', 'Server', 'Path', 'Start'].map((x) => h('th', null, x)))),
      h('tbody', null, d.recentFlows.map((f) => h('tr', null,
        h('td', null, h('a', { href: href('flow', f.id) }, `#${f.id}`)), h('td', null, f.side),
        h('td', { class: 'mono' }, f.clientIp), h('td', { class: 'mono' }, endpointText(f.serverIp, f.serverPort)),
        h('td', null, pathBadge(f.path)), h('td', null, fmtTime(f.firstTs))))))));
}
