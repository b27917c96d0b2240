// Credentials seen in requests (plain HTTP, or TLS read with a key log): whose each claims to be,
// where it was used, and whether it ever crossed in cleartext. Only hashes of the credentials exist.
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { fmtNum, fmtTime, sevBadge } from '../format.js';
import { go, href } from '../router.js';
import { input, select } from './filters.js';

const PAGE = 50;

export async function renderCredentials(root, route) {
  const p = route.params;
  const offset = Number(p.offset) || 0;
  const res = await api('credentials', { q: p.q, cleartext: p.cleartext, limit: PAGE, offset });
  const table = h('table', { class: 'grid credentials-table' },
    h('thead', null, h('tr', null, ['Credential', 'Holder', 'Used from', 'Used on', 'Requests', 'First / last use', ''].map((x) => h('th', null, x)))),
    h('tbody', null, res.items.map((c) => h('tr', { 'data-credential': c.authHash, class: c.cleartext ? 'row-critical' : '' },
      h('td', null, h('span', null, c.scheme), h('div', { class: 'sub mono' }, c.authHash)),
      h('td', { class: 'wrap' }, c.subject ? h('div', { class: 'mono', 'data-subject': '' }, c.subject) : h('span', { class: 'muted' }, 'not named by the credential'),
        c.holder ? h('div', { class: 'sub' }, c.holder) : null,
        c.expires !== null ? h('div', { class: 'sub' }, `expires ${fmtTime(c.expires)}`) : null),
      h('td', { class: 'mono nowrap' }, c.clients.map((x) => h('div', null, x))),
      h('td', { class: 'mono nowrap' }, c.servers.map((x) => h('div', null, x))),
      h('td', { class: 'num' }, fmtNum(c.requests), h('div', { class: 'sub' }, `${fmtNum(c.flows)} ${c.flows === 1 ? 'flow' : 'flows'}`)),
      h('td', { class: 'nowrap' }, fmtTime(c.firstTs), h('div', { class: 'sub' }, fmtTime(c.lastTs))),
      h('td', null, c.cleartext ? sevBadge('critical', 'in cleartext') : null,
        h('div', null, h('a', { href: href('flows', null, { credential: c.authHash }), 'data-flows': '' }, 'flows →')))))));
  mount(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Credentials'),
      h('p', { class: 'muted' }, `${fmtNum(res.total)} distinct, from requests planewatch could read (plain HTTP, or TLS with a key log); only hashes are kept`)),
    h('div', { class: 'filters' },
      input('q', 'Search subject, namespace, pod, hash', p.q, (v) => go('credentials', null, { ...p, q: v, offset: undefined })),
      select('cleartext', 'Cleartext', [['true', 'crossed in cleartext'], ['false', 'only inside TLS']], p.cleartext, (v) => go('credentials', null, { ...p, cleartext: v, offset: undefined }))),
    res.items.length ? table : h('p', { class: 'empty' }, 'No credentials seen: requests inside TLS are visible only with a key log (--keylog, or a pcapng Decryption Secrets Block).'),
    res.total > PAGE ? h('nav', { class: 'pager' },
      offset > 0 ? h('a', { class: 'btn', href: href('credentials', null, { ...p, offset: Math.max(0, offset - PAGE) || undefined }) }, '← Previous') : null,
      offset + PAGE < res.total ? h('a', { class: 'btn', href: href('credentials', null, { ...p, offset: offset + PAGE }) }, 'Next →') : null) : null);
}
