/**
 * What dissectors record about a connection: the evidence classification, findings, the store and
 * every view rest on. Field names follow the `--json` contract (DESIGN.md §3.3).
 */

/** Application protocols a connection is dissected as. */
export const APP_PROTOCOLS = ['tls', 'http', 'http2', 'ssh', 'dns', 'unknown'] as const;
export type AppProtocol = (typeof APP_PROTOCOLS)[number];
export type TlsVersionName = 'ssl3' | '1.0' | '1.1' | '1.2' | '1.3';

export interface CertificateInfo {
  subject: string; // RFC 4514
  issuer: string; // RFC 4514
  subjectCN: string | null;
  subjectO: string[];
  issuerCN: string | null;
  issuerO: string[];
  san: string[]; // "DNS:…" is not used: plain names and addresses
  sanDns: string[];
  sanIp: string[];
  serial: string; // hex
  notBefore: string; // ISO 8601
  notAfter: string; // ISO 8601
  keyType: 'rsa' | 'ec' | 'ed25519' | 'ed448' | 'dsa' | 'unknown';
  keyBits: number;
  curve: string | null;
  signatureAlgorithm: string;
  sha256: string; // hex, lower case
  sha1: string;
  isCA: boolean;
  keyUsage: string[];
  extKeyUsage: string[];
  selfSigned: boolean;
  /** DER, base64; kept so the store can hand certificates to users. */
  der: string;
}

export interface TlsAlert {
  level: 'warning' | 'fatal' | 'unknown';
  description: string; // e.g. "unknown_ca"
  code: number;
  from: 'client' | 'server';
  /** true when the alert was sent before encryption started (readable), false if inferred. */
  plaintext: boolean;
  frame: number;
  ts: number;
}

export interface TlsInfo {
  /** Negotiated version (from ServerHello / supported_versions), else the ClientHello's best. */
  version: TlsVersionName | null;
  clientVersion: TlsVersionName | null;
  sni: string | null;
  alpn: string[]; // offered by the client
  alpnSelected: string | null;
  cipher: string | null; // IANA name, e.g. TLS_AES_128_GCM_SHA256
  cipherId: number | null;
  clientCiphers: number[];
  clientExtensions: number[];
  serverExtensions: number[];
  supportedGroups: number[];
  signatureAlgorithms: number[];
  supportedVersions: number[];
  ecPointFormats: number[];
  sessionTicket: boolean;
  psk: boolean;
  ech: boolean;
  helloRetryRequest: boolean;
  resumed: boolean;
  ja3: string | null; // md5 hex
  ja3Full: string | null; // the JA3 string before hashing
  ja3s: string | null;
  ja3sFull: string | null;
  ja4: string | null;
  serverCertificates: CertificateInfo[];
  clientCertificates: CertificateInfo[];
  /** Server sent CertificateRequest (visible up to TLS 1.2). null = could not see (TLS 1.3). */
  clientCertRequested: boolean | null;
  alerts: TlsAlert[];
  /** Handshake reached the point where both sides send encrypted application data. */
  established: boolean;
  /** Frame number where encryption started, per direction. */
  encryptedFromFrame: [number, number];
  appDataRecords: [number, number];
  appDataBytes: [number, number];
  /** Frame of the ClientHello, for evidence. */
  clientHelloFrame: number;
  serverHelloFrame: number;
  certificateFrame: number;
  /**
   * Records of this connection were decrypted with a key log: TLS 1.3 certificates and
   * CertificateRequest, and the requests inside (the flow's `http`), are then known. Optional only so
   * that records built elsewhere stay valid; the TLS dissector always sets it.
   */
  decrypted?: boolean;
}

export type HttpAuth = 'none' | 'bearer' | 'basic' | 'other';

/** The identity a credential claims (dissectors/http/credential-identity.ts); its signature is not checked. */
export interface CredentialIdentity {
  /**
   * serviceaccount: a bound service-account token (TokenRequest, with "kubernetes.io" claims);
   * serviceaccount-legacy: a Secret-based service-account token (no expiry); bootstrap: a bootstrap
   * token; basic: basic credentials; jwt: any other JWT (an OIDC identity provider's); aws-iam: an
   * EKS token (a presigned STS request: subject "aws:<access key id>", issuer the STS host, audiences
   * the region); gcp-oauth: a Google OAuth 2.0 access token (opaque: no subject); etcd: etcd's own
   * authentication (subject "etcd:<user>": an Authenticate call's user, or a JWT token's; a simple
   * token names no one).
   */
  kind: 'serviceaccount' | 'serviceaccount-legacy' | 'bootstrap' | 'basic' | 'jwt' | 'aws-iam' | 'gcp-oauth' | 'etcd';
  /** "system:serviceaccount:<ns>:<name>", "system:bootstrap:<id>", a JWT's "sub", a basic user name. */
  subject: string | null;
  issuer: string | null;
  namespace: string | null;
  serviceAccount: string | null;
  /** The pod a bound token was issued for, and its node (Kubernetes 1.30 and later add the node). */
  pod: string | null;
  /** The pod's uid: a token names the one pod it was issued for, not a later pod of the same name. */
  podUid: string | null;
  node: string | null;
  /** The Secret a legacy token (or a token bound to a Secret) came from. */
  secret: string | null;
  audiences: string[];
  /** NumericDate claims, seconds since the epoch. */
  issuedAt: number | null;
  notBefore: number | null;
  expires: number | null;
}

export interface HttpRequestRecord {
  method: string;
  path: string; // request target as sent (bounded)
  version: string; // "1.1", "1.0", "2"
  host: string | null;
  userAgent: string | null;
  auth: HttpAuth;
  /** "sha256:" + first 16 hex chars of the credential's SHA-256; the credential itself is never kept. */
  authHash: string | null;
  /**
   * Whose the credential claims to be (a service-account token's claims, a bootstrap token's id, a
   * basic credential's user), read before the credential is dropped; null when it names no one.
   * Absent from evidence stored before schema 13.
   */
  authIdentity?: CredentialIdentity | null;
  contentType: string | null;
  requestBodyBytes: number;
  status: number | null;
  reason: string | null;
  responseContentType: string | null;
  responseBodyBytes: number;
  upgrade: string | null; // "SPDY/3.1", "websocket", "h2c"
  streamProtocol: string | null; // X-Stream-Protocol-Version
  xForwardedFor: string | null;
  xForwardedUri: string | null;
  xForwardedHost: string | null;
  xForwardedProto: string | null;
  /**
   * The user the request acts as (`Impersonate-User`, what `kubectl --as` sends): the API server
   * authorises it as that user once the credential's holder may impersonate. Optional only so that
   * evidence stored before schema 13 stays valid.
   */
  impersonateUser?: string | null;
  /** gRPC service/method for HTTP/2 requests with content-type application/grpc. */
  grpcMethod: string | null;
  /**
   * The call's gRPC status (`grpc-status` in the response's trailers, or a trailers-only response:
   * 0 OK, 7 PERMISSION_DENIED, 16 UNAUTHENTICATED, …) and its message (percent-decoded), or null.
   * Optional only so that evidence stored before schema 16 stays valid.
   */
  grpcStatus?: number | null;
  grpcMessage?: string | null;
  streamId: number | null;
  frame: number;
  ts: number;
  /** Kubernetes meaning of the path (dissectors/http/k8s-path.ts). */
  k8s: K8sPathInfo | null;
}

export interface K8sPathInfo {
  /** 'apiserver' paths (/api, /apis, ...) or 'kubelet' paths (/containerLogs, /exec, ...). */
  api: 'apiserver' | 'kubelet';
  /** logs, exec, attach, portforward, run, proxy, watch, list, get, create, update, patch, delete, metrics, stats, healthz, configz, pprof, pods, other */
  operation: string;
  /** For proxy: node, pod, service. For others: the resource kind (pods, nodes, ...). */
  target: string | null;
  namespace: string | null;
  name: string | null;
  /** For proxy paths with a scheme prefix (https:name:port). */
  scheme: 'http' | 'https' | null;
}

export interface SshInfo {
  clientBanner: string | null;
  serverBanner: string | null;
  clientProtocol: string | null; // "2.0", "1.99", "1.5"
  serverProtocol: string | null;
  hassh: string | null;
  hasshAlgorithms: string | null;
  hasshServer: string | null;
  hasshServerAlgorithms: string | null;
  clientKex: SshKexLists | null;
  serverKex: SshKexLists | null;
  /** Frame where NEWKEYS (encryption) started per direction, 0 if not seen. */
  encryptedFromFrame: [number, number];
  bytes: [number, number];
}

export interface SshKexLists {
  kex: string[];
  hostKey: string[];
  encCS: string[];
  encSC: string[];
  macCS: string[];
  macSC: string[];
  compCS: string[];
  compSC: string[];
}

/** The file name stored for a capture read from standard input (`analyze -`). */
export const STDIN_CAPTURE = '(stdin)';
