// Findings: filterable list, each with its evidence, recommendation, documentation link, CIS item
// and the connection it was raised on.
import { api } from '../api.js';
import { h, mount, safeHref } from '../dom.js';
import { PATHS, SEVERITIES, endpointText, fmtNum, fmtTime, pathBadge, sevBadge } from '../format.js';
import { go, href } from '../router.js';
import { first, input, select } from './filters.js';

const PAGE = 50;

export function findingCard(f, opts = {}) {
  const ref = safeHref(f.reference);
  return h('article', { class: `finding sevline-${f.severity}`, 'data-finding': f.id, 'data-rule': f.rule },
    h('header', null, sevBadge(f.severity), h('h3', null, f.title), h('code', { class: 'rule' }, f.rule),
      f.natRepeat ? h('span', { class: 'muted small nat-repeat', title: 'this connection was also seen on the other side of a NAT, where the same finding was raised' }, 'repeated across NAT') : null,
      f.acceptance ? h('span', { class: 'accepted-badge', title: 'accepted as a risk (analyze --accept): not counted among the open findings' }, 'accepted') : null),
    h('dl', { class: 'finding-body' },
      f.acceptance ? [h('dt', null, 'Accepted'), h('dd', { class: 'acceptance' }, f.acceptance.reason,
        h('span', { class: 'muted' }, ` — ${f.acceptance.until ? `until ${f.acceptance.until}` : 'no end date'} · ${f.acceptance.source}`))] : null,
      h('dt', null, 'Evidence'), h('dd', null, h('code', { class: 'evidence' }, f.evidence)),
      h('dt', null, 'Recommendation'), h('dd', null, f.recommendation),
      h('dt', null, 'Reference'), h('dd', null, ref ? h('a', { href: ref, rel: 'noopener noreferrer', target: '_blank' }, ref) : h('span', { class: 'muted', title: 'not an http(s) link; shown as text' }, f.reference || '—')),
      h('dt', null, 'CIS Benchmark'), h('dd', null, f.cis ? f.cis : h('span', { class: 'muted' }, 'no item')),
      f.flowId && !opts.hideFlow ? [h('dt', null, 'Connection'), h('dd', null,
        h('a', { href: href('flow', f.flowId), class: 'flow-link', 'data-flow': f.flowId }, `${endpointText(f.clientIp, f.clientPort)} → ${endpointText(f.serverIp, f.serverPort)}`),
        ' ', f.path ? pathBadge(f.path) : null, ' ', h('span', { class: 'muted' }, fmtTime(f.ts)), f.frame ? h('span', { class: 'muted' }, ` · frame ${f.frame}`) : null)] : null));
}

export async function renderFindings(root, route) {
  const p = route.params;
  const offset = Number(p.offset) || 0;
  // Findings accepted as risks (analyze --accept) are listed apart from the open ones.
  const accepted = p.accepted === '1';
  const [res, sum] = await Promise.all([
    api('findings', { severity: p.severity, rule: p.rule, path: p.path, ip: p.ip, q: p.q, accepted: accepted ? true : undefined, limit: PAGE, offset }),
    api('summary'),
  ]);
  const set = (k, v) => go('findings', null, { ...p, [k]: v === undefined ? undefined : Array.isArray(p[k]) || ['severity', 'rule', 'path'].includes(k) ? [v] : v, offset: undefined });
  const rules = accepted
    ? [...new Set([...res.items.map((f) => f.rule), ...(p.rule || [])])].map((r) => [r, r])
    : [...new Map(sum.findingsByRule.map((r) => [r.rule, r])).values()].map((r) => [r.rule, `${r.rule} (${r.count})`]);
  const chips = h('div', { class: 'chips' }, SEVERITIES.map((sev) => {
    const on = (p.severity || []).includes(sev);
    return h('a', { class: `chip ${on ? 'on' : ''}`, href: href('findings', null, { ...p, severity: on ? (p.severity || []).filter((x) => x !== sev) : [...(p.severity || []), sev], offset: undefined }), 'data-severity': sev },
      sevBadge(sev, accepted ? sev : `${sev} ${fmtNum(sum.findingsBySeverity[sev])}`));
  }));
  const tabs = sum.acceptedFindings > 0 || accepted
    ? h('nav', { class: 'tabs', 'aria-label': 'open or accepted findings' },
      h('a', { class: `tab ${accepted ? '' : 'on'}`, href: href('findings', null, { ...p, accepted: undefined, offset: undefined }), 'data-tab': 'open' }, `Open (${fmtNum(sum.counts.findings)})`),
      h('a', { class: `tab ${accepted ? 'on' : ''}`, href: href('findings', null, { ...p, accepted: '1', offset: undefined }), 'data-tab': 'accepted', title: 'accepted as risks with analyze --accept: kept, not counted' }, `Accepted (${fmtNum(sum.acceptedFindings)})`))
    : null;
  mount(root,
    h('div', { class: 'page-head' }, h('h1', null, accepted ? 'Accepted findings' : 'Findings'), h('p', { class: 'muted' }, `${fmtNum(res.total)} matching`)),
    tabs,
    h('div', { class: 'filters' }, chips,
      select('rule', 'Rule', rules, first(p.rule), (v) => set('rule', v)),
      select('path', 'Path', PATHS, first(p.path), (v) => set('path', v)),
      input('q', 'Search title or evidence', p.q, (v) => set('q', v)),
      input('ip', 'Address', p.ip, (v) => set('ip', v)),
      // Clearing the filters keeps the tab.
      Object.keys(p).some((k) => k !== 'accepted') ? h('a', { href: href('findings', null, accepted ? { accepted: '1' } : {}), class: 'btn ghost' }, 'Clear') : null),
    res.items.length ? h('div', { class: 'findings' }, res.items.map((f) => findingCard(f))) : h('p', { class: 'empty' }, accepted ? 'No accepted findings match.' : 'No findings match.'),
    pager(res, p));
}

function pager(res, p) {
  if (res.total <= res.limit) return null;
  const prev = res.offset > 0 ? href('findings', null, { ...p, offset: Math.max(0, res.offset - res.limit) || undefined }) : null;
  const next = res.offset + res.limit < res.total ? href('findings', null, { ...p, offset: res.offset + res.limit }) : null;
  return h('nav', { class: 'pager' },
    prev ? h('a', { class: 'btn', href: prev }, '← Previous') : null,
    h('span', { class: 'muted' }, `${fmtNum(res.offset + 1)}–${fmtNum(Math.min(res.offset + res.limit, res.total))} of ${fmtNum(res.total)}`),
    next ? h('a', { class: 'btn', href: next }, 'Next →') : null);
}
