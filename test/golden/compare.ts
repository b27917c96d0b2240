import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Runs `planewatch analyze --json` on a sample with the bundled inventory and CA, and compares every
 * connection with the sample's truth file. Returns human-readable differences (empty = agreement).
 */
export const SAMPLES = join(__dirname, '../../captures/samples');
const ROOT = join(__dirname, '../..');

export interface TruthConnection {
  client: string;
  server: string;
  transport: string;
  app: string;
  path: string;
  pathDetail: Record<string, string>;
  findings: string[];
  tls: { version: string | null; sni: string | null; serverSubject?: string | null } | null;
  http: { method: string; path: string; host: string | null; status: number | null }[];
  ssh: { clientBanner: string; serverBanner: string } | null;
}

export interface Truth {
  capture: string;
  scenario: string;
  connections: TruthConnection[];
}

export function truthFiles(): string[] {
  return readdirSync(SAMPLES).filter((f) => f.endsWith('.truth.json')).sort();
}

export function readTruth(name: string): Truth {
  return JSON.parse(readFileSync(join(SAMPLES, name), 'utf8')) as Truth;
}

/** `extraArgs` are appended to the command line (e.g. `--keylog FILE`). */
export function analyzeJson(capture: string, extraArgs: readonly string[] = []): any {
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'bin/planewatch.js'), 'analyze', join(SAMPLES, capture), '--json',
      '--inventory', join(ROOT, 'captures/inventory.json'), '--inventory', join(ROOT, 'captures/planewatch-cluster.json'),
      '--ca', join(ROOT, 'captures/cluster-ca.pem'), ...extraArgs],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (r.status !== 0 && r.status !== 3) throw new Error(`analyze ${capture} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export function compareSample(truth: Truth, out: any): string[] {
  const diffs: string[] = [];
  const flows = new Map<string, any>();
  for (const f of out.flows) flows.set(`${f.client.ip}:${f.client.port}>${f.server.ip}:${f.server.port}`, f);
  for (const c of truth.connections) {
    const key = `${c.client}>${c.server}`;
    const f = flows.get(key);
    if (!f) {
      diffs.push(`${key}: connection not found`);
      continue;
    }
    flows.delete(key);
    if (f.app !== c.app) diffs.push(`${key}: app ${f.app}, truth ${c.app}`);
    if (f.path !== c.path) diffs.push(`${key}: path ${f.path}, truth ${c.path} (reasons: ${f.reasons.join(' | ')})`);
    const detail = JSON.stringify(sortKeys(f.pathDetail));
    const want = JSON.stringify(sortKeys(c.pathDetail ?? {}));
    if (detail !== want) diffs.push(`${key}: pathDetail ${detail}, truth ${want}`);
    const got = [...f.findings].sort().join(',');
    const exp = [...c.findings].sort().join(',');
    if (got !== exp) diffs.push(`${key}: findings [${got}], truth [${exp}]`);
    if (c.tls) {
      if (f.tls?.version !== c.tls.version) diffs.push(`${key}: tls.version ${f.tls?.version}, truth ${c.tls.version}`);
      if ((f.tls?.sni ?? null) !== (c.tls.sni ?? null)) diffs.push(`${key}: tls.sni ${f.tls?.sni}, truth ${c.tls.sni}`);
    }
    for (let i = 0; i < c.http.length; i++) {
      const h = f.http[i];
      const w = c.http[i]!;
      if (!h || h.method !== w.method || h.path !== w.path || (w.status != null && h.status !== w.status)) {
        diffs.push(`${key}: http[${i}] ${h ? `${h.method} ${h.path} ${h.status}` : 'missing'}, truth ${w.method} ${w.path} ${w.status}`);
      }
    }
    if (c.ssh) {
      if (f.ssh?.clientBanner !== c.ssh.clientBanner || f.ssh?.serverBanner !== c.ssh.serverBanner) {
        diffs.push(`${key}: ssh banners ${f.ssh?.clientBanner} / ${f.ssh?.serverBanner}, truth ${c.ssh.clientBanner} / ${c.ssh.serverBanner}`);
      }
    }
  }
  for (const key of flows.keys()) diffs.push(`${key}: flow not in the truth file`);
  return diffs;
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}
