/**
 * Findings accepted as risks (analyze --accept) through the API: listed apart from the open findings
 * (GET /api/findings?accepted=true), with why, until when and which entry; counted on their own in
 * the summary and never among the open findings, their severities or their flows; and in a flow's
 * detail beside its open findings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/web/app';
import { FlowWriter, openStore, type StoredFlow } from '../../src/store/store';
import { VerdictWriter } from '../../src/store/verdict-writer';
import type { AcceptedFinding } from '../../src/model/analysis';
import { ACCEPTED, buildFixtureDb, cert, CERTS, flow, tls, type FixtureInfo } from './fixture-db';

let fx: FixtureInfo;
let app: FastifyInstance;
/** The same database with its accepted findings deleted: what the open side must still look like. */
let plain: FastifyInstance;

beforeAll(async () => {
  fx = buildFixtureDb({ accepted: true });
  app = await buildApp({ dbFile: fx.file });
  const copy = `${fx.file}.without-accepted.db`;
  const db = openStore(fx.file);
  db.prepare('VACUUM INTO ?').run(copy);
  db.close();
  const w = openStore(copy);
  expect(w.prepare('DELETE FROM accepted_findings').run().changes).toBe(2);
  w.close();
  plain = await buildApp({ dbFile: copy });
});
afterAll(async () => {
  await app?.close();
  await plain?.close();
});

async function get<T = any>(url: string, on: FastifyInstance = app): Promise<{ status: number; body: T }> {
  const r = await on.inject({ method: 'GET', url });
  return { status: r.statusCode, body: r.json() as T };
}

/** An accepted finding as the API must list it: its fixture entry on its flow. */
function expectedItem(name: keyof typeof ACCEPTED) {
  const a = ACCEPTED[name];
  return { rule: a.rule, severity: a.severity, title: a.title, evidence: a.evidence, flowId: fx.ids.get(fx.keys[name]!), natRepeat: false, acceptance: a.acceptance };
}

describe('GET /api/findings', () => {
  it('lists the open findings only, each without an acceptance', async () => {
    const { status, body } = await get('/api/findings?limit=500');
    expect(status).toBe(200);
    expect(body.total).toBe(17);
    expect(body.items).toHaveLength(17);
    expect(body.items.every((f: any) => 'acceptance' in f && f.acceptance === null)).toBe(true);
    const rules = body.items.map((f: any) => f.rule);
    expect(rules).not.toContain(ACCEPTED.person.rule);
    expect(rules).not.toContain(ACCEPTED.kubelet13.rule);
    // The same list as from the database without accepted findings.
    expect(body).toEqual((await get('/api/findings?limit=500', plain)).body);
    expect((await get(`/api/findings?rule=${ACCEPTED.person.rule}`)).body.total).toBe(0);
    expect((await get('/api/findings?accepted=false&limit=500')).body).toEqual(body);
  });

  it('?accepted=true lists the accepted findings only, most severe first, with why, until when and which entry', async () => {
    const { status, body } = await get('/api/findings?accepted=true');
    expect(status).toBe(200);
    expect(body.total).toBe(2);
    expect(body.items).toHaveLength(2);
    expect(body.items[0]).toMatchObject({ ...expectedItem('kubelet13'), path: 'apiserver-to-kubelet', clientIp: '10.0.0.10', serverIp: '10.0.0.22', serverPort: 10250 });
    expect(body.items[1]).toMatchObject({ ...expectedItem('person'), path: 'node-to-apiserver', clientIp: '192.168.10.15', serverIp: '10.0.0.10', serverPort: 6443 });
    expect(body.items[0].acceptance).toEqual({ reason: 'Kubelet serving certificates rotate every day', until: null, source: 'accept.yaml#2' });
    expect(body.items[1].acceptance).toEqual({ reason: 'Administrators reach the API server from the office VPN', until: '2030-06-30', source: 'accept.yaml#1' });
    // Only the declared fields leave the server: the stored columns' names do not.
    expect(Object.keys(body.items[0]).sort()).toEqual(Object.keys((await get('/api/findings?limit=1')).body.items[0]).sort());
    // None is the database without them.
    expect((await get('/api/findings?accepted=true', plain)).body).toMatchObject({ items: [], total: 0 });
  });

  it('filters the accepted findings by rule, severity, path, flow, address and text, and pages them', async () => {
    const rules = async (query: string) => {
      const r = await get(`/api/findings?accepted=true&${query}`);
      expect(r.status, query).toBe(200);
      expect(r.body.total, query).toBe(r.body.items.length);
      return r.body.items.map((f: any) => f.rule);
    };
    expect(await rules(`rule=${ACCEPTED.person.rule}`)).toEqual([ACCEPTED.person.rule]);
    expect(await rules('rule=kubelet-tls-unverified')).toEqual([]); // open, not accepted
    expect(await rules('severity=high')).toEqual([ACCEPTED.kubelet13.rule]);
    expect(await rules('severity=medium&severity=high')).toEqual([ACCEPTED.kubelet13.rule, ACCEPTED.person.rule]);
    expect(await rules('severity=critical')).toEqual([]);
    expect(await rules('path=node-to-apiserver')).toEqual([ACCEPTED.person.rule]);
    expect(await rules('path=etcd-peer')).toEqual([]);
    expect(await rules(`flow=${fx.ids.get(fx.keys.kubelet13!)}`)).toEqual([ACCEPTED.kubelet13.rule]);
    expect(await rules(`flow=${fx.ids.get(fx.keys.kubelet!)}`)).toEqual([]);
    expect(await rules('ip=192.168.10.15')).toEqual([ACCEPTED.person.rule]);
    expect(await rules('ip=10.0.0.22')).toEqual([ACCEPTED.kubelet13.rule]);
    expect(await rules('q=presented%202%20certificates')).toEqual([ACCEPTED.kubelet13.rule]);
    const page = await get('/api/findings?accepted=true&limit=1&offset=1');
    expect(page.body).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect(page.body.items.map((f: any) => f.rule)).toEqual([ACCEPTED.person.rule]);
    expect((await get('/api/findings?accepted=maybe')).status).toBe(400);
  });
});

describe('GET /api/summary', () => {
  it('counts the accepted findings on their own, not among the open ones or their severities and rules', async () => {
    const { status, body } = await get('/api/summary');
    expect(status).toBe(200);
    expect(body.acceptedFindings).toBe(2);
    expect(body.counts.findings).toBe(17);
    expect(body.findingsBySeverity).toEqual({ critical: 3, high: 4, medium: 6, low: 2, info: 2 });
    expect(body.findingsByRule.map((r: any) => r.rule)).not.toContain(ACCEPTED.person.rule);
    expect(body.findingsByRule.map((r: any) => r.rule)).not.toContain(ACCEPTED.kubelet13.rule);
    const without = (await get('/api/summary', plain)).body;
    expect(without.acceptedFindings).toBe(0);
    expect({ ...body, acceptedFindings: 0 }).toEqual(without);
  });

  it('leaves flows, paths, the timeline and the version as they are without accepted findings', async () => {
    for (const url of ['/api/paths', '/api/timeline?buckets=10', '/api/topology', '/api/endpoints?sort=findings', `/api/flows?rule=${ACCEPTED.person.rule}`, '/api/flows?minSeverity=high']) {
      const [a, b] = [await get(url), await get(url, plain)];
      expect(a.status, url).toBe(200);
      expect(a.body, url).toEqual(b.body);
    }
    expect((await get('/api/version')).body).toMatchObject({ findings: 17 });
  });
});

describe('GET /api/flows/:id', () => {
  it("carries the flow's accepted findings apart from its open ones", async () => {
    const id = fx.ids.get(fx.keys.kubelet13!)!;
    const { status, body } = await get(`/api/flows/${id}`);
    expect(status).toBe(200);
    expect(body.findings.map((f: any) => [f.rule, f.acceptance])).toEqual([['kubelet-tls-indeterminate', null]]);
    expect(body.acceptedFindings).toHaveLength(1);
    expect(body.acceptedFindings[0]).toMatchObject({ ...expectedItem('kubelet13'), path: 'apiserver-to-kubelet' });
    // The flow's own severity and count are its open findings'.
    expect(body.flow).toMatchObject({ worstSeverity: 'info', findingCount: 1 });
    // An accepted finding does not make an unverified TLS verdict either: the open ones decide.
    expect(body.tls.verification.verdict).toBe((await get(`/api/flows/${id}`, plain)).body.tls.verification.verdict);

    const person = (await get(`/api/flows/${fx.ids.get(fx.keys.person!)}`)).body;
    expect(person.findings).toEqual([]);
    expect(person.acceptedFindings.map((f: any) => [f.rule, f.acceptance])).toEqual([[ACCEPTED.person.rule, ACCEPTED.person.acceptance]]);
    expect(person.flow).toMatchObject({ worstSeverity: null, findingCount: 0 });

    const other = (await get(`/api/flows/${fx.ids.get(fx.keys.proxy!)}`)).body;
    expect(other.acceptedFindings).toEqual([]);
    expect(other.findings).toHaveLength(2);
  });
});

describe('the TLS verdict of a flow whose finding is accepted', () => {
  it('stays unverified: accepting the risk does not verify the kubelet', async () => {
    const file = `${fx.file}.kubelet.db`;
    buildFixtureDb({ file });
    const db = openStore(file);
    const captureId = db.prepare('SELECT MIN(id) FROM captures').pluck().get() as number;
    // A kubelet serving certificate issued by a CA other than the cluster's: neither self-signed nor verified.
    const foreign = cert('CN=worker-3', 'CN=kubelet-ca');
    const rec = flow('10.0.0.10', 43900, '10.0.0.23', 10250, { id: 'kubelet-foreign-ca', app: 'tls', tls: tls({ serverCertificates: [foreign], clientCertificates: [CERTS.kubeletClient], clientCertRequested: true }) });
    const w = new FlowWriter(db, captureId);
    w.add(rec);
    w.flush();
    const dbId = w.ids.get(rec.id)!;
    const accepted: AcceptedFinding = {
      rule: 'kubelet-tls-unverified', severity: 'high', flowId: rec.id, title: 'Kubelet serving certificate cannot be verified',
      evidence: 'CN=worker-3 is issued by CN=kubelet-ca, not the cluster CA', recommendation: 'Verify the kubelet.', reference: '', cis: '1.2.5',
      ts: rec.firstTs, frame: rec.firstFrame, acceptance: { reason: 'kubelets use their own CA until the migration', until: '2031-01-31', source: 'accept.yaml#3' },
    };
    db.transaction(() => new VerdictWriter(db).write([{
      flow: { dbId, captureId } as StoredFlow,
      verdict: { classification: { path: 'apiserver-to-kubelet', pathDetail: {}, confidence: 0.9, reasons: ['server port 10250'] }, findings: [], accepted: [accepted] },
    }]))();
    db.close();
    const k = await buildApp({ dbFile: file });
    try {
      const r = await k.inject(`/api/flows/${dbId}`);
      expect(r.statusCode).toBe(200);
      const body = r.json();
      expect(body.findings).toEqual([]);
      expect(body.acceptedFindings.map((f: any) => f.rule)).toEqual(['kubelet-tls-unverified']);
      expect(body.tls.serverChain[0].certificate).toMatchObject({ subject: 'CN=worker-3', selfSigned: false });
      expect(body.tls.verification.verdict).toBe('unverified');
      expect(body.tls.verification.reasons).toContain(accepted.evidence);
    } finally {
      await k.close();
    }
  });
});

describe('OpenAPI', () => {
  it('documents the accepted parameter and the acceptance of a finding', async () => {
    const doc = (await get('/api/openapi.json')).body;
    expect(doc.paths['/api/findings'].get.parameters.map((p: any) => p.name)).toContain('accepted');
    const schema = JSON.stringify(doc.paths['/api/findings'].get.responses['200']);
    expect(schema).toContain('"acceptance"');
    expect(JSON.stringify(doc.paths['/api/flows/{id}'].get.responses['200'])).toContain('"acceptedFindings"');
  });
});
