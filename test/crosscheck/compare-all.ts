/** Every connection of a capture compared, field by field, between planewatch and tshark. */
import { compareFlow, describeCheck, disagrees, type Check } from './compare-flow';
import { matchFlows, type Matching } from './match-flows';
import type { JsonFlow } from './planewatch-json';
import type { TsharkConnection } from './tshark-connections';

export interface Compared {
  matching: Matching;
  checks: { where: string; check: Check }[];
}

export function compareAll(flows: JsonFlow[], conns: TsharkConnection[]): Compared {
  const matching = matchFlows(flows, conns);
  const checks: Compared['checks'] = [];
  for (const p of matching.pairs) if (p.conn !== null) for (const check of compareFlow(p.flow, p.conn)) checks.push({ where: p.where, check });
  return { matching, checks };
}

/** Disagreements as readable lines: which capture, which connection, which field, both values. */
export function disagreements(capture: string, c: Compared, keep: (field: string) => boolean = () => true): string[] {
  return c.checks.filter((x) => keep(x.check.field) && disagrees(x.check)).map((x) => describeCheck(`${capture}: ${x.where}`, x.check));
}
