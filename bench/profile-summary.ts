/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and lists the functions with the most self time, so the
 * benchmark can name the pipeline's hot spots.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotSpot {
  /** Function name, file and line (1-based). */
  where: string;
  /** Self time in milliseconds. */
  selfMs: number;
  /** Share of all sampled time. */
  share: number;
}

/** Top `n` functions by self time; (idle), (program) and (garbage collector) are kept as they are telling. */
export function hotSpots(file: string, n: number, root: string): { spots: HotSpot[]; totalMs: number } {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  const samples = prof.samples ?? [];
  const deltas = prof.timeDeltas ?? [];
  // A sample's time is the delta to the next sample.
  for (let i = 0; i < samples.length; i++) {
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + dt);
  }
  const byWhere = new Map<string, number>();
  let total = 0;
  for (const node of prof.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    total += us;
    const cf = node.callFrame;
    let path = cf.url.replace(/^file:\/\//, '');
    if (path.startsWith(root)) path = relative(root, path);
    const where = path === '' ? cf.functionName || '(anonymous)' : `${cf.functionName || "(anonymous)"} ${path}${cf.lineNumber > 0 ? `:${cf.lineNumber + 1}` : ""}`;
    byWhere.set(where, (byWhere.get(where) ?? 0) + us);
  }
  const spots = [...byWhere.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([where, us]) => ({ where, selfMs: us / 1000, share: total > 0 ? us / total : 0 }));
  return { spots, totalMs: total / 1000 };
}

/** Self time summed per source file: which module the time goes to. */
export function hotFiles(file: string, n: number, root: string): HotSpot[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const idToNode = new Map(prof.nodes.map((x) => [x.id, x]));
  const samples = prof.samples ?? [];
  const deltas = prof.timeDeltas ?? [];
  const byFile = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const node = idToNode.get(samples[i]!);
    const dt = deltas[i + 1] ?? 0;
    if (!node) continue;
    total += dt;
    let path = node.callFrame.url.replace(/^file:\/\//, '');
    if (path.startsWith(root)) path = relative(root, path);
    if (path === '') path = node.callFrame.functionName || '(native)';
    byFile.set(path, (byFile.get(path) ?? 0) + dt);
  }
  return [...byFile.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([where, us]) => ({ where, selfMs: us / 1000, share: total > 0 ? us / total : 0 }));
}
