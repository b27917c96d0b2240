/** Small helpers shared by the benchmark stages: timing, medians, number formatting. */

/** One measured run of a stage. */
export interface StageRun {
  /** Packets the stage handled. */
  packets: number;
  /** Bytes of the capture the stage covered (file bytes read). */
  bytes: number;
  /** Wall-clock seconds. */
  seconds: number;
  /** CPU seconds (user + system) of the process that did the work, when known. */
  cpuSeconds: number | null;
  /** Peak resident set of the process that did the work, in bytes, when known. */
  peakRss: number | null;
  /** A line of context printed under the table (e.g. a prefix was used), or null. */
  note: string | null;
}

export function nowSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

export function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The run whose packets/s is the median of `runs` (so its other figures belong to the same run). */
export function medianRun(runs: StageRun[]): StageRun {
  const sorted = runs.slice().sort((a, b) => a.packets / a.seconds - b.packets / b.seconds);
  return sorted[(sorted.length - 1) >> 1]!;
}

export const pps = (r: StageRun): number => r.packets / r.seconds;
export const mbps = (r: StageRun): number => r.bytes / 1e6 / r.seconds;

export function fmtRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

export function fmtMB(bytes: number): string {
  return `${(bytes / 1048576).toFixed(0)} MiB`;
}

export function fmtPct(x: number): string {
  return `${(x * 100).toFixed(0)}%`;
}
