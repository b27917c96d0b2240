import { noAcceptances } from '../../src/analysis/acceptances';
/**
 * A database holding one connection seen on both sides of a NAT and one that is not: plain bytes to
 * the kubelet's read-only port through a Service address, before and after the DNAT (the finding
 * shows on both views), and another client's connection to the kubelet directly. Classified.
 */
import { classifyDatabase } from '../../src/analysis/classify-database';
import { emptyInventory } from '../../src/analysis/inventory';
import { FlowWriter, openStore, type Db } from '../../src/store/store';
import { flow } from '../analysis/flow-builder';

export function natTrio(file: string): { db: Db; captureId: number } {
  const db = openStore(file);
  const captureId = Number(db.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('t', 'complete', 'now')`).run().lastInsertRowid);
  const writer = new FlowWriter(db, captureId);
  writer.add(flow('10.244.1.5:40000', '10.96.5.5:10255', { natLink: 'a-b@1' }));
  writer.add(flow('10.244.1.5:40000', '10.0.0.21:10255', { natLink: 'a-b@1', natRepeat: true }));
  writer.add(flow('10.244.1.6:40001', '10.0.0.21:10255'));
  writer.flush();
  classifyDatabase(db, { inventory: emptyInventory(), ca: null, accept: noAcceptances(), files: [] });
  return { db, captureId };
}
