// The hub-and-spoke map: API server(s) in the middle, every other endpoint or role group on a ring
// ordered by group, one curved edge per (path, client, server) coloured by its worst finding and
// as wide as its share of the bytes. Clicking an edge (or its midpoint handle) calls onEdge(edge).
import { s } from './dom.js';
import { SEVERITY_COLOR, SEVERITY_SYMBOL, fmtBytes, fmtNum } from './format.js';

const W = 820;
const H = 560;
const GROUP_ORDER = ['etcd', 'control-plane', 'konnectivity', 'service', 'node', 'pod', 'user', 'other'];
export const GROUP_COLOR = {
  apiserver: '#1d4ed8', node: '#0f766e', etcd: '#7c3aed', 'control-plane': '#4338ca', konnectivity: '#0891b2',
  pod: '#65a30d', service: '#a16207', user: '#be185d', other: '#64748b',
};
const GROUP_LABEL = {
  apiserver: 'API server', node: 'node / kubelet', etcd: 'etcd', 'control-plane': 'control plane', konnectivity: 'Konnectivity',
  pod: 'pods', service: 'services', user: 'people', other: 'other',
};

function place(nodes) {
  const pos = new Map();
  const cx = W / 2;
  const cy = H / 2;
  let hubs = nodes.filter((n) => n.group === 'apiserver');
  if (hubs.length === 0 && nodes.length > 0) hubs = [nodes.slice().sort((a, b) => b.flows - a.flows)[0]];
  const hubIds = new Set(hubs.map((n) => n.id));
  hubs.forEach((n, i) => {
    const a = (2 * Math.PI * i) / hubs.length;
    const r = hubs.length > 1 ? 40 + 18 * hubs.length : 0;
    pos.set(n.id, { x: cx + r * Math.cos(a), y: cy + r * Math.sin(a), r: 30, hub: true });
  });
  const ring = nodes
    .filter((n) => !hubIds.has(n.id))
    .sort((a, b) => GROUP_ORDER.indexOf(a.group) - GROUP_ORDER.indexOf(b.group) || String(a.label).localeCompare(String(b.label)));
  const R = Math.min(W, H) / 2 - 70;
  ring.forEach((n, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(ring.length, 1);
    pos.set(n.id, { x: cx + R * 1.18 * Math.cos(a), y: cy + R * Math.sin(a), r: n.kind === 'group' ? 24 : 20, hub: false });
  });
  return pos;
}

function curve(a, b, offset) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len = Math.hypot(dx, dy) || 1;
  const nx = -dy / len;
  const ny = dx / len;
  const c = { x: (a.x + b.x) / 2 + nx * offset, y: (a.y + b.y) / 2 + ny * offset };
  // Stop at the target's rim so the arrowhead stays visible.
  const ex = b.x - c.x;
  const ey = b.y - c.y;
  const el = Math.hypot(ex, ey) || 1;
  const end = { x: b.x - (ex / el) * (b.r + 4), y: b.y - (ey / el) * (b.r + 4) };
  const mid = { x: 0.25 * a.x + 0.5 * c.x + 0.25 * end.x, y: 0.25 * a.y + 0.5 * c.y + 0.25 * end.y };
  return { d: `M${a.x.toFixed(1)},${a.y.toFixed(1)} Q${c.x.toFixed(1)},${c.y.toFixed(1)} ${end.x.toFixed(1)},${end.y.toFixed(1)}`, mid };
}

function loop(a, offset) {
  const r = 16 + Math.abs(offset) / 2;
  const x = a.x;
  const y = a.y - a.r;
  return { d: `M${x - 8},${y} C${x - r * 2},${y - r * 2.5} ${x + r * 2},${y - r * 2.5} ${x + 8},${y}`, mid: { x, y: y - r * 1.9 } };
}

export function renderMap(topology, onEdge) {
  const { nodes, edges } = topology;
  const pos = place(nodes);
  const maxBytes = Math.max(1, ...edges.map((e) => e.bytes));
  const defs = s('defs', null, Object.entries(SEVERITY_COLOR).map(([sev, color]) =>
    s('marker', { id: `arrow-${sev}`, viewBox: '0 0 10 10', refX: '9', refY: '5', markerUnits: 'userSpaceOnUse', markerWidth: '11', markerHeight: '11', orient: 'auto-start-reverse' },
      s('path', { d: 'M0,0 L10,5 L0,10 z', fill: color }))));
  const svg = s('svg', { class: 'map', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'cluster communication map' }, defs);

  // A faint guide ring behind the spokes.
  const ringLayer = s('g', { class: 'map-ring' }, s('ellipse', { cx: W / 2, cy: H / 2, rx: (Math.min(W, H) / 2 - 70) * 1.18, ry: Math.min(W, H) / 2 - 70, fill: 'none', stroke: '#e3e8ef', 'stroke-dasharray': '4 6' }));
  svg.appendChild(ringLayer);

  const pairCount = new Map();
  const pairIndex = new Map();
  for (const e of edges) {
    const k = [e.source, e.target].sort().join('|');
    pairCount.set(k, (pairCount.get(k) || 0) + 1);
  }
  const edgeLayer = s('g', { class: 'edges' });
  const handleLayer = s('g', { class: 'handles' });
  const sorted = edges.slice().sort((a, b) => (a.worstSeverity ? 1 : 0) - (b.worstSeverity ? 1 : 0));
  for (const e of sorted) {
    const a = pos.get(e.source);
    const b = pos.get(e.target);
    if (!a || !b) continue;
    const k = [e.source, e.target].sort().join('|');
    const i = pairIndex.get(k) || 0;
    pairIndex.set(k, i + 1);
    const n = pairCount.get(k);
    const dirSign = e.source < e.target ? 1 : -1;
    const offset = (i - (n - 1) / 2) * 30 * dirSign;
    const geom = e.source === e.target ? loop(a, i * 10) : curve(a, b, offset);
    const sev = e.worstSeverity || 'none';
    const color = SEVERITY_COLOR[sev];
    const width = 1.5 + 7 * (Math.log1p(e.bytes) / Math.log1p(maxBytes));
    const tip = `${e.path}: ${fmtNum(e.flows)} flows, ${fmtBytes(e.bytes)}, ${e.findings} findings${e.worstSeverity ? ` (worst ${e.worstSeverity})` : ''}`;
    const click = () => onEdge(e);
    const g = s('g', { class: `edge sev-${sev}`, 'data-edge-path': e.path, 'data-edge-id': e.id, on: { click } },
      s('title', null, tip),
      s('path', { d: geom.d, fill: 'none', stroke: color, 'stroke-width': width.toFixed(1), 'stroke-linecap': 'round', 'marker-end': `url(#arrow-${sev})`, class: 'edge-line', 'stroke-opacity': e.worstSeverity ? '0.9' : '0.55' }),
      s('path', { d: geom.d, fill: 'none', stroke: 'transparent', 'stroke-width': '16', class: 'edge-hit' }));
    edgeLayer.appendChild(g);
    handleLayer.appendChild(s('g', { class: `edge-handle sev-${sev}`, 'data-edge-path': e.path, 'data-edge-id': e.id, role: 'button', tabindex: '0', 'aria-label': tip, on: { click, keydown: (ev) => { if (ev.key === 'Enter') click(); } } },
      s('title', null, tip),
      s('circle', { cx: geom.mid.x.toFixed(1), cy: geom.mid.y.toFixed(1), r: e.worstSeverity ? '9' : '6', fill: '#fff', stroke: color, 'stroke-width': '2' }),
      e.worstSeverity ? s('text', { x: geom.mid.x.toFixed(1), y: (geom.mid.y + 3.5).toFixed(1), 'text-anchor': 'middle', 'font-size': '9', fill: color, 'pointer-events': 'none' }, SEVERITY_SYMBOL[sev]) : null));
  }
  svg.appendChild(edgeLayer);

  const nodeLayer = s('g', { class: 'nodes' });
  for (const n of nodes) {
    const p = pos.get(n.id);
    const color = GROUP_COLOR[n.group] || GROUP_COLOR.other;
    const label = String(n.label);
    nodeLayer.appendChild(s('g', { class: `node group-${n.group}`, 'data-node': n.id },
      s('title', null, `${n.ip || n.label} — ${n.role}; ${fmtNum(n.flows)} flows, ${fmtBytes(n.bytes)}`),
      s('circle', { cx: p.x, cy: p.y, r: p.r, fill: color, 'fill-opacity': p.hub ? '1' : '0.92', stroke: '#fff', 'stroke-width': '3', 'stroke-dasharray': n.kind === 'group' ? '5 3' : null }),
      s('text', { x: p.x, y: p.y + 4, 'text-anchor': 'middle', 'font-size': p.hub ? '12' : '10', fill: '#fff', 'font-weight': '600', 'pointer-events': 'none' }, initials(n.group)),
      s('text', { x: p.x, y: p.y + p.r + 14, 'text-anchor': 'middle', 'font-size': '11.5', class: 'node-label' }, label.length > 28 ? `${label.slice(0, 27)}…` : label),
      n.ip && n.ip !== label ? s('text', { x: p.x, y: p.y + p.r + 27, 'text-anchor': 'middle', 'font-size': '10', class: 'node-sub' }, n.ip) : null));
  }
  svg.appendChild(handleLayer);
  svg.appendChild(nodeLayer);
  return svg;
}

function initials(group) {
  return { apiserver: 'API', node: 'K', etcd: 'etcd', 'control-plane': 'CP', konnectivity: 'KN', pod: 'pod', service: 'svc', user: 'user', other: '?' }[group] || '?';
}

export { GROUP_LABEL };
