import { formatIp } from '../decode/address';
import { TUNNEL_NAMES } from '../decode/packet';
import { communityId } from '../flow/community-id';
import type { Flow } from '../flow/flow';
import type { OuterTunnel } from '../flow/outer-tunnel';
import { tcpConnState, udpConnState } from '../flow/tcp-state';
import type { AppEvidence, FlowRecord, OuterTunnelInfo, TunnelInfo } from '../model/flow-record';

const PROTO_TCP = 6;

/** Evidence of a flow without an application session (or whose session failed to describe). */
export function unknownEvidence(): AppEvidence {
  return { app: 'unknown', tls: null, http: [], ssh: null };
}

/** An outer connection as a record has it; null for a tunnel type without a name. */
function outerInfo(o: OuterTunnel): OuterTunnelInfo | null {
  const type = TUNNEL_NAMES[o.type];
  if (type === undefined || type === 'none') return null;
  return {
    type,
    outerSrc: formatIp(o.src, o.ipVersion),
    outerDst: formatIp(o.dst, o.ipVersion),
    outerSrcPort: o.srcPort,
    outerDstPort: o.dstPort,
    id: o.id >= 0 ? o.id : null,
  };
}

function tunnelOf(flow: Flow): TunnelInfo | null {
  const first = flow.tunnel !== null ? outerInfo(flow.tunnel) : null;
  if (first === null) return null;
  const other = flow.otherTunnel !== null ? outerInfo(flow.otherTunnel) : null;
  return other !== null ? { ...first, other } : first;
}

/** Builds the record of a flow (once at its end, or for a live snapshot). */
export function buildFlowRecord(
  flow: Flow,
  evidence: AppEvidence,
  endReason: FlowRecord['endReason'],
  id: string,
  captureIndex: number,
): FlowRecord {
  const clientAddr = flow.clientAddr;
  const serverAddr = flow.serverAddr;
  if (flow.communityId === null) {
    flow.communityId = communityId(flow.ipVersion, clientAddr, serverAddr, flow.protocol, flow.clientPort, flow.serverPort);
  }
  const tcp = flow.protocol === PROTO_TCP;
  // Explicit fields, not a spread: V8 builds a spread-then-extend literal this size in dictionary
  // mode, about thirty times slower, and this runs once per flow.
  const dns = flow.dns;
  return {
    // A UDP flow with DNS messages read is a DNS flow (no session dissects UDP); other traffic on
    // port 53 (a tunnel dressed as DNS) stays unknown.
    app: dns !== null && dns.transactions.length > 0 && evidence.app === 'unknown' ? 'dns' : evidence.app,
    tls: evidence.tls,
    http: evidence.http,
    ssh: evidence.ssh,
    id,
    communityId: flow.communityId,
    transport: tcp ? 'tcp' : 'udp',
    ipVersion: flow.ipVersion,
    client: { ip: formatIp(clientAddr, flow.ipVersion), port: flow.clientPort },
    server: { ip: formatIp(serverAddr, flow.ipVersion), port: flow.serverPort },
    firstTs: flow.firstTs,
    lastTs: flow.lastTs,
    firstFrame: flow.firstFrame,
    lastFrame: flow.lastFrame,
    packets: [flow.packets0, flow.packets1],
    bytes: [flow.bytes0, flow.bytes1],
    payloadBytes: [flow.payload0, flow.payload1],
    missingBytes: [flow.missing0, flow.missing1],
    history: flow.history,
    state: tcp
      ? tcpConnState(flow.state0, flow.state1, flow.history, flow.payload0, flow.payload1)
      : udpConnState(flow.packets0, flow.packets1),
    midstream: flow.midstream,
    endReason,
    tunnel: tunnelOf(flow),
    vlan: flow.vlan,
    anomalies: flow.anomalies === null ? {} : flow.anomalies.toJSON(),
    captureIndex,
    natLink: flow.natLink,
    natRepeat: flow.natRepeat,
    // A UDP flow's datagrams, or the messages of DNS over TCP its session read.
    dns: dns !== null ? dns.transactions : evidence.dns ?? [],
  };
}
