import { describe, expect, it } from 'vitest';
import { PcapReader } from '../../src/ingest/pcap-reader.js';
import { copyFrame, type FrameCopy, payload, pcapFile, swapPcap } from './build.js';

function read(bytes: Uint8Array, file = 'test.pcap'): { frames: FrameCopy[]; reader: PcapReader } {
  const frames: FrameCopy[] = [];
  const reader = new PcapReader(file, (f) => frames.push(copyFrame(f)));
  reader.push(bytes);
  reader.end();
  return { frames, reader };
}

describe('PcapReader', () => {
  // d4 c3 b2 a1 02 00 04 00 00 00 00 00 00 00 00 00   magic (LE, µs), version 2.4, zone, sigfigs
  // ff ff 00 00 01 00 00 00                           snaplen 65535, LINKTYPE_ETHERNET
  // 00 e1 f5 05 40 e2 01 00 04 00 00 00 3c 00 00 00   ts 100000000 s + 123456 µs, caplen 4, origlen 60
  // de ad be ef                                       data
  const littleEndianUsec = Buffer.from(
    'd4c3b2a1020004000000000000000000ffff000001000000' + '00e1f50540e20100040000003c000000' + 'deadbeef',
    'hex',
  );

  it('reads a little-endian microsecond file and marks the snaplen cut', () => {
    const { frames, reader } = read(littleEndianUsec);
    expect(reader.error).toBeNull();
    expect(reader.snaplen).toBe(65535);
    expect(reader.linkTypes).toEqual([1]);
    expect(frames).toEqual([
      {
        number: 1,
        offset: 24,
        linkType: 1,
        interfaceId: 0,
        tsSec: 100_000_000,
        tsNsec: 123_456_000,
        origLen: 60,
        truncated: true,
        data: 'deadbeef',
      },
    ]);
    expect(reader.truncatedFrames).toBe(1);
    expect(reader.anomalies.get('capture.snaplen_truncated')).toBe(1);
  });

  it('reads the same file big-endian', () => {
    const { frames, reader } = read(swapPcap(littleEndianUsec));
    expect(reader.littleEndian).toBe(false);
    expect(frames).toEqual(read(littleEndianUsec).frames);
  });

  it('reads nanosecond magic in both byte orders', () => {
    for (const le of [true, false]) {
      const bytes = pcapFile({ le, nsec: true }, [
        { sec: 1_700_000_000, frac: 999_999_999, data: payload(60, 1) },
        { sec: 1_700_000_001, frac: 1, data: payload(42, 2) },
      ]);
      const { frames, reader } = read(bytes);
      expect(reader.nanoseconds).toBe(true);
      expect(frames.map((f) => [f.tsSec, f.tsNsec])).toEqual([
        [1_700_000_000, 999_999_999],
        [1_700_000_001, 1],
      ]);
      expect(reader.firstTs).toBeCloseTo(1_700_000_000.999999999, 6);
      expect(reader.lastTs).toBeCloseTo(1_700_000_001, 6);
    }
  });

  it('accepts any snaplen, including records longer than it and a zero snaplen', () => {
    const bytes = pcapFile({ snaplen: 0, linkType: 101 }, [{ sec: 1, frac: 2, data: payload(1500, 9) }]);
    const { frames, reader } = read(bytes);
    expect(reader.error).toBeNull();
    expect(frames[0]!.data.length).toBe(3000);
    expect(frames[0]!.linkType).toBe(101);
  });

  it('rejects a bad magic with a message naming the file and offset 0', () => {
    const bytes = Buffer.from('0123456789abcdef0123456789abcdef0123456789abcdef', 'hex');
    const { frames, reader } = read(bytes, 'junk.bin');
    expect(frames).toEqual([]);
    expect(reader.error?.code).toBe('capture.bad_magic');
    expect(reader.error?.message).toBe('junk.bin: not a pcap file (magic 01234567) at byte offset 0');
  });

  it('reports a truncated file header', () => {
    const { reader } = read(littleEndianUsec.subarray(0, 10), 'short.pcap');
    expect(reader.error?.code).toBe('capture.truncated_header');
    expect(reader.error?.message).toContain('short.pcap: ');
  });

  it('reports a cut-off last record and keeps the frames before it', () => {
    const whole = pcapFile({}, [
      { sec: 1, frac: 0, data: payload(100, 1) },
      { sec: 2, frac: 0, data: payload(100, 2) },
      { sec: 3, frac: 0, data: payload(100, 3) },
    ]);
    // Record 3 starts at 24 + 2 * 116 = 256; cut it 50 bytes in.
    const { frames, reader } = read(whole.subarray(0, 306), 'cut.pcap');
    expect(frames.map((f) => f.number)).toEqual([1, 2]);
    expect(reader.error?.code).toBe('capture.truncated_record');
    expect(reader.error?.offset).toBe(256);
    expect(reader.error?.message).toBe('cut.pcap: last record cut off after 50 bytes at byte offset 256');
    expect(reader.anomalies.get('capture.truncated_record')).toBe(1);
  });

  it('stops at an impossible captured length, keeping earlier frames', () => {
    const bytes = pcapFile({}, [{ sec: 1, frac: 0, data: payload(10, 1) }]);
    const bad = Buffer.concat([bytes, Buffer.from('01000000000000000000001000000010', 'hex'), Buffer.alloc(64)]);
    const { frames, reader } = read(bad, 'bad.pcap');
    expect(frames).toHaveLength(1);
    expect(reader.error?.code).toBe('capture.bad_record_length');
    expect(reader.error?.offset).toBe(50);
  });

  it('carries a microsecond overflow into the seconds', () => {
    const { frames } = read(pcapFile({}, [{ sec: 10, frac: 2_500_000, data: payload(4, 0) }]));
    expect([frames[0]!.tsSec, frames[0]!.tsNsec]).toEqual([12, 500_000_000]);
  });
});
