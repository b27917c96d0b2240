import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The bundle `npm ci` builds (the package's `build` script) must behave as the sources do. It is
 * built here into a directory of its own, deeper than dist/ or any source file, so that nothing it
 * finds on disk (web/, captures/) may depend on where it sits.
 */
const ROOT = join(__dirname, '../..');
const OUT_TOP = join(ROOT, 'test-artifacts', `bundle-${process.pid}`);
const OUT = join(OUT_TOP, 'nested');
const SAMPLE = join(ROOT, 'captures/samples/kubelet-logs-exec-self-signed.pcap');
afterAll(() => rmSync(OUT_TOP, { recursive: true, force: true }));

function buildCommand(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  return pkg.scripts.build!.split(/\s+/).map((a) => (a === '--outdir=dist' ? `--outdir=${OUT}` : a));
}

describe('the bundle built at install', () => {
  mkdirSync(OUT, { recursive: true });
  const [cmd, ...args] = buildCommand();
  const build = spawnSync(join(ROOT, 'node_modules/.bin', cmd!), args, { cwd: ROOT, encoding: 'utf8' });
  const bundle = join(OUT, 'planewatch.js');

  it('builds', () => {
    expect(build.stderr).toBe('');
    expect(build.status).toBe(0);
  });

  it('analyses a capture exactly as the sources do', () => {
    const fromBundle = spawnSync(process.execPath, [bundle, 'analyze', SAMPLE, '--json'], { encoding: 'utf8' });
    const fromSource = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), 'analyze', SAMPLE, '--json'], {
      encoding: 'utf8',
      env: { ...process.env, PLANEWATCH_FROM_SOURCE: '1' },
    });
    expect(fromBundle.status).toBe(fromSource.status);
    expect(fromBundle.stdout.length).toBeGreaterThan(1000);
    expect(JSON.parse(fromBundle.stdout)).toEqual(JSON.parse(fromSource.stdout));
    // Its analysis thread is the bundle's own entry (dist/analysis-worker.js), beside it.
    const onThread = spawnSync(process.execPath, [bundle, 'analyze', SAMPLE, '--json', '--threads', '2'], { encoding: 'utf8' });
    expect(onThread.stderr).toBe('');
    expect(JSON.parse(onThread.stdout)).toEqual(JSON.parse(fromSource.stdout));
  });

  it('serves the dashboard files from the package, wherever the bundle is', async () => {
    const db = join(OUT, 'a.db');
    expect(spawnSync(process.execPath, [bundle, 'analyze', SAMPLE, '--db', db, '--quiet']).status).toBe(0);
    const server = spawn(process.execPath, [bundle, 'serve', '--db', db, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /(http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        server.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
      });
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);
    } finally {
      server.kill();
    }
  });
});
