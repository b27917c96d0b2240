import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../src/ingest/read-capture.js';
import { walkRecords } from '../../src/ingest/raw-walk.js';
import { concat, copyFrame, dsb, epb, type FrameCopy, idb, payload, pcapFile, shb, spb } from './build.js';

const dir = mkdtempSync(join(tmpdir(), 'planewatch-ingest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

async function collect(file: string, opts = {}) {
  const frames: FrameCopy[] = [];
  const info = await readCapture(file, (f) => frames.push(copyFrame(f)), opts);
  return { frames, info };
}

const records = Array.from({ length: 300 }, (_, i) => ({ sec: 1_700_000_000 + i, frac: i * 1000, data: payload(60 + (i % 1400), i) }));
const pcapBytes = pcapFile({}, records);
const pcapngBytes = concat(
  shb(true),
  idb(true, 1, 0),
  idb(true, 113, 0),
  dsb(true, 0x544c534b, new TextEncoder().encode('CLIENT_RANDOM 01 02\n')),
  ...records.map((r, i) => epb(true, i % 2, 0, i + 1, r.data)),
);

describe('readCapture', () => {
  it('reads a pcap file and summarises it', async () => {
    const file = write('a.pcap', pcapBytes);
    const { frames, info } = await collect(file);
    expect(frames).toHaveLength(300);
    expect(info).toMatchObject({
      file,
      format: 'pcap',
      compressed: false,
      linkTypes: [1],
      packets: 300,
      bytes: records.reduce((n, r) => n + r.data.length, 0),
      fileBytes: pcapBytes.length,
      truncatedFrames: 0,
      firstTs: 1_700_000_000,
      secrets: [],
      keyLog: '',
      error: null,
      aborted: false,
    });
    expect(info.lastTs).toBeCloseTo(1_700_000_299.299, 6);
    expect(info.sha256).toBe(createHash('sha256').update(pcapBytes).digest('hex'));
  });

  it('gives the same frames with a tiny read buffer (records straddle reads)', async () => {
    const file = write('b.pcap', pcapBytes);
    const big = await collect(file);
    const small = await collect(file, { bufferBytes: 7 });
    expect(small.frames).toEqual(big.frames);
  });

  it('hashes on another thread with the same digest and frames, cycling its buffers', async () => {
    const file = write('h.pcap', pcapBytes);
    const inline = await collect(file, { parallelHash: false });
    const parallel = await collect(file, { parallelHash: true, bufferBytes: 4096 });
    expect(parallel.info.sha256).toBe(createHash('sha256').update(pcapBytes).digest('hex'));
    expect(parallel.frames).toEqual(inline.frames);
  });

  it('reads a pcapng file with two interfaces and its key log', async () => {
    const { frames, info } = await collect(write('c.pcapng', pcapngBytes));
    expect(info.format).toBe('pcapng');
    expect(info.linkTypes).toEqual([1, 113]);
    expect(info.packets).toBe(300);
    expect(info.keyLog).toBe('CLIENT_RANDOM 01 02\n');
    expect(info.secrets).toHaveLength(1);
    expect(new Set(frames.map((f) => f.linkType))).toEqual(new Set([1, 113]));
  });

  it('decompresses gzip recognised by its magic, whatever the name', async () => {
    const gz = gzipSync(pcapngBytes);
    const file = write('compressed.cap', gz);
    const plain = await collect(write('plain.pcapng', pcapngBytes));
    const { frames, info } = await collect(file);
    expect(info.compressed).toBe(true);
    expect(info.error).toBeNull();
    expect(info.fileBytes).toBe(pcapngBytes.length);
    expect(info.sha256).toBe(createHash('sha256').update(gz).digest('hex'));
    expect(frames).toEqual(plain.frames);
  });

  it('reports a cut-off gzip stream, keeping the frames decompressed before it', async () => {
    const gz = gzipSync(pcapBytes);
    const { frames, info } = await collect(write('cut.pcap.gz', gz.subarray(0, Math.floor(gz.length * 0.6))));
    expect(info.error?.code).toBe('capture.read_failed');
    expect(info.error?.message).toMatch(/cut\.pcap\.gz: gzip: .* at byte offset \d+/);
    expect(frames.length).toBeGreaterThan(10);
    expect(frames.length).toBeLessThan(300);
  });

  it("reads '-' from opts.input, in small chunks, plain and gzip'd", async () => {
    const plain = await collect(write('d.pcap', pcapBytes));
    for (const bytes of [pcapBytes, gzipSync(pcapBytes)]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += 1 + (i % 977)) chunks.push(Buffer.from(bytes.subarray(i, i + 1 + (i % 977))));
      const { frames, info } = await collect('-', { input: Readable.from(chunks) });
      expect(info.file).toBe('-');
      expect(info.error).toBeNull();
      expect(frames).toEqual(plain.frames);
    }
  });

  it('reads standard input of a child process fed through a pipe', async () => {
    const file = write('e.pcapng', pcapngBytes);
    const root = resolve(__dirname, '../..');
    const script =
      "import { readCapture } from './src/ingest/read-capture.ts';" +
      "const info = await readCapture('-', () => {});" +
      'console.log(JSON.stringify({ packets: info.packets, format: info.format, error: info.error?.message ?? null }));';
    const out = await new Promise<string>((res, rej) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.on('error', rej);
      child.on('close', () => res(text));
      // A pipe delivers the file in pieces, as `cat file | planewatch analyze -` would.
      const feeder = spawn('cat', [file]);
      feeder.stdout.pipe(child.stdin);
    });
    expect(JSON.parse(out)).toEqual({ packets: 300, format: 'pcapng', error: null });
  });

  it('resolves with capture.open_failed for a missing file', async () => {
    const { info } = await collect(join(dir, 'missing.pcap'));
    expect(info.error?.code).toBe('capture.open_failed');
    expect(info.error?.offset).toBe(0);
    expect(info.error?.message).toBe(`${join(dir, 'missing.pcap')}: cannot open: ENOENT: no such file or directory`);
    expect(info.anomalies.get('capture.open_failed')).toBe(1);
  });

  it('resolves with capture.open_failed for a directory, saying so', async () => {
    const { info, frames } = await collect(dir);
    expect(frames).toHaveLength(0);
    expect(info.error?.code).toBe('capture.open_failed');
    expect(info.error?.message).toBe(`${dir}: cannot open: it is a directory, not a capture file`);
  });

  it('resolves with capture.bad_magic for a file that is no capture, and for an empty one', async () => {
    const txt = await collect(write('notes.txt', new TextEncoder().encode('hello, this is text\n')));
    expect(txt.info.error?.code).toBe('capture.bad_magic');
    expect(txt.info.error?.message).toBe(`${join(dir, 'notes.txt')}: not a pcap or pcapng file (first bytes 68 65 6c 6c) at byte offset 0`);
    const empty = await collect(write('empty.pcap', new Uint8Array(0)));
    expect(empty.info.error?.code).toBe('capture.bad_magic');
  });

  it('keeps every frame before a cut-off last record', async () => {
    const { frames, info } = await collect(write('cut.pcap', pcapBytes.subarray(0, pcapBytes.length - 10)));
    expect(frames).toHaveLength(299);
    expect(info.error?.code).toBe('capture.truncated_record');
    expect(info.anomalies.toJSON()).toEqual({ 'capture.truncated_record': 1 });
  });

  it('reports progress and stops cleanly on abort', async () => {
    const seen: number[] = [];
    const file = write('f.pcap', pcapBytes);
    await collect(file, { bufferBytes: 4096, onProgress: (n: number) => seen.push(n) });
    expect(seen.at(-1)).toBe(pcapBytes.length);
    expect(seen.length).toBeGreaterThan(5);

    const ac = new AbortController();
    let n = 0;
    const info = await readCapture(file, () => n++ === 20 && ac.abort(), { bufferBytes: 4096, signal: ac.signal });
    expect(info.aborted).toBe(true);
    expect(info.error).toBeNull();
    expect(info.packets).toBeLessThan(300);

    // A live pipe that never ends: abort must still resolve.
    const live = new PassThrough();
    live.write(pcapBytes.subarray(0, 5000));
    const ac2 = new AbortController();
    const pending = readCapture('-', () => {}, { input: live, signal: ac2.signal });
    setTimeout(() => ac2.abort(), 50);
    const info2 = await pending;
    expect(info2.aborted).toBe(true);
    expect(info2.error).toBeNull();
    expect(info2.packets).toBeGreaterThan(0);
  });

  it('SPB-only pcapng has no time range', async () => {
    const { info } = await collect(write('g.pcapng', concat(shb(true), idb(true, 1, 0), spb(true, payload(40, 1)))));
    expect(info.packets).toBe(1);
    expect(info.firstTs).toBeNull();
  });
});

describe('walkRecords', () => {
  it('counts the same packets and bytes as the reader', async () => {
    for (const [name, bytes] of [
      ['w.pcap', pcapBytes],
      ['w.pcapng', pcapngBytes],
    ] as const) {
      const file = write(name, bytes);
      const { info } = await collect(file);
      const want = { format: info.format, packets: info.packets, bytes: info.bytes, fileBytes: bytes.length, error: null };
      expect(await walkRecords(file)).toEqual(want);
      // Small reads put record headers across read boundaries at every phase.
      for (const size of [24, 25, 31, 97]) expect(await walkRecords(file, size)).toEqual(want);
      // A gzip'd file is walked inflated, as the reader reads it.
      expect(await walkRecords(write(`${name}.gz`, gzipSync(bytes)))).toEqual(want);
    }
  });
});
