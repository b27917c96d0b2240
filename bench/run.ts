/**
 * `npm run bench` — throughput of every stage of the pipeline on one large synthetic capture, in one
 * run, against a raw record walk of the same file (the ceiling) and against tshark.
 *
 *   npm run bench -- [--size 1GB | --file F] [--quick] [--repeat N] [--rss] [--profile] [--no-tshark]
 *
 * Figures are medians over --repeat runs; stages are interleaved per repetition so that load from
 * other processes falls on all of them alike. CPU seconds are printed beside wall time: on a shared
 * machine they are the steadier figure.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { DATA_DIR, ensureCapture } from './capture-cache';
import { runCli } from './cli-stage';
import { runDissectorBenches } from './dissector-stage';
import { IN_PROCESS_LABELS, runInProcess, type InProcessStage } from './in-process-stages';
import { fmtMB, fmtPct, fmtRate, medianRun, pps, type StageRun } from './measure';
import { hotFiles, hotSpots } from './profile-summary';
import { printTable, printTargets, type Row, type Target } from './report';
import { ensureSynFlood } from './syn-flood';
import { hasTshark, runTshark } from './tshark-stage';

/** Issue targets. */
const ENGINE_VS_WALK = 0.6;
const PIPELINE_PPS = 1e6;
const PIPELINE_VS_WALK = 0.4;
const PIPELINE_VS_TSHARK = 30;
const MAX_PEAK_RSS = 400 * 1048576;
/** Peak RSS of the 4 GB run may exceed the 1 GB run's by this share and still count as "the same". */
const RSS_SAME_TOLERANCE = 0.1;
/** Connection attempts in the two floods whose peak RSS `--rss` also compares. */
const FLOOD_ATTEMPTS = [1_000_000, 4_000_000] as const;

interface Options {
  size: string;
  file?: string;
  quick?: boolean;
  repeat: string;
  rss?: boolean;
  profile?: boolean;
  tshark: boolean;
  tsharkPackets?: string;
  dissectors: boolean;
}

const log = (line: string): void => {
  process.stdout.write(line + '\n');
};

async function main(): Promise<void> {
  const o = new Command()
    .name('bench')
    .option('--size <size>', 'size of the synthetic capture (generated once under bench/data/)', '1GB')
    .option('--file <file>', 'use this capture instead (pcap or pcapng, gzip-compressed or not)')
    .option('--quick', 'a ~200 MB capture, one repetition, a short tshark run')
    .option('--repeat <n>', 'repetitions of each stage; medians are printed', '3')
    .option('--rss', 'also compare the whole pipeline\'s peak RSS on a 1 GB and a 4 GB capture, and on SYN floods of 1 M and 4 M attempts')
    .option('--profile', 'profile the whole pipeline (node --cpu-prof) and list the hot spots')
    .option('--no-tshark', 'skip the tshark comparison')
    .option('--tshark-packets <n>', 'packets tshark reads from the start of the file (default 500000, --quick 150000)')
    .option('--no-dissectors', 'skip the per-dissector micro-benchmarks')
    .parse()
    .opts<Options>();
  const repeat = o.quick ? 1 : Math.max(1, Number(o.repeat) || 1);
  const file = o.file ?? (await ensureCapture(o.quick ? '200MB' : o.size, log));
  log(`capture: ${file}`);
  log(`node ${process.version}, ${repeat} repetition(s); figures are medians`);

  // Warm the page cache so the first stage does not pay for the disk.
  const warm = await runInProcess('walk', file);
  log(`${warm.packets} packets, ${fmtMB(warm.bytes)}\n`);

  const stages: InProcessStage[] = ['walk', 'reader', 'engine', 'dissect'];
  const runs = new Map<string, StageRun[]>();
  const add = (k: string, r: StageRun) => runs.set(k, [...(runs.get(k) ?? []), r]);
  for (let i = 0; i < repeat; i++) {
    for (const s of stages) add(s, await runInProcess(s, file));
    add('cli', await runCli(file, { packets: warm.packets, threads: 1 }));
    add('cli2', await runCli(file, { packets: warm.packets, threads: 2 }));
    add('cli3', await runCli(file, { packets: warm.packets, threads: 3 }));
    log(`  repetition ${i + 1}/${repeat} done`);
  }
  let tshark: StageRun | null = null;
  if (o.tshark && hasTshark()) {
    const n = Number(o.tsharkPackets ?? (o.quick ? 150000 : 500000));
    tshark = await runTshark(file, n, warm.packets);
  } else if (o.tshark) {
    log('tshark is not installed: no tshark comparison');
  }

  const m = (k: string) => medianRun(runs.get(k)!);
  const walk = m('walk');
  const rows: Row[] = stages.map((s) => ({ label: IN_PROCESS_LABELS[s], run: m(s), runs: repeat }));
  const cli = m('cli');
  const cli2 = m('cli2');
  const cli3 = m('cli3');
  rows.push({ label: 'whole pipeline → SQLite (CLI, 1 thread)', run: cli, runs: repeat });
  rows.push({ label: 'whole pipeline → SQLite (CLI, 2 threads)', run: cli2, runs: repeat });
  rows.push({ label: 'whole pipeline → SQLite (CLI, 3 threads: 2 sharing the connections)', run: cli3, runs: repeat });
  if (tshark) rows.push({ label: 'tshark -T fields (prefix)', run: tshark, runs: 1 });
  log('');
  printTable(rows, walk, log);
  log('');
  for (const r of rows) if (r.run.note) log(`  ${r.run.note}`);

  const engine = m('engine');
  const targets: Target[] = [
    {
      what: 'decode+flows+reassembly vs raw walk (pkt/s)',
      goal: `≥ ${fmtPct(ENGINE_VS_WALK)}`,
      measured: fmtPct(pps(engine) / pps(walk)),
      met: pps(engine) / pps(walk) >= ENGINE_VS_WALK,
    },
    {
      what: 'whole pipeline, packets/s end to end, 1 thread',
      goal: `≥ ${fmtRate(PIPELINE_PPS)}`,
      measured: `${fmtRate(pps(cli))} (${cores(cli)} cores)`,
      met: pps(cli) >= PIPELINE_PPS,
    },
    {
      what: 'the same with 2 threads (not "one core")',
      goal: `≥ ${fmtRate(PIPELINE_PPS)}`,
      measured: `${fmtRate(pps(cli2))} (${cores(cli2)} cores)`,
      met: pps(cli2) >= PIPELINE_PPS,
    },
    {
      what: 'the same with 3 threads (not "one core")',
      goal: `≥ ${fmtRate(PIPELINE_PPS)}`,
      measured: `${fmtRate(pps(cli3))} (${cores(cli3)} cores)`,
      met: pps(cli3) >= PIPELINE_PPS,
    },
    {
      what: 'whole pipeline vs raw walk (pkt/s)',
      goal: `≥ ${fmtPct(PIPELINE_VS_WALK)}`,
      measured: fmtPct(pps(cli) / pps(walk)),
      met: pps(cli) / pps(walk) >= PIPELINE_VS_WALK,
    },
    {
      what: 'whole pipeline vs tshark (pkt/s)',
      goal: `≥ ${PIPELINE_VS_TSHARK}×`,
      measured: tshark ? `${(pps(cli) / pps(tshark)).toFixed(1)}×` : '-',
      met: tshark ? pps(cli) / pps(tshark) >= PIPELINE_VS_TSHARK : null,
    },
    {
      what: 'whole pipeline peak RSS (2 threads)',
      goal: `≤ ${fmtMB(MAX_PEAK_RSS)}`,
      measured: cli2.peakRss !== null ? fmtMB(cli2.peakRss) : '-',
      met: cli2.peakRss !== null ? cli2.peakRss <= MAX_PEAK_RSS : null,
    },
  ];

  if (o.rss) {
    const small = await ensureCapture('1GB', log);
    const big = await ensureCapture('4GB', log);
    const sizes: [string, string][] = [['1 GB', small], ['4 GB', big]];
    const peaks: number[] = [];
    log('');
    for (const [label, f] of sizes) {
      const w = await runInProcess('walk', f);
      const r = await runCli(f, { packets: w.packets });
      peaks.push(r.peakRss ?? 0);
      log(`peak RSS, whole pipeline, ${label}: ${fmtMB(r.peakRss ?? 0)} (${w.packets} packets, ${r.seconds.toFixed(1)} s, ${fmtRate(pps(r))} pkt/s)`);
    }
    const growth = peaks[1]! / peaks[0]! - 1;
    targets.push({
      what: 'peak RSS 4 GB vs 1 GB',
      goal: `same (±${fmtPct(RSS_SAME_TOLERANCE)})`,
      measured: `${growth >= 0 ? '+' : ''}${fmtPct(growth)}`,
      met: Math.abs(growth) <= RSS_SAME_TOLERANCE,
    });
    targets.push({
      what: 'peak RSS on 4 GB',
      goal: `≤ ${fmtMB(MAX_PEAK_RSS)}`,
      measured: fmtMB(peaks[1]!),
      met: peaks[1]! <= MAX_PEAK_RSS,
    });
    // "Whatever the file" includes a flood: each attempt is a flow of its own, from an address of its
    // own, and four times the attempts must not take more memory.
    const floodPeaks: number[] = [];
    for (const attempts of FLOOD_ATTEMPTS) {
      const flood = ensureSynFlood(attempts, log);
      const fw = await runInProcess('walk', flood);
      const fr = await runCli(flood, { packets: fw.packets });
      floodPeaks.push(fr.peakRss ?? 0);
      log(`peak RSS, whole pipeline, SYN flood from ${attempts} addresses (half refused, half unanswered): ` +
        `${fmtMB(fr.peakRss ?? 0)} (${fw.packets} packets, ${fr.seconds.toFixed(1)} s, ${fmtRate(pps(fr))} pkt/s)`);
    }
    const floodGrowth = floodPeaks[1]! / floodPeaks[0]! - 1;
    targets.push({
      what: `peak RSS, SYN flood of ${FLOOD_ATTEMPTS[1]! / 1e6} M vs ${FLOOD_ATTEMPTS[0]! / 1e6} M attempts`,
      goal: `same (±${fmtPct(RSS_SAME_TOLERANCE)}), ≤ ${fmtMB(MAX_PEAK_RSS)}`,
      measured: `${floodGrowth >= 0 ? '+' : ''}${fmtPct(floodGrowth)}, ${fmtMB(floodPeaks[1]!)}`,
      met: Math.abs(floodGrowth) <= RSS_SAME_TOLERANCE && floodPeaks[1]! <= MAX_PEAK_RSS,
    });
  }
  log('\ntargets (issues 2 and 5):');
  printTargets(targets, log);

  if (o.dissectors) {
    log('\nper-dissector micro-benchmarks:');
    await runDissectorBenches(log);
  }

  if (o.profile) await profile(file, warm.packets);
}

function cores(r: StageRun): string {
  return r.cpuSeconds !== null ? (r.cpuSeconds / r.seconds).toFixed(2) : '?';
}

/** Runs the CLI once under the V8 CPU profiler and lists where the main thread's time goes. */
async function profile(file: string, packets: number): Promise<void> {
  const dir = join(DATA_DIR, 'profile');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // One thread: the profile then holds the whole pipeline.
  const r = await runCli(file, { packets, threads: 1, nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] });
  // One profile per thread: the main thread's is the one with the most samples.
  let best: { file: string; ms: number } | null = null;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.cpuprofile')) continue;
    const ms = hotSpots(join(dir, name), 1, '').totalMs;
    if (best === null || ms > best.ms) best = { file: join(dir, name), ms };
  }
  if (best === null) {
    log('\nprofile: no profile was written');
    return;
  }
  const root = join(DATA_DIR, '..', '..');
  const top = hotSpots(best.file, 20, root + '/');
  log(`\nprofile of the whole pipeline (${r.seconds.toFixed(1)} s under the profiler; ${best.file}):`);
  log('  self time by function:');
  for (const s of top.spots) log(`    ${fmtPct(s.share).padStart(4)} ${s.selfMs.toFixed(0).padStart(7)} ms  ${s.where}`);
  log('  self time by file:');
  for (const s of hotFiles(best.file, 15, root + '/')) log(`    ${fmtPct(s.share).padStart(4)} ${s.selfMs.toFixed(0).padStart(7)} ms  ${s.where}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
