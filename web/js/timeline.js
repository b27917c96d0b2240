// Connections per time bucket as bars, findings as severity-coloured marks above them. Clicking a
// bucket opens the flows that started in it.
import { s } from './dom.js';
import { SEVERITY_COLOR, SEVERITY_SYMBOL, fmtAxisTime, fmtNum } from './format.js';

const W = 820;
const H = 150;
const PAD_L = 44;
const PAD_B = 22;
const PAD_T = 22;

export function renderTimeline(tl, onBucket) {
  const svg = s('svg', { class: 'timeline', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'connections and findings over time' });
  if (!tl.buckets.length) {
    svg.appendChild(s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'muted' }, 'no flows'));
    return svg;
  }
  const maxFlows = Math.max(1, ...tl.buckets.map((b) => b.flows));
  const bw = (W - PAD_L - 8) / tl.buckets.length;
  const plotH = H - PAD_B - PAD_T;
  svg.appendChild(s('line', { x1: PAD_L, y1: H - PAD_B, x2: W - 8, y2: H - PAD_B, stroke: '#cbd5e1' }));
  svg.appendChild(s('text', { x: PAD_L - 6, y: PAD_T + 8, 'text-anchor': 'end', 'font-size': '10', class: 'axis' }, fmtNum(maxFlows)));
  svg.appendChild(s('text', { x: PAD_L - 6, y: H - PAD_B, 'text-anchor': 'end', 'font-size': '10', class: 'axis' }, '0'));
  tl.buckets.forEach((b, i) => {
    const x = PAD_L + i * bw;
    const hgt = (b.flows / maxFlows) * plotH;
    const end = b.t + tl.bucketSeconds;
    const tip = `${fmtAxisTime(b.t, tl.bucketSeconds)}–${fmtAxisTime(end, tl.bucketSeconds)}: ${fmtNum(b.flows)} connections, ${fmtNum(b.findings)} findings`;
    const g = s('g', { class: 'bucket', 'data-bucket': i, on: { click: () => onBucket(b.t, end) } },
      s('title', null, tip),
      s('rect', { x: x, y: PAD_T, width: Math.max(bw, 1), height: plotH, fill: 'transparent' }),
      s('rect', { x: x + 0.5, y: H - PAD_B - hgt, width: Math.max(bw - 1, 0.5), height: hgt, fill: '#93b4dc', class: 'bar' }));
    if (b.findings > 0) {
      const sev = b.worstSeverity || 'info';
      g.appendChild(s('text', { x: x + bw / 2, y: PAD_T - 6, 'text-anchor': 'middle', 'font-size': '11', fill: SEVERITY_COLOR[sev] }, SEVERITY_SYMBOL[sev]));
    }
    svg.appendChild(g);
  });
  const ticks = 5;
  const step = (tl.end + tl.bucketSeconds - tl.start) / ticks;
  for (let i = 0; i <= ticks; i++) {
    const t = tl.start + step * i;
    svg.appendChild(s('text', { x: PAD_L + ((W - PAD_L - 8) * i) / ticks, y: H - 6, 'text-anchor': i === 0 ? 'start' : i === ticks ? 'end' : 'middle', 'font-size': '10', class: 'axis' }, fmtAxisTime(t, step)));
  }
  return svg;
}
