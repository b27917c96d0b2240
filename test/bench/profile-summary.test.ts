import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hotFiles, hotSpots } from '../../bench/profile-summary';
import { median, medianRun, type StageRun } from '../../bench/measure';

const dir = mkdtempSync(join(tmpdir(), 'pw-prof-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A V8 .cpuprofile as node --cpu-prof writes it: a sample's time is the delta to the next one. */
function writeProfile(): string {
  const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber, scriptId: '1', columnNumber: 0 });
  const prof = {
    nodes: [
      { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 4] },
      { id: 2, callFrame: frame('decode', 'file:///repo/src/decode/tcp.ts'), children: [] },
      { id: 3, callFrame: frame('writeOne', 'file:///repo/src/store/store.ts', 9), children: [] },
      { id: 4, callFrame: frame('(garbage collector)', ''), children: [] },
    ],
    startTime: 0,
    endTime: 1000,
    samples: [2, 3, 3, 4, 2],
    timeDeltas: [0, 100, 300, 200, 100],
  };
  const file = join(dir, 'test.cpuprofile');
  writeFileSync(file, JSON.stringify(prof));
  return file;
}

describe('profile summary', () => {
  it('attributes each sample the time to the next sample and ranks by self time', () => {
    const file = writeProfile();
    const { spots, totalMs } = hotSpots(file, 10, '/repo/');
    // decode: 100 (first) + 0 (last sample has no successor); writeOne: 300 + 200; GC: 100 (µs).
    expect(totalMs).toBeCloseTo(0.7);
    expect(spots.map((s) => s.where)).toEqual(['writeOne src/store/store.ts:10', 'decode src/decode/tcp.ts', '(garbage collector)']);
    expect(spots[0]!.share).toBeCloseTo(5 / 7);
    expect(hotFiles(file, 1, '/repo/')[0]!.where).toBe('src/store/store.ts');
  });
});

describe('medians', () => {
  const run = (packets: number, seconds: number): StageRun => ({ packets, bytes: 0, seconds, cpuSeconds: null, peakRss: null, note: null });
  it('takes the middle value and the run with the median rate', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const runs = [run(100, 1), run(100, 4), run(100, 2)];
    expect(medianRun(runs).seconds).toBe(2);
  });
});
