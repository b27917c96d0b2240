import type { Db } from './store';

/**
 * Secondary indexes set aside while a bulk load fills an empty database.
 *
 * Each row written to an indexed table also inserts into every index on it, and indexes keyed by
 * values in random order (community ids, addresses) touch a different page for nearly every row, so
 * each transaction rewrites many index pages. Building an index once from the finished table sorts
 * instead. Only plain (non-unique) indexes are set aside: unique ones enforce constraints the load
 * relies on, and those that lead with a reference to a capture or a flow serve the cascades of a
 * deletion (a capture found to be a duplicate is deleted again, with its flows) and are appended to
 * in order anyway. The dropped definitions are recorded in `deferred_indexes` in the same
 * transaction, so a load that is cut off leaves a database that the next open
 * (restoreDeferredIndexes) completes.
 */

/** Tables whose plain indexes a bulk load sets aside. */
const BULK_TABLES = ['flows', 'tls_sessions', 'http_requests', 'findings'] as const;
/** Tables a load may delete rows of: indexes leading with a reference to them are kept for the cascade. */
const DELETED_DURING_LOAD = new Set(['captures', 'flows']);

/** Drops the plain indexes of the bulk-loaded tables, remembering their definitions. */
export function deferIndexes(db: Db): number {
  const rows = db
    .prepare(
      `SELECT name, sql, tbl_name AS "table" FROM sqlite_master
        WHERE type = 'index' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'
          AND tbl_name IN (${BULK_TABLES.map(() => '?').join(',')})`,
    )
    .all(...BULK_TABLES) as { name: string; sql: string; table: string }[];
  const deferred = rows.filter((r) => !servesCascade(db, r.table, r.name));
  const remember = db.prepare(`INSERT OR REPLACE INTO deferred_indexes (name, sql) VALUES (?, ?)`);
  db.transaction(() => {
    for (const r of deferred) {
      remember.run(r.name, r.sql);
      db.exec(`DROP INDEX ${quoteName(r.name)}`);
    }
  })();
  return deferred.length;
}

/** The index's first column refers to a table whose rows a load may delete. */
function servesCascade(db: Db, table: string, index: string): boolean {
  const first = (db.pragma(`index_info(${quoteName(index)})`) as { name: string | null }[])[0]?.name;
  const keys = db.pragma(`foreign_key_list(${quoteName(table)})`) as { from: string; table: string }[];
  return first !== null && first !== undefined && keys.some((k) => k.from === first && DELETED_DURING_LOAD.has(k.table));
}

/** Builds every index a bulk load set aside (none if none was). Returns how many were built. */
export function restoreDeferredIndexes(db: Db): number {
  const rows = db.prepare(`SELECT name, sql FROM deferred_indexes ORDER BY name`).all() as { name: string; sql: string }[];
  if (rows.length === 0) return 0;
  const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?`).pluck();
  db.transaction(() => {
    for (const r of rows) if (exists.get(r.name) === undefined) db.exec(r.sql);
    db.prepare(`DELETE FROM deferred_indexes`).run();
  })();
  return rows.length;
}

function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Builds one index a bulk load set aside, for a query that needs it before the load ends. */
export function restoreDeferredIndex(db: Db, name: string): void {
  const sql = db.prepare(`SELECT sql FROM deferred_indexes WHERE name = ?`).pluck().get(name) as string | undefined;
  if (sql === undefined) return;
  db.transaction(() => {
    db.exec(sql);
    db.prepare(`DELETE FROM deferred_indexes WHERE name = ?`).run(name);
  })();
}
