import type { Command } from 'commander';
import { openStoreReadOnly } from '../../store/store';
import { flowDetail } from '../../web/flow-detail';
import { StatementCache } from '../../web/statements';
import { flowDetailText } from '../../report/flow-detail-text';
import { terminalSafe } from '../../report/terminal-text';
import { DB_OPTION_HELP, EXIT, defaultDbPath, requireDb } from '../db-path';
import { oneFlowNamed } from '../flow-ref';

interface ShowOptions {
  db?: string;
  json?: boolean;
}

export function registerShowCommand(program: Command): void {
  program
    .command('show')
    .description('everything known about one stored flow: endpoints and roles, path and reasons, findings with evidence, TLS with the certificate chains and their verdict, HTTP requests, SSH, DNS')
    .argument('<flow>', 'flow id as `planewatch flows` and `planewatch findings` print it (e.g. c1f8), or its Community ID (as Zeek and Suricata print it)')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--json', "print JSON (the dashboard's GET /api/flows/:id document)")
    .action((ref: string, opts: ShowOptions) => {
      const file = opts.db ?? defaultDbPath();
      requireDb(file);
      const db = openStoreReadOnly(file);
      try {
        const found = oneFlowNamed(db, ref, terminalSafe);
        if ('problem' in found) {
          process.stderr.write(`planewatch show: ${found.problem}\n`);
          process.exitCode = EXIT.USAGE;
          return;
        }
        const d = flowDetail(new StatementCache(db), found.id, file)!;
        process.stdout.write(opts.json ? `${JSON.stringify(d, null, 2)}\n` : flowDetailText(d, found.key));
      } finally {
        db.close();
      }
    });
}
