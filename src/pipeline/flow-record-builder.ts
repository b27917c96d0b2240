import { formatIp } from '../decode/address';
import { TUNNEL_NAMES } from '../decode/packet';
import { communityId } from '../flow/community-id';
import type { Flow } from '../flow/flow';
import { tcpConnState, udpConnState } from '../flow/tcp-state';
import type { AppEvidence, FlowRecord, TunnelInfo } from '../model/flow-record';

const PROTO_TCP = 6;

/** Evidence of a flow without an application session (or whose session failed to describe). */
export function unknownEvidence(): AppEvidence {
  return { app: 'unknown', tls: null, http: [], ssh: null };
}

function tunnelOf(flow: Flow): TunnelInfo | null {
  if (flow.tunnelType === 0 || flow.outerSrc === null || flow.outerDst === null) return null;
  const type = TUNNEL_NAMES[flow.tunnelType];
  if (type === undefined || type === 'none') return null;
  const info: TunnelInfo = {
    type,
    outerSrc: formatIp(flow.outerSrc, flow.outerIpVersion),
    outerDst: formatIp(flow.outerDst, flow.outerIpVersion),
    outerSrcPort: flow.outerSrcPort,
    outerDstPort: flow.outerDstPort,
    id: flow.tunnelId >= 0 ? flow.tunnelId : null,
  };
  const o = flow.otherTunnel;
  const otherType = o !== null ? TUNNEL_NAMES[o.type] : undefined;
  if (o !== null && otherType !== undefined && otherType !== 'none') {
    info.other = {
      type: otherType,
      outerSrc: formatIp(o.src, o.ipVersion),
      outerDst: formatIp(o.dst, o.ipVersion),
      outerSrcPort: o.srcPort,
      outerDstPort: o.dstPort,
      id: o.id >= 0 ? o.id : null,
    };
  }
  return info;
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
