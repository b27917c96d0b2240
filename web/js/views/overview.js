// Overview: the cluster map, the path table, findings by severity and the timeline.
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { SEVERITIES, card, fmtBytes, fmtNum, sevBadge } from '../format.js';
import { GROUP_LABEL, renderMap } from '../map.js';
import { go, href } from '../router.js';
import { renderTimeline } from '../timeline.js';

function edgeFilter(e) {
  const p = { path: [e.path] };
  if (e.clientIp) p.client = e.clientIp;
  else p.clientGroup = e.clientGroup;
  if (e.serverIp) p.server = e.serverIp;
  else p.serverGroup = e.serverGroup;
  return p;
}

function severityBars(bySev) {
  const max = Math.max(1, ...SEVERITIES.map((s) => bySev[s]));
  return h('ul', { class: 'sevbars' }, SEVERITIES.map((sev) =>
    h('li', null,
      h('a', { href: href('findings', null, { severity: [sev] }), class: 'sevbar-link', 'data-severity': sev },
        h('span', { class: 'sevbar-label' }, sevBadge(sev)),
        h('span', { class: 'sevbar-track' }, h('span', { class: `sevbar-fill fill-${sev}`, 'data-w': Math.round((bySev[sev] / max) * 100) })),
        h('span', { class: 'sevbar-count' }, fmtNum(bySev[sev]))))));
}

function pathTable(paths) {
  return h('table', { class: 'grid compact' },
    h('thead', null, h('tr', null, h('th', null, 'Path'), h('th', { class: 'num', title: 'a connection seen on both sides of a NAT counts once' }, 'Connections'), h('th', { class: 'num' }, 'Bytes'), h('th', null, 'Worst'))),
    h('tbody', null, paths.filter((p) => p.flows > 0 || p.path !== 'other').map((p) =>
      h('tr', { class: p.flows === 0 ? 'dim' : null },
        h('td', null, h('a', { href: href('flows', null, { path: [p.path] }), title: p.section }, p.title), h('div', { class: 'sub' }, p.path)),
        h('td', { class: 'num' }, fmtNum(p.flows)),
        h('td', { class: 'num' }, fmtBytes(p.bytes)),
        h('td', null, p.flows ? sevBadge(p.worstSeverity, p.worstSeverity ? `${p.findings}` : '0') : h('span', { class: 'muted' }, 'not seen'))))));
}

function legend() {
  return h('div', { class: 'legend' },
    h('div', null, h('strong', null, 'Endpoints '), Object.entries(GROUP_LABEL).map(([g, label]) =>
      h('span', { class: 'legend-item' }, h('span', { class: `dot dot-${g}` }), label))),
    h('div', null, h('strong', null, 'Edges '), [...SEVERITIES, 'none'].map((sev) =>
      h('span', { class: 'legend-item' }, h('span', { class: `swatch swatch-${sev}` }), sev === 'none' ? 'no finding' : sev)),
      h('span', { class: 'legend-item muted' }, 'width = bytes · click an edge for its flows')));
}

// The whole database as Zeek's logs (what `planewatch export` writes), for Zeek tooling and SIEMs.
const ZEEK_LOGS = ['conn', 'tunnel', 'dns', 'http', 'ssl', 'x509', 'ssh', 'notice'];

function zeekLinks() {
  return h('p', { class: 'muted small zeek-logs', title: "the whole database as Zeek's logs (tab-separated, for zeek-cut and Zeek log readers)" },
    'Zeek logs: ', ZEEK_LOGS.flatMap((log, i) => [i > 0 ? ' · ' : null,
      h('a', { href: new URL(`/api/zeek/${log}`, location.href).href, 'data-zeek-log': log }, `${log}.log`)]));
}

export async function renderOverview(root) {
  const [sum, topo, tl] = await Promise.all([api('summary'), api('topology'), api('timeline', { buckets: 80 })]);
  const c = sum.counts;
  const stats = h('div', { class: 'stats' },
    [['Flows', c.flows, href('flows')], ['Findings', c.findings, href('findings')], ['Endpoints', c.endpoints, href('endpoints')],
      ['Certificates', c.certificates, href('certificates')], ['Requests', c.httpRequests, href('requests')], ['SSH sessions', c.sshSessions, null]]
      .map(([label, n, link]) => h(link ? 'a' : 'div', { class: 'stat', href: link }, h('div', { class: 'stat-n' }, fmtNum(n)), h('div', { class: 'stat-l' }, label))));
  const map = topo.nodes.length
    ? renderMap(topo, (e) => go('flows', null, edgeFilter(e)))
    : h('p', { class: 'empty' }, 'No flows in this database yet.');
  const bySev = sum.findingsBySeverity;
  const topRules = sum.findingsByRule.slice(0, 8);
  mount(root,
    h('div', { class: 'page-head' }, h('h1', null, 'Cluster overview'),
      h('p', { class: 'muted' }, sum.timeRange.first ? `${new Date(sum.timeRange.first * 1000).toISOString().replace('T', ' ').slice(0, 19)} – ${new Date(sum.timeRange.last * 1000).toISOString().replace('T', ' ').slice(0, 19)} UTC` : 'empty'),
      zeekLinks()),
    stats,
    h('div', { class: 'overview' },
      h('section', { class: 'card map-card' }, h('h2', null, 'Control-plane map'), map, legend(), topo.truncated ? h('p', { class: 'muted' }, 'Busy addresses only; quieter ones are folded into their group.') : null),
      h('div', { class: 'side' },
        card('Findings by severity', severityBars(bySev),
          sum.natRepeatedFindings > 0 ? h('p', { class: 'muted small nat-repeats' },
            `${fmtNum(sum.natRepeatedFindings)} of these repeat, on the second view of a connection seen on both sides of a NAT, a finding of its first view.`) : null,
          sum.acceptedFindings > 0 ? h('p', { class: 'muted small accepted-count' },
            h('a', { href: href('findings', null, { accepted: '1' }) }, `${fmtNum(sum.acceptedFindings)} accepted as risks`), ' (analyze --accept) are not counted here.') : null,
          topRules.length ? h('ul', { class: 'rules' }, topRules.map((r) => h('li', null, sevBadge(r.severity, ''), ' ',
            h('a', { href: href('findings', null, { rule: [r.rule] }), 'data-rule': r.rule }, r.title), h('span', { class: 'count' }, `×${fmtNum(r.count)}`)))) : null),
        card('Communication paths', pathTable(sum.paths)))),
    card('Timeline', h('p', { class: 'muted small' }, 'Connections started per interval; symbols mark the worst finding raised in it. Click an interval for its flows.'),
      renderTimeline(tl, (from, to) => go('flows', null, { from: from.toFixed(3), to: to.toFixed(3), sort: 'time', order: 'asc' }))));
  // Bar widths are applied as properties, not style attributes (the CSP allows no inline styles).
  for (const el of root.querySelectorAll('.sevbar-fill')) el.style.width = `${el.dataset.w}%`;
}
