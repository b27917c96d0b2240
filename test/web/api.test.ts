import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { Command } from 'commander';
import { buildApp } from '../../src/web/app';
import { checkBind, startServer } from '../../src/web/server';
import { CONTENT_SECURITY_POLICY } from '../../src/web/security';
import { registerServeCommand } from '../../src/cli/commands/serve';
import { PATH_IDS } from '../../src/model/analysis';
import { ROLES } from '../../src/analysis/topology';
import { buildFixtureDb, HOSTILE, type FixtureInfo } from './fixture-db';

const EXTRA = 240;
let fx: FixtureInfo;
let app: FastifyInstance;

beforeAll(async () => {
  fx = buildFixtureDb({ extraFlows: EXTRA });
  app = await buildApp({ dbFile: fx.file });
});
afterAll(async () => {
  await app.close();
});

async function get<T = any>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Record<string, unknown> }> {
  const r = await app.inject({ method: 'GET', url, headers });
  let body: any = r.body;
  try {
    body = r.json();
  } catch {
    /* not JSON */
  }
  return { status: r.statusCode, body, headers: r.headers };
}

describe('API routes', () => {
  it('summary counts every table and findings of each severity', async () => {
    const { status, body } = await get('/api/summary');
    expect(status).toBe(200);
    expect(body.counts.flows).toBe(fx.flowCount);
    expect(body.findingsBySeverity).toEqual({ critical: 3, high: 4, medium: 6, low: 2, info: 2 });
    expect(body.paths.map((p: any) => p.path)).toEqual([...PATH_IDS]);
    expect(body.timeRange.first).toBeLessThan(body.timeRange.last);
  });

  it('captures, paths, endpoints, certificates, topology, timeline, version answer with their schemas', async () => {
    const caps = await get('/api/captures');
    expect(caps.body.items[0]).toMatchObject({ status: 'complete', anomalies: { 'tcp.retransmission': 3 } });
    const paths = await get('/api/paths');
    const kubelet = paths.body.items.find((p: any) => p.path === 'apiserver-to-kubelet');
    expect(kubelet).toMatchObject({ flows: 3, worstSeverity: 'high', section: 'API server to kubelet' });
    const eps = await get('/api/endpoints?sort=findings&limit=3');
    expect(eps.body.items[0].ip).toBe('10.0.0.10');
    expect(eps.body.total).toBe(14);
    // Roles by name (the table keeps each with its strength).
    for (const e of eps.body.items) {
      expect(e.roles).toContain(e.primaryRole);
      for (const r of e.roles) expect(ROLES).toContain(r);
    }
    const ep = await get('/api/endpoints/10.0.0.21');
    expect(ep.body.endpoint.roles).toContain('kubelet');
    expect(ep.body.certificates.map((c: any) => c.certificate.subject)).toContain('CN=worker-1@1700000000');
    expect(ep.body.peers.length).toBeGreaterThan(0);
    const certs = await get('/api/certificates?selfSigned=true');
    expect(certs.body.items.map((c: any) => c.certificate.subject)).toContain(HOSTILE.subject);
    const sha = certs.body.items[0].certificate.sha256;
    expect((await get(`/api/certificates/${sha}`)).body.recentFlows.length).toBeGreaterThan(0);
    const topo = await get('/api/topology');
    const hub = topo.body.nodes.find((n: any) => n.group === 'apiserver');
    expect(hub.ip).toBe('10.0.0.10');
    const edge = topo.body.edges.find((e: any) => e.path === 'apiserver-to-kubelet' && e.serverIp === '10.0.0.21');
    expect(edge).toMatchObject({ source: 'ip:10.0.0.10', worstSeverity: 'high', flows: 1 });
    expect(topo.body.nodes.find((n: any) => n.id === 'group:pod').members).toBe(3);
    // A person's workstation is drawn on its own, as a person's.
    expect(topo.body.nodes.find((n: any) => n.ip === '192.168.10.15')).toMatchObject({ group: 'user', kind: 'endpoint' });
    const tl = await get('/api/timeline?buckets=10');
    expect(tl.body.buckets).toHaveLength(10);
    expect(tl.body.buckets.reduce((a: number, b: any) => a + b.flows, 0)).toBe(fx.flowCount);
    expect(tl.body.buckets.reduce((a: number, b: any) => a + b.findings, 0)).toBe(17);
    const v = await get('/api/version');
    expect(v.body).toMatchObject({ maxFlowId: fx.flowCount, findings: 17, live: false });
  });

  it('flow detail names the same connection on the other side of a NAT', async () => {
    const before = await get(`/api/flows/${fx.ids.get(fx.keys.pod!)}`);
    const after = fx.ids.get(fx.keys.podAfterDnat!);
    expect(before.body.flow.natPeers).toEqual([{ id: after, clientIp: '10.244.1.5', clientPort: 51000, serverIp: '10.0.0.10', serverPort: 6443, path: 'pod-to-apiserver' }]);
    expect((await get(`/api/flows/${after}`)).body.flow.natPeers.map((p: any) => p.id)).toEqual([fx.ids.get(fx.keys.pod!)]);
    expect((await get(`/api/flows/${fx.ids.get(fx.keys.kubelet!)}`)).body.flow.natPeers).toEqual([]);
  });

  it('flow detail carries tls, chain with verdict, http, ssh and findings', async () => {
    const k = await get(`/api/flows/${fx.ids.get(fx.keys.kubelet!)}`);
    expect(k.status).toBe(200);
    expect(k.body.tls.verification.verdict).toBe('unverified');
    expect(k.body.tls.serverChain[0].certificate).toMatchObject({ subject: 'CN=worker-1@1700000000', selfSigned: true });
    expect(k.body.tls.serverChain[0].validAtCapture).toBe(true);
    expect(k.body.tls.clientChain[0].certificate.subject).toContain('kube-apiserver-kubelet-client');
    expect(k.body.findings[0].rule).toBe('kubelet-tls-unverified');
    expect(k.body.flow).toMatchObject({ path: 'apiserver-to-kubelet', pathDetail: { operation: 'unknown' }, serverRole: 'kubelet' });
    const i = await get(`/api/flows/${fx.ids.get(fx.keys.kubelet13!)}`);
    expect(i.body.tls.verification.verdict).toBe('indeterminate');
    const n = await get(`/api/flows/${fx.ids.get(fx.keys.nodeTls12!)}`);
    expect(n.body.tls.serverChain.map((c: any) => c.issuedByNext)).toEqual([true, null]);
    const p = await get(`/api/flows/${fx.ids.get(fx.keys.proxy!)}`);
    expect(p.body.http[0]).toMatchObject({ path: HOSTILE.path, userAgent: HOSTILE.userAgent, auth: 'bearer', k8sOperation: 'proxy' });
    expect(p.body.http[0]).toMatchObject({
      authSubject: 'system:serviceaccount:default:web', authExpires: 1_700_003_500,
      authHolder: `service account default/web, bound to pod default/${HOSTILE.pod} on node worker-2`,
    });
    expect(k.body.http.every((h: any) => h.authSubject === null && h.authHolder === null && h.impersonateUser === null)).toBe(true);
    const insecure = await get(`/api/flows/${fx.ids.get(fx.keys.insecure!)}`);
    expect(insecure.body.http[0]).toMatchObject({ auth: 'none', impersonateUser: 'jane@example.com' });
    const s = await get(`/api/flows/${fx.ids.get(fx.keys.ssh!)}`);
    expect(s.body.ssh.serverBanner).toMatch(/^SSH-2.0-OpenSSH/);
    expect((await get('/api/flows/999999')).status).toBe(404);
  });

  it('credentials: each by hash, whose it claims to be, where it was used, cleartext first; flows filter by it', async () => {
    const all = await get('/api/credentials');
    expect(all.status).toBe(200);
    expect(all.body.total).toBe(1);
    expect(all.body.items[0]).toMatchObject({
      authHash: 'sha256:0f1e2d3c4b5a6978', scheme: 'bearer', subject: 'system:serviceaccount:default:web', kind: 'serviceaccount',
      holder: `service account default/web, bound to pod default/${HOSTILE.pod} on node worker-2`, expires: 1_700_003_500,
      requests: 1, flows: 1, clients: ['10.0.0.10'], servers: ['10.244.2.7:8080'], cleartext: true,
    });
    expect((await get('/api/credentials?cleartext=false')).body.total).toBe(0);
    expect((await get('/api/credentials?q=default%3Aweb')).body.total).toBe(1);
    expect((await get('/api/credentials?q=worker-2')).body.total).toBe(1);
    expect((await get('/api/credentials?q=kube-system')).body.total).toBe(0);
    expect((await get('/api/credentials?cleartext=maybe')).status).toBe(400);
    for (const credential of ['sha256:0f1e2d3c4b5a6978', 'system:serviceaccount:default:web']) {
      const flows = await get(`/api/flows?credential=${encodeURIComponent(credential)}`);
      expect(flows.body.items.map((f: any) => f.id)).toEqual([fx.ids.get(fx.keys.proxy!)]);
    }
    expect((await get('/api/flows?credential=sha256%3A0000000000000000')).body.items).toEqual([]);
  });

  it('findings filter by rule, severity and path', async () => {
    expect((await get('/api/findings?severity=critical')).body.total).toBe(3);
    expect((await get('/api/findings?severity=critical&severity=high')).body.total).toBe(7);
    expect((await get('/api/findings?rule=ssh-tunnel-deprecated')).body.items.every((f: any) => f.severity === 'low')).toBe(true);
    expect((await get('/api/findings?path=apiserver-proxy')).body.total).toBe(3);
    const page = await get('/api/findings?limit=5&offset=15');
    expect(page.body.items).toHaveLength(2);
    expect(page.body.items[1].severity).toBe('info');
  });
});

describe('flows list', () => {
  async function walk(sort: string, order: string) {
    const seen: any[] = [];
    let cursor: string | null = null;
    do {
      const r: any = await get(`/api/flows?sort=${sort}&order=${order}&limit=37${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      seen.push(...r.body.items);
      cursor = r.body.nextCursor;
    } while (cursor);
    return seen;
  }

  it.each([
    ['time', 'desc', (f: any) => f.firstTs],
    ['bytes', 'asc', (f: any) => f.bytes],
    ['severity', 'desc', (f: any) => ({ critical: 5, high: 4, medium: 3, low: 2, info: 1 })[f.worstSeverity as string] ?? 0],
    ['severity', 'asc', (f: any) => ({ critical: 5, high: 4, medium: 3, low: 2, info: 1 })[f.worstSeverity as string] ?? 0],
    ['server', 'asc', (f: any) => f.serverIp],
  ])('keyset pages by %s %s cover every flow once, in order', async (sort, order, key) => {
    const all = await walk(sort, order);
    expect(all).toHaveLength(fx.flowCount);
    expect(new Set(all.map((f) => f.id)).size).toBe(fx.flowCount);
    for (let i = 1; i < all.length; i++) {
      const a = key(all[i - 1]);
      const b = key(all[i]);
      if (order === 'asc') expect(a <= b).toBe(true);
      else expect(a >= b).toBe(true);
      // Within one severity, most-severe-first lists the oldest first (the order flows_severity holds).
      if (sort === 'severity' && a === b) expect(order === 'desc' ? all[i - 1].firstTs <= all[i].firstTs : all[i - 1].firstTs >= all[i].firstTs).toBe(true);
    }
  });

  it('filters server side', async () => {
    const byPath = await get('/api/flows?path=apiserver-to-kubelet');
    expect(byPath.body.total).toBe(3);
    expect(byPath.body.items.every((f: any) => f.path === 'apiserver-to-kubelet')).toBe(true);
    expect((await get('/api/flows?server=10.0.0.21&port=10250')).body.total).toBe(1);
    expect((await get('/api/flows?rule=bearer-token-cleartext')).body.items[0].serverPort).toBe(8080);
    expect((await get('/api/flows?severity=critical')).body.total).toBe(3);
    expect((await get('/api/flows?minSeverity=high')).body.total).toBe(6);
    expect((await get('/api/flows?app=ssh')).body.total).toBe(2);
    // Zeek connection state: the fixture's connections all opened and closed.
    const everyFlow = (await get('/api/flows')).body.total;
    expect(everyFlow).toBeGreaterThan(0);
    expect((await get('/api/flows?state=SF')).body.total).toBe(everyFlow);
    expect((await get('/api/flows?state=S0&state=REJ')).body.total).toBe(0);
    expect((await get('/api/flows?state=S9')).status).toBe(400);
    const sni = await get(`/api/flows?q=${encodeURIComponent('<script>')}`);
    expect(sni.body.items.map((f: any) => f.sni)).toEqual([HOSTILE.sni]);
    expect((await get('/api/flows?q=10_0')).body.total).toBe(0); // LIKE wildcards are literal
    expect((await get('/api/flows?q=10.244.3.')).body.total).toBe(2); // address prefix, either side
    const cid = byPath.body.items[0].communityId;
    expect((await get(`/api/flows?q=${encodeURIComponent(cid)}`)).body.items.map((f: any) => f.id)).toEqual([byPath.body.items[0].id]);
    expect((await get('/api/flows?clientGroup=pod&path=apiserver-proxy')).body.total).toBe(0);
    expect((await get('/api/flows?clientGroup=apiserver&serverGroup=pod')).body.total).toBe(2);
    expect((await get('/api/flows?ip=10.0.0.15')).body.total).toBe(1);
    expect((await get('/api/flows?from=1700000001&to=1700000003')).body.total).toBe(2);
  });

  it('rejects bad parameters with 400', async () => {
    for (const q of ['sort=evil', 'sort=first_ts;drop', 'limit=0', 'limit=501', 'port=70000', 'path=bogus', 'severity=urgent', 'unknown=1',
      'ip=%3Cscript%3E', 'cursor=!!', 'q=' + 'x'.repeat(201), 'rule=DROP%20TABLE', 'rule=kubelet-tls-unverifed']) {
      expect((await get(`/api/flows?${q}`)).status, q).toBe(400);
    }
    const first = await get('/api/flows?sort=bytes&limit=5');
    expect((await get(`/api/flows?sort=time&limit=5&cursor=${first.body.nextCursor}`)).status).toBe(400);
    expect((await get(`/api/flows?limit=5&cursor=${Buffer.from('{"s":"time","o":"desc","k":[{}, 1]}').toString('base64url')}`)).status).toBe(400);
    expect((await get('/api/flows/abc')).status).toBe(400);
    expect((await get('/api/findings?rule=no-such-rule')).status).toBe(400);
    expect((await get('/api/certificates/NOTHEX')).status).toBe(400);
    expect((await get('/api/endpoints?sort=password')).status).toBe(400);
    expect((await get('/api/timeline?buckets=100000')).status).toBe(400);
  });
});

describe('safety', () => {
  it('cannot write through the server connection', () => {
    expect(() => app.store.prepare('DELETE FROM flows').run()).toThrow(/readonly|read-only|query_only|attempt to write/i);
    expect(() => app.store.exec('CREATE TABLE x (a)')).toThrow();
  });

  it('sends CSP and companion headers on pages and API', async () => {
    for (const url of ['/', '/api/summary', '/js/main.js']) {
      const r = await get(url);
      expect(r.status).toBe(200);
      expect(r.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
    }
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
  });

  it('serves only the front-end files', async () => {
    expect((await get('/')).headers['content-type']).toMatch(/text\/html/);
    expect((await get('/js/main.js')).headers['content-type']).toMatch(/javascript/);
    expect((await get('/../package.json')).status).toBe(404);
    expect((await get('/%2e%2e/package.json')).status).toBe(404);
  });

  it('answers only loopback host names without a token (DNS rebinding)', async () => {
    expect((await get('/api/summary', { host: 'attacker.example:8765' })).status).toBe(403);
    expect((await get('/api/summary', { host: '127.0.0.1:8765' })).status).toBe(200);
    expect((await get('/api/summary', { host: '[::1]:8765' })).status).toBe(200);
  });

  it('requires the token when one is set: bearer header or cookie from /?token=', async () => {
    const t = await buildApp({ dbFile: fx.file, token: 's3cret-token' });
    try {
      expect((await t.inject('/api/summary')).statusCode).toBe(401);
      expect((await t.inject('/')).statusCode).toBe(401);
      expect((await t.inject({ url: '/api/summary', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
      expect((await t.inject({ url: '/api/summary', headers: { authorization: 'Bearer s3cret-token', host: 'dash.example:8765' } })).statusCode).toBe(200);
      expect((await t.inject('/api/summary?token=s3cret-token')).statusCode).toBe(401); // API takes no token in the URL
      const visit = await t.inject('/?token=s3cret-token&x=1');
      expect(visit.statusCode).toBe(302);
      expect(visit.headers.location).toBe('/?x=1');
      const cookie = String(visit.headers['set-cookie']);
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Strict/);
      const withCookie = await t.inject({ url: '/api/summary', headers: { cookie: cookie.split(';')[0]! } });
      expect(withCookie.statusCode).toBe(200);
      expect((await t.inject('/?token=nope')).statusCode).toBe(401);
    } finally {
      await t.close();
    }
  });

  it('refuses to bind beyond loopback without a token', async () => {
    expect(() => checkBind('0.0.0.0', undefined)).toThrow(/--token/);
    expect(() => checkBind('192.168.1.5', undefined)).toThrow(/--token/);
    expect(() => checkBind('0.0.0.0', 't')).not.toThrow();
    expect(() => checkBind('127.0.0.1', undefined)).not.toThrow();
    expect(() => checkBind('::1', undefined)).not.toThrow();
    await expect(startServer({ dbFile: fx.file, host: '0.0.0.0', port: 0 })).rejects.toThrow(/--token/);
  });

  it('serve command refuses a public host without --token', async () => {
    const program = new Command().exitOverride();
    registerServeCommand(program);
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    (process.stderr as any).write = (s: string) => (errors.push(String(s)), true);
    try {
      await program.parseAsync(['node', 'planewatch', 'serve', '--db', fx.file, '--host', '0.0.0.0', '--port', '0']);
    } finally {
      (process.stderr as any).write = write;
    }
    expect(errors.join('')).toMatch(/refusing to listen on 0\.0\.0\.0 without --token/);
    expect(process.exitCode).toBe(2);
    process.exitCode = 0;
  });
});

describe('OpenAPI and live refresh', () => {
  it('documents every API route with its parameters', async () => {
    const doc = (await get('/api/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    for (const p of ['/api/flows', '/api/flows/{id}', '/api/findings', '/api/endpoints', '/api/endpoints/{ip}', '/api/certificates', '/api/topology', '/api/timeline', '/api/version', '/api/events', '/api/summary', '/api/paths', '/api/captures']) {
      expect(doc.paths[p], p).toBeDefined();
    }
    const names = doc.paths['/api/flows'].get.parameters.map((x: any) => x.name);
    expect(names).toEqual(expect.arrayContaining(['path', 'sort', 'cursor', 'limit', 'q', 'rule']));
    expect(doc.paths['/api/flows/{id}'].get.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true });
  });

  it('pushes a version event when another process writes', async () => {
    const srv = await startServer({ dbFile: fx.file, port: 0 });
    const ctl = new AbortController();
    try {
      const res = await fetch(`${srv.url}api/events`, { signal: ctl.signal });
      expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
      expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      const reader = res.body!.getReader();
      const dec = new TextDecoder();
      let text = '';
      const until = async (re: RegExp) => {
        const deadline = Date.now() + 5000;
        while (!re.test(text) && Date.now() < deadline) {
          const { value, done } = await reader.read();
          if (done) break;
          text += dec.decode(value);
        }
        return re.test(text);
      };
      expect(await until(/event: version\ndata: \{.*"findings":17/)).toBe(true);
      const w = new Database(fx.file);
      w.prepare(`INSERT INTO findings (rule, severity, severity_rank, title, evidence, recommendation, reference) VALUES ('weak-tls','medium',3,'t','e','r','')`).run();
      w.close();
      expect(await until(/"findings":18/)).toBe(true);
    } finally {
      ctl.abort();
      await srv.close();
    }
  });
});
