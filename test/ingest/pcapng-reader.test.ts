import { describe, expect, it } from 'vitest';
import { PcapngReader, SECRETS_TLS_KEY_LOG, type CaptureSecret } from '../../src/ingest/pcapng-reader.js';
import { TimestampConverter } from '../../src/ingest/pcapng-timestamp.js';
import {
  concat,
  copyFrame,
  custom,
  dsb,
  epb,
  type FrameCopy,
  idb,
  isb,
  nrb,
  payload,
  pb,
  shb,
  spb,
  unknownBlock,
} from './build.js';

function read(bytes: Uint8Array, file = 'test.pcapng') {
  const frames: FrameCopy[] = [];
  const seen: CaptureSecret[] = [];
  const reader = new PcapngReader(file, (f) => frames.push(copyFrame(f)), undefined, (s) => seen.push(s));
  reader.push(bytes);
  reader.end();
  return { frames, reader, seen };
}

describe('PcapngReader', () => {
  // 0a 0d 0d 0a 1c 00 00 00 4d 3c 2b 1a 01 00 00 00   SHB, length 28, byte-order magic (LE), v1.0
  // ff ff ff ff ff ff ff ff 1c 00 00 00               section length -1, trailing length
  // 01 00 00 00 14 00 00 00 01 00 00 00 00 00 04 00   IDB, length 20, ETHERNET, snaplen 262144
  // 14 00 00 00
  // 06 00 00 00 24 00 00 00 00 00 00 00 00 00 00 00   EPB, length 36, interface 0, ts high 0
  // 40 42 0f 00 04 00 00 00 04 00 00 00 ca fe ba be   ts low 1000000 (1 s in µs), caplen 4, origlen 4
  // 24 00 00 00
  const minimal = Buffer.from(
    '0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000' +
      '010000001400000001000000000004001400000' + '0' +
      '06000000240000000000000000000000' +
      '40420f000400000004000000cafebabe24000000',
    'hex',
  );

  it('reads a minimal little-endian file', () => {
    const { frames, reader } = read(minimal);
    expect(reader.error).toBeNull();
    expect(frames).toEqual([
      {
        number: 1,
        offset: 48,
        linkType: 1,
        interfaceId: 0,
        tsSec: 1,
        tsNsec: 0,
        origLen: 4,
        truncated: false,
        data: 'cafebabe',
      },
    ]);
  });

  it('reads several sections whose byte order changes, resetting the interfaces', () => {
    const bytes = concat(
      shb(true),
      idb(true, 1, 65535),
      epb(true, 0, 0, 5_000_001, payload(60, 1)),
      shb(false),
      idb(false, 276, 65535),
      epb(false, 0, 0, 7_000_002, payload(61, 2)),
      shb(true),
      idb(true, 101, 0),
      epb(true, 0, 0, 9_000_003, payload(62, 3)),
    );
    const { frames, reader } = read(bytes);
    expect(reader.error).toBeNull();
    expect(reader.sections).toBe(3);
    expect(reader.linkTypes).toEqual([1, 276, 101]);
    expect(frames.map((f) => [f.linkType, f.tsSec, f.tsNsec, f.data.length / 2])).toEqual([
      [1, 5, 1000, 60],
      [276, 7, 2000, 61],
      [101, 9, 3000, 62],
    ]);
  });

  it('applies each interface its own link type, if_tsresol (10^-6 and 2^-10) and if_tsoffset', () => {
    for (const le of [true, false]) {
      const bytes = concat(
        shb(le),
        idb(le, 1, 262144, { tsresol: 6, name: 'eth0' }),
        idb(le, 113, 262144, { tsresol: 0x80 | 10, tsoffset: [0, 1_000_000_000] }),
        idb(le, 228, 262144, { tsresol: 9 }),
        // 1700000000.500000 s in µs = 1_700_000_000_500_000 = 0x00060a24_1825e120 (hi, lo)
        epb(le, 0, 0x00060a24, 0x1825e120, payload(20, 1)),
        // 700000000.75 s in units of 1/1024 s = 716_800_000_768 = 0xa6_e49c0300; + if_tsoffset 1e9 s
        epb(le, 1, 0xa6, 0xe49c0300, payload(21, 2)),
        // 1700000000.123456789 s in ns = 1_700_000_000_123_456_789 = 0x17979cfe_3d85cd15 (beyond 2^53)
        epb(le, 2, 0x17979cfe, 0x3d85cd15, payload(22, 3)),
      );
      const { frames, reader } = read(bytes);
      expect(reader.error).toBeNull();
      expect(reader.linkTypes).toEqual([1, 113, 228]);
      expect(frames.map((f) => [f.interfaceId, f.linkType, f.tsSec, f.tsNsec])).toEqual([
        [0, 1, 1_700_000_000, 500_000_000],
        [1, 113, 1_700_000_000, 750_000_000],
        [2, 228, 1_700_000_000, 123_456_789],
      ]);
    }
  });

  it('reads SPB with the interface 0 snaplen rule and the obsolete PB', () => {
    const bytes = concat(
      shb(true),
      idb(true, 1, 64),
      idb(true, 101, 0),
      spb(true, payload(64, 1), 1514),
      spb(true, payload(40, 2)),
      pb(true, 1, 0, 3_000_000, payload(30, 3), 90),
    );
    const { frames, reader } = read(bytes);
    expect(reader.error).toBeNull();
    expect(frames.map((f) => [f.interfaceId, f.linkType, f.data.length / 2, f.origLen, f.truncated])).toEqual([
      [0, 1, 64, 1514, true],
      [0, 1, 40, 40, false],
      [1, 101, 30, 90, true],
    ]);
    expect(frames[2]!.tsSec).toBe(3);
    // SPBs carry no timestamp: the PB alone sets the time range.
    expect(reader.firstTs).toBe(3);
    expect(reader.truncatedFrames).toBe(2);
  });

  it('skips NRB, ISB and custom blocks silently and counts only truly unknown blocks', () => {
    const bytes = concat(
      shb(true),
      nrb(true),
      idb(true, 1, 0),
      custom(true, true),
      epb(true, 0, 0, 1, payload(10, 1)),
      custom(true, false),
      unknownBlock(true, 0x12345, 40),
      unknownBlock(true, 0x8000_7777, 8),
      isb(true, 0),
      epb(true, 0, 0, 2, payload(10, 2)),
    );
    const { frames, reader } = read(bytes);
    expect(reader.error).toBeNull();
    expect(frames).toHaveLength(2);
    expect(reader.anomalies.toJSON()).toEqual({ 'capture.unknown_block': 2 });
  });

  it('keeps Decryption Secrets Blocks, hands them to the callback and joins the TLS key log', () => {
    const line1 = 'CLIENT_RANDOM 00112233 44556677';
    const line2 = 'CLIENT_HANDSHAKE_TRAFFIC_SECRET aabb ccdd\n';
    const bytes = concat(
      shb(true),
      dsb(true, SECRETS_TLS_KEY_LOG, new TextEncoder().encode(line1)),
      idb(true, 1, 0),
      epb(true, 0, 0, 1, payload(10, 1)),
      dsb(true, 0x57474b4c, payload(16, 5)),
      dsb(true, SECRETS_TLS_KEY_LOG, new TextEncoder().encode(line2)),
    );
    const { frames, reader, seen } = read(bytes);
    expect(reader.error).toBeNull();
    expect(frames).toHaveLength(1);
    expect(reader.secrets.map((s) => s.type)).toEqual([SECRETS_TLS_KEY_LOG, 0x57474b4c, SECRETS_TLS_KEY_LOG]);
    expect(seen).toEqual(reader.secrets);
    expect(Buffer.from(reader.secrets[1]!.data).toString('hex')).toBe(Buffer.from(payload(16, 5)).toString('hex'));
    expect(reader.keyLog).toBe(`${line1}\n${line2}`);
  });

  it('skips packets of an undescribed interface and counts them', () => {
    const bytes = concat(shb(true), idb(true, 1, 0), epb(true, 3, 0, 1, payload(10, 1)), epb(true, 0, 0, 1, payload(10, 1)));
    const { frames, reader } = read(bytes);
    expect(frames).toHaveLength(1);
    expect(reader.anomalies.get('capture.unknown_interface')).toBe(1);
  });

  it('rejects a file that does not start with a section header', () => {
    const { reader } = read(concat(idb(true, 1, 0), shb(true)), 'x.pcapng');
    expect(reader.error?.code).toBe('capture.bad_magic');
    expect(reader.error?.message).toBe('x.pcapng: not a pcapng file (first block type 0x00000001) at byte offset 0');
  });

  it('stops at a block length that is not a multiple of 4, keeping earlier frames', () => {
    const bad = epb(true, 0, 0, 1, payload(10, 9));
    bad[4] = 0x2b;
    const head = concat(shb(true), idb(true, 1, 0), epb(true, 0, 0, 1, payload(10, 1)));
    const { frames, reader } = read(concat(head, bad, epb(true, 0, 0, 1, payload(10, 1))));
    expect(frames).toHaveLength(1);
    expect(reader.error?.code).toBe('capture.bad_block_length');
    expect(reader.error?.offset).toBe(head.length);
  });

  it('stops when the trailing length disagrees with the leading one', () => {
    const bad = epb(true, 0, 0, 1, payload(12, 9));
    bad[bad.length - 4] = 0;
    const head = concat(shb(true), idb(true, 1, 0));
    const { frames, reader } = read(concat(head, bad));
    expect(frames).toHaveLength(0);
    expect(reader.error?.code).toBe('capture.bad_block_length');
    expect(reader.error?.message).toContain('trailing length');
  });

  it('reports a cut-off last block with its offset, also inside a skipped block', () => {
    const head = concat(shb(true), idb(true, 1, 0), epb(true, 0, 0, 1, payload(10, 1)));
    const cutPacket = read(concat(head, epb(true, 0, 0, 1, payload(100, 2)).subarray(0, 50)), 'c.pcapng');
    expect(cutPacket.frames).toHaveLength(1);
    expect(cutPacket.reader.error?.code).toBe('capture.truncated_record');
    expect(cutPacket.reader.error?.message).toBe(`c.pcapng: last record cut off after 50 bytes at byte offset ${head.length}`);
    const cutSkip = read(concat(head, nrb(true).subarray(0, 14)));
    expect(cutSkip.reader.error?.code).toBe('capture.truncated_record');
    expect(cutSkip.reader.error?.offset).toBe(head.length);
  });

  it('refuses a section of an unsupported major version', () => {
    const { reader } = read(concat(shb(true, 2), idb(true, 1, 0)));
    expect(reader.error?.code).toBe('capture.unsupported_version');
  });
});

describe('TimestampConverter', () => {
  const c = new TimestampConverter();
  const split = (v: bigint): [number, number] => [Number(v >> 32n), Number(v & 0xffffffffn)];

  it('splits 64-bit decimal timestamps exactly for every resolution 10^0 .. 10^-12', () => {
    const when = 1_765_432_109n;
    for (let exp = 0; exp <= 12; exp++) {
      const unit = 10n ** BigInt(exp);
      const frac = unit - 1n;
      const [hi, lo] = split(when * unit + frac);
      c.convert(hi, lo, exp, 0);
      const nsec = exp <= 9 ? frac * 10n ** BigInt(9 - exp) : frac / 10n ** BigInt(exp - 9);
      expect([c.sec, c.nsec]).toEqual([Number(when), Number(nsec)]);
    }
  });

  it('splits binary resolutions 2^-k and adds a negative if_tsoffset', () => {
    for (const k of [2, 10, 20, 30, 32, 40]) {
      const unit = 1n << BigInt(k);
      const [hi, lo] = split(1_700_000_000n * unit + unit / 4n);
      c.convert(hi, lo, 0x80 | k, -100);
      expect([c.sec, c.nsec]).toEqual([1_699_999_900, 250_000_000]);
    }
  });
});
