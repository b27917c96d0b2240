import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../src/ingest/read-capture.js';
import { walkRecords } from '../../src/ingest/raw-walk.js';
import type { CaptureInfo } from '../../src/ingest/capture-info.js';
import { copyFrame, type FrameCopy, swapPcap } from './build.js';
import { hasTool, recordLoopback, tsharkFrames } from './tools.js';

const haveTools = ['tcpdump', 'tshark', 'editcap', 'mergecap'].every(hasTool);

async function ours(file: string): Promise<{ frames: FrameCopy[]; info: CaptureInfo }> {
  const frames: FrameCopy[] = [];
  const info = await readCapture(file, (f) => frames.push(copyFrame(f)));
  return { frames, info };
}

/** Our frames must match tshark's frame for frame: lengths, exact timestamps, interface. */
async function expectSameAsTshark(file: string): Promise<{ frames: FrameCopy[]; info: CaptureInfo }> {
  const r = await ours(file);
  expect(r.info.error).toBeNull();
  const want = tsharkFrames(file);
  expect(want.length).toBeGreaterThan(0);
  expect(
    r.frames.map((f) => ({ len: f.origLen, capLen: f.data.length / 2, sec: f.tsSec, nsec: f.tsNsec, interfaceId: f.interfaceId })),
  ).toEqual(want);
  expect(r.info.bytes).toBe(want.reduce((n, f) => n + f.capLen, 0));
  return r;
}

describe.skipIf(!haveTools)('readers on captures made by tcpdump, editcap and mergecap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'planewatch-tools-'));
  const lo = join(dir, 'lo.pcap');
  const any = join(dir, 'any.pcap');
  const short = join(dir, 'short.pcap');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    await recordLoopback([
      { iface: 'lo', file: lo },
      { iface: 'any', file: any },
      { iface: 'lo', file: short, snaplen: 96 },
    ]);
  });

  it('classic pcap from tcpdump -i lo (Ethernet, µs)', async () => {
    const { info } = await expectSameAsTshark(lo);
    expect(info.linkTypes).toEqual([1]);
    expect(info.packets).toBeGreaterThanOrEqual(6);
  });

  it('tcpdump -i any (Linux cooked capture)', async () => {
    const { info } = await expectSameAsTshark(any);
    expect([113, 276]).toContain(info.linkTypes[0]);
  });

  it('snaplen 96: frames are marked truncated', async () => {
    const { frames, info } = await expectSameAsTshark(short);
    expect(info.truncatedFrames).toBeGreaterThan(0);
    expect(frames.every((f) => f.data.length / 2 <= 96)).toBe(true);
  });

  it('editcap -F pcapng and -F nsecpcap give the same frames', async () => {
    const ng = join(dir, 'lo.pcapng');
    const ns = join(dir, 'lo-ns.pcap');
    execFileSync('editcap', ['-F', 'pcapng', lo, ng], { stdio: 'ignore' });
    execFileSync('editcap', ['-F', 'nsecpcap', lo, ns], { stdio: 'ignore' });
    const base = (await ours(lo)).frames.map(({ offset: _o, ...f }) => f);
    for (const f of [ng, ns]) {
      const r = await expectSameAsTshark(f);
      expect(r.frames.map(({ offset: _o, ...x }) => x)).toEqual(base);
    }
    expect((await ours(ng)).info.format).toBe('pcapng');
  });

  it('big-endian pcap (byte-swapped here) reads the same as tshark and as the original', async () => {
    const be = join(dir, 'lo-be.pcap');
    writeFileSync(be, swapPcap(readFileSync(lo)));
    const r = await expectSameAsTshark(be);
    expect(r.frames).toEqual((await ours(lo)).frames);
  });

  it('mergecap of Ethernet and cooked captures: one pcapng, two interfaces', async () => {
    const merged = join(dir, 'merged.pcapng');
    execFileSync('mergecap', ['-w', merged, lo, any], { stdio: 'ignore' });
    const r = await expectSameAsTshark(merged);
    expect(r.info.linkTypes).toHaveLength(2);
    expect(new Set(r.frames.map((f) => f.interfaceId))).toEqual(new Set([0, 1]));
    const gz = join(dir, 'merged.pcapng.gz');
    writeFileSync(gz, gzipSync(readFileSync(merged)));
    const z = await ours(gz);
    expect(z.info.compressed).toBe(true);
    expect(z.frames).toEqual(r.frames);
    const walk = await walkRecords(merged);
    expect([walk.packets, walk.bytes]).toEqual([r.info.packets, r.info.bytes]);
  });
});
