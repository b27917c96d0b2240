/**
 * Dashboard benchmark: a database of 1 M flows, the server on loopback, list endpoints under load
 * (autocannon) and one client at a time (exact p50/p95/p99), then the overview's first paint and
 * time-to-data in headless Chromium.
 *
 *   npx tsx bench/web-bench.ts [--flows N] [--seconds S] [--rebuild]
 */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { openStore } from '../src/store/store';
import { SCHEMA_VERSION } from '../src/store/schema';
import { PATH_IDS, SEVERITIES, severityRank } from '../src/model/analysis';
import { startServer } from '../src/web/server';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const FLOWS = arg('--flows', 1_000_000);
const SECONDS = arg('--seconds', 3);
const DIR = join(import.meta.dirname, 'data');
/** Bumped when buildDb makes different data, so that an older database is not reused. */
const DATA_VERSION = 4;
const DB = join(DIR, `web-bench-${FLOWS}-schema${SCHEMA_VERSION}-data${DATA_VERSION}.db`);
const T0 = 1_700_000_000;
const BATCH = 50_000;

/** Builds the database under a temporary name and renames it when complete: an interrupted build is never reused. */
function buildDb(): void {
  mkdirSync(DIR, { recursive: true });
  const partial = `${DB}.partial`;
  for (const f of [DB, partial]) for (const s of ['', '-wal', '-shm']) rmSync(`${f}${s}`, { force: true });
  const db = openStore(partial);
  db.pragma('synchronous = OFF');
  const started = Date.now();
  db.prepare(`INSERT INTO captures (file, format, status, packets, bytes, flows, first_ts, last_ts, started_at) VALUES ('bench.pcap','pcap','complete',?,?,?,?,?,?)`)
    .run(FLOWS * 12, FLOWS * 6000, FLOWS, T0, T0 + FLOWS / 100, new Date().toISOString());
  const ins = db.prepare(`INSERT INTO flows (capture_id, flow_key, community_id, transport, ip_version, client_ip, client_port, server_ip,
    server_port, first_ts, last_ts, first_frame, last_frame, packets_client, packets_server, bytes_client, bytes_server, payload_client,
    payload_server, history, state, midstream, end_reason, app, tls_version, sni, path, confidence, reasons, worst_severity,
    severity_rank, finding_count) VALUES (1,?,?, 'tcp', 4, ?,?,?,?, ?,?,?,?, 6,5,?,?,?,?, ?,?,0,?, ?,?,?, ?,0.9,'[]', ?,?,?)`);
  // One request per flow, as a capture read with its key logs gives: operations, statuses and
  // namespaces spread as a busy cluster's are (exec and 401/403 rare, list/watch common).
  const request = db.prepare(`INSERT INTO http_requests (flow_id, seq, ts, frame, version, method, path, host, user_agent, auth, auth_hash,
    status, reason, k8s_api, k8s_operation, k8s_target, k8s_namespace, k8s_name, auth_subject) VALUES (?,0,?,?,'1.1',?,?,?,?,'bearer',?,?,?,?,?,?,?,?,?)`);
  const OPS: [string, string, string][] = [['list', 'GET', 'pods'], ['watch', 'GET', 'pods'], ['get', 'GET', 'configmaps'], ['list', 'GET', 'secrets'], ['create', 'POST', 'events'], ['patch', 'PATCH', 'leases']];
  const finding = db.prepare(`INSERT INTO findings (rule, severity, severity_rank, flow_id, capture_id, title, evidence, recommendation, reference, ts, frame)
    VALUES (?,?,?,?,1,?,?,?,?,?,?)`);
  const RULES: [string, (typeof SEVERITIES)[number]][] = [['kubelet-tls-unverified', 'high'], ['plaintext-proxy', 'high'], ['bearer-token-cleartext', 'critical'], ['weak-tls', 'medium'], ['ssh-tunnel-deprecated', 'low'], ['kubelet-tls-indeterminate', 'info']];
  const COMMON_RULE: [string, (typeof SEVERITIES)[number]] = ['kubelet-tls-indeterminate', 'info'];
  const pods = 2000;
  for (let start = 0; start < FLOWS; start += BATCH) {
    db.transaction(() => {
      for (let i = start; i < Math.min(FLOWS, start + BATCH); i++) {
        const path = PATH_IDS[i % 7 === 0 ? 3 : i % 11 === 0 ? 4 : i % 13 === 0 ? 1 : i % 17 === 0 ? 7 : 0]!;
        const worker = `10.0.${1 + ((i >> 8) % 4)}.${1 + (i % 200)}`;
        const pod = `10.244.${(i % pods) >> 8}.${i % 256}`;
        const [client, server, port] =
          path === 'apiserver-to-kubelet' ? ['10.0.0.10', worker, 10250]
          : path === 'apiserver-proxy' ? ['10.0.0.10', pod, 8080]
          : path === 'pod-to-apiserver' ? [pod, '10.96.0.1', 443]
          : path === 'apiserver-to-etcd' ? ['10.0.0.10', '10.0.0.11', 2379]
          : [worker, '10.0.0.10', 6443];
        // Rare rules every 97th flow; one common rule (a kubelet TLS 1.3 verdict) on every 4th flow of
        // the rest, as a capture of TLS 1.3 kubelet traffic gives.
        const rule = i % 97 === 0 ? RULES[(i / 97) % RULES.length]! : i % 4 === 0 ? COMMON_RULE : null;
        const ts = T0 + i / 100;
        const b = 1000 + ((i * 7919) % 100_000);
        // One flow in 500 a probe the server refused (REJ), as a scan among the traffic gives.
        const refused = i % 500 === 250;
        ins.run(`b${i}`, `1:bench${i}`, client, 30000 + (i % 30000), server, port, ts, ts + 2, i * 12, i * 12 + 11, b, b * 3,
          refused ? 0 : b - 200, refused ? 0 : b * 3 - 200, refused ? 'Sr' : 'ShADadFf', refused ? 'REJ' : 'SF', refused ? 'rst' : 'fin',
          path === 'apiserver-proxy' ? 'http' : 'tls', path === 'apiserver-proxy' ? null : '1.3', path === 'pod-to-apiserver' ? 'kubernetes.default.svc' : null, path,
          rule ? rule[1] : null, rule ? severityRank(rule[1]) : 0, rule ? 1 : 0);
        const kubelet = path === 'apiserver-to-kubelet';
        const [op, method, resource] = kubelet ? (i % 5 === 0 ? ['exec', 'POST', 'pods'] : ['logs', 'GET', 'pods']) : OPS[i % OPS.length]!;
        const ns = `ns-${i % 40}`;
        const status = i % 101 === 0 ? 403 : i % 103 === 0 ? 401 : op === 'exec' ? 101 : op === 'create' ? 201 : 200;
        request.run(i + 1, ts + 0.01, i * 12 + 3, method, kubelet ? `/${op === 'exec' ? 'exec' : 'containerLogs'}/${ns}/p${i}/c` : `/api/v1/namespaces/${ns}/${resource}`,
          `${server}:${port}`, kubelet ? 'kube-apiserver/v1.31.2' : 'kubectl/v1.31.2', `sha256:${(i % 4999).toString(16).padStart(16, '0')}`, status,
          status === 200 ? 'OK' : null, kubelet ? 'kubelet' : 'apiserver', op, resource, ns, `p${i}`, `system:serviceaccount:${ns}:sa-${i % 7}`);
        if (rule) finding.run(rule[0], rule[1], severityRank(rule[1]), i + 1, `${rule[0]} on flow ${i + 1}`, `evidence for flow ${i + 1}`, 'recommendation', 'https://kubernetes.io/docs/concepts/architecture/control-plane-node-communication/', ts, i * 12);
      }
    })();
  }
  const ep = db.prepare('INSERT OR IGNORE INTO endpoints (ip, primary_role, roles, name, reasons, flows, bytes) VALUES (?,?,?,?,?,?,?)');
  db.transaction(() => {
    // Roles as the store writes them: each with the strength of its claim.
    const roles = (r: string) => JSON.stringify([{ role: r, strength: 0.9 }]);
    ep.run('10.0.0.10', 'apiserver', roles('apiserver'), 'cp-1', '[]', FLOWS, 0);
    ep.run('10.0.0.11', 'etcd', roles('etcd'), 'etcd-1', '[]', 0, 0);
    ep.run('10.96.0.1', 'service', roles('service'), 'kubernetes', '[]', 0, 0);
    for (let n = 1; n <= 4; n++) for (let h = 1; h <= 200; h++) ep.run(`10.0.${n}.${h}`, 'kubelet', roles('kubelet'), `worker-${n}-${h}`, '[]', 0, 0);
    for (let p = 0; p < pods; p++) ep.run(`10.244.${p >> 8}.${p % 256}`, 'pod', roles('pod'), null, '[]', 0, 0);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  renameSync(partial, DB);
  console.log(`built ${FLOWS.toLocaleString()} flows in ${((Date.now() - started) / 1000).toFixed(1)} s → ${DB}`);
}

async function sequential(url: string, n: number): Promise<{ p50: number; p95: number; p99: number }> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await fetch(url);
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
  return { p50: q(0.5), p95: q(0.95), p99: q(0.99) };
}

async function main(): Promise<void> {
  if (args.includes('--rebuild') || !existsSync(DB)) buildDb();
  else console.log(`reusing ${DB}`);
  const srv = await startServer({ dbFile: DB, port: 0 });
  const base = srv.url.replace(/\/$/, '');

  // Overview in Chromium on a cold server (aggregates not yet computed), then warm.
  let paint: { coldFcp: number; coldData: number; warmFcp: number; warmData: number } | null = null;
  if (existsSync('/usr/bin/chromium')) {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const measure = async () => {
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      await page.goto(`${base}/#/`);
      await page.waitForSelector('body[data-ready="overview"]', { timeout: 120_000 });
      const r = await page.evaluate(() => ({
        fcp: performance.getEntriesByType('paint').find((p) => p.name === 'first-contentful-paint')?.startTime ?? -1,
        data: performance.now(),
      }));
      await page.close();
      return r;
    };
    const cold = await measure();
    const warm = await measure();
    paint = { coldFcp: cold.fcp, coldData: cold.data, warmFcp: warm.fcp, warmData: warm.data };
    await browser.close();
  }

  const cursor = ((await (await fetch(`${base}/api/flows?limit=100`)).json()) as { nextCursor: string }).nextCursor;
  const targets: [string, string][] = [
    ['flows (newest first)', '/api/flows?limit=100'],
    ['flows page 2 (keyset)', `/api/flows?limit=100&cursor=${cursor}`],
    ['flows by path', '/api/flows?path=apiserver-to-kubelet&limit=100'],
    ['flows by bytes', '/api/flows?sort=bytes&limit=100'],
    ['flows by severity', '/api/flows?sort=severity&limit=100'],
    ['flows severity=high', '/api/flows?severity=high&limit=100'],
    ['flows server+port', '/api/flows?server=10.0.1.7&port=10250&limit=100'],
    ['flows rare rule', '/api/flows?rule=bearer-token-cleartext&limit=100'],
    ['flows common rule', '/api/flows?rule=kubelet-tls-indeterminate&limit=100'],
    ['flows text search', '/api/flows?q=10.0.2.33&limit=100'],
    ['flows state=REJ', '/api/flows?state=REJ&limit=100'],
    ['findings', '/api/findings?limit=100'],
    ['findings high', '/api/findings?severity=high&limit=100'],
    ['endpoints', '/api/endpoints?limit=100'],
    ['requests (newest first)', '/api/requests?limit=50'],
    ['requests exec', '/api/requests?operation=exec&limit=50'],
    ['requests refused (4xx)', '/api/requests?status=4xx&limit=50'],
    ['requests by namespace', '/api/requests?namespace=ns-7&limit=50'],
    ['requests by credential', '/api/requests?credential=system:serviceaccount:ns-7:sa-3&limit=50'],
    ['certificates', '/api/certificates?limit=100'],
    ['summary (cached)', '/api/summary'],
    ['topology (cached)', '/api/topology'],
    ['timeline (cached)', '/api/timeline'],
    ['version', '/api/version'],
  ];
  const t0 = performance.now();
  await fetch(`${base}/api/summary`).then((r) => r.arrayBuffer());
  await fetch(`${base}/api/topology`).then((r) => r.arrayBuffer());
  await fetch(`${base}/api/endpoints`).then((r) => r.arrayBuffer());
  console.log(`aggregates warm-up (already done by the cold overview): ${(performance.now() - t0).toFixed(0)} ms`);

  console.log(`\n${'endpoint'.padEnd(26)} ${'1 client: p50'.padStart(14)} ${'p95'.padStart(8)} ${'p99'.padStart(8)} | ${'4 conns: p50'.padStart(13)} ${'p97.5'.padStart(8)} ${'p99'.padStart(8)} ${'req/s'.padStart(8)}`);
  for (const [name, path] of targets) {
    const seq = await sequential(`${base}${path}`, 200);
    const r = await autocannon({ url: `${base}${path}`, connections: 4, duration: SECONDS });
    if (r.non2xx > 0) throw new Error(`${path}: ${r.non2xx} non-2xx responses`);
    console.log(`${name.padEnd(26)} ${seq.p50.toFixed(2).padStart(11)} ms ${seq.p95.toFixed(2).padStart(8)} ${seq.p99.toFixed(2).padStart(8)} | ${r.latency.p50.toFixed(0).padStart(10)} ms ${r.latency.p97_5.toFixed(0).padStart(8)} ${r.latency.p99.toFixed(0).padStart(8)} ${r.requests.average.toFixed(0).padStart(8)}`);
  }
  // Lists that sum every use of something (each credential's requests): too slow for the rounds
  // above, timed on their own, one client.
  const slow: [string, string][] = [
    ['credentials', '/api/credentials?limit=50'],
    ['credentials cleartext', '/api/credentials?cleartext=true&limit=50'],
  ];
  console.log(`\n${'summing list'.padEnd(26)} ${'1 client, 20 requests: p50'.padStart(27)} ${'max'.padStart(8)}`);
  for (const [name, path] of slow) {
    const seq = await sequential(`${base}${path}`, 20);
    console.log(`${name.padEnd(26)} ${seq.p50.toFixed(0).padStart(24)} ms ${seq.p99.toFixed(0).padStart(8)}`);
  }
  if (paint) {
    console.log(`\noverview in Chromium: first contentful paint ${paint.coldFcp.toFixed(0)} ms cold / ${paint.warmFcp.toFixed(0)} ms warm;` +
      ` map and tables rendered at ${paint.coldData.toFixed(0)} ms cold (aggregates computed) / ${paint.warmData.toFixed(0)} ms warm`);
  }
  await srv.close();
}

await main();
