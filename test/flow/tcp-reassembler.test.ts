import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../../src/anomalies';
import type { Direction } from '../../src/flow/direction';
import { seqAdd, seqDiff, seqLt } from '../../src/flow/seq';
import type { StreamHandler } from '../../src/flow/stream-handler';
import { MAX_OOO_BYTES_GLOBAL, TcpReassembler, type ReassemblyLimits } from '../../src/flow/tcp-reassembler';
import { ByteBudget } from '../../src/byte-budget';
import { stampOf } from '../../src/flow/packet-stamp';

const SYN = 0x02;
const FIN = 0x01;
const RST = 0x04;
const ACK = 0x10;

/** Records what reassembly delivers as short strings: d0:abc (data), g0:3 (gap), e0 (end). */
class Recorder implements StreamHandler {
  events: string[] = [];
  onData(dir: Direction, data: Uint8Array, start: number, end: number): void {
    this.events.push(`d${dir}:${Buffer.from(data.subarray(start, end)).toString('latin1')}`);
  }
  onGap(dir: Direction, bytes: number): void {
    this.events.push(`g${dir}:${bytes}`);
  }
  onEnd(dir: Direction): void {
    this.events.push(`e${dir}`);
  }
}

interface Seg {
  dir?: Direction;
  seq: number;
  flags?: number;
  data?: string;
  /** payload bytes on the wire but not captured (snaplen) */
  missing?: number;
}

interface Case {
  name: string;
  segs: Seg[];
  want: string[];
  anomalies?: Record<string, number>;
  limits?: ReassemblyLimits;
  close?: boolean;
}

function run(c: Case): { events: string[]; anomalies: AnomalyCounter; r: TcpReassembler } {
  const rec = new Recorder();
  const anomalies = new AnomalyCounter();
  const r = new TcpReassembler(rec, anomalies, new ByteBudget(MAX_OOO_BYTES_GLOBAL), c.limits);
  for (const s of c.segs) {
    // Each payload sits at an offset inside a larger buffer, as it would inside a frame.
    const payload = Buffer.from(s.data ?? '', 'latin1');
    const frame = new Uint8Array(payload.length + 7);
    frame.set(payload, 5);
    r.segment(s.dir ?? 0, s.seq >>> 0, s.flags ?? ACK, frame, 5, payload.length, s.missing ?? 0, stampOf(1, 1));
  }
  if (c.close) r.close();
  return { events: rec.events, anomalies, r };
}

const ISN = 1000; // data starts at 1001

const cases: Case[] = [
  {
    name: 'in order',
    segs: [{ seq: ISN, flags: SYN }, { seq: 1001, data: 'abc' }, { seq: 1004, data: 'def' }, { seq: 1007, flags: FIN | ACK }],
    want: ['d0:abc', 'd0:def', 'e0'],
  },
  {
    name: 'reordered: buffered until the hole fills',
    segs: [{ seq: ISN, flags: SYN }, { seq: 1004, data: 'def' }, { seq: 1007, data: 'gh' }, { seq: 1001, data: 'abc' }],
    want: ['d0:abc', 'd0:def', 'd0:gh'],
    anomalies: { 'tcp.out_of_order': 2 },
  },
  {
    name: 'overlap with delivered bytes: the first copy wins',
    segs: [{ seq: ISN, flags: SYN }, { seq: 1001, data: 'abcd' }, { seq: 1003, data: 'XXef' }],
    want: ['d0:abcd', 'd0:ef'],
    anomalies: { 'tcp.overlap': 1 },
  },
  {
    name: 'in-order segment overlapping buffered bytes: the buffered (earlier) copy wins',
    segs: [{ seq: ISN, flags: SYN }, { seq: 1005, data: 'efgh' }, { seq: 1001, data: 'abcdXXghij' }],
    want: ['d0:abcd', 'd0:efgh', 'd0:ij'],
    anomalies: { 'tcp.overlap': 1, 'tcp.out_of_order': 1 },
  },
  {
    name: 'out-of-order segments overlapping each other: first wins',
    segs: [{ seq: ISN, flags: SYN }, { seq: 1007, data: 'gh' }, { seq: 1005, data: 'efXXij' }, { seq: 1001, data: 'abcd' }],
    want: ['d0:abcd', 'd0:ef', 'd0:gh', 'd0:ij'],
    anomalies: { 'tcp.overlap': 1, 'tcp.out_of_order': 2 },
  },
  {
    name: 'retransmission dropped',
    segs: [{ seq: ISN, flags: SYN }, { seq: 1001, data: 'abc' }, { seq: 1001, data: 'abc' }, { seq: 1004, data: 'd' }],
    want: ['d0:abc', 'd0:d'],
    anomalies: { 'tcp.retransmission': 1 },
  },
  {
    name: 'wraparound across 2^32, in order',
    segs: [{ seq: 0xfffffffd, flags: SYN }, { seq: 0xfffffffe, data: 'abcd' }, { seq: 2, data: 'efgh' }],
    want: ['d0:abcd', 'd0:efgh'],
  },
  {
    name: 'wraparound across 2^32, reordered',
    segs: [{ seq: 0xfffffffd, flags: SYN }, { seq: 2, data: 'efgh' }, { seq: 0xfffffffe, data: 'abcd' }, { seq: 0xfffffffe, data: 'ab' }],
    want: ['d0:abcd', 'd0:efgh'],
    anomalies: { 'tcp.retransmission': 1, 'tcp.out_of_order': 1 },
  },
  {
    name: 'gap at FIN: the hole is reported with its size, then the rest and the end',
    segs: [{ seq: ISN, flags: SYN }, { seq: 1001, data: 'abc' }, { seq: 1007, data: 'ghi' }, { seq: 1010, flags: FIN | ACK }],
    want: ['d0:abc', 'g0:3', 'd0:ghi', 'e0'],
    anomalies: { 'tcp.gap': 1 },
  },
  {
    name: 'FIN beyond the last data: missing tail reported',
    segs: [{ seq: ISN, flags: SYN }, { seq: 1001, data: 'abc' }, { seq: 1006, flags: FIN | ACK }],
    want: ['d0:abc', 'g0:2', 'e0'],
  },
  {
    name: 'overrun of the per-direction cap: oldest hole given up, delivery continues',
    limits: { maxBytesPerDirection: 8, maxSegments: 16 },
    segs: [
      { seq: ISN, flags: SYN },
      { seq: 1001, data: 'abc' },
      { seq: 1010, data: 'ijkl' },
      { seq: 1014, data: 'mnop' },
      { seq: 1018, data: 'qrst' },
      { seq: 1004, data: 'late!!' },
    ],
    want: ['d0:abc', 'g0:6', 'd0:ijkl', 'd0:mnop', 'd0:qrst'],
    anomalies: { 'tcp.reassembly_overflow': 1, 'tcp.gap': 1, 'tcp.retransmission': 1 },
  },
  {
    name: 'overrun of the segment-count cap',
    limits: { maxBytesPerDirection: 1000, maxSegments: 2 },
    close: true,
    // The third segment pushes out the oldest hole; the rest waits until close.
    segs: [{ seq: ISN, flags: SYN }, { seq: 1003, data: 'c' }, { seq: 1005, data: 'e' }, { seq: 1007, data: 'g' }],
    want: ['g0:2', 'd0:c', 'g0:1', 'd0:e', 'g0:1', 'd0:g', 'e0', 'e1'],
  },
  {
    name: 'midstream pickup: the first segment starts the stream; older data is dropped',
    segs: [{ seq: 5000, data: 'hello' }, { seq: 4990, data: 'old' }, { seq: 5005, data: '!' }],
    want: ['d0:hello', 'd0:!'],
    anomalies: { 'tcp.retransmission': 1 },
  },
  {
    name: 'data after FIN is counted, not delivered',
    segs: [{ seq: ISN, flags: SYN }, { seq: 1001, data: 'ab', flags: FIN | ACK }, { seq: 1003, data: 'zz' }, { seq: 1001, data: 'ab' }],
    want: ['d0:ab', 'e0'],
    anomalies: { 'tcp.data_after_close': 1, 'tcp.retransmission': 1 },
  },
  {
    name: 'RST ends the direction, pending data delivered after a gap',
    segs: [{ seq: ISN, flags: SYN }, { seq: 1001, data: 'abc' }, { seq: 1007, data: 'ghi' }, { seq: 1010, flags: RST }],
    want: ['d0:abc', 'g0:3', 'd0:ghi', 'e0'],
  },
  {
    name: 'segment cut by the snaplen: captured bytes then a gap for the rest',
    segs: [{ seq: ISN, flags: SYN }, { seq: 1001, data: 'abc', missing: 2 }, { seq: 1006, data: 'fgh' }],
    want: ['d0:abc', 'g0:2', 'd0:fgh'],
  },
  {
    name: 'cut segment buffered out of order keeps its place',
    segs: [{ seq: ISN, flags: SYN }, { seq: 1004, data: 'de', missing: 3 }, { seq: 1009, data: 'ij' }, { seq: 1001, data: 'abc' }],
    want: ['d0:abc', 'd0:de', 'g0:3', 'd0:ij'],
  },
  {
    name: 'both directions are independent; close ends both',
    close: true,
    segs: [
      { dir: 0, seq: ISN, flags: SYN },
      { dir: 1, seq: 70000, flags: SYN | ACK },
      { dir: 0, seq: 1001, data: 'GET' },
      { dir: 1, seq: 70001, data: 'OK' },
      { dir: 1, seq: 70005, data: 'late' },
    ],
    want: ['d0:GET', 'd1:OK', 'e0', 'g1:2', 'd1:late', 'e1'],
  },
  {
    name: 'data carried on the SYN starts after the SYN',
    segs: [{ seq: ISN, flags: SYN, data: 'tfo' }, { seq: 1004, data: 'x' }],
    want: ['d0:tfo', 'd0:x'],
  },
];

describe('TcpReassembler', () => {
  for (const c of cases) {
    it(c.name, () => {
      const { events, anomalies } = run(c);
      expect(events).toEqual(c.want);
      for (const [code, n] of Object.entries(c.anomalies ?? {})) {
        expect(anomalies.toJSON()[code] ?? 0, code).toBe(n);
      }
    });
  }

  it('gives the handler a view of the segment (no copy) for in-order data', () => {
    const seen: Uint8Array[] = [];
    const h: StreamHandler = {
      onData: (_d, data) => void seen.push(data),
      onGap: () => {},
      onEnd: () => {},
    };
    const r = new TcpReassembler(h, new AnomalyCounter(), new ByteBudget(MAX_OOO_BYTES_GLOBAL));
    const frame = new Uint8Array(10);
    r.segment(0, 1, ACK, frame, 2, 4, 0, stampOf(0, 1));
    expect(seen[0]).toBe(frame);
  });

  it('shares a global out-of-order budget across connections and releases it', () => {
    const budget = new ByteBudget(6);
    const a = new Recorder();
    const b = new Recorder();
    const ra = new TcpReassembler(a, new AnomalyCounter(), budget);
    const anomB = new AnomalyCounter();
    const rb = new TcpReassembler(b, anomB, budget);
    const buf = Buffer.from('abcdef');
    ra.segment(0, 100, ACK, buf, 0, 0, 0, stampOf(0, 1));
    ra.segment(0, 110, ACK, buf, 0, 5, 0, stampOf(0, 2)); // 5 bytes held
    expect(budget.used).toBe(5);
    rb.segment(0, 100, ACK, buf, 0, 0, 0, stampOf(0, 3));
    rb.segment(0, 110, ACK, buf, 0, 3, 0, stampOf(0, 4)); // would exceed 6: b gives up its hole
    expect(anomB.get('tcp.reassembly_overflow')).toBe(1);
    expect(b.events).toEqual(['g0:10', 'd0:abc']);
    ra.close();
    expect(budget.used).toBe(0);
    expect(a.events).toEqual(['g0:10', 'd0:abcde', 'e0', 'e1']);
  });

  it('sequence arithmetic is modulo 2^32', () => {
    expect(seqDiff(2, 0xfffffffe)).toBe(4);
    expect(seqDiff(0xfffffffe, 2)).toBe(-4);
    expect(seqLt(0xffffffff, 0)).toBe(true);
    expect(seqLt(0, 0xffffffff)).toBe(false);
    expect(seqAdd(0xffffffff, 2)).toBe(1);
  });
});
