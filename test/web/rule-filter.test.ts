import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/web/app';
import { MIN_COMMON_RULE_FINDINGS } from '../../src/web/flow-queries';
import { buildFixtureDb, type FixtureInfo } from './fixture-db';

/**
 * The flow list's finding-rule filter is answered two ways: a rare rule by fetching the flows that
 * have it, a common one by walking the list in its order. Both must give the same pages, and the
 * same total, as the plain definition: the flows that have a finding of that rule.
 */

let fx: FixtureInfo;
let app: FastifyInstance;
const COMMON = 'weak-tls';
const RARE = 'ssh-tunnel-deprecated';

beforeAll(async () => {
  fx = buildFixtureDb({ extraFlows: 400 });
  // Enough findings of one rule to count as common, several on some flows, on every third flow.
  const w = new Database(fx.file);
  const ids = w.prepare(`SELECT id FROM flows ORDER BY id`).pluck().all() as number[];
  const add = w.prepare(`INSERT INTO findings (rule, severity, severity_rank, flow_id, capture_id, title, evidence, recommendation, reference)
    VALUES (?, 'medium', 3, ?, 1, 't', 'e', 'r', '')`);
  w.transaction(() => {
    let n = 0;
    for (let round = 0; n <= MIN_COMMON_RULE_FINDINGS; round++) {
      for (const id of ids) if (id % 3 === 0 && n <= MIN_COMMON_RULE_FINDINGS) (add.run(COMMON, id), n++);
    }
  })();
  w.close();
  app = await buildApp({ dbFile: fx.file });
});
afterAll(async () => {
  await app.close();
});

async function flowsPage(url: string): Promise<{ ids: number[]; total: number; next: string | null }> {
  const r = await app.inject({ method: 'GET', url });
  expect(r.statusCode).toBe(200);
  const b = r.json();
  return { ids: b.items.map((f: { id: number }) => f.id), total: b.total, next: b.nextCursor };
}

/** Every page of a listing, following the cursors. */
async function allPages(base: string): Promise<{ ids: number[]; total: number }> {
  const ids: number[] = [];
  let page = await flowsPage(base);
  const total = page.total;
  for (;;) {
    ids.push(...page.ids);
    if (page.next === null) return { ids, total };
    page = await flowsPage(`${base}&cursor=${page.next}`);
  }
}

/** The flows with a finding of `rule`, in the list's newest-first order, by a plain query. */
function expected(rule: string, order: string): number[] {
  const db = new Database(fx.file, { readonly: true });
  const ids = db.prepare(`SELECT id FROM flows WHERE id IN (SELECT flow_id FROM findings WHERE rule = ?) ORDER BY ${order}`).pluck().all(rule) as number[];
  db.close();
  return ids;
}

describe('flows filtered by finding rule', () => {
  for (const rule of [COMMON, RARE]) {
    it(`${rule === COMMON ? 'a common' : 'a rare'} rule: every page, in order, and the total`, async () => {
      const want = expected(rule, 'first_ts DESC, id DESC');
      expect(want.length).toBeGreaterThan(0);
      const got = await allPages(`/api/flows?rule=${rule}&limit=25`);
      expect(got.ids).toEqual(want);
      expect(got.total).toBe(want.length);
      const bytes = await allPages(`/api/flows?rule=${rule}&limit=25&sort=bytes&order=asc`);
      expect(new Set(bytes.ids)).toEqual(new Set(want));
      expect(bytes.ids).toHaveLength(want.length);
    });
  }
});
