import { cutOffCaptures, openStoreReadOnly, type Db } from '../store/store';
import { defaultDbPath, requireDb } from './db-path';
import { terminalSafe } from '../report/terminal-text';

/**
 * Tells the user, on standard error, about captures whose ingest was cut off (a killed process):
 * what they stored is there, but it was never classified with everything else. Read-only commands
 * cannot put that right; `reclassify` (or the next `analyze` into the database) does.
 */
export function warnCutOffCaptures(db: Db, dbFile: string): void {
  for (const c of cutOffCaptures(db)) {
    process.stderr.write(
      `planewatch: capture ${c.id} (${terminalSafe(c.file, 200)}) was cut off mid-ingest: what it stored is kept, but its ` +
        `connections' paths and findings are not final until planewatch reclassify --db ${terminalSafe(dbFile, 200)}\n`,
    );
  }
}

/**
 * The database a listing command reads: `--db` or the default, which must exist (else the command
 * exits saying so), opened read-only, with a word about captures cut off mid-ingest. The caller closes it.
 */
export function openListingDb(dbOption: string | undefined): { db: Db; file: string } {
  const file = dbOption ?? defaultDbPath();
  requireDb(file);
  const db = openStoreReadOnly(file);
  warnCutOffCaptures(db, file);
  return { db, file };
}
