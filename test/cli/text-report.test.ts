import { describe, expect, it } from 'vitest';
import { FlowWriter, openStore } from '../../src/store/store';
import { classifyDatabase } from '../../src/analysis/classify-database';
import { emptyInventory } from '../../src/analysis/inventory';
import { textReport } from '../../src/report/text-report';
import { flow } from '../analysis/flow-builder';

/** The summary `analyze` prints, on a connection seen on both sides of a NAT. */
describe('the text report', () => {
  it('counts a connection seen across a NAT once, and says how many findings its second view repeats', () => {
    const db = openStore(':memory:');
    const captureId = Number(db.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('t', 'complete', 'now')`).run().lastInsertRowid);
    const writer = new FlowWriter(db, captureId);
    // Plain bytes to the kubelet's read-only port through a Service address, before and after the
    // DNAT (the finding shows on both views), and another client's connection to it directly.
    writer.add(flow('10.244.1.5:40000', '10.96.5.5:10255', { natLink: 'a-b@1' }));
    writer.add(flow('10.244.1.5:40000', '10.0.0.21:10255', { natLink: 'a-b@1', natRepeat: true }));
    writer.add(flow('10.244.1.6:40001', '10.0.0.21:10255'));
    writer.flush();
    classifyDatabase(db, { inventory: emptyInventory(), ca: null, files: [] });
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
