/**
 * "Decode As", in Wireshark's own syntax (`tshark -d`): for UDP, the tunnels planewatch decodes —
 * `udp.port==48879,vxlan` reads UDP to port 48879 as VXLAN, `udp.port==8472,none` as plain UDP, for
 * mirrored traffic sent to a port other than the standard one (a collector's, a fabric's); for TCP,
 * the application protocol — `tcp.port==9000,http` hands connections on port 9000 to the HTTP
 * dissector from their first byte, without probing, `tcp.port==8443,none` to none.
 *
 * The rules a capture was analysed with are stored with it (`captures.decode_as`), so that reading its
 * packets back later (`follow`, `extract`, the dashboard) decodes them the same way.
 */
import type { DissectorId } from '../../dissectors/types';
import { STANDARD_TUNNEL_PORTS, type PacketDecoderOptions } from './packet-decoder';

/** What a UDP port can be decoded as: a tunnel, or `none` (plain UDP, even on a tunnel's standard port). */
export const DECODE_AS_KINDS = ['vxlan', 'vxlan_gpe', 'geneve', 'tzsp', 'mpls', 'none'] as const;
export type DecodeAsKind = (typeof DECODE_AS_KINDS)[number];

/** What a TCP port's connections can be handed to: a dissector, or `none` (no application protocol). */
export const TCP_DECODE_AS_KINDS = ['tls', 'http', 'http2', 'ssh', 'dns', 'none'] as const;
export type TcpDecodeAsKind = (typeof TCP_DECODE_AS_KINDS)[number];

export type DecodeAsRule =
  | { transport: 'udp'; port: number; kind: DecodeAsKind }
  | { transport: 'tcp'; port: number; kind: TcpDecodeAsKind };

const RULE = /^(udp|tcp)\.port\s*==\s*(\d{1,5})\s*,\s*([a-z0-9_]+)$/;

/** Parses one `udp.port==PORT,KIND` or `tcp.port==PORT,KIND` rule; throws an Error whose message says what is accepted. */
export function parseDecodeAs(spec: string): DecodeAsRule {
  const m = RULE.exec(spec.trim().toLowerCase());
  const port = m ? Number(m[2]) : NaN;
  const transport = m?.[1];
  const kind = m?.[3] ?? '';
  if (m && port >= 1 && port <= 65535) {
    if (transport === 'udp' && (DECODE_AS_KINDS as readonly string[]).includes(kind)) return { transport, port, kind: kind as DecodeAsKind };
    if (transport === 'tcp' && (TCP_DECODE_AS_KINDS as readonly string[]).includes(kind)) return { transport, port, kind: kind as TcpDecodeAsKind };
  }
  throw new Error(`"${spec}" is not a rule planewatch decodes: udp.port==PORT,KIND with KIND one of ${DECODE_AS_KINDS.join(', ')} ` +
    `(e.g. udp.port==48879,vxlan), or tcp.port==PORT,KIND with KIND one of ${TCP_DECODE_AS_KINDS.join(', ')} (e.g. tcp.port==9000,http)`);
}

/** A rule as written: `udp.port==48879,vxlan`. */
export function formatDecodeAs(rule: DecodeAsRule): string {
  return `${rule.transport}.port==${rule.port},${rule.kind}`;
}

/**
 * The dissector each TCP rule's port is handed to (null: none), a later rule for the same port
 * winning; undefined without TCP rules (every connection probed).
 */
export function forcedAppPorts(rules: readonly DecodeAsRule[]): Map<number, DissectorId | null> | undefined {
  const tcp = rules.filter((r) => r.transport === 'tcp');
  if (tcp.length === 0) return undefined;
  return new Map(tcp.map((r) => [r.port, r.kind === 'none' ? null : r.kind]));
}

/**
 * The decoder's tunnel ports: the standard ones, with each UDP rule's port taken from whatever it was
 * and given to the rule's kind (a later rule for the same port wins). No UDP rules: undefined (defaults).
 */
export function decoderOptionsFor(rules: readonly DecodeAsRule[]): PacketDecoderOptions | undefined {
  const udp = rules.filter((r) => r.transport === 'udp');
  if (udp.length === 0) return undefined;
  const byPort = new Map<number, DecodeAsKind>();
  for (const r of udp) byPort.set(r.port, r.kind);
  const ports = (kind: Exclude<DecodeAsKind, 'none'>): number[] => [
    ...STANDARD_TUNNEL_PORTS[kind].filter((p) => !byPort.has(p)),
    ...[...byPort].filter(([, k]) => k === kind).map(([p]) => p),
  ];
  return { vxlanPorts: ports('vxlan'), genevePorts: ports('geneve'), tzspPorts: ports('tzsp'), mplsUdpPorts: ports('mpls'),
    vxlanGpePorts: ports('vxlan_gpe') };
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

/** A capture's stored rules (none, or unreadable: none). */
function rulesOfStored(stored: string | null | undefined): DecodeAsRule[] {
  const rules: DecodeAsRule[] = [];
  for (const spec of decodeAsRules(stored ?? null)) {
    try {
      rules.push(parseDecodeAs(spec));
    } catch {
      return [];
    }
  }
  return rules;
}

/** The decoder options of a capture's stored rules (null or unreadable: the defaults). */
export function decoderOptionsOfStored(stored: string | null | undefined): PacketDecoderOptions | undefined {
  return decoderOptionsFor(rulesOfStored(stored));
}

/** The TCP ports a capture's stored rules hand to a dissector (see forcedAppPorts). */
export function forcedAppPortsOfStored(stored: string | null | undefined): Map<number, DissectorId | null> | undefined {
  return forcedAppPorts(rulesOfStored(stored));
}
