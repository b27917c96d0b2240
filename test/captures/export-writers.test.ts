/** The capture writers, checked byte for byte and against independent readers (pcap-parser, tshark). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { FdSink, MemorySink } from '../../src/export/byte-sink.js';
import { PcapWriter } from '../../src/export/pcap-writer.js';
import { PcapngWriter } from '../../src/export/pcapng-writer.js';
import { hasTshark, tsharkFields } from './tshark.js';

const dir = mkdtempSync(join(tmpdir(), 'planewatch-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 60-byte Ethernet frame: dst 02:42:0a:00:00:15, src 02:42:0a:00:00:0a, IPv4 UDP 10.0.0.10:5353 → 10.0.0.21:53
// 0000  02 42 0a 00 00 15 02 42 0a 00 00 0a 08 00 45 00
// 0010  00 1c 00 01 40 00 40 11 26 a5 0a 00 00 0a 0a 00
// 0020  00 15 14 e9 00 35 00 08 00 00 ...padding
const frame = Buffer.alloc(60);
Buffer.from('02420a00001502420a00000a08004500001c00014000401126a50a00000a0a00001514e9003500080000', 'hex').copy(frame);

describe('PcapWriter', () => {
  it('writes the classic header and records that pcap-parser reads back', async () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, 1);
    w.writePacket(1772445600, 123456, frame);
    w.writePacket(1772445601, 999999, frame.subarray(0, 42), 60);
    w.close();
    const bytes = sink.toBuffer();
    // a1b2c3d4 LE, version 2.4, snaplen 262144, linktype 1
    expect(bytes.subarray(0, 24).toString('hex')).toBe('d4c3b2a1' + '02000400' + '00000000' + '00000000' + '00000400' + '01000000');
    expect(bytes.length).toBe(24 + 16 + 60 + 16 + 42);
    const file = join(dir, 'a.pcap');
    writeFileSync(file, bytes);
    const pcapParser = createRequire(import.meta.url)('pcap-parser') as { parse(f: string): NodeJS.EventEmitter };
    const got: { sec: number; usec: number; len: number; orig: number }[] = [];
    await new Promise<void>((resolve) => {
      const p = pcapParser.parse(file);
      p.on('packet', (pk: { header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number } }) =>
        got.push({ sec: pk.header.timestampSeconds, usec: pk.header.timestampMicroseconds, len: pk.header.capturedLength, orig: pk.header.originalLength }));
      p.on('end', () => resolve());
    });
    expect(got).toEqual([
      { sec: 1772445600, usec: 123456, len: 60, orig: 60 },
      { sec: 1772445601, usec: 999999, len: 42, orig: 60 },
    ]);
  });

  it('streams many records through a file descriptor in large chunks', () => {
    const file = join(dir, 'many.pcap');
    const w = new PcapWriter(FdSink.open(file), 1);
    for (let i = 0; i < 100_000; i++) w.writePacket(1772445600 + Math.floor(i / 1000), (i % 1000) * 1000, frame);
    w.close();
    expect(readFileSync(file).length).toBe(24 + 100_000 * 76);
    expect(w.packets).toBe(100_000);
  });
});

describe('PcapngWriter', () => {
  it('every block ends where its options end: no byte of a block is left unwritten', () => {
    // Blocks are laid out in a reused, uninitialised buffer: a block longer than what is written into
    // it would carry whatever memory held before (and two runs would differ).
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.addInterface(1, { name: 'eth0', tsresolDigits: 9 });
    w.writePacket(0, 1_700_000_000, 5, Uint8Array.of(1, 2, 3), 3, 'a comment');
    w.close();
    const b = sink.toBuffer();
    for (let off = 0; off < b.length; ) {
      const type = b.readUInt32LE(off);
      const len = b.readUInt32LE(off + 4);
      expect(b.readUInt32LE(off + len - 4), `trailing length of block 0x${type.toString(16)}`).toBe(len);
      // Where the options start: after the SHB's section length, the IDB's snaplen, the EPB's data.
      let o = type === 0x0a0d0d0a ? off + 24 : type === 1 ? off + 16 : off + 28 + ((b.readUInt32LE(off + 20) + 3) & ~3);
      for (;;) {
        const code = b.readUInt16LE(o);
        const vlen = b.readUInt16LE(o + 2);
        o += 4 + ((vlen + 3) & ~3);
        if (code === 0) break;
      }
      expect(o, `options of block 0x${type.toString(16)} end at its trailing length`).toBe(off + len - 4);
      off += len;
    }
  });

  it('writes SHB, IDBs with if_tsresol, EPBs and a Decryption Secrets Block', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink, 'test');
    expect(w.addInterface(1, { name: 'eth0', tsresolDigits: 6 })).toBe(0);
    expect(w.addInterface(101, { name: 'tun0', tsresolDigits: 9 })).toBe(1);
    w.writeTlsKeyLog('CLIENT_RANDOM 00 11\n');
    w.writePacket(0, 1772445600, 123456789, frame);
    w.writePacket(1, 1772445600, 123456789, frame.subarray(14));
    w.close();
    const b = sink.toBuffer();
    expect(b.readUInt32LE(0)).toBe(0x0a0d0d0a);
    expect(b.readUInt32LE(8)).toBe(0x1a2b3c4d);
    // Walk the blocks: types and trailing lengths agree.
    const types: number[] = [];
    for (let o = 0; o < b.length; ) {
      const len = b.readUInt32LE(o + 4);
      expect(b.readUInt32LE(o + len - 4)).toBe(len);
      types.push(b.readUInt32LE(o));
      if (b.readUInt32LE(o) === 6) {
        const ifId = b.readUInt32LE(o + 8);
        const ts = b.readUInt32LE(o + 12) * 2 ** 32 + b.readUInt32LE(o + 16);
        // µs interface: 1772445600123456; ns interface: 1772445600123456789 (beyond 2^53, compare halves).
        if (ifId === 0) expect(ts).toBe(1772445600123456);
        else expect([b.readUInt32LE(o + 12), b.readUInt32LE(o + 16)]).toEqual([412679649, 3943697685]);
      }
      o += len;
    }
    expect(types).toEqual([0x0a0d0d0a, 1, 1, 0x0a, 6, 6]);
  });

  it.skipIf(!hasTshark)('is read by tshark with per-interface link types and timestamps', () => {
    const file = join(dir, 'two.pcapng');
    const w = new PcapngWriter(FdSink.open(file));
    w.addInterface(1, { tsresolDigits: 6 });
    w.addInterface(101, { tsresolDigits: 9 });
    w.writePacket(0, 1772445600, 123456000, frame);
    w.writePacket(1, 1772445600, 123456789, frame.subarray(14));
    w.close();
    expect(tsharkFields(file, 'udp', ['frame.interface_id', 'frame.time_epoch', 'ip.dst'])).toEqual([
      ['0', '1772445600.123456000', '10.0.0.21'],
      ['1', '1772445600.123456789', '10.0.0.21'],
    ]);
  });
});
