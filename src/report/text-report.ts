import type { Db } from '../store/store';
import { cell, terminalSafe } from './terminal-text';
import { SEVERITIES } from '../model/analysis';

/** Severity markers readable without colour. */
export const SEVERITY_MARK: Record<string, string> = { critical: '!!', high: '!', medium: '~', low: '-', info: 'i' };

function where(captureIds: number[]): string {
  return captureIds.length > 0 ? `capture_id IN (${captureIds.join(',')})` : '1';
}

/** The human summary `planewatch analyze` prints: paths, then findings by severity. */
export function textReport(db: Db, captureIds: number[]): string {
  const lines: string[] = [];
  const paths = db
    .prepare(`SELECT path, COUNT(*) n, SUM(bytes_client + bytes_server) b, SUM(finding_count) fc, MAX(severity_rank) w
                FROM flows WHERE ${where(captureIds)} GROUP BY path ORDER BY n DESC, path`)
    .all() as { path: string; n: number; b: number; fc: number; w: number }[];
  lines.push('Communication paths');
  lines.push(`  ${cell('path', 28)}${cell('flows', 8)}${cell('bytes', 12)}findings`);
  for (const p of paths) lines.push(`  ${cell(p.path, 28)}${cell(p.n, 8)}${cell(formatBytes(p.b), 12)}${p.fc}`);

  const bySev = db
    .prepare(`SELECT severity, COUNT(*) n FROM findings WHERE ${where(captureIds)} GROUP BY severity`)
    .all() as { severity: string; n: number }[];
  const counts = new Map(bySev.map((r) => [r.severity, r.n]));
  lines.push('');
  lines.push(`Findings: ${SEVERITIES.map((s) => `${s} ${counts.get(s) ?? 0}`).join(', ')}`);
  const findings = db
    .prepare(`SELECT f.severity, f.rule, f.evidence, fl.flow_key FROM findings f LEFT JOIN flows fl ON fl.id = f.flow_id
               WHERE f.${where(captureIds)} ORDER BY f.severity_rank DESC, f.rule, f.ts LIMIT 200`)
    .all() as { severity: string; rule: string; evidence: string; flow_key: string }[];
  for (const f of findings) {
    lines.push(`  ${cell(SEVERITY_MARK[f.severity] ?? '', 3)}${cell(f.severity, 9)}${cell(f.rule, 26)}${terminalSafe(f.evidence, 160)}`);
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  if (total > findings.length) lines.push(`  … ${total - findings.length} more: planewatch findings`);
  return lines.join('\n');
}

export function formatBytes(n: number | null): string {
  if (!n) return '0 B';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
