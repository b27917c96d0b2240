import type { Command } from 'commander';
import { openStoreReadOnly } from '../../store/store';
import { DB_OPTION_HELP, EXIT, defaultDbPath, requireDb } from '../db-path';
import { printTable, writeJsonArray } from '../output';

export function registerQueryCommand(program: Command): void {
  program
    .command('query')
    .description('run a read-only SQL query against the database (see the README for the schema and examples)')
    .argument('<sql>', 'SQL statement; the connection is read-only')
    .option('--db <file>', DB_OPTION_HELP)
    .option('--json', 'print rows as a JSON array')
    .action(async (sql: string, opts: { db?: string; json?: boolean }) => {
      const file = opts.db ?? defaultDbPath();
      requireDb(file);
      const db = openStoreReadOnly(file);
      try {
        const stmt = db.prepare(sql);
        if (!stmt.reader) {
          const rows = stmt.run();
          process.stdout.write(`${rows.changes} rows changed\n`);
          return;
        }
        // Streamed: a query may return millions of rows.
        const rows = stmt.iterate() as IterableIterator<Record<string, unknown>>;
        if (opts.json) await writeJsonArray(rows);
        else await printTable(rows);
      } catch (e) {
        process.stderr.write(`planewatch query: ${(e as Error).message}\n`);
        process.exitCode = EXIT.ERROR;
      } finally {
        db.close();
      }
    });
}
