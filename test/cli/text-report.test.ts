import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { textReport } from '../../src/report/text-report';
import { natTrio } from './nat-trio';
import { noAcceptances } from '../../src/analysis/acceptances';
import { classifyDatabase } from '../../src/analysis/classify-database';
import { emptyInventory } from '../../src/analysis/inventory';
import { FlowWriter, openStore } from '../../src/store/store';
import { flow } from '../analysis/flow-builder';

const ROOT = join(__dirname, '../..');
const SAMPLES = join(ROOT, 'captures/samples');

/** The summary `analyze` prints, on a connection seen on both sides of a NAT. */
describe('the text report', () => {
  it('lists a finding of one connection recorded in several captures once, saying in how many', () => {
    // The same connection twice: a copy with the TLS keys in the file, whose keys then open the capture.
    const files = ['credential-rejected.dsb.pcapng', 'credential-rejected.pcap'].map((f) => join(SAMPLES, f));
    const inv = ['--inventory', join(ROOT, 'captures/inventory.json'), '--ca', join(ROOT, 'captures/cluster-ca.pem')];
    const run = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), 'analyze', ...args, ...inv], { encoding: 'utf8' });
    const both = run(files);
    expect(both.status).toBe(0);
    const lines = both.stdout.split('\n').filter((l) => / low +credential-rejected /.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ answered 403 and 401; .* \(the same connection in 2 captures\)$/);
    // Counted as what is stored: one finding per capture.
    expect(both.stdout).toMatch(/, low 2,/);
    // One capture alone: listed without the note.
    const one = run([files[0]!]);
    expect(one.stdout.split('\n').filter((l) => / low +credential-rejected /.test(l))).toEqual([expect.not.stringContaining('captures)')]);
  });

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

  it('counts the connection attempts that never opened, by state, and says how to list them', () => {
    const db = openStore(':memory:');
    const captureId = Number(db.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('t', 'complete', 'now')`).run().lastInsertRowid);
    const w = new FlowWriter(db, captureId);
    const probe = (port: number, state: string) => flow(`10.244.9.9:${50000 + port}`, `10.0.0.21:${port}`, { state, payloadBytes: [0, 0] });
    for (const p of [1, 2, 3]) w.add(probe(p, 'REJ'));
    w.add(probe(4, 'S0'));
    // Not attempts: an open connection, and a SYN that carried bytes nobody answered.
    w.add(flow('10.244.9.9:40000', '10.0.0.21:10250'));
    w.add(flow('10.244.9.9:40001', '10.0.0.21:10250', { state: 'S0', payloadBytes: [10, 0] }));
    w.flush();
    classifyDatabase(db, { inventory: emptyInventory(), ca: null, accept: noAcceptances(), files: [] });
    const text = textReport(db, [captureId], 'x.db');
    expect(text).toContain('(4 connection attempts never opened: 3 REJ, 1 S0; listed by planewatch flows --db x.db --state S0,REJ,RSTOS0,SH)\n' +
      '  (from 1 address; most by 10.244.9.9 made 4, to 1 address on 4 ports)');
    expect(textReport(db, [captureId])).toContain('listed by analyze with --db FILE, then planewatch flows --db FILE --state S0,REJ,RSTOS0,SH)');
    db.prepare(`UPDATE flows SET state = 'SF'`).run();
    expect(textReport(db, [captureId])).not.toMatch(/never opened|most by/);
    db.close();
  });

  it('names who made the attempts: a port scan, an address scan, a spoofed flood', () => {
    const db = openStore(':memory:');
    const captureId = Number(db.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('t', 'complete', 'now')`).run().lastInsertRowid);
    const w = new FlowWriter(db, captureId);
    const probe = (client: string, server: string) => flow(client, server, { state: 'REJ', payloadBytes: [0, 0] });
    for (let p = 1; p <= 20; p++) w.add(probe('10.9.9.9:40000', `10.0.0.21:${p}`)); // ports of one host
    for (let h = 1; h <= 12; h++) w.add(probe('10.8.8.8:40000', `10.0.1.${h}:22`)); // one port of many
    w.add(probe('10.7.7.7:40000', '10.0.0.21:80'));
    w.add(probe('10.7.7.7:40001', '10.0.0.21:80'));
    w.add(probe('10.6.6.6:40000', '10.0.0.21:443'));
    w.flush();
    classifyDatabase(db, { inventory: emptyInventory(), ca: null, accept: noAcceptances(), files: [] });
    expect(textReport(db, [captureId])).toContain(
      '(from 4 addresses; most by 10.9.9.9 made 20, to 1 address on 20 ports; 10.8.8.8 made 12, to 12 addresses on 1 port; 10.7.7.7 made 2, to 1 address on 1 port)',
    );
    // A flood from spoofed addresses: one attempt each.
    db.prepare(`DELETE FROM flows WHERE client_ip <> '10.6.6.6'`).run();
    w.add(probe('10.5.5.5:40000', '10.0.0.21:443'));
    w.flush();
    expect(textReport(db, [captureId])).toContain('(from 2 addresses, one attempt each)');
    db.close();
  });
});
