/**
 * `planewatch certificates <sha256>`: one certificate as the dashboard's certificate page shows it —
 * its fields, where it was presented, and the newest connections that carried it. Every string from
 * the wire goes through terminalSafe.
 */
import type { certificateDetail } from '../web/catalog-queries';
import { endpointText } from '../decode/address';
import { secondsText } from './endpoint-text';
import { terminalSafe } from './terminal-text';

export type CertificateDetailDoc = NonNullable<ReturnType<typeof certificateDetail>>;

const t = (s: string | null | undefined, max = 300) => terminalSafe(s ?? '—', max);

/** `flowKeys`: the flow id (`c1f8`) of each stored flow id the document lists. */
export function certificateDetailText(d: CertificateDetailDoc, flowKeys: Map<number, string>): string {
  const c = d.certificate;
  const out: string[] = [];
  const kv = (k: string, v: string) => out.push(`  ${k.padEnd(13)} ${v}`);
  out.push(`Certificate ${t(c.subject, 500)}`);
  kv('Issuer', `${t(c.issuer, 500)}${c.selfSigned ? ' (self-signed)' : ''}`);
  if (c.san.length > 0) kv('SAN', t(c.san.join(', '), 1000));
  kv('Valid', `${t(c.notBefore)} → ${t(c.notAfter)}`);
  kv('Key', `${t(c.keyType)}${c.keyBits ? ` ${c.keyBits} bits` : ''}, signed with ${t(c.signatureAlgorithm)}${c.isCa ? ', a CA' : ''}`);
  kv('Serial', t(c.serial));
  kv('SHA-256', c.sha256);
  kv('SHA-1', t(c.sha1));
  const floor = d.flows >= 10_000 ? ' or more' : '';
  kv('Seen', `in ${d.flows}${floor} flow${d.flows === 1 ? '' : 's'}, sent by ${d.servers.length === 0 ? '—' : d.servers.map((s) => t(s)).join(', ')}`);
  if (d.recentFlows.length > 0) {
    out.push('', 'Newest flows that carried it');
    for (const f of d.recentFlows) {
      const who = f.side === 'server' ? 'presented by the server' : 'sent by the client';
      const key = flowKeys.get(f.id) ?? `#${f.id}`;
      out.push(`  ${key.padEnd(10)} ${secondsText(f.firstTs)}  ${t(f.clientIp)} → ${endpointText(f.serverIp, f.serverPort)}  ${f.path}, ${who}`);
    }
  }
  return out.join('\n') + '\n';
}
