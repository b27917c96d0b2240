/**
 * Findings that repeat across a NAT: a connection seen on both sides of a NAT is two flows, each
 * judged on its own, so what its payload shows (a token, a weak cipher) is found on both views. These
 * are the findings of a second view whose first view raised the same rule; reports say how many, so
 * that a reader counts such a connection's findings once.
 */
import type { Db } from './store';

/** The count query, over the captures `captureIds` (all when empty). */
export function natRepeatedFindingsSql(captureIds: readonly number[] = []): string {
  const captures = captureIds.length > 0 ? `AND fl.capture_id IN (${captureIds.map((id) => Math.trunc(id)).join(',')})` : '';
  return `SELECT COUNT(*) AS n FROM flows fl JOIN findings f ON f.flow_id = fl.id
           WHERE fl.nat_link IS NOT NULL AND fl.nat_repeat = 1 ${captures}
             AND EXISTS (SELECT 1 FROM flows o JOIN findings g ON g.flow_id = o.id
                          WHERE o.nat_link = fl.nat_link AND o.capture_id = fl.capture_id AND o.id <> fl.id AND g.rule = f.rule)`;
}

export function natRepeatedFindings(db: Db, captureIds: readonly number[] = []): number {
  return (db.prepare(natRepeatedFindingsSql(captureIds)).get() as { n: number }).n;
}
