import { digestOf } from '../digest';

/**
 * Community ID v1 (corelight community-id-spec): a flow hash that Zeek, Suricata, Arkime and others
 * compute identically, so a planewatch flow can be found in their logs.
 *
 * sha1 over: seed (2 bytes, network order) · address · address · protocol (1) · zero pad (1) ·
 * port · port, with the endpoints ordered smaller first; base64 and the "1:" version prefix.
 * Computed once per flow, so node:crypto and a small buffer are fine here.
 */

const PROTO_ICMP = 1;
const PROTO_ICMP6 = 58;

// ICMP request/response type pairs treated as two ends of one conversation (spec: port equivalents).
const ICMP4_PAIRS: Record<number, number> = { 8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17 };
const ICMP6_PAIRS: Record<number, number> = {
  128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130, 144: 145, 145: 144,
};

function hasPorts(proto: number): boolean {
  return proto === 6 || proto === 17 || proto === 132 || proto === PROTO_ICMP || proto === PROTO_ICMP6;
}

/** -1, 0, 1 comparing the first `len` bytes of two addresses, then the ports. */
function compareEndpoints(a: Uint8Array, ap: number, b: Uint8Array, bp: number, len: number): number {
  for (let i = 0; i < len; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return ap === bp ? 0 : ap < bp ? -1 : 1;
}

/**
 * Community ID of a flow. `src`/`dst` hold 4 (IPv4) or 16 (IPv6) address bytes at the start.
 * For ICMP/ICMPv6 pass the type as `srcPort` and the code as `dstPort`.
 */
export function communityId(
  ipVersion: 4 | 6,
  src: Uint8Array,
  dst: Uint8Array,
  protocol: number,
  srcPort: number,
  dstPort: number,
  seed = 0,
): string {
  const alen = ipVersion === 4 ? 4 : 16;
  let sp = srcPort;
  let dp = dstPort;
  let oneWay = false;
  if (protocol === PROTO_ICMP || protocol === PROTO_ICMP6) {
    const pairs = protocol === PROTO_ICMP ? ICMP4_PAIRS : ICMP6_PAIRS;
    const peer = pairs[srcPort];
    if (peer === undefined) oneWay = true;
    else dp = peer;
  }
  let a = src;
  let b = dst;
  if (!oneWay && compareEndpoints(src, sp, dst, dp, alen) > 0) {
    a = dst;
    b = src;
    const t = sp;
    sp = dp;
    dp = t;
  }
  const ports = hasPorts(protocol);
  const buf = Buffer.alloc(2 + 2 * alen + 2 + (ports ? 4 : 0));
  let o = buf.writeUInt16BE(seed & 0xffff, 0);
  buf.set(a.subarray(0, alen), o);
  o += alen;
  buf.set(b.subarray(0, alen), o);
  o += alen;
  buf[o++] = protocol & 0xff;
  buf[o++] = 0;
  if (ports) {
    o = buf.writeUInt16BE(sp & 0xffff, o);
    buf.writeUInt16BE(dp & 0xffff, o);
  }
  return '1:' + digestOf('sha1', buf, 'base64');
}
