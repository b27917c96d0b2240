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

/**
 * A flow's tunnel as stored (`flows.tunnel`, JSON) in words: `VXLAN 172.31.0.21 → 172.31.0.100, VNI
 * 4242`. Null for none; something unreadable is given back as it is.
 */
export function tunnelText(stored: string | null): string | null {
  if (stored === null || stored === '') return null;
  let t: Partial<TunnelInfo>;
  try {
    t = JSON.parse(stored) as Partial<TunnelInfo>;
  } catch {
    return stored;
  }
  const kind = t.type !== undefined ? KINDS[t.type] : undefined;
  if (kind === undefined) return stored;
  const [name, idName] = kind;
  const id = idName !== null && typeof t.id === 'number' && t.id >= 0 ? `, ${idName} ${t.id}` : '';
  return `${name} ${t.outerSrc ?? '?'} → ${t.outerDst ?? '?'}${id}`;
}
