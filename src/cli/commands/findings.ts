import type { Command } from 'commander';
import { endpointText } from '../../decode/address';
import { flowPacketsProblem, locateCapture, type CaptureLocation } from '../../export/capture-location';
import { openStoreReadOnly } from '../../store/store';
import { DB_OPTION_HELP, EXIT, defaultDbPath, requireDb } from '../db-path';
import { SEVERITIES, severityRank, type Severity } from '../../model/analysis';
import { terminalSafe } from '../../report/terminal-text';
import { SEVERITY_MARK } from '../../report/text-report';
import { printTable, write, writeJsonArray } from '../output';
import { findingRule, pathId, positiveInt } from '../option-parsers';
import { warnCutOffCaptures } from '../cut-off-warning';
import { captureIds } from '../capture-filter';
import { communityIdOption } from '../flow-ref';

interface FindingsOptions {
  db?: string;
  severity?: string;
  rule?: string;
  path?: string;
  limit?: number;
  summary?: boolean;
  accepted?: boolean;
  capture?: string;
  communityId?: string;
  json?: boolean;
}

/**
 * One finding as text; `dbArg` is what `extract` needs to find the same database (`--db FILE`, or
 * nothing); `packets`: where its flow's packets are, or why they cannot be read back.
 */
function findingText(r: Record<string, string | number | null>, dbArg: string, packets: CaptureLocation | null): string {
  const sev = String(r.severity);
  const key = r.flow_key === null || r.flow_key === undefined ? null : terminalSafe(String(r.flow_key));
  // Kept when the frame the finding rests on still is (a ring of files deletes its oldest).
  const problem = packets === null ? null : flowPacketsProblem(packets, typeof r.frame === 'number' ? r.frame : 0);
  const packetsLine = key === null || packets === null ? ''
    : problem === null ? `   packets: planewatch extract ${key}${dbArg} -o ${key}.pcapng\n   details: planewatch show ${key}${dbArg} · conversation: planewatch follow ${key}${dbArg}\n`
    : `   packets: not available (${terminalSafe(problem, 300)})\n`;
  return (
    `${SEVERITY_MARK[sev] ?? ''} [${sev}] ${r.rule} — ${terminalSafe(String(r.title))}\n` +
    `   flow ${terminalSafe(String(r.flow_key ?? '-'))} ${terminalSafe(endpointText(String(r.client_ip), Number(r.client_port)))} → ${terminalSafe(endpointText(String(r.server_ip), Number(r.server_port)))} (${r.path}) at ${r.time ?? '-'}, frame ${r.frame ?? '-'}\n` +
    `   evidence: ${terminalSafe(String(r.evidence), 400)}\n` +
    `   do: ${terminalSafe(String(r.recommendation), 400)}\n` +
    `   see: ${r.reference}${r.cis ? `  (${r.cis})` : ''}\n` +
    (r.accepted_by === undefined ? ''
      : `   accepted: ${terminalSafe(String(r.reason), 400)} (${r.until === null ? 'no end' : `until ${terminalSafe(String(r.until), 40)}`}; ${terminalSafe(String(r.accepted_by), 200)})\n`) +
    packetsLine +
    '\n'
  );
}

export function registerFindingsCommand(program: Command): void {
  program
    .command('findings')
    .description('list findings, most severe first, with evidence and recommendation')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--severity <level>', `only this severity and above (${SEVERITIES.join(', ')})`)
    .option('--rule <id>', 'only this finding id', findingRule)
    .option('--path <id>', 'only findings on flows of this path', pathId)
    .option('--limit <n>', 'at most this many findings', positiveInt)
    .option('--summary', 'one line per finding id: how many, on how many clients and servers, first and last time')
    .option('--capture <id|file>', "only findings of this capture: its id, or its file (as stored, or by name)")
    .option('--community-id <id>', 'only findings on the flows of this Community ID (as Zeek, Suricata and Wireshark print it for the same connection)', communityIdOption)
    .option('--accepted', 'the findings accepted as risks (analyze --accept) instead of the open ones, each with its reason')
    .option('--json', 'print JSON')
    .action(async (opts: FindingsOptions) => {
      const file = opts.db ?? defaultDbPath();
      requireDb(file);
      if (opts.severity && !SEVERITIES.includes(opts.severity as Severity)) {
        process.stderr.write(`planewatch findings: unknown severity ${opts.severity} (${SEVERITIES.join(', ')})\n`);
        process.exit(EXIT.USAGE);
      }
      const db = openStoreReadOnly(file);
      warnCutOffCaptures(db, file);
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
      if (opts.communityId) {
        where.push('community_id = ?');
        params.push(opts.communityId);
      }
      if (opts.capture) {
        try {
          where.push(`capture_id IN (${captureIds(db, opts.capture).join(',')})`);
        } catch (e) {
          db.close();
          process.stderr.write(`planewatch findings: ${(e as Error).message}\n`);
          process.exit(EXIT.USAGE);
        }
      }
      const filter = where.length ? 'WHERE ' + where.join(' AND ') : '';
      const view = opts.accepted ? 'v_accepted_findings' : 'v_findings';
      const none = opts.accepted ? 'no accepted findings\n' : 'no findings\n';
      const limit = opts.limit !== undefined ? `LIMIT ${opts.limit}` : '';
      try {
        if (opts.summary) {
          const rows = db
            .prepare(`SELECT rule, severity, COUNT(*) AS findings, COUNT(DISTINCT client_ip) AS clients,
                        COUNT(DISTINCT server_ip || ':' || server_port) AS servers, MIN(time) AS first, MAX(time) AS last
                      FROM ${view} ${filter} GROUP BY rule, severity ORDER BY MAX(severity_rank) DESC, findings DESC ${limit}`)
            .all(...params) as Record<string, string | number | null>[];
          if (opts.json) await writeJsonArray(rows);
          else if (rows.length === 0) await write(none);
          else await printTable(rows);
          return;
        }
        const stmt = db.prepare(`SELECT * FROM ${view} ${filter} ORDER BY severity_rank DESC, ts, id ${limit}`);
        const rows = stmt.iterate(...params) as IterableIterator<Record<string, string | number | null>>;
        if (opts.json) {
          await writeJsonArray(rows);
          return;
        }
        let n = 0;
        const dbArg = opts.db === undefined ? '' : ` --db ${terminalSafe(shellQuote(opts.db))}`;
        // Looked up once per capture: many findings share one.
        const located = new Map<string, CaptureLocation>();
        const packetsOf = (source: string | number | null | undefined): CaptureLocation | null => {
          if (typeof source !== 'string') return null;
          let where = located.get(source);
          if (where === undefined) located.set(source, (where = locateCapture(source, file)));
          return where;
        };
        for (const r of rows) {
          await write(findingText(r, dbArg, packetsOf(r.packets_file)));
          n++;
        }
        if (n === 0) await write(none);
        if (!opts.accepted) {
          const accepted = db.prepare(`SELECT COUNT(*) FROM v_accepted_findings ${filter}`).pluck().get(...params) as number;
          if (accepted > 0) await write(`(${accepted} finding${accepted === 1 ? '' : 's'} accepted as risks not listed: --accepted lists ${accepted === 1 ? 'it' : 'them'})\n`);
        }
      } finally {
        db.close();
      }
    });
}

/** A path as a POSIX shell word: as is when it is plain, else in single quotes. */
function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}
