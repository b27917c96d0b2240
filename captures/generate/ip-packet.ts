/**
 * Builds IPv4 packets (TCP or UDP inside) with correct header and transport checksums.
 * Used for the small samples, where clarity matters more than speed (scale mode patches templates).
 */

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export function ipv4ToBytes(ip: string): Buffer {
  const parts = ip.split('.').map((p) => Number(p));
  return Buffer.from(parts);
}

/** One's-complement sum of 16-bit big-endian words (not folded). */
export function onesSum(buf: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  return sum;
}

export function foldChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

export interface TcpFields {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  ipId: number;
  /** TCP options, already padded to a multiple of 4. */
  options?: Buffer;
  payload?: Uint8Array;
  ttl?: number;
}

export function buildIpv4(src: string, dst: string, protocol: number, ipId: number, ttl: number, l4: Buffer): Buffer {
  const ip = Buffer.alloc(20 + l4.length);
  ip[0] = 0x45;
  ip.writeUInt16BE(ip.length, 2);
  ip.writeUInt16BE(ipId & 0xffff, 4);
  ip.writeUInt16BE(0x4000, 6); // DF, as Linux sets on TCP
  ip[8] = ttl;
  ip[9] = protocol;
  ipv4ToBytes(src).copy(ip, 12);
  ipv4ToBytes(dst).copy(ip, 16);
  ip.writeUInt16BE(foldChecksum(onesSum(ip, 0, 20)), 10);
  l4.copy(ip, 20);
  const pseudo = onesSum(ip, 12, 20) + protocol + l4.length;
  const ckOff = protocol === 6 ? 16 : 6;
  let ck = foldChecksum(onesSum(ip, 20, ip.length, pseudo));
  if (protocol === 17 && ck === 0) ck = 0xffff;
  ip.writeUInt16BE(ck, 20 + ckOff);
  return ip;
}

export function buildTcp(f: TcpFields): Buffer {
  const opts = f.options ?? Buffer.alloc(0);
  const payload = f.payload ?? new Uint8Array(0);
  const tcp = Buffer.alloc(20 + opts.length + payload.length);
  tcp.writeUInt16BE(f.sport, 0);
  tcp.writeUInt16BE(f.dport, 2);
  tcp.writeUInt32BE(f.seq >>> 0, 4);
  tcp.writeUInt32BE(f.flags & TCP_ACK ? f.ack >>> 0 : 0, 8);
  tcp[12] = ((20 + opts.length) / 4) << 4;
  tcp[13] = f.flags;
  tcp.writeUInt16BE(f.window, 14);
  opts.copy(tcp, 20);
  tcp.set(payload, 20 + opts.length);
  return buildIpv4(f.src, f.dst, 6, f.ipId, f.ttl ?? 64, tcp);
}

export function buildUdp(src: string, dst: string, sport: number, dport: number, ipId: number, payload: Uint8Array): Buffer {
  const udp = Buffer.alloc(8 + payload.length);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(udp.length, 4);
  udp.set(payload, 8);
  return buildIpv4(src, dst, 17, ipId, 64, udp);
}

/** SYN options as Linux sends them: MSS, SACK permitted, timestamps, NOP, window scale. */
export function synOptions(mss: number, tsVal: number, tsEcr: number): Buffer {
  const o = Buffer.alloc(20);
  o[0] = 2; o[1] = 4; o.writeUInt16BE(mss, 2);
  o[4] = 4; o[5] = 2;
  o[6] = 8; o[7] = 10; o.writeUInt32BE(tsVal >>> 0, 8); o.writeUInt32BE(tsEcr >>> 0, 12);
  o[16] = 1; o[17] = 3; o[18] = 3; o[19] = 7;
  return o;
}

/** NOP, NOP, timestamps: the 12 option bytes on every established-state Linux segment. */
export function tsOptions(tsVal: number, tsEcr: number): Buffer {
  const o = Buffer.alloc(12);
  o[0] = 1; o[1] = 1; o[2] = 8; o[3] = 10;
  o.writeUInt32BE(tsVal >>> 0, 4);
  o.writeUInt32BE(tsEcr >>> 0, 8);
  return o;
}
