/**
 * Per-dissector figures: runs the dissector micro-benchmarks (bench/dissectors/*) as child
 * processes and passes their lines through.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR } from './capture-cache';

const BENCHES: { file: string; args: string[] }[] = [
  { file: 'tls-bench.ts', args: ['64'] },
  { file: 'http-bench.ts', args: [] },
];

export async function runDissectorBenches(log: (line: string) => void): Promise<void> {
  for (const b of BENCHES) {
    const path = join(BENCH_DIR, 'dissectors', b.file);
    if (!existsSync(path)) {
      log(`  ${b.file}: not present`);
      continue;
    }
    const out = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path, ...b.args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d: string) => (text += d));
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => (text += d));
      child.on('error', (e) => resolve(`failed: ${e.message}`));
      child.on('close', (code) => resolve(code === 0 ? text : `${text}\nexited with ${code}`));
    });
    log(`  ${b.file}:`);
    for (const line of out.trimEnd().split('\n')) if (line.trim() !== '' && !line.startsWith('npm warn')) log(`    ${line}`);
  }
}
