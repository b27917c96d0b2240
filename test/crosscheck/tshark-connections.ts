/**
 * tshark as the independent oracle: one `tshark -T fields` pass over a capture, packets grouped by
 * TCP connection (tcp.stream), every value kept with the side that sent it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

/** Unit separator: user agents and paths may contain commas, tshark's default aggregator. */
const AGGREGATOR = '\x1f';

/**
 * Fields asked of tshark; the first LOCATING locate and count the packet, the rest are compared with
 * planewatch.
 */
export const FIELDS = [
  'tcp.stream', 'ip.src', 'ipv6.src', 'tcp.srcport', 'ip.dst', 'ipv6.dst', 'tcp.dstport', 'tcp.len', 'frame.time_epoch', 'communityid',
  'tls.handshake.type', 'tls.handshake.version', 'tls.handshake.extensions.supported_version',
  'tls.handshake.extensions_server_name', 'tls.handshake.ciphersuite', 'tls.handshake.extensions_alpn_str',
  'tls.handshake.certificate', 'tls.handshake.ja3', 'tls.handshake.ja3_full', 'tls.handshake.ja3s',
  'tls.handshake.ja3s_full', 'tls.alert_message.level', 'tls.alert_message.desc',
  'http.request.method', 'http.request.uri', 'http.host', 'http.user_agent', 'http.response.code',
  'http2.headers.method', 'http2.headers.path', 'http2.headers.authority', 'http2.headers.user_agent',
  'http2.headers.status',
  'ssh.protocol', 'ssh.kex.hassh', 'ssh.kex.hassh_algorithms', 'ssh.kex.hasshserver', 'ssh.kex.hasshserver_algorithms',
  'tls.handshake.ja4',
] as const;
export type Field = (typeof FIELDS)[number];

/** JA4 came to Wireshark after 4.0: where tshark lacks the field it is neither asked for nor compared. */
export const tsharkHasJa4 =
  hasTshark && /\ttls\.handshake\.ja4\t/.test(spawnSync('tshark', ['-G', 'fields'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).stdout ?? '');
/** Wireshark's Community ID post-dissector (3.4 and later), off by default: enabled where it exists. */
export const tsharkHasCommunityId =
  hasTshark && /\tcommunityid$/m.test(spawnSync('tshark', ['-G', 'protocols'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout ?? '');
const ASKED: readonly Field[] = FIELDS.filter((f) => (f !== 'tls.handshake.ja4' || tsharkHasJa4) && (f !== 'communityid' || tsharkHasCommunityId));
/** Fields before this index locate and count a packet; from it on they are compared with planewatch. */
const LOCATING = ASKED.indexOf('tls.handshake.type');

export interface Endpoint {
  ip: string;
  port: number;
}

export interface TsharkPacket {
  src: Endpoint;
  values: Map<Field, string[]>;
}

export interface TsharkConnection {
  stream: number;
  /** The sender of the connection's first captured packet (the SYN when it was captured). */
  first: Endpoint;
  other: Endpoint;
  payloadBytes: number;
  /** Every frame of the TCP stream, as tshark's Conversations statistics count them. */
  frames: number;
  /** Capture times of its first and last frames. */
  firstTs: number;
  lastTs: number;
  /** Its Community ID as Wireshark computes it (null where tshark has no Community ID support). */
  communityId: string | null;
  /** The frames that carried a value of a field asked for. */
  packets: TsharkPacket[];
}

export type Side = 'client' | 'server';

/** Tunnelled frames (VXLAN) carry the outer address first: the connection is the innermost one. */
function innermost(v: string): string {
  const parts = v.split(AGGREGATOR);
  return parts[parts.length - 1] ?? '';
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.ip === b.ip && a.port === b.port;
}

export function parseTsharkFields(stdout: string): TsharkConnection[] {
  const byStream = new Map<number, TsharkConnection>();
  for (const line of stdout.split('\n')) {
    if (line.length === 0) continue;
    const cols = line.split('\t');
    const col = (f: Field): string => cols[ASKED.indexOf(f)] ?? '';
    if (col('tcp.stream') === '') continue;
    const stream = Number(col('tcp.stream'));
    const src: Endpoint = { ip: innermost(col('ip.src') || col('ipv6.src')), port: Number(col('tcp.srcport')) };
    const dst: Endpoint = { ip: innermost(col('ip.dst') || col('ipv6.dst')), port: Number(col('tcp.dstport')) };
    let conn = byStream.get(stream);
    if (conn === undefined) {
      conn = { stream, first: src, other: dst, payloadBytes: 0, frames: 0, firstTs: Infinity, lastTs: -Infinity, communityId: col('communityid') || null, packets: [] };
      byStream.set(stream, conn);
    }
    conn.frames++;
    const ts = Number(col('frame.time_epoch'));
    if (ts < conn.firstTs) conn.firstTs = ts;
    if (ts > conn.lastTs) conn.lastTs = ts;
    conn.payloadBytes += Number(col('tcp.len')) || 0;
    const values = new Map<Field, string[]>();
    for (let i = LOCATING; i < ASKED.length; i++) {
      const v = cols[i] ?? '';
      if (v !== '') values.set(ASKED[i]!, v.split(AGGREGATOR));
    }
    if (values.size > 0) conn.packets.push({ src, values });
  }
  return [...byStream.values()];
}

/**
 * Runs tshark once over `file`; `decodeAs` are extra `-d` rules (ports tshark would not guess),
 * `options` further arguments (`-o tls.keylog_file:FILE`, say).
 */
export async function tsharkConnections(file: string, decodeAs: string[] = [], options: string[] = []): Promise<TsharkConnection[]> {
  const args = ['-n', '-r', file, ...decodeAs.flatMap((d) => ['-d', d]), ...options, '-Y', 'tcp', '-T', 'fields', '-E', 'separator=/t', '-E', `aggregator=${AGGREGATOR}`];
  if (tsharkHasCommunityId) args.push('--enable-protocol', 'communityid');
  for (const f of ASKED) args.push('-e', f);
  const { stdout } = await execFileAsync('tshark', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return parseTsharkFields(stdout);
}

/** Every value of `field` sent by `side` (given the client endpoint), in capture order. */
export function valuesFrom(conn: TsharkConnection, client: Endpoint, side: Side, field: Field): string[] {
  const out: string[] = [];
  for (const p of conn.packets) {
    if (sameEndpoint(p.src, client) !== (side === 'client')) continue;
    const v = p.values.get(field);
    if (v !== undefined) out.push(...v);
  }
  return out;
}

export function connects(conn: TsharkConnection, a: Endpoint, b: Endpoint): boolean {
  return (sameEndpoint(conn.first, a) && sameEndpoint(conn.other, b)) || (sameEndpoint(conn.first, b) && sameEndpoint(conn.other, a));
}
