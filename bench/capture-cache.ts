/**
 * The benchmark's synthetic capture: the scale generator's busy-cluster pcap, written once per size
 * under bench/data/ (git-ignored) and reused by later runs.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSize, writeScaleCapture } from '../captures/generate/scale';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const DATA_DIR = join(BENCH_DIR, 'data');
const PKI_DIR = join(BENCH_DIR, '..', 'captures', 'pki');
/** Fixed seed and cluster size: the same size always yields the same file. */
const SEED = 1;
const NODES = 300;

/** Path of the cached capture of `size` (e.g. "1GB"), generating it when missing. */
export async function ensureCapture(size: string, log: (line: string) => void): Promise<string> {
  const bytes = parseSize(size);
  mkdirSync(DATA_DIR, { recursive: true });
  const file = join(DATA_DIR, `scale-${size.toUpperCase()}.pcap`);
  // A file shorter than asked is the remains of an interrupted generation.
  if (existsSync(file) && statSync(file).size >= bytes) return file;
  log(`generating ${file} (${size}, ${NODES} nodes)…`);
  const r = await writeScaleCapture({ out: file, bytes, nodes: NODES, seed: SEED, pkiDir: PKI_DIR });
  log(`  ${(r.bytes / 1e6).toFixed(0)} MB, ${r.packets} packets, ${r.connections} connections in ${r.seconds.toFixed(1)} s`);
  return file;
}
