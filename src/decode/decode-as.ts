/**
 * "Decode As" for the UDP tunnels planewatch decodes, in Wireshark's own syntax (`tshark -d`):
 * `udp.port==48879,vxlan` reads UDP to port 48879 as VXLAN, `udp.port==8472,none` as plain UDP. For
 * mirrored traffic sent to a port other than the standard one (a collector's, a fabric's).
 *
 * The rules a capture was analysed with are stored with it (`captures.decode_as`), so that reading its
 * packets back later (`follow`, `extract`, the dashboard) decodes them the same way.
 */
import { STANDARD_TUNNEL_PORTS, type PacketDecoderOptions } from './packet-decoder';

/** What a UDP port can be decoded as: a tunnel, or `none` (plain UDP, even on a tunnel's standard port). */
export const DECODE_AS_KINDS = ['vxlan', 'geneve', 'tzsp', 'mpls', 'none'] as const;
export type DecodeAsKind = (typeof DECODE_AS_KINDS)[number];

export interface DecodeAsRule {
  port: number;
  kind: DecodeAsKind;
}

const RULE = /^udp\.port\s*==\s*(\d{1,5})\s*,\s*([a-z]+)$/;

/** Parses one `udp.port==PORT,KIND` rule; throws an Error whose message says what is accepted. */
export function parseDecodeAs(spec: string): DecodeAsRule {
  const m = RULE.exec(spec.trim().toLowerCase());
  const port = m ? Number(m[1]) : NaN;
  const kind = m?.[2] as DecodeAsKind | undefined;
  if (!m || port < 1 || port > 65535 || kind === undefined || !DECODE_AS_KINDS.includes(kind)) {
    throw new Error(`"${spec}" is not a rule planewatch decodes: udp.port==PORT,KIND with KIND one of ${DECODE_AS_KINDS.join(', ')} (e.g. udp.port==48879,vxlan)`);
  }
  return { port, kind };
}

/** A rule as written: `udp.port==48879,vxlan`. */
export function formatDecodeAs(rule: DecodeAsRule): string {
  return `udp.port==${rule.port},${rule.kind}`;
}

/**
 * The decoder's tunnel ports: the standard ones, with each rule's port taken from whatever it was
 * and given to the rule's kind (a later rule for the same port wins). No rules: undefined (defaults).
 */
export function decoderOptionsFor(rules: readonly DecodeAsRule[]): PacketDecoderOptions | undefined {
  if (rules.length === 0) return undefined;
  const byPort = new Map<number, DecodeAsKind>();
  for (const r of rules) byPort.set(r.port, r.kind);
  const ports = (kind: Exclude<DecodeAsKind, 'none'>): number[] => [
    ...STANDARD_TUNNEL_PORTS[kind].filter((p) => !byPort.has(p)),
    ...[...byPort].filter(([, k]) => k === kind).map(([p]) => p),
  ];
  return { vxlanPorts: ports('vxlan'), genevePorts: ports('geneve'), tzspPorts: ports('tzsp'), mplsUdpPorts: ports('mpls') };
}

/** The rules as stored with a capture: a JSON array of rule strings, or null for none. */
export function storedDecodeAs(rules: readonly DecodeAsRule[]): string | null {
  return rules.length === 0 ? null : JSON.stringify(rules.map(formatDecodeAs));
}

/** A capture's stored rules as the rule strings (none, or unreadable: empty). */
export function decodeAsRules(stored: string | null): string[] {
  if (!stored) return [];
  try {
    const specs = JSON.parse(stored) as unknown;
    return Array.isArray(specs) ? specs.map(String) : [];
  } catch {
    return [];
  }
}

/** A capture's stored rules in words: `with --decode-as udp.port==48879,vxlan`, or the standard ports. */
export function describeStoredDecodeAs(stored: string | null): string {
  const rules = decodeAsRules(stored);
  return rules.length === 0 ? 'with the standard tunnel ports' : `with --decode-as ${rules.join(' ')}`;
}

/** The decoder options of a capture's stored rules (null or unreadable: the defaults). */
export function decoderOptionsOfStored(stored: string | null | undefined): PacketDecoderOptions | undefined {
  if (!stored) return undefined;
  try {
    const specs = JSON.parse(stored) as unknown;
    if (!Array.isArray(specs)) return undefined;
    return decoderOptionsFor(specs.map((s) => parseDecodeAs(String(s))));
  } catch {
    return undefined;
  }
}
