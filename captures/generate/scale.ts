/**
 * Scale mode: a multi-GB capture of a busy cluster, streamed at disk speed. A few real sessions are
 * recorded once with the real stacks (the small scenarios); their packets become templates that are
 * replayed with other addresses, ports and initial sequence numbers, interleaved over many
 * concurrent connections. Headers are patched into the writer's chunk buffer and checksums updated
 * from precomputed partial sums, so no packet is allocated.
 */
import { FdSink } from '../../src/export/byte-sink.js';
import { PcapWriter } from '../../src/export/pcap-writer.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, onesSum } from './ip-packet.js';
import { LINKTYPE_ETHERNET } from './link-encap.js';
import { CAPTURE_START_MS, Pki } from './pki.js';
import { Prng } from './prng.js';
import { ScenarioContext } from './scenario.js';
import { SCENARIOS } from './scenarios.js';
import ssh2 from 'ssh2';

/** Concurrent connections interleaved in the output. */
export const MAX_ACTIVE_CONNECTIONS = 512;
/** Pods per node that open connections to the API server. */
const PODS_PER_NODE = 24;
/** Times a watch template repeats its event packets before closing. */
const WATCH_EVENTS = 400;

type Role = 'apiserver' | 'node' | 'pod' | 'etcd' | 'vip';

interface TemplatePacket {
  ip: Buffer;
  fromClient: boolean;
  relSeq: number;
  relAck: number;
  payloadLen: number;
  /** One's-complement sum of the TCP segment with ports, seq, ack and checksum zeroed. */
  baseSum: number;
  gapUs: number;
}

interface Template {
  name: string;
  clientRole: Role;
  serverRole: Role;
  serverPort: number;
  packets: TemplatePacket[];
  /** Packets [loopStart, loopEnd) repeat `loops` times (watch events); 0 loops for one-shot sessions. */
  loopStart: number;
  loopEnd: number;
  loops: number;
  loopDeltaClient: number;
  loopDeltaServer: number;
}

const TEMPLATE_SCENARIOS: Record<string, [Role, Role]> = {
  'node-to-apiserver': ['node', 'apiserver'],
  'kubelet-logs-exec-self-signed': ['apiserver', 'node'],
  'kubelet-exec-ca-signed': ['apiserver', 'node'],
  'apiserver-to-etcd': ['apiserver', 'etcd'],
  'pod-to-apiserver': ['pod', 'vip'],
  konnectivity: ['node', 'apiserver'],
};

async function recordTemplates(pkiDir: string, seed: number): Promise<Template[]> {
  const pki = new Pki(pkiDir);
  const key = ssh2.utils.generateKeyPairSync('ed25519').private;
  const out: Template[] = [];
  const root = new Prng(seed);
  for (const sc of SCENARIOS) {
    const roles = TEMPLATE_SCENARIOS[sc.name];
    if (!roles) continue;
    const ctx = new ScenarioContext(sc.name, root.fork(sc.name), pki, { hostKey: key, clientKey: key }, CAPTURE_START_MS * 1000);
    await sc.run(ctx);
    // Split the scenario's packets by connection (client port).
    const byConn = new Map<number, { ip: Buffer; fromClient: boolean; tsUs: number }[]>();
    for (const p of ctx.cap.packets) {
      if (p.ip[9] !== 6) continue;
      const cport = p.fromClient ? p.ip.readUInt16BE(20) : p.ip.readUInt16BE(22);
      let list = byConn.get(cport);
      if (!list) byConn.set(cport, (list = []));
      list.push(p);
    }
    for (const list of byConn.values()) out.push(toTemplate(sc.name, roles, list));
  }
  return out;
}

function toTemplate(name: string, roles: [Role, Role], list: { ip: Buffer; fromClient: boolean; tsUs: number }[]): Template {
  const isnC = list[0]!.ip.readUInt32BE(24);
  const isnS = list[1]!.ip.readUInt32BE(24);
  const packets: TemplatePacket[] = list.map((p, i) => {
    const ip = Buffer.from(p.ip);
    const ihl = (ip[0]! & 15) * 4;
    const seq = ip.readUInt32BE(ihl + 4);
    const ack = ip.readUInt32BE(ihl + 8);
    const tcp = Buffer.from(ip.subarray(ihl));
    tcp.fill(0, 0, 12);
    tcp.writeUInt16BE(0, 16);
    const dataOff = (tcp[12]! >> 4) * 4;
    return {
      ip, fromClient: p.fromClient,
      relSeq: (seq - (p.fromClient ? isnC : isnS)) >>> 0,
      relAck: (ack - (p.fromClient ? isnS : isnC)) >>> 0,
      payloadLen: tcp.length - dataOff,
      baseSum: onesSum(tcp, 0, tcp.length),
      gapUs: i === 0 ? 0 : Math.max(1, p.tsUs - list[i - 1]!.tsUs),
    };
  });
  // A watch: the last server data packet (an event) and what follows it up to the close repeat.
  let loopStart = 0;
  let loopEnd = 0;
  let loops = 0;
  if (name === 'node-to-apiserver') {
    const closeAt = packets.findIndex((p) => (p.ip[(p.ip[0]! & 15) * 4 + 13]! & (TCP_FIN | TCP_RST)) !== 0);
    for (let i = closeAt - 1; i > 3; i--) {
      if (!packets[i]!.fromClient && packets[i]!.payloadLen > 0) {
        loopStart = i;
        loopEnd = i + 1;
        loops = WATCH_EVENTS;
        break;
      }
    }
  }
  let dc = 0;
  let ds = 0;
  for (let i = loopStart; i < loopEnd; i++) {
    if (packets[i]!.fromClient) dc += packets[i]!.payloadLen;
    else ds += packets[i]!.payloadLen;
  }
  const port = list[0]!.ip.readUInt16BE(22);
  return { name, clientRole: roles[0], serverRole: roles[1], serverPort: port, packets, loopStart, loopEnd, loops, loopDeltaClient: dc, loopDeltaServer: ds };
}

/** A connection being replayed: which template, where in it, with which addresses. */
class Active {
  template!: Template;
  index = 0;
  loop = 0;
  client = 0;
  server = 0;
  cport = 0;
  sport = 0;
  isnC = 0;
  isnS = 0;
  ipId = 0;
}

export interface ScaleOptions {
  out: string;
  bytes: number;
  nodes: number;
  seed: number;
  pkiDir: string;
}

export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size: ${s}`);
  const mult: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };
  return Math.floor(Number(m[1]) * mult[m[2]!.toLowerCase()]!);
}

const ip4 = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
const APISERVER = ip4(10, 0, 0, 10);
const VIP = ip4(10, 96, 0, 1);

export async function writeScaleCapture(o: ScaleOptions): Promise<{ bytes: number; packets: number; connections: number; seconds: number }> {
  const templates = await recordTemplates(o.pkiDir, o.seed);
  const prng = new Prng(o.seed ^ 0x5ca1e);
  const nodes = Math.max(1, Math.min(o.nodes, 60000));
  const nodeIp = (i: number) => ip4(10, 1, (i >> 8) & 255, i & 255);
  // Each node runs a fixed set of pods that talk to the API server again and again, as in a real
  // cluster: the number of distinct addresses does not grow with the length of the capture.
  const podIp = (node: number) => ip4(10, 244 + (node >> 8), node & 255, 2 + prng.int(0, PODS_PER_NODE - 1));
  const pick = (role: Role, node: number): number =>
    role === 'apiserver' || role === 'etcd' ? APISERVER : role === 'vip' ? VIP : role === 'node' ? nodeIp(node) : podIp(node);
  const t0 = process.hrtime.bigint();
  const w = new PcapWriter(FdSink.open(o.out), LINKTYPE_ETHERNET);
  const active: Active[] = [];
  let connections = 0;
  // A kubelet keeps one serving certificate: each node gets one kind of kubelet template (self-signed
  // or CA-signed) for the whole capture, so the replay does not look like certificates changing.
  const kubeletKinds = [...new Set(templates.filter((t) => t.serverRole === 'node').map((t) => t.name))].sort();
  const byKind = kubeletKinds.map((k) => templates.filter((t) => t.serverRole === 'node' && t.name === k));
  const kubeletTemplates = (node: number): Template[] => byKind[node % byKind.length]!;
  const start = (a: Active): void => {
    // Watches are long-lived and fewer; short sessions churn.
    a.template = templates[prng.int(0, templates.length - 1)]!;
    const node = prng.int(0, nodes - 1);
    if (a.template.serverRole === 'node') {
      const own = kubeletTemplates(node);
      a.template = own[prng.int(0, own.length - 1)]!;
    }
    a.client = pick(a.template.clientRole, node);
    a.server = pick(a.template.serverRole, node);
    a.cport = prng.int(32768, 60999);
    a.sport = a.template.serverPort;
    a.isnC = prng.u32();
    a.isnS = prng.u32();
    a.ipId = prng.int(0, 65535);
    a.index = 0;
    a.loop = 0;
    connections++;
  };
  const active0 = Math.min(MAX_ACTIVE_CONNECTIONS, Math.max(16, nodes));
  for (let i = 0; i < active0; i++) {
    const a = new Active();
    start(a);
    active.push(a);
  }
  let nowUs = CAPTURE_START_MS * 1000;
  while (w.bytesWritten < o.bytes) {
    const a = active[prng.int(0, active.length - 1)]!;
    const t = a.template;
    const p = t.packets[a.index]!;
    nowUs += 1 + (p.gapUs > 50 ? prng.int(0, 3) : 0);
    // Sequence offsets for packets after `loop` completed repetitions.
    const inLoop = a.index >= t.loopStart && a.index < t.loopEnd;
    const reps = inLoop ? a.loop : a.index >= t.loopEnd && t.loops > 0 ? t.loops - 1 : 0;
    const dSelf = p.fromClient ? t.loopDeltaClient * reps : t.loopDeltaServer * reps;
    const dPeer = p.fromClient ? t.loopDeltaServer * reps : t.loopDeltaClient * reps;
    emit(w, p, a, nowUs, dSelf, dPeer);
    a.index++;
    if (a.index === t.loopEnd && t.loops > 0 && a.loop < t.loops - 1) {
      a.loop++;
      a.index = t.loopStart;
    }
    if (a.index >= t.packets.length) start(a);
  }
  w.close();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { bytes: w.bytesWritten, packets: w.packets, connections, seconds };
}

function emit(w: PcapWriter, p: TemplatePacket, a: Active, nowUs: number, dSelf: number, dPeer: number): void {
  const len = 14 + p.ip.length;
  const at = w.beginPacket(Math.floor(nowUs / 1e6), nowUs % 1e6, len);
  const b = w.buffer;
  const src = p.fromClient ? a.client : a.server;
  const dst = p.fromClient ? a.server : a.client;
  // Ethernet: locally administered MACs derived from the addresses.
  b[at] = 2; b[at + 1] = 0x42; b.writeUInt32BE(dst, at + 2);
  b[at + 6] = 2; b[at + 7] = 0x42; b.writeUInt32BE(src, at + 8);
  b[at + 12] = 0x08; b[at + 13] = 0x00;
  const ip = at + 14;
  p.ip.copy(b, ip);
  const ihl = (p.ip[0]! & 15) * 4;
  a.ipId = (a.ipId + 1) & 0xffff;
  b.writeUInt16BE(a.ipId, ip + 4);
  b.writeUInt32BE(src, ip + 12);
  b.writeUInt32BE(dst, ip + 16);
  b[ip + 10] = 0; b[ip + 11] = 0;
  let s = 0;
  for (let i = 0; i < ihl; i += 2) s += (b[ip + i]! << 8) | b[ip + i + 1]!;
  b.writeUInt16BE(fold(s), ip + 10);
  const tcp = ip + ihl;
  const sp = p.fromClient ? a.cport : a.sport;
  const dp = p.fromClient ? a.sport : a.cport;
  const seq = ((p.fromClient ? a.isnC : a.isnS) + p.relSeq + dSelf) >>> 0;
  const flags = p.ip[ihl + 13]!;
  const ack = flags & TCP_ACK ? ((p.fromClient ? a.isnS : a.isnC) + p.relAck + (flags & TCP_SYN ? 0 : dPeer)) >>> 0 : 0;
  b.writeUInt16BE(sp, tcp);
  b.writeUInt16BE(dp, tcp + 2);
  b.writeUInt32BE(seq, tcp + 4);
  b.writeUInt32BE(ack, tcp + 8);
  const tcpLen = p.ip.length - ihl;
  let sum = p.baseSum + sp + dp + (seq >>> 16) + (seq & 0xffff) + (ack >>> 16) + (ack & 0xffff);
  sum += (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 6 + tcpLen;
  b.writeUInt16BE(fold(sum), tcp + 16);
  w.commitPacket(len);
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}
