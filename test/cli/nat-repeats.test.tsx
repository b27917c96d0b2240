import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/web/app';
import { DbDataSource } from '../../src/tui/tui-data';
import { SeveritySummary } from '../../src/tui/severity-summary';
import { natTrio } from './nat-trio';
import { natRepeatedFindings, natRepeatedFindingsSql } from '../../src/store/nat-repeats';

/** What the text report says of findings repeated across a NAT (text-report.test.ts), the dashboard and the TUI say too. */
describe('findings repeated across a NAT', () => {
  it('the dashboard and the TUI say the same of findings repeated across a NAT', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'planewatch-nat-repeats-'));
    const file = join(dir, 'n.db');
    try {
      const { db, captureId } = natTrio(file);
      // The count walks each connection's views through flows_nat_link, never every finding of a rule
      // (that plan took minutes on a database where most connections cross a NAT)...
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${natRepeatedFindingsSql(db)}`).all() as { detail: string }[]).map((r) => r.detail);
      expect(plan).toContain('SEARCH o EXISTS USING INDEX flows_nat_link (nat_link=?)');
      expect(plan.join(' ')).not.toMatch(/findings_rule_flow \(rule=\?\)/);
      expect(natRepeatedFindings(db)).toBe(1);
      // ...and without the index (set aside during a bulk load) groups instead, to the same count.
      db.exec('DROP INDEX flows_nat_link');
      expect(natRepeatedFindingsSql(db)).toMatch(/GROUP BY/);
      expect(natRepeatedFindings(db)).toBe(1);
      expect(natRepeatedFindings(db, [captureId + 1])).toBe(0);
      db.exec('CREATE INDEX flows_nat_link ON flows(nat_link) WHERE nat_link IS NOT NULL');
      db.close();
      const app = await buildApp({ dbFile: file });
      const summary = (await app.inject({ method: 'GET', url: '/api/summary' })).json();
      // Each finding says whether it is such a repeat: the one on the second view (10.0.0.21:10255 after the DNAT).
      const listed = (await app.inject({ method: 'GET', url: '/api/findings?limit=50' })).json().items as { natRepeat: boolean; serverIp: string }[];
      await app.close();
      expect(listed.filter((f) => f.natRepeat).map((f) => f.serverIp)).toEqual(['10.0.0.21']);
      expect(summary.counts.findings).toBe(3);
      expect(summary.natRepeatedFindings).toBe(1);
      const source = new DbDataSource(file);
      const snap = source.load({ filter: '', sort: 'time', desc: true });
      source.close();
      expect(snap.natRepeatedFindings).toBe(1);
      const tui = render(<SeveritySummary counts={snap.severityCounts} natRepeats={snap.natRepeatedFindings} />);
      expect(tui.lastFrame()).toMatch(/high 3 .*\(1 repeated across a NAT\)/);
      tui.unmount();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
