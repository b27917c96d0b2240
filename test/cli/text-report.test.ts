import { describe, expect, it } from 'vitest';
import { textReport } from '../../src/report/text-report';
import { natTrio } from './nat-trio';

/** The summary `analyze` prints, on a connection seen on both sides of a NAT. */
describe('the text report', () => {
  it('counts a connection seen across a NAT once, and says how many findings its second view repeats', () => {
    const { db, captureId } = natTrio(':memory:');
    expect(db.prepare(`SELECT COUNT(*) FROM findings WHERE rule = 'kubelet-readonly-port'`).pluck().get()).toBe(3);
    const text = textReport(db, [captureId]);
    expect(text).toContain('(1 connection seen on both sides of a NAT counted once)');
    expect(text).toContain('(1 finding on the second view of a connection seen on both sides of a NAT, as on its first)');
    // Without the link the same flows are three connections, and nothing repeats.
    db.prepare(`UPDATE flows SET nat_link = NULL, nat_repeat = 0`).run();
    expect(textReport(db, [captureId])).not.toMatch(/both sides of a NAT/);
    db.close();
  });
});
