import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
// pcap-parser: an independent classic-pcap parser (µs magic, both byte orders), used as the oracle.
import pcapParser from 'pcap-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { PcapReader } from '../../src/ingest/pcap-reader.js';
import { payload, pcapFile, swapPcap } from './build.js';
import { hasTool, recordLoopback } from './tools.js';

interface Seen {
  sec: number;
  nsec: number;
  capLen: number;
  origLen: number;
  data: string;
}

interface ParserPacket {
  header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number };
  data: Buffer;
}

function viaPcapParser(bytes: Uint8Array): Promise<Seen[]> {
  return new Promise((res, rej) => {
    const out: Seen[] = [];
    const p = pcapParser.parse(Readable.from([Buffer.from(bytes)]));
    p.on('packet', (pk: ParserPacket) =>
      out.push({
        sec: pk.header.timestampSeconds,
        nsec: pk.header.timestampMicroseconds * 1000,
        capLen: pk.header.capturedLength,
        origLen: pk.header.originalLength,
        data: pk.data.toString('hex'),
      }),
    );
    p.on('error', rej);
    p.on('end', () => res(out));
  });
}

function viaOurs(bytes: Uint8Array): Seen[] {
  const out: Seen[] = [];
  const r = new PcapReader('x', (f) =>
    out.push({ sec: f.tsSec, nsec: f.tsNsec, capLen: f.data.length, origLen: f.origLen, data: Buffer.from(f.data).toString('hex') }),
  );
  r.push(bytes);
  expect(r.end()).toBeNull();
  return out;
}

const fixture = pcapFile({ snaplen: 128 }, [
  { sec: 1_600_000_000, frac: 1, data: payload(128, 1), origLen: 1514 },
  { sec: 1_600_000_001, frac: 999_999, data: payload(54, 2) },
  { sec: 1_600_000_002, frac: 0, data: new Uint8Array(0) },
  { sec: 4_000_000_000, frac: 500_000, data: payload(3, 3), origLen: 60 },
]);

describe('our pcap reader against pcap-parser', () => {
  it.each([
    ['little-endian fixture', fixture],
    ['big-endian fixture', swapPcap(fixture)],
  ])('%s: identical frames', async (_name, bytes) => {
    const theirs = await viaPcapParser(bytes);
    expect(theirs).toHaveLength(4);
    expect(viaOurs(bytes)).toEqual(theirs);
  });

  describe.skipIf(!hasTool('tcpdump'))('on a capture made by tcpdump', () => {
    const dir = mkdtempSync(join(tmpdir(), 'planewatch-diff-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('identical frames in both byte orders', async () => {
      const file = join(dir, 'lo.pcap');
      await recordLoopback([{ iface: 'lo', file }]);
      const bytes = readFileSync(file);
      for (const b of [bytes, swapPcap(bytes)]) {
        const theirs = await viaPcapParser(b);
        expect(theirs.length).toBeGreaterThan(5);
        expect(viaOurs(b)).toEqual(theirs);
      }
    });
  });
});
