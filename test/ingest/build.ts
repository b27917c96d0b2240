/**
 * Builders for hand-made capture bytes, so each test states exactly the fields it is about.
 * Layouts follow the pcap and pcapng specifications; every number is written in the chosen byte order.
 */
import type { Frame } from '../../src/ingest/frame.js';

export class Bytes {
  private readonly parts: number[] = [];
  constructor(readonly le: boolean) {}
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.le ? this.u8(v).u8(v >>> 8) : this.u8(v >>> 8).u8(v);
  }
  u32(v: number): this {
    return this.le ? this.u16(v & 0xffff).u16(v >>> 16) : this.u16(v >>> 16).u16(v & 0xffff);
  }
  /** 64-bit value from two 32-bit words (high, low), in the section's byte order. */
  u64(hi: number, lo: number): this {
    return this.le ? this.u32(lo).u32(hi) : this.u32(hi).u32(lo);
  }
  raw(b: ArrayLike<number>): this {
    for (let i = 0; i < b.length; i++) this.parts.push(b[i]!);
    return this;
  }
  pad4(): this {
    while (this.parts.length % 4 !== 0) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Distinct payload bytes so a frame can be recognised: n bytes starting at `seed`. */
export function payload(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 7) & 0xff;
  return b;
}

// ---------- classic pcap ----------

export interface PcapRecord {
  sec: number;
  /** Microseconds or nanoseconds, as the file's magic says. */
  frac: number;
  data: Uint8Array;
  origLen?: number;
}

export function pcapFile(
  opts: { le?: boolean; nsec?: boolean; snaplen?: number; linkType?: number },
  records: PcapRecord[],
): Uint8Array {
  const le = opts.le ?? true;
  const w = new Bytes(le);
  w.u32(opts.nsec ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0);
  w.u32(opts.snaplen ?? 262144).u32(opts.linkType ?? 1);
  for (const r of records) {
    w.u32(r.sec).u32(r.frac).u32(r.data.length).u32(r.origLen ?? r.data.length).raw(r.data);
  }
  return w.bytes();
}

// ---------- pcapng ----------

function block(le: boolean, type: number, body: (w: Bytes) => void): Uint8Array {
  const inner = new Bytes(le);
  body(inner);
  inner.pad4();
  const total = inner.length + 12;
  return new Bytes(le).u32(type).u32(total).raw(inner.bytes()).u32(total).bytes();
}

export function shb(le: boolean, major = 1): Uint8Array {
  return block(le, 0x0a0d0d0a, (w) => w.u32(0x1a2b3c4d).u16(major).u16(0).u64(0xffffffff, 0xffffffff));
}

export function idb(
  le: boolean,
  linkType: number,
  snaplen: number,
  opt: { tsresol?: number; tsoffset?: [number, number]; name?: string } = {},
): Uint8Array {
  return block(le, 1, (w) => {
    w.u16(linkType).u16(0).u32(snaplen);
    if (opt.name !== undefined) {
      const s = new TextEncoder().encode(opt.name);
      w.u16(2).u16(s.length).raw(s).pad4();
    }
    if (opt.tsresol !== undefined) w.u16(9).u16(1).u8(opt.tsresol).pad4();
    if (opt.tsoffset !== undefined) w.u16(14).u16(8).u64(opt.tsoffset[0], opt.tsoffset[1]);
    if (opt.name !== undefined || opt.tsresol !== undefined || opt.tsoffset !== undefined) w.u16(0).u16(0);
  });
}

export function epb(le: boolean, ifId: number, tsHi: number, tsLo: number, data: Uint8Array, origLen?: number): Uint8Array {
  return block(le, 6, (w) =>
    w.u32(ifId).u32(tsHi).u32(tsLo).u32(data.length).u32(origLen ?? data.length).raw(data).pad4(),
  );
}

export function pb(le: boolean, ifId: number, tsHi: number, tsLo: number, data: Uint8Array, origLen?: number): Uint8Array {
  return block(le, 2, (w) =>
    w.u16(ifId).u16(0).u32(tsHi).u32(tsLo).u32(data.length).u32(origLen ?? data.length).raw(data).pad4(),
  );
}

export function spb(le: boolean, data: Uint8Array, origLen?: number): Uint8Array {
  return block(le, 3, (w) => w.u32(origLen ?? data.length).raw(data).pad4());
}

export function nrb(le: boolean): Uint8Array {
  // One IPv4 record: 127.0.0.1 -> "localhost", then the end record.
  const name = new TextEncoder().encode('localhost\0');
  return block(le, 4, (w) => w.u16(1).u16(4 + name.length).raw([127, 0, 0, 1]).raw(name).pad4().u16(0).u16(0));
}

export function isb(le: boolean, ifId: number): Uint8Array {
  return block(le, 5, (w) => w.u32(ifId).u32(0).u32(0));
}

export function custom(le: boolean, copyable = true): Uint8Array {
  return block(le, copyable ? 0x00000bad : 0x40000bad, (w) => w.u32(32473).raw([1, 2, 3]));
}

export function dsb(le: boolean, type: number, data: Uint8Array): Uint8Array {
  return block(le, 0x0a, (w) => w.u32(type).u32(data.length).raw(data).pad4());
}

export function unknownBlock(le: boolean, type: number, bodyBytes: number): Uint8Array {
  return block(le, type, (w) => w.raw(payload(bodyBytes, 3)));
}

// ---------- collecting frames ----------

export interface FrameCopy {
  number: number;
  offset: number;
  linkType: number;
  interfaceId: number;
  tsSec: number;
  tsNsec: number;
  origLen: number;
  truncated: boolean;
  data: string;
}

export function copyFrame(f: Frame): FrameCopy {
  return {
    number: f.number,
    offset: f.offset,
    linkType: f.linkType,
    interfaceId: f.interfaceId,
    tsSec: f.tsSec,
    tsNsec: f.tsNsec,
    origLen: f.origLen,
    truncated: f.truncated,
    data: Buffer.from(f.data).toString('hex'),
  };
}

/** Byte-swaps a little- or big-endian classic pcap into the other byte order. */
export function swapPcap(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b); // a copy (Buffer.slice would alias)
  const sw32 = (o: number): void => {
    out[o] = b[o + 3]!;
    out[o + 1] = b[o + 2]!;
    out[o + 2] = b[o + 1]!;
    out[o + 3] = b[o]!;
  };
  const sw16 = (o: number): void => {
    out[o] = b[o + 1]!;
    out[o + 1] = b[o]!;
  };
  const le = b[0] === 0xd4 || b[0] === 0x4d;
  sw32(0);
  sw16(4);
  sw16(6);
  for (const o of [8, 12, 16, 20]) sw32(o);
  let o = 24;
  while (o + 16 <= b.length) {
    const dv = new DataView(b.buffer, b.byteOffset + o, 16);
    const caplen = dv.getUint32(8, le);
    for (const k of [0, 4, 8, 12]) sw32(o + k);
    o += 16 + caplen;
  }
  return out;
}
