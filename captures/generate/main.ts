/**
 * `npm run captures` — regenerate everything under captures/ (samples, truth files, key logs,
 * inventory, CA bundle, README table).
 * `npm run captures -- --scale 2GB --out /path/big.pcap [--nodes 300]` — write a large busy-cluster
 * capture for the benchmark, streaming, never committed.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { DEFAULT_SEED, generateSamples } from './generate.js';
import { writeReadme } from './readme.js';
import { parseSize, writeScaleCapture } from './scale.js';

const capturesDir = join(dirname(fileURLToPath(import.meta.url)), '..');

const program = new Command()
  .name('captures')
  .option('--seed <n>', 'PRNG seed', String(DEFAULT_SEED))
  .option('--only <names>', 'comma-separated scenario names')
  .option('--new-pki', 'generate fresh keys and certificates')
  .option('--dir <dir>', 'captures directory to write', capturesDir)
  .option('--scale <size>', 'scale mode: write a capture of this size (e.g. 2GB, 500MB)')
  .option('--out <file>', 'scale mode: output file')
  .option('--nodes <n>', 'scale mode: cluster size', '300');

async function main(): Promise<void> {
  program.parse();
  const o = program.opts<{ seed: string; only?: string; newPki?: boolean; dir: string; scale?: string; out?: string; nodes: string }>();
  if (o.scale) {
    if (!o.out) throw new Error('--scale needs --out FILE');
    const r = await writeScaleCapture({ out: o.out, bytes: parseSize(o.scale), nodes: Number(o.nodes), seed: Number(o.seed), pkiDir: join(capturesDir, 'pki') });
    console.log(`${o.out}: ${(r.bytes / 1e6).toFixed(0)} MB, ${r.packets} packets, ${r.connections} connections in ${r.seconds.toFixed(1)} s = ${(r.bytes / 1e6 / r.seconds).toFixed(0)} MB/s`);
    return;
  }
  const t0 = Date.now();
  const samples = await generateSamples({ outDir: o.dir, seed: Number(o.seed), only: o.only?.split(','), newPki: o.newPki });
  // The table is read from every truth file on disk, those of scenarios not regenerated included.
  writeReadme(o.dir, samples);
  for (const s of samples) console.log(`${s.name}: ${s.packets} packets, ${s.truth.connections.length} connections → ${s.files.join(', ')}`);
  console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // Stacks may leave timers (keep-alive, ssh2) behind; the work is done.
  process.exit(0);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
