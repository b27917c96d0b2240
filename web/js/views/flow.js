// One connection: tuple and timing, classification and its reasons, the TLS handshake, the
// certificate chain with its verdict, HTTP requests, SSH, findings.
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { card, endpointText, fmtBytes, fmtDuration, fmtNum, fmtTime, kv, pathBadge, roleBadge, sevBadge } from '../format.js';
import { href } from '../router.js';
import { findingCard } from './findings.js';

const VERDICT = {
  verified: ['ok', '✓ verified', 'The chain was accepted by analysis.'],
  unverified: ['bad', '✖ not verified', 'The peer certificate is not (or cannot be) verified by the client.'],
  indeterminate: ['warn', '? indeterminate', 'The certificate could not be seen; no verdict is guessed.'],
  'self-signed': ['bad', '✖ self-signed', 'The server presented a self-signed certificate.'],
  'not-evaluated': ['neutral', '• not evaluated', 'No rule judges trust on this path; chain facts below.'],
  'no-certificate': ['neutral', '• no certificate', 'No certificate was seen on this connection.'],
};

export function certificateBlock(c, extra) {
  return h('div', { class: `cert ${c.selfSigned ? 'cert-self' : ''}`, 'data-cert': c.sha256 },
    h('div', { class: 'cert-head' },
      h('a', { href: href('certificate', c.sha256), class: 'cert-subject' }, c.subject || '(empty subject)'),
      c.selfSigned ? h('span', { class: 'pill warn' }, 'self-signed') : null,
      c.isCa ? h('span', { class: 'pill' }, 'CA') : null,
      extra),
    kv([
      ['Issuer', c.issuer],
      ['SAN', c.san.length ? c.san.join(', ') : '—'],
      ['Valid', `${c.notBefore || '?'} → ${c.notAfter || '?'}`],
      ['Key', `${c.keyType || '?'}${c.keyBits ? ` ${c.keyBits}` : ''} · ${c.signatureAlgorithm || '?'}`],
      ['Serial', h('span', { class: 'mono' }, c.serial || '—')],
      ['SHA-256', h('span', { class: 'mono small' }, c.sha256)],
    ]));
}

function chainView(title, items) {
  if (!items.length) return null;
  return h('div', { class: 'chain' }, h('h3', null, title), items.map((x) =>
    certificateBlock(x.certificate, [
      h('span', { class: 'pill' }, `#${x.position}`),
      x.validAtCapture === false ? h('span', { class: 'pill bad' }, 'not valid at capture time') : null,
      x.validAtCapture === true ? h('span', { class: 'pill ok' }, 'valid at capture time') : null,
      x.issuedByNext === false ? h('span', { class: 'pill warn' }, 'issuer ≠ next subject') : null,
    ])));
}

function tlsCard(t) {
  const [cls, label, text] = VERDICT[t.verification.verdict] || VERDICT['not-evaluated'];
  return card('TLS handshake',
    kv([
      ['Version', t.version ? `TLS ${t.version}` : '—'],
      ['Client offered', t.clientVersion ? `TLS ${t.clientVersion}` : '—'],
      ['Cipher', h('span', { class: 'mono' }, t.cipher || '—')],
      ['SNI', t.sni ? h('span', { class: 'mono sni' }, t.sni) : '—'],
      ['ALPN', `${t.alpn.join(', ') || '—'}${t.alpnSelected ? `  (selected ${t.alpnSelected})` : ''}`],
      ['JA3', h('span', { class: 'mono' }, t.ja3 || '—')],
      ['JA3S', h('span', { class: 'mono' }, t.ja3s || '—')],
      ['JA4', h('span', { class: 'mono' }, t.ja4 || '—')],
      ['Client certificate', t.clientCertRequested === null ? 'request not visible (TLS 1.3)' : `${t.clientCertRequested ? 'requested' : 'not requested'}, ${t.clientCertSent ? 'sent' : 'not sent'}`],
      ['Established', t.established ? 'yes' : 'no'],
      ['Resumed', t.resumed ? 'yes' : 'no'],
      t.alerts.length ? ['Alerts', t.alerts.map((a) => `${a.level} ${a.description} from ${a.from}${a.frame ? ` (frame ${a.frame})` : ''}`).join('; ')] : null,
    ]),
    h('div', { class: `verdict verdict-${cls}`, 'data-verdict': t.verification.verdict },
      h('strong', null, `Certificate verification: ${label}`), h('span', null, ` — ${text}`),
      h('ul', null, t.verification.reasons.map((r) => h('li', null, r)))),
    chainView('Server certificate chain', t.serverChain),
    chainView('Client certificate chain', t.clientChain));
}

// The request's and response's body sizes and the response's media type; nothing when not stored.
function bodiesLine(r) {
  if (r.requestBodyBytes === null || r.requestBodyBytes === undefined || r.responseBodyBytes === null) return null;
  const type = r.responseContentType ? ` ${r.responseContentType.split(';')[0].trim()}` : '';
  return h('div', { class: 'sub', 'data-bodies': '' }, `body ${fmtBytes(r.requestBodyBytes)} → ${fmtBytes(r.responseBodyBytes)}${type}`);
}

function httpCard(reqs) {
  return card(`HTTP requests (${reqs.length})`, h('div', { class: 'scroll' }, h('table', { class: 'grid compact http-table' },
    h('thead', null, h('tr', null, ['#', 'Time', 'Method', 'Path', 'Host', 'User agent', 'Auth', 'Status', 'Kubernetes'].map((x) => h('th', null, x)))),
    h('tbody', null, reqs.map((r) => h('tr', null,
      h('td', null, String(r.seq)), h('td', { class: 'nowrap' }, fmtTime(r.ts)), h('td', null, r.method || '—'),
      h('td', { class: 'mono wrap' }, r.path || '—'), h('td', { class: 'mono' }, r.host || '—'),
      h('td', { class: 'wrap ua' }, r.userAgent || '—'),
      h('td', null, r.auth || '—', r.authHolder ? h('div', { class: 'sub', 'data-auth-holder': '' }, r.authHolder) : null,
        r.authExpires !== null && r.authExpires !== undefined ? h('div', { class: 'sub' }, `expires ${fmtTime(r.authExpires)}`) : null,
        r.impersonateUser ? h('div', { class: 'sub', 'data-impersonate': '' }, `acting as ${r.impersonateUser}`) : null,
        r.authHash ? h('div', { class: 'sub mono' }, r.authHash) : null),
      h('td', null, r.status ? `${r.status} ${r.reason || ''}` : '—',
        bodiesLine(r),
        r.grpcStatus !== null && r.grpcStatus !== undefined ? h('div', { class: 'sub', 'data-grpc-status': String(r.grpcStatus) }, `gRPC ${grpcStatusName(r.grpcStatus)}${r.grpcMessage ? `: ${r.grpcMessage}` : ''}`) : null),
      h('td', null, r.k8sOperation ? `${r.k8sApi}: ${r.k8sOperation}${r.k8sTarget ? ` ${r.k8sTarget}` : ''}${r.k8sNamespace ? ` ${r.k8sNamespace}/` : ''}${r.k8sName || ''}` : '—',
        r.xForwardedFor ? h('div', { class: 'sub' }, `X-Forwarded-For ${r.xForwardedFor}`) : null)))))));
}

// gRPC status codes (grpc/doc/statuscodes.md), named as gRPC names them.
const GRPC_CODES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL',
  'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
function grpcStatusName(code) {
  return GRPC_CODES[code] ? `${code} ${GRPC_CODES[code]}` : String(code);
}

export async function renderFlow(root, route) {
  const d = await api(`flows/${encodeURIComponent(route.arg)}`);
  const f = d.flow;
  const detail = Object.entries(f.pathDetail);
  mount(root,
    h('div', { class: 'page-head' },
      h('p', { class: 'crumbs' }, h('a', { href: href('flows') }, 'Flows'), ' / ', `flow ${f.id}`),
      h('h1', { class: 'mono' }, `${endpointText(f.clientIp, f.clientPort)} → ${endpointText(f.serverIp, f.serverPort)}`),
      h('p', null, pathBadge(f.path), ' ', f.worstSeverity ? sevBadge(f.worstSeverity, `${f.worstSeverity} · ${f.findingCount} finding${f.findingCount === 1 ? '' : 's'}`) : sevBadge(null, 'no findings'),
        ' ', f.packets.available
          ? h('a', { href: new URL(`/api/flows/${encodeURIComponent(f.id)}/packets`, location.href).href, class: 'btn ghost packets-link',
            title: 'its packets, read again from the capture, as a pcapng file for Wireshark' }, '⤓ Packets (pcapng)')
          : h('span', { class: 'muted small packets-unavailable', title: f.packets.problem || '' }, 'packets not available: ', f.packets.problem || 'capture not readable'))),
    h('div', { class: 'detail-grid' },
      card('Connection', kv([
        ['Client', [h('a', { href: href('endpoint', f.clientIp), class: 'mono' }, endpointText(f.clientIp, f.clientPort)), ' ', roleBadge(f.clientRole), f.clientName ? ` ${f.clientName}` : '']],
        ['Server', [h('a', { href: href('endpoint', f.serverIp), class: 'mono' }, endpointText(f.serverIp, f.serverPort)), ' ', roleBadge(f.serverRole), f.serverName ? ` ${f.serverName}` : '']],
        ['Transport', `${f.transport.toUpperCase()} / IPv${f.ipVersion}${f.vlan ? ` · VLAN ${f.vlan}` : ''}${f.tunnelText ? ` · tunnel ${f.tunnelText}` : ''}`],
        ['Application', f.app],
        ['Start', fmtTime(f.firstTs)], ['End', fmtTime(f.lastTs)], ['Duration', fmtDuration(f.lastTs - f.firstTs)],
        ['Frames', `${fmtNum(f.firstFrame)} – ${fmtNum(f.lastFrame)}`],
        ['Packets', `${fmtNum(f.packetsClient)} → / ← ${fmtNum(f.packetsServer)}`],
        ['Bytes', `${fmtBytes(f.bytesClient)} → / ← ${fmtBytes(f.bytesServer)}`],
        f.missingClient || f.missingServer ? ['Missing', `${fmtBytes(f.missingClient)} / ${fmtBytes(f.missingServer)}`] : null,
        ['State', `${f.state} · history ${f.history}${f.midstream ? ' · picked up midstream' : ''} · ended: ${f.endReason}`],
        ['Community ID', h('span', { class: 'mono' }, f.communityId)],
        ['Capture', `${f.captureFile || `#${f.captureId}`}${f.captureDecodeAs.length > 0 ? ` · decoded with -d ${f.captureDecodeAs.join(' ')}` : ''}`],
        f.sameCommunityId.length ? ['Same Community ID', f.sameCommunityId.map((p, i) => [i ? ', ' : '', h('a', { href: href('flow', String(p.id)), class: 'mono same-community-id' },
          `${p.flowKey} · ${p.captureFile || `#${p.captureId}`} · ${fmtTime(p.firstTs)}`)]).flat()
          .concat([h('span', { class: 'muted' }, ' (the same addresses and ports: this connection in another capture, or its ports used again)')])] : null,
        Object.keys(f.anomalies).length ? ['Anomalies', Object.entries(f.anomalies).map(([k, v]) => `${k} ×${v}`).join(', ')] : null,
        f.natPeers.length ? ['Across NAT', f.natPeers.map((p, i) => [i ? ', ' : '', h('a', { href: href('flow', String(p.id)), class: 'mono nat-peer' },
          `${endpointText(p.clientIp, p.clientPort)} → ${endpointText(p.serverIp, p.serverPort)}`)]).flat()
          .concat([h('span', { class: 'muted' }, ' (the same connection, addresses rewritten by NAT)')])] : null,
      ])),
      card('Classification', kv([
        ['Path', pathBadge(f.path)],
        ['Confidence', `${Math.round(f.confidence * 100)}%`],
        detail.length ? ['Detail', detail.map(([k, v]) => `${k}: ${v}`).join(', ')] : null,
      ]), h('h3', null, 'Reasons'), f.reasons.length ? h('ul', { class: 'reasons' }, f.reasons.map((r) => h('li', null, r))) : h('p', { class: 'muted' }, 'none recorded'))),
    d.findings.length ? card(`Findings (${d.findings.length})`, h('div', { class: 'findings' }, d.findings.map((x) => findingCard(x, { hideFlow: true })))) : null,
    d.acceptedFindings.length ? card(`Accepted as risks (${d.acceptedFindings.length})`, h('div', { class: 'findings accepted' }, d.acceptedFindings.map((x) => findingCard(x, { hideFlow: true })))) : null,
    d.tls ? tlsCard(d.tls) : null,
    d.http.length ? httpCard(d.http) : null,
    d.dns.length ? dnsCard(d.dns) : null,
    f.packets.available ? conversationCard(f.id, {
      http2: f.app === 'http2' || Boolean(d.tls && d.tls.alpnSelected === 'h2'),
      http1: f.app === 'http' || Boolean(d.tls && d.tls.alpnSelected !== 'h2'),
    }) : null,
    d.ssh ? card('SSH', kv([
      ['Client banner', h('span', { class: 'mono' }, d.ssh.clientBanner || '—')],
      ['Server banner', h('span', { class: 'mono' }, d.ssh.serverBanner || '—')],
      ['HASSH', h('span', { class: 'mono' }, d.ssh.hassh || '—')],
      ['HASSH server', h('span', { class: 'mono' }, d.ssh.hasshServer || '—')],
    ])) : null);
}

// DNS questions and what the server answered (A/AAAA addresses, CNAME and PTR names).
function dnsCard(list) {
  return card(`DNS (${list.length})`, h('div', { class: 'scroll' }, h('table', { class: 'grid compact dns-table' },
    h('thead', null, h('tr', null, ['Time', 'Frame', 'Question', 'Type', 'Response', 'Answers'].map((x) => h('th', null, x)))),
    h('tbody', null, list.map((q) => h('tr', null,
      h('td', { class: 'nowrap' }, fmtTime(q.ts)), h('td', null, q.frame === null ? '—' : String(q.frame)),
      h('td', { class: 'mono wrap' }, q.query || '—'), h('td', null, q.qtype || '—'),
      h('td', null, q.rcode || 'no response', q.truncated ? h('div', { class: 'sub' }, 'truncated (TC)') : null),
      h('td', { class: 'mono wrap' }, q.answers.length ? q.answers.map((a) => h('div', { 'data-answer': a.type }, `${a.type} ${a.data || '(data not read)'}`)) : '—')))))));
}

// Printable ASCII, newlines and tabs as they are, CRLF as a newline, every other byte a dot (as
// Wireshark's Follow Stream shows text); the result only ever becomes a text node.
export function asciiOf(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === 0x0d && bytes[i + 1] === 0x0a) continue;
    out += (c >= 0x20 && c < 0x7f) || c === 0x0a || c === 0x09 ? String.fromCharCode(c) : '.';
  }
  return out;
}

function base64Bytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function frameHead(x) {
  const what = x.type === 'preface' || x.type === 'error' ? x.info
    : x.type === 'upgrade' ? `HTTP/1.1 ${x.side === 'client' ? 'upgrade request, stream 1' : 'upgrade answer'}: ${x.info}`
    : x.type === 'body' ? `body of stream ${x.stream}: ${x.info}`
    : `${x.type}${x.stream ? ` stream ${x.stream}` : ''}${x.data !== null ? `, ${fmtBytes(x.dataBytes)}${x.info.endsWith('-encoded') ? `, ${x.info.split(', ').pop()}` : ''}` : ''}${x.info && x.data === null ? ` ${x.info}` : ''}${x.flags.length ? ` (${x.flags.join(', ')})` : ''}`;
  return `${x.side === 'client' ? 'client → server' : 'server → client'} · frame ${fmtNum(x.frame)} · ${fmtTime(x.ts)} · ${what}`;
}

// Bytes as text, and how many more there were than the server sent.
function textWithRest(bytes, total, extraClass) {
  const rest = total > bytes.length ? `\n[… ${fmtNum(total - bytes.length)} more bytes]` : '';
  return h('pre', { class: extraClass ? `turn-text ${extraClass}` : 'turn-text' }, asciiOf(bytes) + rest);
}

// HTTP/2 frames with their header blocks decoded, as Wireshark's Follow HTTP/2 Stream shows them.
function http2View(c) {
  if (!c.http2.isHttp2) return h('p', { class: 'note conversation-note' }, 'not HTTP/2: the client neither started with the connection preface nor upgraded to h2c');
  return c.http2.frames.map((x) => h('div', { class: `turn turn-${x.side}${x.type === 'error' ? ' gap' : ''}`, 'data-side': x.side, 'data-frame-type': x.type },
    h('div', { class: 'turn-head' }, frameHead(x)),
    x.headers && x.headers.length ? h('pre', { class: 'turn-text h2-headers' }, x.headers.map(([n, v]) => `${n}: ${v}`).join('\n')) : null,
    // A content-encoded message's frames are compressed: its body is shown decoded when its stream ends.
    x.data && !(x.type === 'DATA' && x.info.endsWith('-encoded')) ? textWithRest(base64Bytes(x.data), x.dataBytes) : null));
}

// HTTP/1 messages with their bodies de-chunked and decoded, as Wireshark's Follow HTTP Stream shows them.
function http1View(c) {
  if (!c.http1.isHttp1) return h('p', { class: 'note conversation-note' }, 'not HTTP/1: the client did not start with a request line');
  return c.http1.messages.map((m) => h('div', { class: `turn turn-${m.side}${m.notice ? ' gap' : ''}`, 'data-side': m.side, 'data-message': m.notice ? 'notice' : 'message' },
    h('div', { class: 'turn-head' }, `${m.side === 'client' ? 'client → server' : 'server → client'} · frame ${fmtNum(m.frame)} · ${fmtTime(m.ts)} · ${m.notice ? m.info : m.head[0]}`),
    m.notice ? null : h('pre', { class: 'turn-text h1-headers' }, m.head.slice(1).join('\n') + (m.info ? `\n[body: ${m.info}]` : '')),
    m.body ? textWithRest(base64Bytes(m.body), m.bodyBytes, 'h1-body') : null));
}

// The conversation (Follow Stream), read from the capture only when asked for: it may be large.
function conversationCard(id, views) {
  const body = h('div', { class: 'conversation' });
  const buttons = [];
  const load = async (button, view) => {
    for (const b of buttons) b.disabled = true;
    mount(body, h('p', { class: 'muted' }, 'reading the capture…'));
    try {
      const c = await api(`flows/${encodeURIComponent(id)}/stream`, view === 'bytes' ? undefined : { view });
      for (const b of buttons) b.disabled = b === button;
      const what = c.layer === 'tls' ? `decrypted TLS application data${c.tlsVersion ? ` (TLS ${c.tlsVersion})` : ''}` : 'TCP payload';
      mount(body,
        h('p', { class: 'muted small conversation-summary' }, `${what}: ${fmtBytes(c.clientBytes)} from the client, ${fmtBytes(c.serverBytes)} from the server`,
          c.truncated ? ' — only the first part is shown (download the packets for all of it)' : ''),
        c.note ? h('p', { class: 'note conversation-note' }, c.note) : null,
        c.error ? h('p', { class: 'error' }, c.error) : null,
        view === 'http2' ? http2View(c) : view === 'http' ? http1View(c) : c.chunks.length ? c.chunks.map((x) => x.kind === 'gap'
          ? h('div', { class: `turn gap turn-${x.side}` }, `[${fmtNum(x.bytes)} bytes from the ${x.side} missing]`)
          : h('div', { class: `turn turn-${x.side}`, 'data-side': x.side },
            h('div', { class: 'turn-head' }, `${x.side === 'client' ? 'client → server' : 'server → client'} · frame ${fmtNum(x.frame)} · ${fmtTime(x.ts)} · ${fmtBytes(x.bytes)}`),
            h('pre', { class: 'turn-text' }, asciiOf(base64Bytes(x.data)))))
          : h('p', { class: 'muted' }, 'no payload in either direction'));
    } catch (e) {
      mount(body, h('p', { class: 'error', role: 'alert' }, `Could not read the conversation: ${e.message}`));
      for (const b of buttons) b.disabled = false;
    }
  };
  const bytes = h('button', { class: 'btn follow-button', type: 'button', on: { click: () => load(bytes, 'bytes') } }, 'Show conversation');
  buttons.push(bytes);
  if (views.http1) {
    const messages = h('button', { class: 'btn follow-http-button', type: 'button', on: { click: () => load(messages, 'http') } }, 'HTTP messages');
    buttons.push(messages);
  }
  if (views.http2) {
    const frames = h('button', { class: 'btn follow-http2-button', type: 'button', on: { click: () => load(frames, 'http2') } }, 'HTTP/2 frames');
    buttons.push(frames);
  }
  return card('Conversation', h('p', { class: 'muted small' }, 'What each side sent, read again from the capture (Follow Stream).'), buttons, body);
}
