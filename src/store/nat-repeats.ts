/**
 * Findings that repeat across a NAT: a connection seen on both sides of a NAT is two flows, each
 * judged on its own, so what its payload shows (a token, a weak cipher) is found on both views. These
 * are the findings of a second view (`nat_repeat`) when another view of the same connection raised
 * the same rule; reports say how many, so that a reader counts such a connection's findings once.
 *
 * The queries are written for their plans: a per-finding or per-flow lookup by rule alone would walk
 * every finding of that rule (minutes on a database where most connections cross a NAT).
 */
import type { Db } from './store';

/**
 * SQL expression, for a finding `f` on the flow `fl`: another view of `fl`'s connection raised
 * `f.rule` too. Walks the connection's views through `flows_nat_link` (the unary plus keeps SQLite
 * from walking the capture's flows instead), then looks the rule up on each view.
 */
export const OTHER_VIEW_RAISED_IT = `EXISTS (SELECT 1 FROM flows o
    WHERE o.nat_link = fl.nat_link AND o.nat_link IS NOT NULL AND +o.capture_id = fl.capture_id AND o.id <> fl.id
      AND EXISTS (SELECT 1 FROM findings g WHERE g.flow_id = o.id AND g.rule = f.rule))`;

function captureFilter(captureIds: readonly number[]): string {
  return captureIds.length > 0 ? `AND fl.capture_id IN (${captureIds.map((id) => Math.trunc(id)).join(',')})` : '';
}

/** The count when `flows_nat_link` is there: from the NAT'd flows only, each view found through it. */
function countByLinkIndex(captureIds: readonly number[]): string {
  return `SELECT COUNT(*) AS n FROM flows fl JOIN findings f ON f.flow_id = fl.id
           WHERE fl.nat_link IS NOT NULL AND fl.nat_repeat = 1 ${captureFilter(captureIds)} AND ${OTHER_VIEW_RAISED_IT}`;
}

/**
 * The count without that index (set aside while a bulk load runs): one grouping of every finding by
 * connection and rule, whose cost does not depend on how many connections cross a NAT.
 */
function countByGrouping(captureIds: readonly number[]): string {
  return `SELECT COALESCE(SUM(rep), 0) AS n FROM (
            SELECT SUM(fl.nat_repeat) AS rep, COUNT(DISTINCT fl.id) AS views
              FROM flows fl JOIN findings f ON f.flow_id = fl.id
             WHERE fl.nat_link IS NOT NULL ${captureFilter(captureIds)}
             GROUP BY fl.capture_id, fl.nat_link, f.rule)
          WHERE views > 1`;
}

/** The count query for this database as it is now (captures `captureIds`, all when empty). */
export function natRepeatedFindingsSql(db: Db, captureIds: readonly number[] = []): string {
  const indexed = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'flows_nat_link'`).get() !== undefined;
  return indexed ? countByLinkIndex(captureIds) : countByGrouping(captureIds);
}

export function natRepeatedFindings(db: Db, captureIds: readonly number[] = []): number {
  return (db.prepare(natRepeatedFindingsSql(db, captureIds)).get() as { n: number }).n;
}
