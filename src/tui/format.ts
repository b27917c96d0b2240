import { terminalSafe } from '../report/terminal-text';

/** Every string from the database goes through here before the screen: control characters out, cut to width. */
export function fit(s: string | number | null | undefined, width: number): string {
  if (width <= 0) return '';
  const t = terminalSafe(s === null || s === undefined ? '' : String(s), Math.max(1, width));
  return t.length >= width ? t.slice(0, width) : t + ' '.repeat(width - t.length);
}

/** Like fit() but without padding. */
export function clean(s: string | number | null | undefined, max = 200): string {
  return terminalSafe(s === null || s === undefined ? '' : String(s), max);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatDuration(s: number): string {
  const t = Math.max(0, Math.floor(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

export function formatTime(ts: number | null): string {
  if (ts === null || !Number.isFinite(ts)) return '-';
  return new Date(ts * 1000).toISOString().slice(11, 19);
}

/** First visible row of a list window that keeps `selected` on screen. */
export function windowStart(selected: number, height: number, total: number): number {
  if (total <= height) return 0;
  const half = Math.floor(height / 2);
  return Math.max(0, Math.min(selected - half, total - height));
}
