import { closeSync, fsyncSync, openSync } from 'node:fs';
import type { Db } from './store';

/**
 * Disk flushes during a bulk load into an empty database.
 *
 * In WAL mode with `synchronous = NORMAL`, SQLite flushes the files to the disk at every checkpoint,
 * about every 16 MiB of pages written; on a 1 GB capture those flushes took about a seventh of the
 * time spent storing. A load into an empty database has nothing to lose that its capture files
 * cannot rebuild, so it runs with `synchronous = OFF`:
 * - a process killed mid-load (or that fails) still leaves a consistent database, because every write
 *   has been handed to the operating system, which completes it;
 * - only a power failure or an operating-system crash during the load could leave it damaged, and the
 *   analysis is then run again.
 * When the load ends, `NORMAL` is set again and both files are flushed once, so a finished database
 * is as durable as one written with flushes all along. A database that already holds flows is never
 * written this way.
 */
export function relaxDurability(db: Db): boolean {
  if (db.memory) return false;
  db.pragma('synchronous = OFF');
  return true;
}

/** Ends relaxDurability: back to `synchronous = NORMAL`, and everything written so far flushed. */
export function restoreDurability(db: Db): void {
  db.pragma('synchronous = NORMAL');
  for (const file of [db.name, `${db.name}-wal`]) flushFile(file);
}

/** fsync of a file by name (every page of it the OS still holds, whoever wrote it); absent is fine. */
function flushFile(file: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
