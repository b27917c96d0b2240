/**
 * Live-mode benchmark: replays the benchmark's synthesised busy-cluster capture (the same file as
 * `npm run bench`) through a pipe into `planewatch live --stdin --db` and reports packets/s and drops;
 * then renders the TUI over the resulting database for a while and reports its redraw rate and CPU.
 *
 *   npm run bench:live -- [--size 1GB | --file F] [--write]
 *
 * `--write`: the live run also writes every packet to a pcapng file (`live --write`), whose size is
 * reported.
 */
import { spawn } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { render } from 'ink';
import { createElement } from 'react';
import { App } from '../src/tui/app';
import { DbDataSource } from '../src/tui/tui-data';
import { MAX_FPS } from '../src/tui/run-tui';
import { BENCH_DIR, ensureCapture } from './capture-cache';
import { openStore } from '../src/store/store';
import { walkRecords } from '../src/ingest/raw-walk';

const sizeArg = process.argv.indexOf('--size');
const fileArg = process.argv.indexOf('--file');
const pcap = fileArg >= 0 ? process.argv[fileArg + 1]! : await ensureCapture(sizeArg >= 0 ? process.argv[sizeArg + 1]! : '1GB', (l) => console.log(l));
const dir = mkdtempSync(join(tmpdir(), 'pw-live-bench-'));
const db = join(dir, 'live.db');
const written = process.argv.includes('--write') ? join(dir, 'live.pcapng') : null;

/** Packets in the capture, by a raw record walk (the denominator of packets/s). */
async function countPackets(): Promise<number> {
  return (await walkRecords(pcap)).packets;
}

async function runLivePipe(): Promise<{ seconds: number; consumed: number; line: string }> {
  const args = ['live', '--stdin', '--db', db, ...(written !== null ? ['--write', written] : [])];
  const child = spawn(process.execPath, [join(BENCH_DIR, '..', 'bin', 'planewatch.js'), ...args], { stdio: ['pipe', 'inherit', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  // Start the clock when the process is up (tsx start-up is not live throughput).
  await new Promise((r) => setTimeout(r, 1500));
  const t0 = process.hrtime.bigint();
  let consumed = 0;
  createReadStream(pcap).pipe(child.stdin).on('finish', () => (consumed = Number(process.hrtime.bigint() - t0) / 1e9));
  await new Promise((r) => child.once('exit', r));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, consumed, line: err.trim().split('\n').pop() ?? '' };
}

/**
 * Renders the TUI over the database for `seconds`. With `changing`, another connection commits every
 * 500 ms (as a live capture does), so every refresh re-reads the database.
 */
async function benchTui(seconds: number, changing: boolean): Promise<{ fps: number; cpuPct: number; flows: number }> {
  let frames = 0;
  const out = Object.assign(
    new Writable({
      write(_c, _e, cb) {
        frames++;
        cb();
      },
    }),
    { columns: 120, rows: 40, isTTY: true },
  ) as unknown as NodeJS.WriteStream;
  const data = new DbDataSource(db);
  const flows = data.load({ filter: '', sort: 'time', desc: true }).flowTotal;
  // A terminal-like stdin (Ink needs raw mode) that never sends keys.
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {}, ref: () => {}, unref: () => {} }) as unknown as NodeJS.ReadStream;
  const inst = render(createElement(App, { data, theme: { color: true }, refreshMs: 1000 }), {
    stdout: out, stdin, exitOnCtrlC: false, patchConsole: false, maxFps: MAX_FPS, debug: false,
  });
  await new Promise((r) => setTimeout(r, 1500));
  const writer = changing ? openStore(db) : null;
  const bump = writer?.prepare(`UPDATE captures SET packets = packets + 1`);
  const writes = changing ? setInterval(() => bump!.run(), 500) : null;
  frames = 0;
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wall = (Date.now() - t0) / 1000;
  if (writes !== null) clearInterval(writes);
  writer?.close();
  inst.unmount();
  data.close();
  return { fps: frames / wall, cpuPct: ((cpu.user + cpu.system) / 1e6 / wall) * 100, flows };
}

const packets = await countPackets();
console.log(`capture: ${pcap}, ${packets} packets, ${(statSync(pcap).size / 1e6).toFixed(1)} MB`);
const live = await runLivePipe();
console.log(`live --stdin: pipe consumed in ${live.consumed.toFixed(2)} s → ${Math.round(packets / live.consumed).toLocaleString('en-US')} packets/s while capturing`);
console.log(`  until exit (final flush + classification of every flow): ${live.seconds.toFixed(2)} s → ${Math.round(packets / live.seconds).toLocaleString('en-US')} packets/s end to end`);
console.log(`  ${live.line}`);
if (written !== null) console.log(`  --write: ${(statSync(written).size / 1e6).toFixed(1)} MB of pcapng written`);
for (const changing of [false, true]) {
  const tui = await benchTui(10, changing);
  console.log(`tui over ${tui.flows} flows, ${changing ? 'database written every 500 ms (as in live mode)' : 'database unchanged'}: ` +
    `${tui.fps.toFixed(1)} redraws/s (cap ${MAX_FPS}), ${tui.cpuPct.toFixed(1)}% of a core (refresh 1 s)`);
}
rmSync(dir, { recursive: true, force: true });
process.exit(0);
