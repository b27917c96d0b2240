import type { AppProtocol, HttpRequestRecord, SshInfo, TlsInfo } from './records';
import type { StreamHandler } from '../flow/stream-handler';
import type { AnomalyCounter } from '../anomalies';
import type { DnsTransaction } from '../../dissectors/dns/dns-log';

export interface Endpoint {
  ip: string; // dotted quad or RFC 5952 IPv6
  port: number;
}

export interface TunnelInfo {
  type: 'vxlan' | 'geneve' | 'gre' | 'erspan' | 'tzsp' | 'ipip' | 'mpls-udp' | 'vxlan-gpe';
  outerSrc: string;
  outerDst: string;
  /**
   * The outer UDP header's ports (0 for a tunnel not in UDP: GRE, ERSPAN, IP in IP); absent in flows
   * stored before they were kept. With the addresses they name the tunnel's own connection.
   */
  outerSrcPort?: number;
  outerDstPort?: number;
  id: number | null; // VNI / key / session id
  /**
   * The tunnel the other direction's packets came in, when that is another outer connection (a VXLAN
   * VTEP answers from a UDP port of its own); absent when both directions share one (GRE) or only one
   * direction was tunnelled.
   */
  other?: OuterTunnelInfo;
}

/** One outer connection of a tunnel: its kind, addresses, UDP ports (0 when not in UDP) and id. */
export interface OuterTunnelInfo {
  type: TunnelInfo['type'];
  outerSrc: string;
  outerDst: string;
  outerSrcPort: number;
  outerDstPort: number;
  id: number | null;
}

/** What the application-layer dissection of one connection found. */
export interface AppEvidence {
  app: AppProtocol;
  tls: TlsInfo | null;
  /** HTTP/1.x and HTTP/2 requests, in order. */
  http: HttpRequestRecord[];
  ssh: SshInfo | null;
  /** DNS transactions (a UDP flow's datagrams on port 53, or DNS over TCP); absent or empty: none. */
  dns?: DnsTransaction[];
}

/**
 * The stream handler the engine attaches to a TCP connection; built by dissectors/registry.ts.
 * `describe()` may be called at any time (live mode snapshots) and at the end of the flow.
 */
export interface AppSession extends StreamHandler {
  describe(): AppEvidence;
  /**
   * Anomalies counted by this connection's dissectors (dissectors/app-session.ts fills it); the
   * engine merges them into the flow's and the capture's counts.
   */
  readonly anomalies?: AnomalyCounter;
}

/** Facts about a new connection that dissector selection can use (ports, addresses). */
export interface FlowMeta {
  client: Endpoint;
  server: Endpoint;
  transport: 'tcp' | 'udp';
}

/** A finished (or snapshotted) flow as the engine hands it to analysis and the store. */
export interface FlowRecord extends AppEvidence {
  /** Unique within one analysis run; the store keeps it. */
  id: string;
  communityId: string;
  transport: 'tcp' | 'udp';
  ipVersion: 4 | 6;
  client: Endpoint;
  server: Endpoint;
  firstTs: number; // epoch seconds (float)
  lastTs: number;
  firstFrame: number;
  lastFrame: number;
  /** [from client, from server] */
  packets: [number, number];
  /** IP bytes per direction. */
  bytes: [number, number];
  /** TCP/UDP payload bytes per direction. */
  payloadBytes: [number, number];
  /** Bytes missing per direction (gaps). */
  missingBytes: [number, number];
  /** Zeek-style history (S h A D a d F f R r ...). */
  history: string;
  /** Zeek-style conn_state (S0, S1, SF, REJ, RSTO, RSTR, OTH, ...). */
  state: string;
  /** No SYN was seen: the client/server roles were inferred. */
  midstream: boolean;
  /** Why the flow ended: fin, rst, idle, evicted, eof (end of capture), active (live snapshot). */
  endReason: 'fin' | 'rst' | 'idle' | 'evicted' | 'eof' | 'active';
  tunnel: TunnelInfo | null;
  vlan: number;
  anomalies: Record<string, number>;
  /** Index of the capture (in the analysis run) the flow was seen in. */
  captureIndex: number;
  /**
   * The same TCP connection seen on both sides of a NAT (`tcpdump -i any` on a node records a pod's
   * connection to a Service address before kube-proxy's DNAT and to the endpoint after it): both
   * flows carry the same value. Null or absent: no such pair was seen.
   */
  natLink?: string | null;
  /**
   * Of the two flows sharing a `natLink`, the one whose SYN was captured second: the same connection
   * again, left out where connections are counted (the path summary). Absent: false.
   */
  natRepeat?: boolean;
}
