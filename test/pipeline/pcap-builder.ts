/**
 * Builds Ethernet/IPv4/TCP|UDP frames and classic pcap files byte by byte, for engine and CLI tests.
 * Layout of a frame: 14-byte Ethernet header (type 0x0800), 20-byte IPv4 header (checksum set),
 * 20-byte TCP header or 8-byte UDP header, payload.
 */
import { Frame } from '../../src/ingest/frame';

export const TCP = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export interface PacketSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto?: 'tcp' | 'udp';
  flags?: number;
  seq?: number;
  ack?: number;
  payload?: string | Uint8Array;
  ts?: number;
}

function ip4(text: string): number[] {
  return text.split('.').map((x) => Number(x));
}

function checksum(b: Uint8Array, off: number, len: number): number {
  let sum = 0;
  for (let i = 0; i < len; i += 2) sum += (b[off + i]! << 8) | (b[off + i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function buildFrame(p: PacketSpec): Uint8Array {
  const payload = typeof p.payload === 'string' ? Buffer.from(p.payload, 'latin1') : (p.payload ?? new Uint8Array(0));
  const udp = p.proto === 'udp';
  const l4 = udp ? 8 : 20;
  const ipLen = 20 + l4 + payload.length;
  const b = new Uint8Array(14 + ipLen);
  const v = new DataView(b.buffer);
  b.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
  v.setUint16(12, 0x0800);
  const ip = 14;
  b[ip] = 0x45;
  v.setUint16(ip + 2, ipLen);
  v.setUint16(ip + 4, 1);
  b[ip + 8] = 64;
  b[ip + 9] = udp ? 17 : 6;
  b.set(ip4(p.src), ip + 12);
  b.set(ip4(p.dst), ip + 16);
  v.setUint16(ip + 10, checksum(b, ip, 20));
  const t = ip + 20;
  v.setUint16(t, p.sport);
  v.setUint16(t + 2, p.dport);
  if (udp) {
    v.setUint16(t + 4, 8 + payload.length);
  } else {
    v.setUint32(t + 4, (p.seq ?? 0) >>> 0);
    v.setUint32(t + 8, (p.ack ?? 0) >>> 0);
    b[t + 12] = 5 << 4;
    b[t + 13] = p.flags ?? TCP.ACK;
    v.setUint16(t + 14, 65535);
  }
  b.set(payload, t + l4);
  return b;
}

/** A reusable Frame filled the way a reader fills it. */
export function toFrame(data: Uint8Array, ts: number, number: number, frame = new Frame()): Frame {
  frame.data = data;
  frame.origLen = data.length;
  frame.tsSec = Math.floor(ts);
  frame.tsNsec = Math.round((ts - Math.floor(ts)) * 1e9);
  frame.linkType = 1;
  frame.number = number;
  return frame;
}

/** Classic little-endian microsecond pcap with LINKTYPE_ETHERNET. */
export function buildPcap(packets: PacketSpec[]): Buffer {
  let ts = 1_700_000_000;
  return pcapOfFrames(
    packets.map((p) => {
      ts = p.ts ?? ts + 0.001;
      return { data: buildFrame(p), ts };
    }),
  );
}

/** A classic pcap (Ethernet, microseconds) of ready-made frames, in the order given. */
export function pcapOfFrames(frames: { data: Uint8Array; ts: number }[]): Buffer {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(262144, 16);
  gh.writeUInt32LE(1, 20);
  parts.push(gh);
  for (const f of frames) {
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(Math.floor(f.ts), 0);
    rh.writeUInt32LE(Math.round((f.ts - Math.floor(f.ts)) * 1e6), 4);
    rh.writeUInt32LE(f.data.length, 8);
    rh.writeUInt32LE(f.data.length, 12);
    parts.push(rh, Buffer.from(f.data));
  }
  return Buffer.concat(parts);
}

/** A complete TCP connection: handshake, one request, one response, FIN both ways, last ACK. */
export function tcpConversation(client: string, cport: number, server: string, sport: number, request: string, response: string): PacketSpec[] {
  const c = { src: client, dst: server, sport: cport, dport: sport };
  const s = { src: server, dst: client, sport, dport: cport };
  const cIsn = 1000;
  const sIsn = 5000;
  const q = request.length;
  const r = response.length;
  return [
    { ...c, flags: TCP.SYN, seq: cIsn },
    { ...s, flags: TCP.SYN | TCP.ACK, seq: sIsn, ack: cIsn + 1 },
    { ...c, flags: TCP.ACK, seq: cIsn + 1, ack: sIsn + 1 },
    { ...c, flags: TCP.ACK | TCP.PSH, seq: cIsn + 1, ack: sIsn + 1, payload: request },
    { ...s, flags: TCP.ACK | TCP.PSH, seq: sIsn + 1, ack: cIsn + 1 + q, payload: response },
    { ...c, flags: TCP.FIN | TCP.ACK, seq: cIsn + 1 + q, ack: sIsn + 1 + r },
    { ...s, flags: TCP.FIN | TCP.ACK, seq: sIsn + 1 + r, ack: cIsn + 2 + q },
    { ...c, flags: TCP.ACK, seq: cIsn + 2 + q, ack: sIsn + 2 + r },
  ];
}
