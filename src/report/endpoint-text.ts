/**
 * `planewatch endpoints <ip>`: one endpoint as the dashboard's endpoint page shows it — its roles and
 * the evidence for them, the certificates it presented or sent, and whom it talked to on which path.
 * Every string from the wire goes through terminalSafe.
 */
import type { endpointDetail } from '../web/catalog-queries';
import { formatBytes, SEVERITY_MARK } from './text-report';
import { terminalSafe } from './terminal-text';

export type EndpointDetailDoc = NonNullable<ReturnType<typeof endpointDetail>>;

const t = (s: string | null | undefined, max = 300) => terminalSafe(s ?? '—', max);

/** UTC time of capture seconds, to the second ('—' when unknown). */
export function secondsText(ts: number | null | undefined): string {
  if (ts === null || ts === undefined || !Number.isFinite(ts)) return '—';
  return new Date(ts * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

export function endpointDetailText(d: EndpointDetailDoc): string {
  const e = d.endpoint;
  const out: string[] = [];
  const kv = (k: string, v: string) => out.push(`  ${k.padEnd(13)} ${v}`);
  out.push(`Endpoint ${t(e.ip)}: ${e.primaryRole}${e.name ? ` ${t(e.name, 120)}` : ''}`);
  if (e.roles.length > 1) kv('Roles', e.roles.join(', '));
  kv('Flows', `${e.flows} (${e.flowsAsClient} as client, ${e.flowsAsServer} as server), ${formatBytes(e.bytes)}`);
  kv('Seen', `${secondsText(e.firstTs)} → ${secondsText(e.lastTs)}`);
  kv('Findings', e.findings === 0 ? 'none' : `${e.findings} on its flows, worst ${e.worstSeverity}`);
  if (e.reasons.length > 0) {
    out.push('', 'Why this role');
    for (const r of e.reasons) out.push(`  · ${t(r, 500)}`);
  }
  if (d.certificates.length > 0) {
    out.push('', 'Certificates');
    for (const c of d.certificates) {
      const x = c.certificate;
      const what = c.side === 'presented' ? 'presented as a server' : 'sent as a client';
      out.push(`  ${what} on ${c.flows} flow${c.flows === 1 ? '' : 's'}: ${t(x.subject)}`);
      out.push(`      issuer ${t(x.issuer)}${x.selfSigned ? ' (self-signed)' : ''}`);
      if (x.san.length > 0) out.push(`      SAN ${t(x.san.join(', '), 500)}`);
      out.push(`      valid ${t(x.notBefore)} → ${t(x.notAfter)}, ${t(x.keyType)}${x.keyBits ? ` ${x.keyBits}` : ''}, sha256 ${x.sha256}`);
    }
  }
  if (d.peers.length > 0) {
    out.push('', 'Peers');
    for (const p of d.peers) {
      const arrow = p.direction === 'outbound' ? '→' : '←';
      const mark = p.worstSeverity ? ` ${SEVERITY_MARK[p.worstSeverity] ?? ''} ${p.worstSeverity}` : '';
      out.push(`  ${arrow} ${t(p.ip)}${p.role ? ` (${p.role})` : ''} port ${p.port}, ${p.path}: ${p.flows} flow${p.flows === 1 ? '' : 's'}, ${formatBytes(p.bytes)}${mark}`);
    }
  }
  if (d.scanCapped) out.push('', `(the newest ${d.scannedFlows} of its flows were read for peers and certificates)`);
  return out.join('\n') + '\n';
}
