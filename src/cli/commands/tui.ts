import type { Command } from 'commander';
import { DB_OPTION_HELP, defaultDbPath, requireDb } from '../db-path';
import { collect } from '../option-parsers';
import { loadTui } from '../../tui/load-tui';

interface TuiOptions {
  db?: string;
  keylog?: string[];
}

/** Adds `tui` to the program: the terminal dashboard over a database (live or analysed). */
export function registerTuiCommand(program: Command): void {
  program
    .command('tui')
    .description('terminal dashboard over the database (refreshes every second; use with `planewatch live --db`)')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--keylog <file>', "TLS key log to decrypt a flow's conversation (c) with, besides the captures' own key log blocks (repeatable)", collect)
    .action(async (opts: TuiOptions) => {
      const file = opts.db ?? defaultDbPath();
      requireDb(file);
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        process.stderr.write('planewatch: tui needs a terminal (stdin and stdout); use `planewatch flows` or `findings` in scripts\n');
        process.exitCode = 2;
        return;
      }
      const startTui = await loadTui();
      await startTui({ db: file, keyLogFiles: opts.keylog ?? [] }).done;
    });
}
