/**
 * Small byte builders for decoder tests: each returns the bytes of one header plus its payload,
 * laid out as the RFCs draw them, so fixtures read like the packet diagrams.
 */
import { AnomalyCounter } from '../../src/anomalies';
import { DecodedPacket } from '../../src/decode/packet';
import { PacketDecoder, type PacketDecoderOptions } from '../../src/decode/packet-decoder';
import { formatIp, parseIp } from '../../src/decode/address';
import { stampOf } from '../../src/flow/packet-stamp';

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytes(...v: number[]): Uint8Array {
  return Uint8Array.from(v);
}

export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/[^0-9a-fA-F]/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function be16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff];
}

function be32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

function addr(text: string): Uint8Array {
  const a = parseIp(text);
  if (a === null) throw new Error(`bad address in test: ${text}`);
  return a;
}

export const MAC_A = bytes(0x02, 0, 0, 0, 0, 0x0a);
export const MAC_B = bytes(0x02, 0, 0, 0, 0, 0x0b);

export interface VlanTag {
  tpid: number;
  vid: number;
}

/** Ethernet II with optional VLAN tags (outermost first). */
export function ethernet(etherType: number, payload: Uint8Array, vlans: VlanTag[] = []): Uint8Array {
  const tags = vlans.map((t, i) => {
    const next = i + 1 < vlans.length ? vlans[i + 1]!.tpid : etherType;
    return bytes(...be16(t.vid & 0xfff), ...be16(next));
  });
  const firstType = vlans.length > 0 ? vlans[0]!.tpid : etherType;
  return concat(MAC_B, MAC_A, bytes(...be16(firstType)), ...tags, payload);
}

export interface Ipv4Opts {
  src?: string;
  dst?: string;
  protocol: number;
  ttl?: number;
  id?: number;
  /** Fragment offset in bytes (multiple of 8). */
  fragmentOffset?: number;
  moreFragments?: boolean;
  dontFragment?: boolean;
  options?: Uint8Array;
  /** Overrides the computed total length. */
  totalLength?: number;
  badChecksum?: boolean;
}

export function ipv4(o: Ipv4Opts, payload: Uint8Array): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  if (opts.length % 4 !== 0) throw new Error('IPv4 options must be padded to 4 bytes');
  const hlen = 20 + opts.length;
  const total = o.totalLength ?? hlen + payload.length;
  const flags = (o.moreFragments ? 0x2000 : 0) | (o.dontFragment ? 0x4000 : 0) | ((o.fragmentOffset ?? 0) / 8);
  const h = concat(
    bytes(0x40 | (hlen / 4), 0, ...be16(total), ...be16(o.id ?? 0x1234), ...be16(flags), o.ttl ?? 64, o.protocol, 0, 0),
    addr(o.src ?? '10.0.0.1'),
    addr(o.dst ?? '10.0.0.2'),
    opts,
  );
  let sum = 0;
  for (let i = 0; i < hlen; i += 2) sum += (h[i]! << 8) | h[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const ck = (~sum & 0xffff) ^ (o.badChecksum ? 1 : 0);
  h[10] = ck >> 8;
  h[11] = ck & 0xff;
  return concat(h, payload);
}

export interface Ipv6Opts {
  src?: string;
  dst?: string;
  /** Next header of the fixed header (the first extension header, or the transport). */
  nextHeader: number;
  hopLimit?: number;
  payloadLength?: number;
}

export function ipv6(o: Ipv6Opts, payload: Uint8Array): Uint8Array {
  return concat(
    bytes(0x60, 0, 0, 0, ...be16(o.payloadLength ?? payload.length), o.nextHeader, o.hopLimit ?? 64),
    addr(o.src ?? 'fd00::1'),
    addr(o.dst ?? 'fd00::2'),
    payload,
  );
}

/** Generic extension header (hop-by-hop, routing, destination options): 8-byte units. */
export function ext6(nextHeader: number, body: Uint8Array): Uint8Array {
  const total = 2 + body.length;
  if (total % 8 !== 0) throw new Error('extension header must be a multiple of 8 bytes');
  return concat(bytes(nextHeader, total / 8 - 1), body);
}

export function frag6(nextHeader: number, offset: number, more: boolean, id: number): Uint8Array {
  return bytes(nextHeader, 0, ...be16(offset | (more ? 1 : 0)), ...be32(id));
}

/** Authentication Header: length in 4-byte units minus 2. */
export function ah(nextHeader: number, icvLength = 12): Uint8Array {
  const total = 12 + icvLength;
  return concat(bytes(nextHeader, total / 4 - 2, 0, 0), bytes(...be32(0x100), ...be32(1)), new Uint8Array(icvLength));
}

export interface TcpOpts {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
  options?: Uint8Array;
  /** Overrides the data offset (in 32-bit words). */
  dataOffset?: number;
}

export function tcp(o: TcpOpts, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  if (opts.length % 4 !== 0) throw new Error('TCP options must be padded to 4 bytes');
  const doff = o.dataOffset ?? (20 + opts.length) / 4;
  return concat(
    bytes(...be16(o.sport), ...be16(o.dport), ...be32(o.seq ?? 1000), ...be32(o.ack ?? 0), doff << 4, o.flags ?? 0x18,
      ...be16(o.window ?? 65535), 0, 0, 0, 0),
    opts,
    payload,
  );
}

export function udp(sport: number, dport: number, payload: Uint8Array, length?: number): Uint8Array {
  return concat(bytes(...be16(sport), ...be16(dport), ...be16(length ?? 8 + payload.length), 0, 0), payload);
}

export function vxlan(vni: number, inner: Uint8Array, flags = 0x08): Uint8Array {
  return concat(bytes(flags, 0, 0, 0, (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0), inner);
}

/** VXLAN-GPE: flags (I, and P when `next` is given), next protocol, VNI. */
export function vxlanGpe(vni: number, next: number | null, inner: Uint8Array, flags = 0x08 | (next === null ? 0 : 0x04)): Uint8Array {
  return concat(bytes(flags, 0, 0, next ?? 0, (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0), inner);
}

export function geneve(vni: number, protocol: number, inner: Uint8Array, options: Uint8Array = new Uint8Array(0), version = 0): Uint8Array {
  return concat(
    bytes((version << 6) | (options.length / 4), 0, ...be16(protocol), (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0),
    options,
    inner,
  );
}

export interface GreOpts {
  protocol: number;
  checksum?: boolean;
  key?: number;
  sequence?: number;
}

export function gre(o: GreOpts, inner: Uint8Array): Uint8Array {
  const flags = (o.checksum ? 0x8000 : 0) | (o.key !== undefined ? 0x2000 : 0) | (o.sequence !== undefined ? 0x1000 : 0);
  const parts: number[] = [...be16(flags), ...be16(o.protocol)];
  if (o.checksum) parts.push(0, 0, 0, 0);
  if (o.key !== undefined) parts.push(...be32(o.key));
  if (o.sequence !== undefined) parts.push(...be32(o.sequence));
  return concat(Uint8Array.from(parts), inner);
}

/** ERSPAN type II header: Ver=1, VLAN, COS/En/T, session id, index. */
export function erspan2(session: number, inner: Uint8Array, vlan = 0): Uint8Array {
  return concat(bytes(0x10 | ((vlan >> 8) & 0x0f), vlan & 0xff, (session >> 8) & 0x03, session & 0xff, 0, 0, 0, 0), inner);
}

/** ERSPAN type III header: Ver=2, session id, timestamp, SGT, P/FT/HwID/D/Gra/O (+ subheader when O). */
export function erspan3(session: number, inner: Uint8Array, o: { frameType?: number; subheader?: boolean } = {}): Uint8Array {
  const ft = o.frameType ?? 0;
  const b10 = (ft & 0x1f) << 2;
  const b11 = o.subheader ? 0x01 : 0;
  const h = bytes(0x20, 0, (session >> 8) & 0x03, session & 0xff, 0x12, 0x34, 0x56, 0x78, 0, 0, b10, b11);
  return concat(h, o.subheader ? bytes(0, 0, 0, 0, 0, 0, 0, 0) : new Uint8Array(0), inner);
}

/** TZSP: version 1, type 0 (received), encapsulation, tagged fields, END, frame. */
export function tzsp(inner: Uint8Array, o: { encapsulation?: number; tags?: Uint8Array; version?: number } = {}): Uint8Array {
  return concat(bytes(o.version ?? 1, 0, ...be16(o.encapsulation ?? 1)), o.tags ?? new Uint8Array(0), bytes(1), inner);
}

/**
 * An MPLS label stack (RFC 3032): each entry label, traffic class 0, TTL 64; the last one has the
 * bottom-of-stack bit unless `bottom` is false.
 */
export function mpls(labels: number[], payload: Uint8Array, bottom = true): Uint8Array {
  const parts: number[] = [];
  labels.forEach((label, i) => {
    const s = bottom && i === labels.length - 1 ? 1 : 0;
    parts.push((label >> 12) & 0xff, (label >> 4) & 0xff, ((label & 0x0f) << 4) | s, 64);
  });
  return concat(Uint8Array.from(parts), payload);
}

/** The pseudowire control word (RFC 4385, all zero) before an Ethernet frame carried over MPLS. */
export const pwControlWord = (frame: Uint8Array): Uint8Array => concat(bytes(0, 0, 0, 0), frame);

/** Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 16 bytes). */
export function sll(protocol: number, payload: Uint8Array): Uint8Array {
  return concat(bytes(0, 0, 0, 1, 0, 6), MAC_A, bytes(0, 0), bytes(...be16(protocol)), payload);
}

/** Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 20 bytes). */
export function sll2(protocol: number, payload: Uint8Array): Uint8Array {
  return concat(bytes(...be16(protocol), 0, 0, ...be32(2), 0, 1, 0, 6), MAC_A, bytes(0, 0), payload);
}

/** BSD loopback header: the address family as a 32-bit word in the given byte order. */
export function nullHeader(family: number, bigEndian: boolean, payload: Uint8Array): Uint8Array {
  const w = bigEndian ? be32(family) : be32(family).reverse();
  return concat(Uint8Array.from(w), payload);
}

/** NFLOG: header then TLVs (length and type in little-endian host order by default), 4-byte aligned. */
export function nflog(family: number, tlvs: Array<{ type: number; value: Uint8Array }>, bigEndian = false): Uint8Array {
  const parts: Uint8Array[] = [bytes(family, 0, 0, 0)];
  for (const t of tlvs) {
    const len = 4 + t.value.length;
    const hdr = bigEndian ? bytes(...be16(len), ...be16(t.type)) : bytes(len & 0xff, len >> 8, t.type & 0xff, t.type >> 8);
    const pad = new Uint8Array((4 - (len % 4)) % 4);
    parts.push(hdr, t.value, pad);
  }
  return concat(...parts);
}

export const PROTO = { ICMP: 1, IPIP: 4, TCP: 6, UDP: 17, IPV6: 41, ROUTING: 43, FRAGMENT: 44, GRE: 47, ESP: 50, AH: 51, ICMPV6: 58, NO_NEXT: 59, DEST: 60, HOP: 0 } as const;
export const ETH = { IPV4: 0x0800, IPV6: 0x86dd, ARP: 0x0806, VLAN: 0x8100, QINQ: 0x88a8, QINQ_OLD: 0x9100, LLDP: 0x88cc, MPLS: 0x8847, MPLS_MULTICAST: 0x8848 } as const;
export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

export interface Decoded {
  status: number;
  out: DecodedPacket;
  anomalies: AnomalyCounter;
  /** Transport payload as text (latin1) for easy assertions. */
  payload: string;
  src: string;
  dst: string;
}

/**
 * Decodes one frame with a fresh decoder. The frame is also decoded where readers leave it, in the
 * middle of a larger buffer between other bytes, and both results must agree: a decoder that reads
 * from the start of the buffer instead of the frame's start fails every test that uses this.
 */
export function decodeOnce(frame: Uint8Array, linkType = 1, opts?: PacketDecoderOptions, origLen?: number): Decoded {
  const anomalies = new AnomalyCounter();
  const decoder = new PacketDecoder(anomalies, opts);
  const out = new DecodedPacket();
  const status = decoder.decode(frame, linkType, 0, out, origLen ?? frame.length);
  const plain = describe(status, out, anomalies);
  const inside = decodeInsideBuffer(frame, linkType, opts, origLen);
  const summary = (d: Decoded) =>
    JSON.stringify([d.status, d.payload, d.src, d.dst, d.anomalies.toJSON(), d.out.srcPort, d.out.dstPort, d.out.protocol, d.out.vlan, d.out.tunnelDepth]);
  if (summary(inside) !== summary(plain)) {
    throw new Error(`frame decoded inside a larger buffer differs: ${summary(inside)} vs ${summary(plain)}`);
  }
  return plain;
}

function decodeInsideBuffer(frame: Uint8Array, linkType: number, opts?: PacketDecoderOptions, origLen?: number): Decoded {
  const before = 37;
  const buf = new Uint8Array(before + frame.length + 11).fill(0xee);
  buf.set(frame, before);
  const anomalies = new AnomalyCounter();
  const out = new DecodedPacket();
  const status = new PacketDecoder(anomalies, opts).decodeBytes(buf, before, before + frame.length, linkType, stampOf(0, 1), out, origLen ?? frame.length);
  return describe(status, out, anomalies);
}

export function describe(status: number, out: DecodedPacket, anomalies: AnomalyCounter): Decoded {
  return {
    status,
    out,
    anomalies,
    payload: Buffer.from(out.data.subarray(out.payloadOffset, out.payloadOffset + out.payloadLength)).toString('latin1'),
    src: out.ipVersion ? formatIp(out.src, out.ipVersion) : '',
    dst: out.ipVersion ? formatIp(out.dst, out.ipVersion) : '',
  };
}
