/**
 * JSON schemas of every API request and response. fastify validates requests against them and
 * serialises responses through them, so a field that is not declared here never leaves the server.
 * The OpenAPI document is generated from the same objects (openapi.ts).
 */
import { CONN_STATES } from '../flow/tcp-state';
import { PATH_IDS, SEVERITIES } from '../model/analysis';
import { FINDING_IDS } from '../analysis/finding-catalogue';
import { APP_PROTOCOLS } from '../model/records';
import { ROLE_GROUPS } from './roles';
import { DEFAULT_STREAM_BYTES, MAX_BODY_DATA, MAX_FRAME_DATA, MAX_STREAM_BYTES } from './flow-stream';
import { ZEEK_LOG_PATHS } from '../report/zeek/zeek-logs';


/** Largest page any list endpoint hands out. */
export const MAX_PAGE_LIMIT = 500;
/** Longest free-text search accepted. */
export const MAX_QUERY_LENGTH = 200;
/** Most values a multi-valued filter (path=a&path=b) may carry. */
export const MAX_FILTER_VALUES = 10;

type Schema = Record<string, unknown>;

const str: Schema = { type: 'string' };
const nstr: Schema = { type: ['string', 'null'] };
const int: Schema = { type: 'integer' };
const nint: Schema = { type: ['integer', 'null'] };
const num: Schema = { type: 'number' };
const nnum: Schema = { type: ['number', 'null'] };
const bool: Schema = { type: 'boolean' };
const nbool: Schema = { type: ['boolean', 'null'] };
const strList: Schema = { type: 'array', items: str };
const counts: Schema = { type: 'object', additionalProperties: int };
const stringMap: Schema = { type: 'object', additionalProperties: str };

export const severityEnum: Schema = { type: 'string', enum: [...SEVERITIES] };
const nseverity: Schema = { type: ['string', 'null'], enum: [...SEVERITIES, null] };

function obj(properties: Record<string, Schema>, description?: string): Schema {
  return { type: 'object', additionalProperties: false, required: Object.keys(properties), properties, ...(description ? { description } : {}) };
}

function list(item: Schema, extra: Record<string, Schema> = {}): Schema {
  return obj({ items: { type: 'array', items: item }, ...extra });
}

/** Filter values that may be given once or repeated; ajv's array coercion turns one into [one]. */
function multi(item: Schema, description: string): Schema {
  return { type: 'array', items: item, maxItems: MAX_FILTER_VALUES, description };
}

const ip: Schema = { type: 'string', maxLength: 64, pattern: '^[0-9A-Fa-f:.]+$' };
const limit: Schema = { type: 'integer', minimum: 1, maximum: MAX_PAGE_LIMIT, default: 100 };
const offset: Schema = { type: 'integer', minimum: 0, maximum: 10_000_000, default: 0 };
const search: Schema = { type: 'string', maxLength: MAX_QUERY_LENGTH, description: 'text search' };

// ---- requests ----

export const FLOW_SORTS = ['time', 'bytes', 'severity', 'server', 'client', 'path', 'id'] as const;
export type FlowSort = (typeof FLOW_SORTS)[number];

export const flowsQuery: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    path: multi({ type: 'string', enum: [...PATH_IDS] }, 'communication path id'),
    app: multi({ type: 'string', enum: [...APP_PROTOCOLS] }, 'application protocol'),
    state: multi({ type: 'string', enum: [...CONN_STATES] }, 'Zeek connection state (S0: an attempt with no answer seen, REJ: refused, SF: opened and closed, …)'),
    severity: multi(severityEnum, 'worst finding severity on the flow'),
    minSeverity: { ...severityEnum, description: 'flows whose worst finding is at least this severe' },
    rule: { type: 'string', enum: [...FINDING_IDS], description: 'flows with a finding of this rule' },
    credential: { type: 'string', maxLength: 300, description: "flows whose requests carry this credential: its subject (system:serviceaccount:<ns>:<name>) or hash (sha256:…)" },
    ip: { ...ip, description: 'client or server address' },
    client: { ...ip, description: 'client address' },
    server: { ...ip, description: 'server address' },
    clientGroup: { type: 'string', enum: [...ROLE_GROUPS], description: 'role group of the client endpoint (as on the map)' },
    serverGroup: { type: 'string', enum: [...ROLE_GROUPS], description: 'role group of the server endpoint (as on the map)' },
    port: { type: 'integer', minimum: 0, maximum: 65535, description: 'server port' },
    capture: { type: 'integer', minimum: 1, description: 'capture id' },
    q: { ...search, description: 'substring of SNI or an address, or a Community ID' },
    from: { type: 'number', description: 'first_ts >= from (epoch seconds)' },
    to: { type: 'number', description: 'first_ts < to (epoch seconds)' },
    sort: { type: 'string', enum: [...FLOW_SORTS], default: 'time' },
    order: { type: 'string', enum: ['asc', 'desc'], default: 'desc' },
    limit,
    cursor: { type: 'string', maxLength: 512, pattern: '^[A-Za-z0-9_-]*$', description: 'nextCursor of the previous page' },
  },
};

/** A file download (a capture). */
export const binaryResponse: Schema = { type: 'string', format: 'binary' };

/** GET /api/zeek/:log */
export const zeekLogParams: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['log'],
  properties: { log: { type: 'string', enum: [...ZEEK_LOG_PATHS] } },
};

export const zeekLogQuery: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    format: { type: 'string', enum: ['zeek', 'zeek-json'], default: 'zeek', description: "zeek: tab-separated with Zeek's header (zeek-cut); zeek-json: Zeek's JSON logs, one object a line" },
  },
};

/** GET /api/flows/:id/stream */
export const flowStreamQuery: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    layer: { type: 'string', enum: ['auto', 'tcp', 'tls'], default: 'auto', description: 'auto: decrypted TLS when the dashboard decrypts and has the keys, else the TCP payload' },
    maxBytes: { type: 'integer', minimum: 1, maximum: MAX_STREAM_BYTES, default: DEFAULT_STREAM_BYTES, description: 'bytes of conversation at most (truncated beyond)' },
    view: { type: 'string', enum: ['bytes', 'http', 'http2'], default: 'bytes', description: "bytes: what each side sent (chunks); http: its HTTP/1 messages, bodies de-chunked and decoded (http1); http2: its HTTP/2 frames, header blocks decoded (http2)" },
  },
};

export const flowStreamResponse = obj({
  layer: { type: 'string', enum: ['tcp', 'tls', 'udp'] },
  app: str,
  tlsVersion: nstr,
  decrypted: bool,
  decryption: { type: 'boolean', description: 'whether this dashboard decrypts TLS at all (serve --decrypt / --keylog)' },
  note: nstr,
  truncated: bool,
  clientBytes: int,
  serverBytes: int,
  error: nstr,
  chunks: {
    type: 'array',
    items: obj({
      kind: { type: 'string', enum: ['data', 'gap'] },
      side: { type: 'string', enum: ['client', 'server'] },
      frame: nint,
      ts: nnum,
      bytes: { ...int, description: 'bytes in data, or bytes missing for a gap' },
      data: { ...str, description: 'base64' },
    }),
  },
  http1: {
    type: ['object', 'null'],
    description: 'with view=http: the HTTP/1 messages (isHttp1 false when the client did not start with a request line)',
    additionalProperties: false,
    required: ['isHttp1', 'messages'],
    properties: {
      isHttp1: bool,
      messages: {
        type: 'array',
        items: obj({
          side: { type: 'string', enum: ['client', 'server'] },
          frame: int,
          ts: num,
          head: { ...strList, description: 'start line and header fields as sent' },
          body: { ...nstr, description: `the body de-chunked and decoded, base64, at most ${MAX_BODY_DATA} bytes` },
          bodyBytes: int,
          info: { ...str, description: 'how the body came, or what a notice says' },
          notice: { ...bool, description: 'a line about the stream (an upgrade, a gap) rather than a message' },
        }),
      },
    },
  },
  http2: {
    type: ['object', 'null'],
    description: 'with view=http2: the HTTP/2 frames (isHttp2 false when the client neither started with the connection preface nor upgraded to h2c)',
    additionalProperties: false,
    required: ['isHttp2', 'frames'],
    properties: {
      isHttp2: bool,
      frames: {
        type: 'array',
        items: obj({
          side: { type: 'string', enum: ['client', 'server'] },
          frame: int,
          ts: num,
          type: { ...str, description: "DATA, HEADERS, … ; 'preface'; 'upgrade': the HTTP/1.1 request asking for h2c or the 101 answering it; 'error' when decoding a side stopped; 'body': a content-encoded message decoded" },
          stream: int,
          flags: strList,
          headers: { type: ['array', 'null'], items: { type: 'array', items: str, minItems: 2, maxItems: 2 } },
          data: { ...nstr, description: `DATA payload, base64, at most ${MAX_FRAME_DATA} bytes; a decoded body (type 'body'), at most ${MAX_BODY_DATA}` },
          dataBytes: int,
          info: str,
        }),
      },
    },
  },
});

export const idParams: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
};

export const ipParams: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['ip'],
  properties: { ip },
};

export const shaParams: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['sha256'],
  properties: { sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
};

export const findingsQuery: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    rule: multi({ type: 'string', enum: [...FINDING_IDS] }, 'finding rule id'),
    severity: multi(severityEnum, 'severity'),
    path: multi({ type: 'string', enum: [...PATH_IDS] }, 'path of the flow the finding is on'),
    flow: { type: 'integer', minimum: 1, description: 'flow id' },
    ip: { ...ip, description: 'client or server address of the flow' },
    q: { ...search, description: 'substring of title or evidence' },
    accepted: { type: 'boolean', description: 'list the findings accepted as risks (analyze --accept) instead of the open ones' },
    limit,
    offset,
  },
};

export const ENDPOINT_SORTS = ['bytes', 'flows', 'ip', 'role', 'findings'] as const;
export const endpointsQuery: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    role: { type: 'string', maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' },
    q: { ...search, description: 'substring of address or name' },
    sort: { type: 'string', enum: [...ENDPOINT_SORTS], default: 'bytes' },
    limit,
    offset,
  },
};

export const credentialsQuery: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    q: { ...search, description: 'substring of the subject, namespace, service account, pod or hash' },
    cleartext: { type: 'boolean', description: 'only credentials that (never) crossed without TLS' },
    limit,
    offset,
  },
};

export const requestsQuery: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    operation: multi({ type: 'string', maxLength: 32, pattern: '^[a-z-]+$' }, 'Kubernetes operation (get, list, watch, create, update, patch, delete, exec, attach, logs, portforward, proxy …)'),
    api: { type: 'string', enum: ['apiserver', 'kubelet'], description: "whose API: the API server's or a kubelet's" },
    resource: { type: 'string', maxLength: 128, description: 'resource or subresource (pods, secrets, pods/exec …)' },
    namespace: { type: 'string', maxLength: 253 },
    status: { type: 'string', pattern: '^([1-5]xx|[1-5][0-9][0-9])$', description: 'an HTTP status (401) or a class of them (4xx)' },
    credential: { type: 'string', maxLength: 300, description: 'the credential\'s subject (system:serviceaccount:<ns>:<name>) or hash (sha256:…)' },
    ip: { ...ip, description: 'client or server address' },
    path: multi({ type: 'string', enum: [...PATH_IDS] }, 'communication path of the connection'),
    q: { ...search, description: 'substring of the request target, the user agent or the object name' },
    from: { type: 'number', description: 'ts >= from (epoch seconds)' },
    to: { type: 'number', description: 'ts < to (epoch seconds)' },
    limit,
    offset,
  },
};

export const certificatesQuery: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    q: { ...search, description: 'substring of subject, issuer or SAN' },
    selfSigned: { type: 'boolean' },
    ip: { ...ip, description: 'presented by or to this address' },
    limit,
    offset,
  },
};

export const timelineQuery: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: { buckets: { type: 'integer', minimum: 1, maximum: 500, default: 80 } },
};

// ---- responses ----

export const errorResponse: Schema = {
  type: 'object',
  properties: { statusCode: int, error: str, message: str, code: str },
};

export const captureItem = obj({
  id: int, file: str, sha256: nstr, format: nstr, compressed: bool, status: str, packets: int, bytes: int, flows: int,
  firstTs: nnum, lastTs: nnum, linkTypes: strList, anomalies: counts, error: nstr, startedAt: str, finishedAt: nstr,
  /** The --decode-as rules the capture was decoded with (empty: the standard tunnel ports). */
  decodeAs: strList,
});
export const capturesResponse = list(captureItem);

const pathSummaryItem = obj({
  path: str, title: str, section: str, reference: str, flows: int, bytes: int, findings: int,
  worstSeverity: nseverity, firstTs: nnum, lastTs: nnum,
});
export const pathsResponse = list(pathSummaryItem);

export const summaryResponse = obj({
  counts: obj({ captures: int, flows: int, findings: int, endpoints: int, certificates: int, httpRequests: int, tlsSessions: int, sshSessions: int }),
  timeRange: obj({ first: nnum, last: nnum }),
  findingsBySeverity: obj(Object.fromEntries(SEVERITIES.map((s) => [s, int]))),
  findingsByRule: { type: 'array', items: obj({ rule: str, severity: severityEnum, count: int, title: str }) },
  /** Findings on the second view of a connection seen across a NAT that its first view raised too. */
  natRepeatedFindings: int,
  /** Findings accepted as risks (analyze --accept), not counted in findingsBySeverity. */
  acceptedFindings: int,
  paths: { type: 'array', items: pathSummaryItem },
  captures: { type: 'array', items: obj({ id: int, file: str, status: str }) },
});

const flowItem = obj({
  id: int, captureId: int, communityId: str, transport: str,
  clientIp: str, clientPort: int, serverIp: str, serverPort: int, clientRole: nstr, serverRole: nstr,
  firstTs: num, lastTs: num, packets: int, bytes: int, state: str, app: str, tlsVersion: nstr, sni: nstr,
  path: str, confidence: num, worstSeverity: nseverity, findingCount: int,
});
export const flowsResponse = list(flowItem, {
  total: int,
  totalCapped: bool,
  nextCursor: nstr,
  sort: str,
  order: str,
});

const certificateItem = obj({
  sha256: str, sha1: str, subject: str, issuer: str, subjectCn: nstr, issuerCn: nstr, san: strList, serial: nstr,
  notBefore: nstr, notAfter: nstr, keyType: nstr, keyBits: nint, signatureAlgorithm: nstr, selfSigned: bool, isCa: bool,
});
const chainCertificate = obj({
  position: int, certificate: certificateItem,
  validAtCapture: nbool, issuedByNext: nbool,
});

const findingItem = obj({
  id: int, rule: str, severity: severityEnum, title: str, evidence: str, recommendation: str, reference: str, cis: nstr,
  ts: nnum, frame: nint, flowId: nint, path: nstr, clientIp: nstr, clientPort: nint, serverIp: nstr, serverPort: nint, app: nstr,
  // on the second view of a connection seen across a NAT, as on its first
  natRepeat: bool,
  // accepted as a risk (analyze --accept): why, until when, which entry; null for an open finding
  acceptance: { anyOf: [obj({ reason: str, until: nstr, source: str }), { type: 'null' }] },
});
export const findingsResponse = list(findingItem, { total: int, limit: int, offset: int });

const httpItem = obj({
  seq: int, ts: nnum, frame: nint, version: nstr, method: nstr, path: nstr, host: nstr, userAgent: nstr, auth: nstr,
  authHash: nstr, status: nint, reason: nstr, contentType: nstr, upgrade: nstr, streamProtocol: nstr,
  xForwardedFor: nstr, xForwardedUri: nstr, xForwardedHost: nstr, grpcMethod: nstr, grpcStatus: nint, grpcMessage: nstr,
  k8sApi: nstr, k8sOperation: nstr, k8sTarget: nstr, k8sNamespace: nstr, k8sName: nstr,
  // whose the credential claims to be (a service-account token's account and pod), and its expiry
  authSubject: nstr, authHolder: nstr, authExpires: nnum,
  // the user the request acts as (Impersonate-User, kubectl --as)
  impersonateUser: nstr,
  // body sizes as sent and the response's Content-Type (null: stored by a version that did not keep them)
  requestBodyBytes: nint, responseBodyBytes: nint, responseContentType: nstr,
});

const tlsAlert = obj({ level: str, description: str, from: str, frame: nint });
const tlsDetail = obj({
  version: nstr, clientVersion: nstr, sni: nstr, alpn: strList, alpnSelected: nstr, cipher: nstr, ja3: nstr, ja3s: nstr, ja4: nstr,
  clientCertRequested: nbool, clientCertSent: bool, established: bool, resumed: bool, alerts: { type: 'array', items: tlsAlert },
  serverChain: { type: 'array', items: chainCertificate },
  clientChain: { type: 'array', items: chainCertificate },
  verification: obj({
    verdict: { type: 'string', enum: ['verified', 'unverified', 'indeterminate', 'self-signed', 'not-evaluated', 'no-certificate'] },
    reasons: strList,
  }),
});

export const flowDetailResponse = obj({
  flow: obj({
    id: int, captureId: int, captureFile: nstr, captureDecodeAs: strList, flowKey: str, communityId: str, transport: str, ipVersion: int,
    clientIp: str, clientPort: int, serverIp: str, serverPort: int, clientRole: nstr, serverRole: nstr,
    clientName: nstr, serverName: nstr,
    firstTs: num, lastTs: num, firstFrame: int, lastFrame: int,
    packetsClient: int, packetsServer: int, bytesClient: int, bytesServer: int, payloadClient: int, payloadServer: int,
    missingClient: int, missingServer: int, history: str, state: str, midstream: bool, endReason: str, tunnel: nstr, tunnelText: nstr,
    vlan: int, anomalies: counts, app: str,
    path: str, pathDetail: stringMap, confidence: num, reasons: strList, worstSeverity: nseverity, findingCount: int,
    // the same connection seen on the other side of a NAT
    natPeers: { type: 'array', items: obj({ id: int, clientIp: str, clientPort: int, serverIp: str, serverPort: int, path: str }) },
    // the flows with the same Community ID: the connection in another capture, or its ports used again
    sameCommunityId: { type: 'array', items: obj({ id: int, flowKey: str, captureId: int, captureFile: nstr, firstTs: num, path: str }) },
    // whether the flow's packets can be read again from its capture (GET /api/flows/:id/packets)
    packets: obj({ available: bool, problem: nstr }),
  }),
  tls: { anyOf: [tlsDetail, { type: 'null' }] },
  http: { type: 'array', items: httpItem },
  ssh: { anyOf: [obj({ clientBanner: nstr, serverBanner: nstr, hassh: nstr, hasshServer: nstr }), { type: 'null' }] },
  // DNS questions and answers of a UDP flow on port 53
  dns: { type: 'array', items: obj({ ts: nnum, frame: nint, query: nstr, qtype: nstr, rcode: nstr, truncated: bool,
    answers: { type: 'array', items: obj({ name: str, type: str, data: str, ttl: int }) } }) },
  findings: { type: 'array', items: findingItem },
  acceptedFindings: { type: 'array', items: findingItem },
});

const endpointItem = obj({
  ip: str, primaryRole: str, roles: strList, name: nstr, reasons: strList, flows: int, bytes: int, firstTs: nnum, lastTs: nnum,
  flowsAsClient: int, flowsAsServer: int, findings: int, worstSeverity: nseverity,
});
export const endpointsResponse = list(endpointItem, { total: int, limit: int, offset: int });

export const endpointDetailResponse = obj({
  endpoint: endpointItem,
  certificates: { type: 'array', items: obj({ side: str, flows: int, certificate: certificateItem }) },
  peers: { type: 'array', items: obj({ ip: str, role: nstr, direction: str, path: str, port: int, flows: int, bytes: int, worstSeverity: nseverity }) },
  scannedFlows: int,
  scanCapped: bool,
});

const certificateListItem = obj({ certificate: certificateItem, flows: int, servers: strList });
export const certificatesResponse = list(certificateListItem, { total: int, limit: int, offset: int });
export const requestsResponse = list(obj({
  id: int, flowId: int, flowKey: str, seq: int, ts: nnum, frame: nint, version: nstr, method: nstr, target: nstr, host: nstr,
  userAgent: nstr, status: nint, reason: nstr, api: nstr, operation: nstr, resource: nstr, namespace: nstr, name: nstr,
  auth: nstr, authHash: nstr, authSubject: nstr, impersonateUser: nstr, grpcMethod: nstr, grpcStatus: nint,
  requestBodyBytes: nint, responseBodyBytes: nint, responseContentType: nstr,
  clientIp: str, clientRole: nstr, clientName: nstr, serverIp: str, serverPort: int, serverRole: nstr, serverName: nstr,
  flowPath: str, cleartext: bool,
}), { total: int, totalCapped: bool, limit: int, offset: int });
export const credentialsResponse = list(obj({
  authHash: str, scheme: str, subject: nstr, kind: nstr, holder: nstr, expires: nnum,
  requests: int, flows: int, clients: strList, servers: strList, cleartext: bool, firstTs: nnum, lastTs: nnum,
}), { total: int, limit: int, offset: int });
export const certificateDetailResponse = obj({
  certificate: certificateItem,
  flows: int,
  servers: strList,
  recentFlows: { type: 'array', items: obj({ id: int, side: str, clientIp: str, serverIp: str, serverPort: int, path: str, firstTs: num }) },
});

export const topologyResponse = obj({
  nodes: {
    type: 'array',
    items: obj({ id: str, kind: { type: 'string', enum: ['endpoint', 'group'] }, ip: nstr, group: str, role: str, label: str, members: int, flows: int, bytes: int }),
  },
  edges: {
    type: 'array',
    items: obj({
      id: str, source: str, target: str, path: str, clientGroup: str, clientIp: nstr, serverGroup: str, serverIp: nstr,
      flows: int, bytes: int, findings: int,
      worstSeverity: nseverity,
    }),
  },
  truncated: bool,
});

export const timelineResponse = obj({
  start: nnum,
  end: nnum,
  bucketSeconds: num,
  buckets: { type: 'array', items: obj({ t: num, flows: int, findings: int, worstSeverity: nseverity }) },
});

export const versionResponse = obj({
  dataVersion: int,
  maxFlowId: int,
  maxFindingId: int,
  findings: int,
  captures: { type: 'array', items: obj({ id: int, status: str, packets: int }) },
  live: bool,
});

export const openapiResponse: Schema = { type: 'object', additionalProperties: true };
