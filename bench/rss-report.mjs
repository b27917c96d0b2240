// Preloaded (node --import) into a benchmarked child: on exit, writes the process's peak RSS and CPU
// time as JSON to the file named by PLANEWATCH_BENCH_USAGE. Plain JavaScript so it needs no loader.
import { writeFileSync } from 'node:fs';

const out = process.env.PLANEWATCH_BENCH_USAGE;
if (out) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(out, JSON.stringify({ maxRssKiB: u.maxRSS, userUs: u.userCPUTime, systemUs: u.systemCPUTime }));
  });
}
