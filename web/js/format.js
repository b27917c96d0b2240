// Formatting and the severity vocabulary shared by all views (colour + symbol, never colour alone).
import { h } from './dom.js';

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
export const SEVERITY_SYMBOL = { critical: '✖', high: '▲', medium: '◆', low: '▼', info: 'ℹ', none: '✓' };
export const SEVERITY_COLOR = { critical: '#c81e3a', high: '#e8590c', medium: '#d49b00', low: '#2f7fc1', info: '#6b7a90', none: '#8fa3b8' };

export const PATHS = [
  'node-to-apiserver', 'pod-to-apiserver', 'controlplane-to-apiserver', 'apiserver-to-kubelet', 'apiserver-proxy',
  'ssh-tunnel', 'konnectivity', 'apiserver-to-etcd', 'etcd-peer', 'other',
];
export const APPS = ['tls', 'http', 'http2', 'ssh', 'dns', 'unknown'];
/** Zeek connection states; S0, REJ, RSTOS0 and SH are attempts that never opened. */
export const STATES = ['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH'];

export function sevBadge(sev, text) {
  const key = sev || 'none';
  return h('span', { class: `sev sev-${key}`, title: sev ? `severity: ${sev}` : 'no finding' }, h('span', { class: 'sym', 'aria-hidden': 'true' }, SEVERITY_SYMBOL[key]), ' ', text ?? (sev || 'none'));
}

export function pathBadge(path) {
  return h('span', { class: `pill path-pill`, 'data-path': path }, path);
}

export function roleBadge(role) {
  return role ? h('span', { class: 'pill role-pill' }, role) : h('span', { class: 'muted' }, '—');
}

export function fmtNum(n) {
  return n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US');
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function fmtTime(ts) {
  if (ts === null || ts === undefined) return '—';
  const d = new Date(ts * 1000);
  if (Number.isNaN(d.getTime())) return '—';
  const iso = d.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

// A time on an axis whose marks are `step` seconds apart: as precise as needed to tell neighbours
// apart (milliseconds for a capture of a few seconds), with the date once the axis spans about a day.
export function fmtAxisTime(ts, step) {
  if (ts === null || ts === undefined) return '—';
  const d = new Date(ts * 1000);
  if (Number.isNaN(d.getTime())) return '—';
  const iso = d.toISOString();
  if (step >= 14400) return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
  if (step >= 60) return iso.slice(11, 16);
  if (step >= 1) return iso.slice(11, 19);
  return iso.slice(11, 23);
}

export function fmtDuration(sec) {
  if (sec === null || sec === undefined) return '—';
  if (sec < 1) return `${(sec * 1000).toFixed(0)} ms`;
  if (sec < 120) return `${sec.toFixed(1)} s`;
  if (sec < 7200) return `${(sec / 60).toFixed(1)} min`;
  return `${(sec / 3600).toFixed(1)} h`;
}

export function endpointText(ip, port) {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** A two-column table of label → value rows; values may be nodes or strings. */
export function kv(rows) {
  return h('table', { class: 'kv' }, h('tbody', null, rows.filter(Boolean).map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v ?? '—')))));
}

export function card(title, ...body) {
  return h('section', { class: 'card' }, title ? h('h2', null, title) : null, ...body);
}

export function errorBox(err) {
  return h('div', { class: 'error', role: 'alert' }, `Could not load: ${err && err.message ? err.message : String(err)}`);
}
