import { Box, Text } from 'ink';
import type { FlowDetail } from './tui-data';
import { clean, formatBytes, formatTime } from './format';
import { SEVERITY_STYLE, tint, useTheme } from './theme';

export interface FlowDetailViewProps {
  detail: FlowDetail | null;
  width: number;
  height: number;
}

/** One flow: endpoints, classification with reasons, TLS, HTTP requests, SSH and findings. */
export function FlowDetailView({ detail: d, width, height }: FlowDetailViewProps) {
  const theme = useTheme();
  if (d === null) return <Text>flow no longer available (it was rewritten or removed); Esc to go back</Text>;
  const f = d.flow;
  const lines: { text: string; color?: string; bold?: boolean }[] = [];
  lines.push({ text: `${f.client} → ${f.server}  ${d.transport}/${f.app}  ${formatTime(f.firstTs)}–${formatTime(f.lastTs)}  ${f.packets} pkts ${formatBytes(f.bytes)}  ${d.state} ${d.history} (${f.endReason})`, bold: true });
  // Mirrored traffic: the VLAN and tunnel it came in (a wire value, cleaned like every line below).
  if (d.vlan > 0 || d.tunnel !== null) {
    lines.push({ text: [d.vlan > 0 ? `VLAN ${d.vlan}` : '', d.tunnel !== null ? `tunnel ${d.tunnel}` : ''].filter((x) => x !== '').join('  ') });
  }
  const detail = Object.entries(d.pathDetail).map(([k, v]) => `${k}=${v}`).join(' ');
  lines.push({ text: `path ${f.path}${detail ? ` (${detail})` : ''}  confidence ${d.confidence.toFixed(2)}  community ${d.communityId}` });
  for (const r of d.reasons.slice(0, 4)) lines.push({ text: `  · ${r}` });
  for (const p of d.natPeers) lines.push({ text: `across NAT: ${p} (the same connection, addresses rewritten)` });
  for (const p of d.sameCommunityId) lines.push({ text: `also seen: flow ${p} (the same Community ID)` });
  if (d.tls !== null) {
    const t = d.tls;
    lines.push({ text: `TLS ${t.version ?? '?'}  SNI ${t.sni ?? '-'}  cipher ${t.cipher ?? '-'}  ALPN ${t.alpn ?? '-'}`, bold: true });
    lines.push({ text: `  server cert ${t.serverSubject ?? '-'}  issuer ${t.serverIssuer ?? '-'}` });
    lines.push({ text: `  client cert ${t.clientSubject ?? '-'}  requested ${t.clientCertRequested === null ? '?' : t.clientCertRequested ? 'yes' : 'no'}  JA4 ${t.ja4 ?? '-'}` });
  }
  for (const h of d.http) {
    lines.push({ text: `HTTP ${h.method ?? '?'} ${h.path ?? ''} → ${h.status ?? '-'}  host ${h.host ?? '-'}  UA ${h.userAgent ?? '-'}  auth ${h.auth ?? '-'}${h.authSubject ? ` (${h.authSubject})` : ''}${h.impersonateUser ? ` as ${h.impersonateUser}` : ''}` });
  }
  if (d.ssh !== null) lines.push({ text: `SSH ${d.ssh.clientBanner ?? '-'} / ${d.ssh.serverBanner ?? '-'}` });
  for (const q of d.dns) lines.push({ text: `DNS ${q.qtype ?? '?'} ${q.query ?? '-'} → ${q.rcode ?? 'no response'}${q.answers ? `: ${q.answers}` : ''}` });
  for (const x of d.findings) {
    const s = SEVERITY_STYLE[x.severity] ?? SEVERITY_STYLE.info;
    lines.push({ text: `${s.symbol} ${s.label} ${x.rule}: ${x.title}`, color: s.color });
  }
  for (const x of d.acceptedFindings) lines.push({ text: `accepted ${x.severity} ${x.rule}: ${x.reason}` });
  return (
    <Box flexDirection="column" width={width}>
      {lines.slice(0, Math.max(1, height)).map((l, i) => (
        <Text key={i} wrap="truncate" bold={l.bold} {...tint(theme, l.color)}>
          {clean(l.text, width * 2)}
        </Text>
      ))}
    </Box>
  );
}
