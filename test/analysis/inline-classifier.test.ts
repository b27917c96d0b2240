import { noAcceptances } from '../../src/analysis/acceptances';
import { describe, expect, it } from 'vitest';
import { FlowWriter, openStore, type Db } from '../../src/store/store';
import { deferIndexes } from '../../src/store/deferred-indexes';
import { InlineClassifier } from '../../src/analysis/inline-classifier';
import { classifyDatabase, DatabasePass } from '../../src/analysis/classify-database';
import { emptyInventory, mergeInventory } from '../../src/analysis/inventory';
import type { AnalysisInputs } from '../../src/analysis/context';
import type { FlowRecord } from '../../src/model/flow-record';
import { fixtureCert, flow, req, tls } from './flow-builder';

/**
 * Classifying flows as they are stored must end in the database that one pass over the finished
 * topology gives, whatever the order in which the flows ended. Each flow below is judged
 * differently once a later one is known.
 */

const inputs = (): AnalysisInputs => {
  const inventory = emptyInventory();
  mergeInventory(inventory, { apiServers: ['10.0.0.10'], nodeCidrs: ['10.0.0.0/24'] }, 'test-inventory');
  return { inventory, ca: null, accept: noAcceptances(), files: [] };
};

/** Flows whose verdicts depend on flows that may end after them. */
function scenario(): FlowRecord[] {
  return [
    // A node's TLS 1.3 connection, and a TLS 1.2 one showing its client certificate: the client address.
    flow('10.0.0.21:50001', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3') }),
    flow('10.0.0.21:50000', '10.0.0.10:6443', { app: 'tls', tls: tls('1.2', { clientCertificates: [fixtureCert('client-rsa')] }) }),
    // TLS 1.3 to a kubelet, and a TLS 1.2 connection showing its self-made certificate: the chains.
    flow('10.0.0.10:40001', '10.0.0.22:10250', { app: 'tls', tls: tls('1.3') }),
    flow('10.0.0.10:40002', '10.0.0.22:10250', { app: 'tls', tls: tls('1.2', { serverCertificates: [fixtureCert('kubelet-self')] }) }),
    // The same kubelet later presents another certificate: the leaves.
    flow('10.0.0.10:40003', '10.0.0.22:10250', { app: 'tls', tls: tls('1.2', { serverCertificates: [fixtureCert('server-rsa')] }) }),
    // Plain HTTP to a port without a hint, and a flow showing it answers the Kubernetes API: the service.
    flow('10.0.0.23:41000', '10.0.0.30:8080', { app: 'http', http: [req('GET', '/healthz')] }),
    flow('10.0.0.23:41001', '10.0.0.30:8080', { app: 'http', http: [req('GET', '/api/v1/pods')] }),
    // A host known to serve the API on one port; its other port is found to serve it later, while the
    // host's own claim stays as it was: the service alone.
    flow('10.0.0.23:41003', '10.0.0.31:7000', { id: 'svc-a', app: 'http', http: [req('GET', '/api/v1/pods')] }),
    flow('10.0.0.23:41002', '10.0.0.31:9000', { id: 'svc-b', app: 'http', http: [req('GET', '/healthz')] }),
    flow('10.0.0.23:41004', '10.0.0.31:9000', { id: 'svc-c', app: 'http', http: [req('GET', '/api/v1/pods')] }),
    // The client's User-Agent says kubelet: the client address again, from HTTP.
    flow('10.0.0.24:42000', '10.0.0.30:8080', { app: 'http', http: [req('GET', '/api/v1/nodes', { userAgent: 'kubelet/v1.30.0' })] }),
    // Proxied plain HTTP to an address that later shows, as a client, that it is a node: the server address.
    flow('10.0.0.10:44000', '10.0.0.26:8080', { app: 'http', http: [req('GET', '/metrics', { xForwardedFor: '192.0.2.1' })] }),
    flow('10.0.0.26:50002', '10.0.0.10:6443', { app: 'tls', tls: tls('1.2', { clientCertificates: [fixtureCert('client-rsa')] }) }),
    // TLS 1.3 to a kubelet between two sightings of its one certificate, nearer the later one: the
    // chain's latest sighting (no new leaf).
    flow('10.0.0.10:40004', '10.0.0.27:10250', { app: 'tls', tls: tls('1.2', { serverCertificates: [fixtureCert('kubelet-self')] }) }),
    flow('10.0.0.25:43001', '10.0.0.98:5432', {}),
    flow('10.0.0.10:40005', '10.0.0.27:10250', { app: 'tls', tls: tls('1.3') }),
    flow('10.0.0.10:40006', '10.0.0.27:10250', { app: 'tls', tls: tls('1.2', { serverCertificates: [fixtureCert('kubelet-self')] }) }),
    // A connection seen before and after a DNAT, and a flow to the same Service address that shows
    // nothing: the Service address and what is behind it are known only once both views are, and
    // the flows to the Service address change again when what is behind it shows it is an API server.
    flow('10.0.0.60:45000', '10.96.0.1:443', { app: 'tls', tls: tls('1.3'), natLink: 'aa-bb@1' }),
    flow('10.0.0.60:45001', '10.96.0.1:443', { app: 'tls', tls: tls('1.3') }),
    flow('10.0.0.60:45000', '10.0.0.70:6443', { app: 'tls', tls: tls('1.3'), natLink: 'aa-bb@1' }),
    flow('10.0.0.23:41005', '10.0.0.70:6443', { app: 'http', http: [req('GET', '/api/v1/pods')] }),
    // One before and after a source NAT: the rewritten view is judged by the client before it.
    flow('10.0.0.61:45002', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3'), natLink: 'cc-dd@2' }),
    flow('10.0.0.62:45002', '10.0.0.10:6443', { app: 'tls', tls: tls('1.3'), natLink: 'cc-dd@2' }),
    flow('10.0.0.61:45003', '10.0.0.10:6443', { app: 'tls', tls: tls('1.2', { clientCertificates: [fixtureCert('client-rsa')] }) }),
    // Unrelated to all of the above: never reclassified.
    flow('10.0.0.25:43000', '10.0.0.99:5432', {}),
  ];
}

interface Snapshot {
  flows: unknown[];
  findings: unknown[];
  endpoints: unknown[];
}

function snapshot(db: Db): Snapshot {
  return {
    flows: db
      .prepare(`SELECT flow_key, path, path_detail, confidence, reasons, worst_severity, severity_rank, finding_count FROM flows ORDER BY flow_key`)
      .all(),
    findings: db
      .prepare(`SELECT fl.flow_key, f.rule, f.severity, f.title, f.evidence, f.ts, f.frame FROM findings f JOIN flows fl ON fl.id = f.flow_id ORDER BY fl.flow_key, f.rule, f.evidence`)
      .all(),
    endpoints: db.prepare(`SELECT * FROM endpoints ORDER BY ip`).all(),
  };
}

/** Stores the flows in this order, classifying each as it is stored, and stops before the end. */
function storeProvisional(flows: FlowRecord[], opts: { deferIndexes?: boolean } = {}): { db: Db; classifier: InlineClassifier; captureId: number } {
  const db = openStore(':memory:');
  // As a bulk load into an empty database does.
  if (opts.deferIndexes) deferIndexes(db);
  const captureId = Number(db.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('t', 'ingesting', 'now')`).run().lastInsertRowid);
  const classifier = new InlineClassifier(inputs());
  const writer = new FlowWriter(db, captureId);
  for (const f of flows) writer.add(f, classifier.verdict(f));
  writer.flush();
  return { db, classifier, captureId };
}

/** The finished database of storeProvisional. */
function storeInline(flows: FlowRecord[]): { db: Db; reclassified: number } {
  const { db, classifier, captureId } = storeProvisional(flows);
  return { db, reclassified: classifier.finish(db, [captureId]).reclassified };
}

/** A seeded shuffle, so a failure names an order that can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('classification while storing', () => {
  const flows = scenario();

  it('reclassifies the flows that later flows changed, and only those', () => {
    const { db, reclassified } = storeInline(flows);
    const inline = snapshot(db);
    // Flows 1, 3 and 6 come before the evidence about their endpoints; 4 before a second leaf.
    expect(reclassified).toBeGreaterThanOrEqual(4);
    expect(reclassified).toBeLessThan(flows.length);
    classifyDatabase(db, inputs());
    expect(inline).toEqual(snapshot(db));
    db.close();
  });

  it('the verdicts stored before the end would differ: the check above is not vacuous', () => {
    const { db, classifier, captureId } = storeProvisional(flows);
    const provisional = snapshot(db);
    classifier.finish(db, [captureId]);
    expect(snapshot(db).flows).not.toEqual(provisional.flows);
    expect(snapshot(db).findings).not.toEqual(provisional.findings);
    db.close();
  });

  it('ends in the same database whatever order the flows ended in', () => {
    const { db: reference } = storeInline(flows);
    classifyDatabase(reference, inputs());
    const expected = snapshot(reference);
    reference.close();
    for (let seed = 1; seed <= 25; seed++) {
      const { db } = storeInline(shuffled(flows, seed));
      expect({ seed, ...snapshot(db) }).toEqual({ seed, ...expected });
      db.close();
    }
  });
});

describe('many connections across a NAT', () => {
  /** Each pod's connection to the API server's Service address, before and after the DNAT. */
  function natScenario(connections: number): FlowRecord[] {
    const out: FlowRecord[] = [];
    for (let i = 0; i < connections; i++) {
      const client = `10.1.${i >> 8}.${i & 255}:${40000 + (i % 20000)}`;
      const natLink = `${i.toString(16)}-1@${i}`;
      out.push(flow(client, '10.96.0.1:443', { app: 'tls', tls: tls('1.3'), natLink }));
      out.push(flow(client, '10.0.0.70:6443', { app: 'tls', tls: tls('1.3'), natLink }));
    }
    return out;
  }

  it('keeps a bounded number of pairs in memory and still gives every view the other view, as a whole pass does', () => {
    const flows = natScenario(6000);
    const { db, classifier, captureId } = storeProvisional(flows, { deferIndexes: true });
    expect(classifier.topology.natViewsHeld).toBeLessThan(10_000);
    classifier.finish(db, [captureId]);
    // The index a bulk load set aside was built for reading pairs back.
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'flows_nat_link'`).pluck().get()).toBe('flows_nat_link');
    const inline = snapshot(db);
    const reasons = db.prepare(`SELECT flow_key, reasons FROM flows`).all() as { flow_key: string; reasons: string }[];
    expect(reasons).toHaveLength(12_000);
    const linked = reasons.filter((r) => /the same connection is flow t\d+/.test(r.reasons));
    expect(linked.map((r) => r.flow_key)).toEqual(reasons.map((r) => r.flow_key));
    classifyDatabase(db, inputs());
    expect(inline).toEqual(snapshot(db));
    db.close();
  });
});

describe('a pass over the database taken a step at a time (live capture)', () => {
  const flows = scenario();

  it('ends where one pass over the finished database ends, though flows are written and replaced between its steps', () => {
    const db = openStore(':memory:');
    const captureId = Number(db.prepare(`INSERT INTO captures (file, status, started_at) VALUES ('t', 'ingesting', 'now')`).run().lastInsertRowid);
    const writer = new FlowWriter(db, captureId);
    const half = Math.floor(flows.length / 2);
    for (const f of flows.slice(0, half)) writer.add(f, null);
    writer.flush();
    const pass = new DatabasePass(db, inputs(), undefined, 2);
    const write = (f: FlowRecord) => {
      // As live capture writes: a newer version of a flow replaces its row; a judging pass is shown it.
      const old = writer.ids.get(f.id);
      if (old !== undefined) db.prepare(`DELETE FROM flows WHERE id = ?`).run(old);
      if (pass.learnedAll) pass.topology.observe(f);
      writer.add(f, null);
      writer.flush();
    };
    let steps = 0;
    const rest = flows.slice(half);
    while (!pass.step()) {
      steps++;
      // Two flows while it learns (the first of them again later, longer), the rest once it judges.
      if (steps <= 2) write(rest.shift()!);
      if (steps === 3) write({ ...flows[half]!, lastTs: flows[half]!.lastTs + 1, packets: [9, 9] });
      if (pass.learnedAll) while (rest.length > 0) write(rest.shift()!);
    }
    expect(rest).toEqual([]);
    expect(steps).toBeGreaterThan(flows.length / 2);
    const stepped = snapshot(db);
    expect(pass.summary!.flows).toBe(stepped.flows.length);
    classifyDatabase(db, inputs());
    const whole = snapshot(db);
    // Endpoint counters may count a replaced version too; the verdicts are those of a whole pass.
    expect({ flows: stepped.flows, findings: stepped.findings }).toEqual({ flows: whole.flows, findings: whole.findings });
    db.close();
  });
});
