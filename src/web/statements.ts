import type { Db } from '../store/store';
import type { Statement } from 'better-sqlite3';

/**
 * Distinct SQL texts the cache keeps. Query text is assembled only from whitelisted fragments, so
 * the number of shapes is small; the cap guards against a combinatorial surprise.
 */
export const MAX_CACHED_STATEMENTS = 512;

/** Prepared statements by SQL text: preparing costs more than running most of our queries. */
export class StatementCache {
  private readonly cache = new Map<string, Statement>();

  constructor(private readonly db: Db) {}

  get(sql: string): Statement {
    return this.prepared(sql, () => this.db.prepare(sql));
  }

  /** The statement cached under `key`, prepared by `prepare` the first time. */
  private prepared(key: string, prepare: () => Statement): Statement {
    let s = this.cache.get(key);
    if (s === undefined) {
      s = prepare();
      if (this.cache.size >= MAX_CACHED_STATEMENTS) this.cache.clear();
      this.cache.set(key, s);
    }
    return s;
  }

  all<T>(sql: string, params: readonly unknown[] = []): T[] {
    return this.get(sql).all(...params) as T[];
  }

  /**
   * Rows as arrays of column values, each made into a T by `make`. For queries of hundreds of
   * thousands of rows: better-sqlite3 builds an object per row property by property, and arrays
   * turned into object literals (one shape) cost some 40 % less.
   */
  rows<T>(sql: string, params: readonly unknown[], make: (row: unknown[]) => T): T[] {
    const s = this.prepared(`raw:${sql}`, () => this.db.prepare(sql).raw(true));
    return (s.all(...params) as unknown[][]).map(make);
  }

  one<T>(sql: string, params: readonly unknown[] = []): T | undefined {
    return this.get(sql).get(...params) as T | undefined;
  }
}

/** Escapes LIKE wildcards so a search for "10_0" matches only that text. */
export function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function parseJson<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** Placeholders for an IN list. */
export function placeholders(n: number): string {
  return new Array<string>(n).fill('?').join(',');
}
