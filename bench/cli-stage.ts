/**
 * The whole pipeline as a user runs it: `planewatch analyze FILE --db NEW.db --quiet` in a child
 * process (capture → decode → flows → reassembly → dissectors → SQLite → classification → findings).
 * Peak RSS and CPU time come from the child itself through a preloaded module.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, DATA_DIR } from './capture-cache';
import { nowSeconds, type StageRun } from './measure';

const BIN = join(BENCH_DIR, '..', 'bin', 'planewatch.js');
const PRELOAD = join(BENCH_DIR, 'rss-report.mjs');

export interface CliOptions {
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir', DIR]. */
  nodeFlags?: string[];
  /** Packets in the file (from the raw walk): the CLI with --quiet prints none. */
  packets: number;
  /** `--threads` (default: the CLI's own choice, 2 for a file this large on two cores). */
  threads?: number;
}

function removeDb(db: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
}

export async function runCli(file: string, opts: CliOptions): Promise<StageRun> {
  const db = join(DATA_DIR, `bench-${process.pid}.db`);
  const usageFile = join(DATA_DIR, `bench-${process.pid}.usage.json`);
  removeDb(db);
  rmSync(usageFile, { force: true });
  const args = [...(opts.nodeFlags ?? []), '--import', PRELOAD, BIN, 'analyze', file, '--db', db, '--quiet'];
  if (opts.threads !== undefined) args.push('--threads', String(opts.threads));
  const t0 = nowSeconds();
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, PLANEWATCH_BENCH_USAGE: usageFile },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (err.length < 10000) err += d;
    });
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stderr: err }));
  });
  const seconds = nowSeconds() - t0;
  try {
    // Exit 1 means findings at --fail-on, which is not given here: anything but 0 is a failure.
    if (code !== 0) throw new Error(`planewatch analyze exited with ${code}: ${stderr.trim()}`);
    if (!existsSync(usageFile)) throw new Error('the child did not report its resource usage');
    const u = JSON.parse(readFileSync(usageFile, 'utf8')) as { maxRssKiB: number; userUs: number; systemUs: number };
    const dbBytes = statSync(db).size;
    return {
      packets: opts.packets,
      bytes: statSync(file).size,
      seconds,
      cpuSeconds: (u.userUs + u.systemUs) / 1e6,
      peakRss: u.maxRssKiB * 1024,
      note: `whole pipeline: wall time includes start-up, classification and findings; database ${(dbBytes / 1048576).toFixed(0)} MiB`,
    };
  } finally {
    removeDb(db);
    rmSync(usageFile, { force: true });
  }
}
