/**
 * IP address text <-> bytes. Called once per flow (ids, records, the inventory), never per packet.
 */

/** Dotted quad for version 4 (first 4 bytes), RFC 5952 canonical text for version 6. */
export function formatIp(bytes: Uint8Array, version: number): string {
  if (version === 4) return `${bytes[0] | 0}.${bytes[1] | 0}.${bytes[2] | 0}.${bytes[3] | 0}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((bytes[2 * i] | 0) << 8) | (bytes[2 * i + 1] | 0));
  // RFC 5952 §5: IPv4-mapped addresses keep the embedded IPv4 address in dotted form.
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `::ffff:${bytes[12] | 0}.${bytes[13] | 0}.${bytes[14] | 0}.${bytes[15] | 0}`;
  }
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number): string => g.toString(16);
  if (bestStart < 0) return groups.map(hex).join(':');
  const head = groups.slice(0, bestStart).map(hex).join(':');
  const tail = groups.slice(bestStart + bestLen).map(hex).join(':');
  return `${head}::${tail}`;
}

/**
 * Parses an IPv4 dotted quad (4 bytes) or an IPv6 address (16 bytes; `::`, embedded IPv4 tail,
 * brackets and a `%zone` suffix accepted). Returns null for anything else.
 */
export function parseIp(text: string): Uint8Array | null {
  let s = text.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (s.includes(':')) return parseIpv6(s);
  return parseIpv4(s);
}

function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    // Leading zeros are refused: some parsers read them as octal, so their meaning is ambiguous.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | null {
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const out = new Uint8Array(16);
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : [];
  // An IPv4 tail fills the last two groups.
  const last = halves.length === 2 ? tail : head;
  let v4: Uint8Array | null = null;
  if (last.length > 0 && last[last.length - 1]!.includes('.')) {
    v4 = parseIpv4(last.pop()!);
    if (v4 === null) return null;
  }
  const groupsAvailable = v4 === null ? 8 : 6;
  const used = head.length + tail.length;
  if (halves.length === 2 ? used > groupsAvailable - 1 : used !== groupsAvailable) return null;
  const groupRe = /^[0-9a-fA-F]{1,4}$/;
  for (let i = 0; i < head.length; i++) {
    if (!groupRe.test(head[i]!)) return null;
    const g = parseInt(head[i]!, 16);
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  }
  const tailStart = groupsAvailable - tail.length;
  for (let i = 0; i < tail.length; i++) {
    if (!groupRe.test(tail[i]!)) return null;
    const g = parseInt(tail[i]!, 16);
    out[2 * (tailStart + i)] = g >> 8;
    out[2 * (tailStart + i) + 1] = g & 0xff;
  }
  if (v4 !== null) out.set(v4, 12);
  return out;
}

/** An address and port as people write them: `10.0.0.1:443`, `[fd00::1]:443` (RFC 3986 brackets for IPv6). */
export function endpointText(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
