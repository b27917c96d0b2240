/**
 * `npm start` (`planewatch demo`): the bundled samples analysed into a fresh database, each scenario
 * once, then the dashboard served on them — the README's promise for a fresh clone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/planewatch.js');
const dir = mkdtempSync(join(tmpdir(), 'pw-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The scenarios of the bundled samples: one truth file each, variants aside. */
function scenarios(): string[] {
  return readdirSync(join(ROOT, 'captures/samples'))
    .filter((f) => f.endsWith('.truth.json') && !/\.(sll2|vlan|vxlan|two-interfaces|dsb)\.truth\.json$/.test(f))
    .map((f) => f.replace(/\.truth\.json$/, ''));
}

describe('planewatch demo (npm start)', () => {
  it('analyses every bundled scenario once, with the findings its key logs reveal', () => {
    const db = join(dir, 'demo.db');
    const r = spawnSync(process.execPath, [BIN, 'demo', '--no-serve', '--db', db], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const names = scenarios();
    expect(r.stdout).toContain(`analysing ${names.length} sample captures`);
    const d = new Database(db, { readonly: true });
    try {
      const files = (d.prepare(`SELECT file FROM captures ORDER BY file`).pluck().all() as string[]).map((f) => f.split('/').pop()!);
      // One capture per scenario: the copy with its key log where there is one, else the plain one.
      expect(files.map((f) => f.replace(/\.(dsb\.pcapng|pcap)$/, '')).sort()).toEqual(names.sort());
      expect(files).toContain('token-used-elsewhere.dsb.pcapng');
      expect(files).not.toContain('token-used-elsewhere.pcap');
      const rules = d.prepare(`SELECT rule, COUNT(*) n FROM findings GROUP BY rule`).all() as { rule: string; n: number }[];
      expect(rules.find((x) => x.rule === 'token-used-elsewhere')?.n).toBe(1);
      expect(rules.find((x) => x.rule === 'legacy-serviceaccount-token')?.n).toBe(1);
    } finally {
      d.close();
    }
  }, 180_000);

  it('then serves the dashboard on them', async () => {
    const db = join(dir, 'served.db');
    const child = spawn(process.execPath, [BIN, 'demo', '--db', db, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no dashboard address in: ${out}`)), 150_000);
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (d: string) => {
          out += d;
          const m = /planewatch dashboard: (http:\/\/\S+)/.exec(out);
          if (m !== null) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.on('exit', (code) => reject(new Error(`demo exited (${code}) before serving: ${out}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/?$/);
      const summary = (await (await fetch(new URL('/api/summary', url))).json()) as { captures: unknown[] };
      expect(summary.captures).toHaveLength(scenarios().length);
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('planewatch');
    } finally {
      child.kill('SIGTERM');
    }
  }, 180_000);
});
