import type { Command } from 'commander';
import { openStoreReadOnly } from '../../store/store';
import { DB_OPTION_HELP, EXIT, defaultDbPath, requireDb } from '../db-path';
import { SEVERITIES, severityRank, type Severity } from '../../model/analysis';
import { terminalSafe } from '../../report/terminal-text';
import { SEVERITY_MARK } from '../../report/text-report';

export function registerFindingsCommand(program: Command): void {
  program
    .command('findings')
    .description('list findings, most severe first, with evidence and recommendation')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--severity <level>', `only this severity and above (${SEVERITIES.join(', ')})`)
    .option('--rule <id>', 'only this finding id')
    .option('--path <id>', 'only findings on flows of this path')
    .option('--json', 'print JSON')
    .action((opts: { db?: string; severity?: string; rule?: string; path?: string; json?: boolean }) => {
      const file = opts.db ?? defaultDbPath();
      requireDb(file);
      if (opts.severity && !SEVERITIES.includes(opts.severity as Severity)) {
        process.stderr.write(`planewatch findings: unknown severity ${opts.severity} (${SEVERITIES.join(', ')})\n`);
        process.exit(EXIT.USAGE);
      }
      const db = openStoreReadOnly(file);
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (opts.severity) {
        where.push('severity_rank >= ?');
        params.push(severityRank(opts.severity as Severity));
      }
      if (opts.rule) {
        where.push('rule = ?');
        params.push(opts.rule);
      }
      if (opts.path) {
        where.push('path = ?');
        params.push(opts.path);
      }
      const rows = db
        .prepare(`SELECT * FROM v_findings ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
                   ORDER BY severity_rank DESC, ts, id`)
        .all(...params) as Record<string, string | number | null>[];
      db.close();
      if (opts.json) {
        process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
        return;
      }
      if (rows.length === 0) {
        process.stdout.write('no findings\n');
        return;
      }
      for (const r of rows) {
        const sev = String(r.severity);
        process.stdout.write(
          `${SEVERITY_MARK[sev] ?? ''} [${sev}] ${r.rule} — ${terminalSafe(String(r.title))}\n` +
            `   flow ${terminalSafe(String(r.flow_key ?? '-'))} ${terminalSafe(String(r.client_ip))}:${r.client_port} → ${terminalSafe(String(r.server_ip))}:${r.server_port} (${r.path}) at ${r.time ?? '-'}, frame ${r.frame ?? '-'}\n` +
            `   evidence: ${terminalSafe(String(r.evidence), 400)}\n` +
            `   do: ${terminalSafe(String(r.recommendation), 400)}\n` +
            `   see: ${r.reference}${r.cis ? `  (${r.cis})` : ''}\n\n`,
        );
      }
    });
}
