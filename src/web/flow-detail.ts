/**
 * One connection with everything known about it: tuple and timing, classification, TLS with the
 * certificate chains and a verification verdict, HTTP requests, SSH, findings.
 */
import { flowPacketsProblem, locateCapture } from '../export/capture-location';
import { storedIdentity } from '../analysis/client-identity';
import { parseJson, type StatementCache } from './statements';
import { ACCEPTED_FINDING_SELECT, CERT_COLUMNS, certificateFromRow, findingItemFromRow, FINDING_SELECT, type CertificateItem, type FindingItem, type FindingRow, type CertificateRow } from './row-mappers';
import { tunnelText } from '../report/tunnel-text';
import { decodeAsRules } from '../decode/decode-as';

type Verdict = 'verified' | 'unverified' | 'indeterminate' | 'self-signed' | 'not-evaluated' | 'no-certificate';
const VERDICTS: readonly string[] = ['verified', 'unverified', 'indeterminate', 'self-signed', 'not-evaluated', 'no-certificate'];

/** Rules whose presence says the peer's certificate was not (or could not be) checked. */
const UNVERIFIED_RULES = new Set(['kubelet-tls-unverified', 'proxy-tls-unverified']);

function isoToEpoch(s: string | null): number | null {
  if (!s) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t / 1000;
}

function chain(certs: { position: number; cert: CertificateItem }[], at: number) {
  return certs.map(({ position, cert }, i) => {
    const nb = isoToEpoch(cert.notBefore);
    const na = isoToEpoch(cert.notAfter);
    const next = certs[i + 1];
    return {
      position,
      certificate: cert,
      validAtCapture: nb === null || na === null ? null : at >= nb && at <= na,
      issuedByNext: next ? cert.issuer === next.cert.subject : null,
    };
  });
}

/**
 * The verdict is read from what analysis concluded (findings, the stored verification field), with
 * the chain's own facts as reasons; it never claims more than the evidence: TLS 1.3 without a key
 * log hides the certificate, and that is "indeterminate", not "verified".
 */
function verdictFor(
  path: string,
  version: string | null,
  stored: string | null,
  server: ReturnType<typeof chain>,
  findings: FindingItem[],
): { verdict: Verdict; reasons: string[] } {
  const reasons: string[] = [];
  for (const f of findings) if (UNVERIFIED_RULES.has(f.rule)) return { verdict: 'unverified', reasons: [f.title, f.evidence] };
  for (const f of findings) if (f.rule === 'kubelet-tls-indeterminate') return { verdict: 'indeterminate', reasons: [f.title, f.evidence] };
  if (stored && VERDICTS.includes(stored)) return { verdict: stored as Verdict, reasons: ['verification recorded at analysis'] };
  if (stored) reasons.push(`analysis recorded: ${stored}`);
  if (server.length === 0) {
    if (version === '1.3') return { verdict: 'indeterminate', reasons: [...reasons, 'TLS 1.3 encrypts the certificate; no key log was supplied'] };
    return { verdict: 'no-certificate', reasons: [...reasons, 'no server certificate was seen'] };
  }
  const leaf = server[0]!;
  if (leaf.validAtCapture === false) reasons.push('leaf certificate was not valid at capture time');
  for (const c of server) if (c.issuedByNext === false) reasons.push(`position ${c.position}: issuer does not match the next certificate's subject`);
  if (leaf.certificate.selfSigned) return { verdict: 'self-signed', reasons: [...reasons, 'the server certificate is self-signed'] };
  if (path === 'apiserver-to-kubelet') {
    return { verdict: 'verified', reasons: [...reasons, 'the kubelet TLS rule raised no finding for this chain'] };
  }
  return { verdict: 'not-evaluated', reasons: [...reasons, 'no rule evaluates trust on this path; chain facts shown'] };
}

interface FlowDetailRow {
  id: number; capture_id: number; file: string | null; packets_file: string | null; decode_as: string | null; flow_key: string; community_id: string; transport: string;
  ip_version: number; client_ip: string; client_port: number; server_ip: string; server_port: number; first_ts: number;
  last_ts: number; first_frame: number; last_frame: number; packets_client: number; packets_server: number;
  bytes_client: number; bytes_server: number; payload_client: number; payload_server: number; missing_client: number;
  missing_server: number; history: string; state: string; midstream: number; end_reason: string; tunnel: string | null;
  vlan: number; anomalies: string; app: string; path: string; path_detail: string; confidence: number; reasons: string;
  worst_severity: string | null; finding_count: number; nat_link: string | null;
  c_role: string | null; c_name: string | null; s_role: string | null; s_name: string | null;
}

interface TlsRow {
  version: string | null; client_version: string | null; sni: string | null; alpn: string; alpn_selected: string | null;
  cipher: string | null; ja3: string | null; ja3s: string | null; ja4: string | null; client_cert_requested: number | null;
  client_cert_sent: number; established: number; resumed: number; alerts: string; verification: string | null;
}

interface HttpRow {
  seq: number; ts: number | null; frame: number | null; version: string | null; method: string | null; path: string | null;
  host: string | null; user_agent: string | null; auth: string | null; auth_hash: string | null; status: number | null;
  reason: string | null; content_type: string | null; upgrade: string | null; stream_protocol: string | null;
  x_forwarded_for: string | null; x_forwarded_uri: string | null; x_forwarded_host: string | null; grpc_method: string | null;
  grpc_status: number | null; grpc_message: string | null;
  k8s_api: string | null; k8s_operation: string | null; k8s_target: string | null; k8s_namespace: string | null; k8s_name: string | null;
  auth_subject: string | null; auth_identity: string | null; impersonate_user: string | null;
  request_body_bytes: number | null; response_body_bytes: number | null; response_content_type: string | null;
}

/** HTTP requests listed per flow; a long-lived watch connection can carry many thousands. */
export const MAX_DETAIL_HTTP = 500;

/** `dbFile`: the database, beside which a capture moved along with it is looked for. */
export function flowDetail(stmts: StatementCache, id: number, dbFile: string) {
  const r = stmts.one<FlowDetailRow>(
    `SELECT fl.*, c.file, c.packets_file, c.decode_as, ce.primary_role AS c_role, ce.name AS c_name, se.primary_role AS s_role, se.name AS s_name
       FROM flows fl LEFT JOIN captures c ON c.id = fl.capture_id
       LEFT JOIN endpoints ce ON ce.ip = fl.client_ip LEFT JOIN endpoints se ON se.ip = fl.server_ip
      WHERE fl.id = ?`,
    [id],
  );
  if (!r) return null;
  const findings = stmts.all<FindingRow>(`${FINDING_SELECT} WHERE f.flow_id = ? ORDER BY f.severity_rank DESC, f.id`, [id]).map(findingItemFromRow);
  const acceptedFindings = stmts
    .all<FindingRow>(`${ACCEPTED_FINDING_SELECT} WHERE f.flow_id = ? ORDER BY f.severity_rank DESC, f.id`, [id])
    .map(findingItemFromRow);
  const certs = stmts.all<CertificateRow & { side: string; position: number }>(
    `SELECT fc.side, fc.position, ${CERT_COLUMNS} FROM flow_certificates fc JOIN certificates c ON c.sha256 = fc.sha256
      WHERE fc.flow_id = ? ORDER BY fc.side, fc.position`,
    [id],
  );
  const side = (s: string) => certs.filter((c) => c.side === s).map((c) => ({ position: c.position, cert: certificateFromRow(c) }));
  const t = stmts.one<TlsRow>('SELECT * FROM tls_sessions WHERE flow_id = ?', [id]);
  let tls = null;
  if (t) {
    const serverChain = chain(side('server'), r.first_ts);
    const alerts = parseJson<{ level?: string; description?: string; from?: string; frame?: number }[]>(t.alerts, []);
    tls = {
      version: t.version, clientVersion: t.client_version, sni: t.sni, alpn: parseJson<string[]>(t.alpn, []),
      alpnSelected: t.alpn_selected, cipher: t.cipher, ja3: t.ja3, ja3s: t.ja3s, ja4: t.ja4,
      clientCertRequested: t.client_cert_requested === null ? null : t.client_cert_requested === 1,
      clientCertSent: t.client_cert_sent === 1, established: t.established === 1, resumed: t.resumed === 1,
      alerts: alerts.map((a) => ({ level: String(a.level ?? 'unknown'), description: String(a.description ?? ''), from: String(a.from ?? ''), frame: typeof a.frame === 'number' ? a.frame : null })),
      serverChain,
      clientChain: chain(side('client'), r.first_ts),
      // A finding accepted as a risk still tells how the chain stands (accepting it verifies nothing).
      verification: verdictFor(r.path, t.version, t.verification, serverChain, [...findings, ...acceptedFindings]),
    };
  }
  const http = stmts.all<HttpRow>('SELECT * FROM http_requests WHERE flow_id = ? ORDER BY seq LIMIT ?', [id, MAX_DETAIL_HTTP]).map((h) => ({
    seq: h.seq, ts: h.ts, frame: h.frame, version: h.version, method: h.method, path: h.path, host: h.host,
    userAgent: h.user_agent, auth: h.auth, authHash: h.auth_hash, status: h.status, reason: h.reason,
    contentType: h.content_type, upgrade: h.upgrade, streamProtocol: h.stream_protocol, xForwardedFor: h.x_forwarded_for,
    xForwardedUri: h.x_forwarded_uri, xForwardedHost: h.x_forwarded_host, grpcMethod: h.grpc_method,
    grpcStatus: h.grpc_status, grpcMessage: h.grpc_message, k8sApi: h.k8s_api,
    k8sOperation: h.k8s_operation, k8sTarget: h.k8s_target, k8sNamespace: h.k8s_namespace, k8sName: h.k8s_name,
    ...credentialFields(h.auth_subject, h.auth_identity), impersonateUser: h.impersonate_user,
    requestBodyBytes: h.request_body_bytes, responseBodyBytes: h.response_body_bytes, responseContentType: h.response_content_type,
  }));
  // The same connection on the other side of a NAT (before or after kube-proxy's DNAT, or an SNAT).
  const natPeers = r.nat_link === null
    ? []
    : stmts.all<{ id: number; client_ip: string; client_port: number; server_ip: string; server_port: number; path: string }>(
        `SELECT id, client_ip, client_port, server_ip, server_port, path FROM flows WHERE nat_link = ? AND id != ? ORDER BY id LIMIT 10`,
        [r.nat_link, id],
      ).map((p) => ({ id: p.id, clientIp: p.client_ip, clientPort: p.client_port, serverIp: p.server_ip, serverPort: p.server_port, path: p.path }));
  // The same connection (addresses, ports, protocol) in another capture — recorded at both ends, say —
  // or its ports used again: the flows with its Community ID.
  const sameCommunityId = stmts.all<{ id: number; flow_key: string; capture_id: number; file: string | null; first_ts: number; path: string }>(
    `SELECT f.id, f.flow_key, f.capture_id, c.file, f.first_ts, f.path FROM flows f JOIN captures c ON c.id = f.capture_id
      WHERE f.community_id = ? AND f.id != ? ORDER BY f.first_ts, f.id LIMIT 10`,
    [r.community_id, id],
  ).map((p) => ({ id: p.id, flowKey: p.flow_key, captureId: p.capture_id, captureFile: p.file, firstTs: p.first_ts, path: p.path }));
  const s = stmts.one<{ client_banner: string | null; server_banner: string | null; hassh: string | null; hassh_server: string | null }>(
    'SELECT * FROM ssh_sessions WHERE flow_id = ?',
    [id],
  );
  const dns = stmts.all<{ ts: number | null; frame: number | null; query: string | null; qtype: string | null; rcode: string | null; answers: string; truncated: number }>(
    'SELECT ts, frame, query, qtype, rcode, answers, truncated FROM dns_queries WHERE flow_id = ? ORDER BY seq LIMIT ?',
    [id, MAX_DETAIL_HTTP],
  ).map((d) => ({
    ts: d.ts, frame: d.frame, query: d.query, qtype: d.qtype, rcode: d.rcode, truncated: d.truncated === 1,
    answers: parseJson<{ name: string; type: string; data: string; ttl: number }[]>(d.answers, []),
  }));
  return {
    flow: {
      id: r.id, captureId: r.capture_id, captureFile: r.file, captureDecodeAs: decodeAsRules(r.decode_as), flowKey: r.flow_key, communityId: r.community_id,
      transport: r.transport, ipVersion: r.ip_version, clientIp: r.client_ip, clientPort: r.client_port, serverIp: r.server_ip,
      serverPort: r.server_port, clientRole: r.c_role, serverRole: r.s_role, clientName: r.c_name, serverName: r.s_name,
      firstTs: r.first_ts, lastTs: r.last_ts, firstFrame: r.first_frame, lastFrame: r.last_frame,
      packetsClient: r.packets_client, packetsServer: r.packets_server, bytesClient: r.bytes_client, bytesServer: r.bytes_server,
      payloadClient: r.payload_client, payloadServer: r.payload_server, missingClient: r.missing_client,
      missingServer: r.missing_server, history: r.history, state: r.state, midstream: r.midstream === 1,
      endReason: r.end_reason, tunnel: r.tunnel, tunnelText: tunnelText(r.tunnel), vlan: r.vlan, anomalies: parseJson<Record<string, number>>(r.anomalies, {}),
      app: r.app, path: r.path, pathDetail: parseJson<Record<string, string>>(r.path_detail, {}), confidence: r.confidence,
      reasons: parseJson<string[]>(r.reasons, []), worstSeverity: r.worst_severity, findingCount: r.finding_count,
      natPeers,
      sameCommunityId,
      // Whether GET /api/flows/:id/packets can read the capture again, and if not, why.
      packets: packetsAvailability(r.packets_file ?? r.file, r.first_frame, dbFile),
    },
    tls,
    http,
    ssh: s ? { clientBanner: s.client_banner, serverBanner: s.server_banner, hassh: s.hassh, hasshServer: s.hassh_server } : null,
    dns,
    findings,
    acceptedFindings,
  };
}

function packetsAvailability(file: string | null, firstFrame: number, dbFile: string): { available: boolean; problem: string | null } {
  if (file === null) return { available: false, problem: 'the capture is not recorded' };
  const problem = flowPacketsProblem(locateCapture(file, dbFile), firstFrame);
  return problem === null ? { available: true, problem: null } : { available: false, problem };
}

/** Whose a request's credential claims to be: the subject, a line describing it, and its expiry. */
function credentialFields(subject: string | null, identity: string | null) {
  const { holder, expires } = storedIdentity(identity);
  return { authSubject: subject, authHolder: holder, authExpires: expires };
}
