/**
 * `planewatch show`: one stored connection with everything known about it, as text — the same
 * document the dashboard's flow page shows (web/flow-detail.ts), section by section. Every string
 * from the wire goes through terminalSafe.
 */
import type { flowDetail } from '../web/flow-detail';
import { endpointText } from '../decode/address';
import { formatBytes, SEVERITY_MARK } from './text-report';
import { terminalSafe } from './terminal-text';
import { tunnelText } from './tunnel-text';
import { mediaType } from './zeek/zeek-log';

export type FlowDetailDoc = NonNullable<ReturnType<typeof flowDetail>>;

const t = (s: string | null | undefined, max = 300) => terminalSafe(s ?? '—', max);

function time(ts: number | null | undefined): string {
  if (ts === null || ts === undefined || !Number.isFinite(ts)) return '—';
  return new Date(ts * 1000).toISOString().replace('T', ' ').replace('Z', '');
}

function duration(s: number): string {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  return `${(s / 60).toFixed(1)} min`;
}

/**
 * A request's and its response's body sizes, with the response's media type (`body 0 B → 77 B
 * text/plain`); null when they were not stored (an older database) or both are empty and untyped.
 */
function bodies(h: FlowDetailDoc['http'][number]): string | null {
  if (h.requestBodyBytes === null || h.responseBodyBytes === null) return null;
  if (h.requestBodyBytes === 0 && h.responseBodyBytes === 0 && h.responseContentType === null) return null;
  const media = mediaType(h.responseContentType);
  const type = media !== undefined ? ` ${t(media, 80)}` : '';
  return `body ${formatBytes(h.requestBodyBytes)} → ${formatBytes(h.responseBodyBytes)}${type}`;
}

/** What a flow's `flowKey` is called by, with the names and roles of its two sides. */
function side(ip: string, port: number, role: string | null, name: string | null): string {
  const who = [role, name ? t(name, 120) : null].filter((x) => x !== null).join(' ');
  return `${endpointText(ip, port)}${who ? ` (${who})` : ''}`;
}

export function flowDetailText(d: FlowDetailDoc, flowKey: string): string {
  const f = d.flow;
  const out: string[] = [];
  const kv = (k: string, v: string) => out.push(`  ${k.padEnd(13)} ${v}`);
  out.push(`Flow ${t(flowKey)}: ${side(f.clientIp, f.clientPort, f.clientRole, f.clientName)} → ${side(f.serverIp, f.serverPort, f.serverRole, f.serverName)}`);
  kv('Capture', `${t(f.captureFile ?? `#${f.captureId}`, 500)}, frames ${f.firstFrame}–${f.lastFrame}${f.captureDecodeAs.length > 0 ? `, decoded with -d ${t(f.captureDecodeAs.join(' '))}` : ''}`);
  kv('Time', `${time(f.firstTs)} → ${time(f.lastTs)} (${duration(f.lastTs - f.firstTs)})`);
  kv('Transport', `${f.transport.toUpperCase()}/IPv${f.ipVersion}${f.vlan ? `, VLAN ${f.vlan}` : ''}${f.tunnel ? `, tunnel ${t(tunnelText(f.tunnel) ?? '', 300)}` : ''}, app ${f.app}`);
  kv('Packets', `${f.packetsClient} → / ← ${f.packetsServer}; bytes ${formatBytes(f.bytesClient)} → / ← ${formatBytes(f.bytesServer)}`);
  if (f.missingClient || f.missingServer) kv('Missing', `${formatBytes(f.missingClient)} from the client, ${formatBytes(f.missingServer)} from the server`);
  kv('State', `${f.state}, history ${t(f.history)}${f.midstream ? ', picked up midstream' : ''}, ended: ${f.endReason}`);
  kv('Community ID', f.communityId);
  const anomalies = Object.entries(f.anomalies);
  if (anomalies.length > 0) kv('Anomalies', anomalies.map(([k, v]) => `${k} ×${v}`).join(', '));
  for (const p of f.sameCommunityId) {
    kv('Also seen', `flow ${t(p.flowKey)} in ${t(p.captureFile ?? `#${p.captureId}`, 200)} from ${time(p.firstTs)} (${p.path}): the same Community ID`);
  }
  for (const p of f.natPeers) kv('Across NAT', `flow #${p.id} ${endpointText(p.clientIp, p.clientPort)} → ${endpointText(p.serverIp, p.serverPort)} (${p.path}): the same connection, addresses rewritten`);

  out.push('');
  const detail = Object.entries(f.pathDetail).map(([k, v]) => `${k}: ${t(v)}`).join(', ');
  out.push(`Path ${f.path}${detail ? ` (${detail})` : ''}, confidence ${f.confidence.toFixed(2)}`);
  for (const r of f.reasons) out.push(`  · ${t(r, 500)}`);

  const findingBlock = (title: string, items: FlowDetailDoc['findings']) => {
    if (items.length === 0) return;
    out.push('', `${title} (${items.length})`);
    for (const x of items) {
      out.push(`  ${SEVERITY_MARK[x.severity] ?? '?'} ${x.severity} ${x.rule}: ${x.title}${x.natRepeat ? ' (raised on the other view of this connection as well)' : ''}`);
      out.push(`      evidence: ${t(x.evidence, 1000)}${x.frame ? ` (frame ${x.frame})` : ''}`);
      if (x.acceptance) out.push(`      accepted: ${t(x.acceptance.reason, 500)}${x.acceptance.until ? ` (until ${x.acceptance.until})` : ''} — ${t(x.acceptance.source)}`);
      out.push(`      recommendation: ${x.recommendation}`);
      out.push(`      reference: ${x.reference}${x.cis ? ` · ${x.cis}` : ''}`);
    }
  };
  findingBlock('Findings', d.findings);
  findingBlock('Accepted as risks', d.acceptedFindings);

  if (d.tls) {
    const s = d.tls;
    out.push('', `TLS ${s.version ?? '?'}${s.clientVersion && s.clientVersion !== s.version ? ` (client offered ${s.clientVersion})` : ''}, cipher ${t(s.cipher)}`);
    kv('SNI', t(s.sni));
    kv('ALPN', `${s.alpn.length ? s.alpn.map((a) => t(a, 40)).join(', ') : '—'}${s.alpnSelected ? ` (selected ${t(s.alpnSelected, 40)})` : ''}`);
    kv('JA3 / JA3S', `${t(s.ja3)} / ${t(s.ja3s)}`);
    kv('JA4', t(s.ja4));
    kv('Client cert', `${s.clientCertRequested === null ? 'request unknown' : s.clientCertRequested ? 'requested' : 'not requested'}, ${s.clientCertSent ? 'sent' : 'not sent'}`);
    kv('Handshake', `${s.established ? 'established' : 'not established'}${s.resumed ? ', resumed' : ''}`);
    for (const a of s.alerts) kv('Alert', `${a.level} ${t(a.description)} from the ${a.from}${a.frame ? ` (frame ${a.frame})` : ''}`);
    out.push(`  Certificate verification: ${s.verification.verdict}`);
    for (const r of s.verification.reasons) out.push(`    · ${t(r, 500)}`);
    for (const [title, chain] of [['Server chain', s.serverChain], ['Client chain', s.clientChain]] as const) {
      if (chain.length === 0) continue;
      out.push(`  ${title}:`);
      for (const c of chain) {
        const cert = c.certificate;
        const flags = [cert.selfSigned ? 'self-signed' : null, cert.isCa ? 'CA' : null, c.validAtCapture === false ? 'not valid at capture time' : null].filter(Boolean).join(', ');
        out.push(`    #${c.position} ${t(cert.subject)}${flags ? ` [${flags}]` : ''}`);
        out.push(`       issuer ${t(cert.issuer)}; SAN ${cert.san.length ? cert.san.map((x) => t(x, 100)).join(', ') : '—'}`);
        out.push(`       valid ${cert.notBefore ?? '?'} → ${cert.notAfter ?? '?'}; ${cert.keyType ?? '?'}${cert.keyBits ? ` ${cert.keyBits}` : ''}, ${cert.signatureAlgorithm ?? '?'}; sha256 ${cert.sha256}`);
      }
    }
  }

  if (d.http.length > 0) {
    out.push('', `HTTP requests (${d.http.length}${d.http.length >= 500 ? ', the first 500' : ''})`);
    for (const h of d.http) {
      const status = h.status !== null ? `${h.status}${h.reason ? ` ${t(h.reason, 60)}` : ''}` : 'no response';
      const grpc = h.grpcStatus !== null && h.grpcStatus !== undefined ? `, gRPC status ${h.grpcStatus}${h.grpcMessage ? ` "${t(h.grpcMessage, 120)}"` : ''}` : '';
      out.push(`  #${h.seq} ${time(h.ts)} frame ${h.frame ?? '?'}: ${t(h.method)} ${t(h.path, 200)} → ${status}${grpc}`);
      const more = [
        h.host ? `host ${t(h.host, 100)}` : null,
        h.userAgent ? `UA ${t(h.userAgent, 120)}` : null,
        h.auth && h.auth !== 'none' ? `auth ${h.auth}${h.authHolder ? ` (${t(h.authHolder, 200)})` : ''}${h.authHash ? ` ${h.authHash}` : ''}` : null,
        h.impersonateUser ? `acting as ${t(h.impersonateUser, 100)}` : null,
        h.k8sOperation ? `${h.k8sApi}: ${h.k8sOperation}${h.k8sTarget ? ` ${t(h.k8sTarget, 60)}` : ''}${h.k8sNamespace ? ` ${t(h.k8sNamespace, 60)}/` : ''}${t(h.k8sName ?? '', 100)}` : null,
        h.xForwardedFor ? `X-Forwarded-For ${t(h.xForwardedFor, 100)}` : null,
        bodies(h),
      ].filter((x) => x !== null);
      if (more.length > 0) out.push(`      ${more.join('; ')}`);
    }
  }
  if (d.ssh) out.push('', `SSH ${t(d.ssh.clientBanner)} / ${t(d.ssh.serverBanner)}; HASSH ${t(d.ssh.hassh)} / ${t(d.ssh.hasshServer)}`);
  if (d.dns.length > 0) {
    out.push('', `DNS (${d.dns.length})`);
    for (const q of d.dns) {
      const answers = q.answers.map((a) => `${a.type} ${t(a.data, 100)}`).join(', ');
      out.push(`  ${time(q.ts)} ${q.qtype ?? '?'} ${t(q.query, 200)} → ${q.rcode ?? 'no response'}${answers ? `: ${answers}` : ''}${q.truncated ? ' (truncated)' : ''}`);
    }
  }
  out.push('');
  out.push(f.packets.available
    ? `Packets: planewatch extract ${t(flowKey)} -o FILE writes them; planewatch follow ${t(flowKey)} prints the conversation`
    : `Packets: not available (${t(f.packets.problem, 300)})`);
  return `${out.join('\n')}\n`;
}
