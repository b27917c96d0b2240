import { existsSync } from 'node:fs';

/** Where planewatch keeps its database unless told otherwise: $PLANEWATCH_DB, else ./planewatch.db. */
export function defaultDbPath(): string {
  return process.env.PLANEWATCH_DB || 'planewatch.db';
}

export const DB_OPTION_HELP = `SQLite database (default: $PLANEWATCH_DB or ./planewatch.db)`;

/** Exit codes, documented in the README and `planewatch --help`. */
export const EXIT = {
  OK: 0,
  /** --fail-on: a finding at or above the given severity was raised. */
  FINDINGS: 1,
  USAGE: 2,
  /** A capture was damaged or unreadable; everything readable was analysed. */
  CAPTURE_DAMAGED: 3,
  /** Anything else went wrong (database, inventory or CA file). */
  ERROR: 4,
} as const;

export function requireDb(file: string): void {
  if (!existsSync(file)) {
    process.stderr.write(`planewatch: no database at ${file} (run planewatch analyze first, or pass --db)\n`);
    process.exit(EXIT.ERROR);
  }
}
