import { describe, expect, it } from 'vitest';
import type { DnsTransaction } from '../../dissectors/dns/dns-log';
import { noAcceptances } from '../../src/analysis/acceptances';
import { classifyDatabase } from '../../src/analysis/classify-database';
import type { AnalysisInputs } from '../../src/analysis/context';
import { InlineClassifier } from '../../src/analysis/inline-classifier';
import { emptyInventory, mergeInventory } from '../../src/analysis/inventory';
import { Topology } from '../../src/analysis/topology';
import type { FlowRecord } from '../../src/model/flow-record';
import { FlowWriter, openStore, type Db } from '../../src/store/store';
import { flow, T0 } from './flow-builder';

/** A probe nothing answered (S0) or the server refused (REJ): no byte exchanged. */
const probe = (client: string, server: string, state: 'S0' | 'REJ') =>
  flow(client, server, {
    history: state === 'S0' ? 'S' : 'Sr',
    state,
    packets: state === 'S0' ? [1, 0] : [1, 1],
    bytes: state === 'S0' ? [40, 0] : [40, 40],
    payloadBytes: [0, 0],
    endReason: state === 'S0' ? 'idle' : 'rst',
  });

/**
 * A scan touches many addresses and ports nothing is learned about, and a flood's sources are spoofed
 * by the million: an attempt that never opened leaves no entry in the topology, and the endpoints'
 * activity counts it from the stored flows.
 */
describe('topology entries for what nothing is known about', () => {
  it('a port scan leaves no entries, not even for the port with a role\'s default', () => {
    const t = new Topology();
    for (let port = 20000; port < 21000; port++) t.observe(probe('10.9.9.9:40000', `10.0.0.${1 + (port % 50)}:${port}`, 'S0'));
    t.observe(probe('10.9.9.9:40001', '10.0.0.1:10250', 'REJ'));
    expect(t.services.size).toBe(0);
    expect(t.endpoints.size).toBe(0);
    expect(t.serverStrength('10.0.0.1', 10250, 'kubelet')).toBe(0);
    // A connection that opened is learned from as ever.
    t.observe(flow('10.9.9.9:40002', '10.0.0.2:10250'));
    expect([...t.endpoints.keys()].sort()).toEqual(['10.0.0.2', '10.9.9.9']);
    expect(t.serverStrength('10.0.0.2', 10250, 'kubelet')).toBeGreaterThan(0);
  });

  it('an attempt from or to a declared network gets the entry the network gives it', () => {
    const inventory = emptyInventory();
    mergeInventory(inventory, { podCidrs: ['10.244.0.0/16'] }, 'test');
    const t = new Topology(inventory);
    t.observe(probe('10.244.3.4:40000', '10.0.0.1:6443', 'S0'));
    expect([...t.endpoints.keys()]).toEqual(['10.244.3.4']);
    expect(t.endpoints.get('10.244.3.4')!.primaryRole).toBe('pod');
    expect(t.endpoints.get('10.244.3.4')!.flows).toBe(0);
  });
});

describe('endpoints written with the attempts\' activity', () => {
  const inputs = (): AnalysisInputs => {
    const inventory = emptyInventory();
    mergeInventory(inventory, { podCidrs: ['10.244.0.0/16'] }, 'test');
    return { inventory, ca: null, accept: noAcceptances(), files: [] };
  };
  const answer = (query: string, ip: string): DnsTransaction => ({
    id: 1, ts: T0, frame: 1, query, qtype: 'A', rcode: 'NOERROR', responseTs: T0 + 0.001, responseFrame: 2, truncated: false,
    answers: [{ name: query, type: 'A', data: ip, ttl: 30 }],
  });
  const flows = (): FlowRecord[] => [
    // A scanner (attempts only), one of whose targets also served a connection that opened.
    probe('203.0.113.7:40000', '10.0.0.1:22', 'REJ'),
    probe('203.0.113.7:40000', '10.0.0.1:23', 'S0'),
    probe('203.0.113.7:40000', '10.0.0.2:22', 'S0'),
    flow('10.0.0.5:50000', '10.0.0.1:22', { app: 'ssh' }),
    // A pod whose only connection was refused, and a target a DNS answer names.
    probe('10.244.3.4:40000', '10.0.0.3:6443', 'REJ'),
    flow('10.244.1.7:53211', '10.96.0.10:53', { transport: 'udp', app: 'dns', dns: [answer('db.example.com', '10.0.0.3')], history: 'Dd', state: 'SF' }),
  ];

  function stored(fs: FlowRecord[], inline: boolean): Db {
    const db = openStore(':memory:');
    const captureId = Number(db.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('t', 'ingesting', 'now')`).run().lastInsertRowid);
    const classifier = new InlineClassifier(inputs());
    const writer = new FlowWriter(db, captureId);
    for (const f of fs) writer.add(f, inline ? classifier.verdict(f) : null);
    writer.flush();
    if (inline) classifier.finish(db, [captureId]);
    else classifyDatabase(db, inputs());
    return db;
  }
  const rows = (db: Db) => db.prepare(`SELECT ip, primary_role, name, flows, bytes, first_ts, last_ts FROM endpoints ORDER BY ip`).all();

  it('counts the attempts of every address, inline or in a pass over the database, in any order', () => {
    const fs = flows();
    const ts = (f: FlowRecord) => [f.firstTs, f.lastTs];
    const db = stored(fs, true);
    const row = (ip: string) => rows(db).find((r) => (r as { ip: string }).ip === ip);
    expect(row('203.0.113.7')).toEqual({
      ip: '203.0.113.7', primary_role: 'unknown', name: null, flows: 3, bytes: 80 + 40 + 40,
      first_ts: ts(fs[0]!)[0], last_ts: ts(fs[2]!)[1],
    });
    // Its opened connection and the refused probe.
    expect(row('10.0.0.1')).toMatchObject({ flows: 3, bytes: 1000 + 80 + 40, first_ts: ts(fs[0]!)[0], last_ts: ts(fs[3]!)[1] });
    expect(row('10.0.0.2')).toMatchObject({ primary_role: 'unknown', flows: 1, bytes: 40 });
    expect(row('10.244.3.4')).toMatchObject({ primary_role: 'pod', flows: 1, bytes: 80 });
    expect(row('10.0.0.3')).toMatchObject({ primary_role: 'unknown', name: 'db.example.com', flows: 1 });
    expect(rows(db)).toHaveLength(8);
    expect(rows(stored([...fs].reverse(), true))).toEqual(rows(db));
    expect(rows(stored(fs, false))).toEqual(rows(db));
  });
});
