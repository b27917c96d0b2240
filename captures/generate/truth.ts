/** Truth files: what planewatch must report for each sample (format documented in captures/README.md). */
import type { PathId } from '../../src/model/analysis.js';
import type { FindingId } from './ids.js';

export interface TruthTls {
  version: '1.0' | '1.1' | '1.2' | '1.3';
  sni: string | null;
  /** ALPN protocols offered in the ClientHello. */
  alpn: string[];
  /** Leaf subject as visible without keys (null under TLS 1.3, where the certificate is encrypted). */
  serverSubject: string | null;
  /** The leaf the server really sent, for humans and for analyses with a key log. */
  actualServerSubject: string;
  clientSubject: string | null;
  /** Under TLS 1.3 the client certificate sent, visible with the key log (absent when none was). */
  actualClientSubject?: string;
  clientCertRequested: boolean;
  /** Fatal alert, e.g. "unknown_ca", when the handshake failed. */
  alert: string | null;
}

export interface TruthHttp {
  method: string;
  path: string;
  host: string | null;
  status: number | null;
}

export interface TruthConnection {
  client: string;
  server: string;
  transport: 'tcp' | 'udp';
  app: 'tls' | 'http' | 'http2' | 'ssh' | 'dns' | 'unknown';
  path: PathId;
  pathDetail: Record<string, string>;
  findings: FindingId[];
  tls: TruthTls | null;
  /** Requests visible without decryption. */
  http: TruthHttp[];
  ssh: { clientBanner: string; serverBanner: string } | null;
  /** For encrypted kubelet flows: the operation really performed (visible only with the key log). */
  actualOperation?: string;
  /** Requests really sent inside TLS or SSH (visible only with keys). */
  actualHttp?: TruthHttp[];
  /** Findings once the requests inside TLS are readable, where they differ from `findings`. */
  actualFindings?: FindingId[];
  note?: string;
}

export interface TruthFile {
  capture: string;
  scenario: string;
  /** True when the expectations assume the key log is used (the DSB sample). */
  requiresDecryption?: boolean;
  connections: TruthConnection[];
}
