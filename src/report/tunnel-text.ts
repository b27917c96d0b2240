import type { TunnelInfo } from '../model/flow-record';

/** Each tunnel's name and what its id is called (none: the tunnel has no id). */
const KINDS: Record<TunnelInfo['type'], [string, string | null]> = {
  vxlan: ['VXLAN', 'VNI'],
  geneve: ['Geneve', 'VNI'],
  gre: ['GRE', 'key'],
  erspan: ['ERSPAN', 'session'],
  tzsp: ['TZSP', null],
  ipip: ['IP-in-IP', null],
  'mpls-udp': ['MPLS in UDP', null],
  'vxlan-gpe': ['VXLAN-GPE', 'VNI'],
};

/** A flow's tunnel as stored (`flows.tunnel`, JSON); null for none or when it cannot be read as one. */
export function parseStoredTunnel(stored: string | null): Partial<TunnelInfo> | null {
  if (stored === null || stored === '') return null;
  try {
    const t = JSON.parse(stored) as unknown;
    return t !== null && typeof t === 'object' && !Array.isArray(t) ? (t as Partial<TunnelInfo>) : null;
  } catch {
    return null;
  }
}

/** An outer address with its UDP port when the tunnel has one (`[fd00::1]:4789` for IPv6). */
function outerEnd(ip: string | undefined, port: number | undefined): string {
  const addr = ip ?? '?';
  if (typeof port !== 'number' || port <= 0) return addr;
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/**
 * A flow's tunnel as stored (`flows.tunnel`, JSON) in words: `VXLAN 172.31.0.21:50123 →
 * 172.31.0.100:4789, VNI 4242` (the outer UDP ports of its first packet, where the tunnel has them and
 * they were stored), then the other direction's when it came in another outer connection: `; the
 * other way 172.31.0.100:61234 → 172.31.0.21:4789`. Null for none; something unreadable is given
 * back as it is.
 */
export function tunnelText(stored: string | null): string | null {
  if (stored === null || stored === '') return null;
  const t = parseStoredTunnel(stored);
  if (t === null) return stored;
  const kind = t.type !== undefined ? KINDS[t.type] : undefined;
  if (kind === undefined) return stored;
  const [name, idName] = kind;
  const id = idName !== null && typeof t.id === 'number' && t.id >= 0 ? `, ${idName} ${t.id}` : '';
  const first = `${name} ${outerEnd(t.outerSrc, t.outerSrcPort)} → ${outerEnd(t.outerDst, t.outerDstPort)}${id}`;
  const o = t.other;
  if (o === undefined || o === null) return first;
  const otherKind = KINDS[o.type];
  // Its kind and id only where they differ from the first direction's.
  const otherName = o.type !== t.type && otherKind !== undefined ? `${otherKind[0]} ` : '';
  const otherIdName = otherKind?.[1] ?? null;
  const otherId = otherIdName !== null && typeof o.id === 'number' && o.id >= 0 && (o.id !== t.id || o.type !== t.type) ? `, ${otherIdName} ${o.id}` : '';
  return `${first}; the other way ${otherName}${outerEnd(o.outerSrc, o.outerSrcPort)} → ${outerEnd(o.outerDst, o.outerDstPort)}${otherId}`;
}
