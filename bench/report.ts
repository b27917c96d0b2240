/** The benchmark's printed table and the issues' targets next to the figures. */
import { fmtMB, fmtPct, fmtRate, mbps, pps, type StageRun } from './measure';

export interface Row {
  label: string;
  run: StageRun;
  /** Runs the median was taken over. */
  runs: number;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

export function printTable(rows: Row[], walk: StageRun, log: (line: string) => void): void {
  const width = Math.max(32, ...rows.map((r) => r.label.length + 1));
  log(
    `${pad('stage', width)}${lpad('packets', 10)}${lpad('wall s', 9)}${lpad('pkt/s', 11)}${lpad('MB/s', 8)}` +
      `${lpad('vs walk', 9)}${lpad('CPU s', 8)}${lpad('pkt/CPU-s', 11)}${lpad('peak RSS', 10)}${lpad('runs', 6)}`,
  );
  for (const { label, run, runs } of rows) {
    const cpu = run.cpuSeconds;
    log(
      `${pad(label, width)}${lpad(String(run.packets), 10)}${lpad(run.seconds.toFixed(2), 9)}${lpad(fmtRate(pps(run)), 11)}` +
        `${lpad(mbps(run).toFixed(0), 8)}${lpad(fmtPct(pps(run) / pps(walk)), 9)}` +
        `${lpad(cpu === null ? '-' : cpu.toFixed(2), 8)}${lpad(cpu === null || cpu === 0 ? '-' : fmtRate(run.packets / cpu), 11)}` +
        `${lpad(run.peakRss === null ? '-' : fmtMB(run.peakRss), 10)}${lpad(String(runs), 6)}`,
    );
  }
}

export interface Target {
  what: string;
  goal: string;
  measured: string;
  met: boolean | null;
}

export function printTargets(targets: Target[], log: (line: string) => void): void {
  for (const t of targets) {
    const verdict = t.met === null ? 'not measured' : t.met ? 'MET' : 'MISSED';
    log(`  ${pad(t.what, 46)} ${pad(t.goal, 14)} ${pad(t.measured, 22)} ${verdict}`);
  }
}
