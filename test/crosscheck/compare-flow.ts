/**
 * Field-by-field comparison of one planewatch flow with the same TCP connection as tshark sees it.
 * Each check names the field, planewatch's value and tshark's, so a failure reads as a bug report.
 */
import { createHash } from 'node:crypto';
import type { JsonFlow } from './planewatch-json';
import { tsharkHasJa4, valuesFrom, type Field, type Side, type TsharkConnection } from './tshark-connections';

export interface Check {
  field: string;
  planewatch: unknown;
  tshark: unknown;
}

const TLS_VERSIONS: Record<number, string> = { 0x0300: 'ssl3', 0x0301: '1.0', 0x0302: '1.1', 0x0303: '1.2', 0x0304: '1.3' };
const isGrease = (v: number): boolean => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);

/** Values of `field` in the first packet from `side` that carries it (a second ClientHello after HRR repeats them). */
function firstPacket(conn: TsharkConnection, client: JsonFlow['client'], side: Side, field: Field): string[] {
  for (const p of conn.packets) {
    if ((p.src.ip === client.ip && p.src.port === client.port) !== (side === 'client')) continue;
    const v = p.values.get(field);
    if (v !== undefined) return v;
  }
  return [];
}

function sha256Hex(hex: string): string {
  return createHash('sha256').update(Buffer.from(hex.replace(/:/g, ''), 'hex')).digest('hex');
}

function tlsChecks(flow: JsonFlow, conn: TsharkConnection): Check[] {
  const c = flow.client;
  const from = (side: Side, f: Field): string[] => valuesFrom(conn, c, side, f);
  const first = (side: Side, f: Field): string | null => firstPacket(conn, c, side, f)[0] ?? null;
  const t = flow.tls;
  const clientTypes = from('client', 'tls.handshake.type');
  const serverTypes = from('server', 'tls.handshake.type');
  const sawClientHello = clientTypes.includes('1');
  const sawServerHello = serverTypes.includes('2');
  if (t === null && !sawClientHello && !sawServerHello) return [];
  const checks: Check[] = [];
  const add = (field: string, planewatch: unknown, tshark: unknown): void => void checks.push({ field, planewatch, tshark });

  if (sawClientHello) {
    add('tls.sni', t?.sni ?? null, first('client', 'tls.handshake.extensions_server_name'));
    add('tls.alpn', t?.alpn ?? [], firstPacket(conn, c, 'client', 'tls.handshake.extensions_alpn_str'));
    add('tls.ja3', t?.ja3 ?? null, first('client', 'tls.handshake.ja3'));
    add('tls.ja3Full', t?.ja3Full ?? null, first('client', 'tls.handshake.ja3_full'));
    if (tsharkHasJa4) add('tls.ja4', t?.ja4 ?? null, first('client', 'tls.handshake.ja4'));
  }
  if (sawServerHello) {
    const sv = from('server', 'tls.handshake.extensions.supported_version');
    const legacy = from('server', 'tls.handshake.version');
    const negotiated = sv.length > 0 ? sv[sv.length - 1]! : legacy[legacy.length - 1];
    add('tls.version', t?.version ?? null, negotiated === undefined ? null : (TLS_VERSIONS[Number(negotiated)] ?? negotiated));
    const suites = from('server', 'tls.handshake.ciphersuite');
    add('tls.cipherId', t?.cipherId ?? null, suites.length > 0 ? Number(suites[suites.length - 1]) : null);
    add('tls.alpnSelected', t?.alpnSelected ?? null, first('server', 'tls.handshake.extensions_alpn_str'));
    add('tls.ja3s', t?.ja3s ?? null, first('server', 'tls.handshake.ja3s'));
    add('tls.ja3sFull', t?.ja3sFull ?? null, first('server', 'tls.handshake.ja3s_full'));
  } else if (sawClientHello) {
    // No ServerHello: planewatch reports the best version the client offered.
    const offered = from('client', 'tls.handshake.extensions.supported_version').map(Number).filter((v) => !isGrease(v));
    const best = offered.length > 0 ? Math.max(...offered) : Number(first('client', 'tls.handshake.version'));
    add('tls.version', t?.version ?? null, TLS_VERSIONS[best] ?? best);
    add('tls.cipherId', t?.cipherId ?? null, null);
  }
  // Certificates travel in the clear up to TLS 1.2 (and in TLS 1.3 only when tshark has the keys).
  add('tls.serverCertificates[].sha256', (t?.serverCertificates ?? []).map((x) => x.sha256), from('server', 'tls.handshake.certificate').map(sha256Hex));
  add('tls.clientCertificates[].sha256', (t?.clientCertificates ?? []).map((x) => x.sha256), from('client', 'tls.handshake.certificate').map(sha256Hex));
  if (serverTypes.includes('13') || t?.clientCertRequested === true) add('tls.clientCertRequested', t?.clientCertRequested ?? null, serverTypes.includes('13'));
  const alerts = (side: Side): string[] => {
    const levels = from(side, 'tls.alert_message.level');
    return from(side, 'tls.alert_message.desc').map((d, i) => `${Number(levels[i]) === 2 ? 'fatal' : 'warning'}:${Number(d)}`);
  };
  const pwAlerts = (side: Side): string[] =>
    (t?.alerts ?? []).filter((a) => a.plaintext && a.from === side).map((a) => `${a.level}:${a.code}`);
  add('tls.alerts (client, plaintext)', pwAlerts('client'), alerts('client'));
  add('tls.alerts (server, plaintext)', pwAlerts('server'), alerts('server'));
  return checks;
}

function httpChecks(flow: JsonFlow, conn: TsharkConnection): Check[] {
  const c = flow.client;
  const from = (side: Side, f: Field): string[] => valuesFrom(conn, c, side, f);
  const checks: Check[] = [];
  for (const h2 of [false, true]) {
    const reqs = (flow.http ?? []).filter((r) => (r.version === '2') === h2);
    const method = from('client', h2 ? 'http2.headers.method' : 'http.request.method');
    const status = from('server', h2 ? 'http2.headers.status' : 'http.response.code');
    if (reqs.length === 0 && method.length === 0 && status.length === 0) continue;
    const p = h2 ? 'http2' : 'http';
    checks.push(
      { field: `${p}[].method`, planewatch: reqs.map((r) => r.method), tshark: method },
      { field: `${p}[].path`, planewatch: reqs.map((r) => r.path), tshark: from('client', h2 ? 'http2.headers.path' : 'http.request.uri') },
      { field: `${p}[].host`, planewatch: reqs.flatMap((r) => (r.host === null ? [] : [r.host])), tshark: from('client', h2 ? 'http2.headers.authority' : 'http.host') },
      {
        field: `${p}[].userAgent`,
        planewatch: reqs.flatMap((r) => (r.userAgent === null ? [] : [r.userAgent])),
        tshark: from('client', h2 ? 'http2.headers.user_agent' : 'http.user_agent'),
      },
      { field: `${p}[].status`, planewatch: reqs.flatMap((r) => (r.status === null ? [] : [r.status])), tshark: status.map(Number) },
    );
  }
  return checks;
}

function sshChecks(flow: JsonFlow, conn: TsharkConnection): Check[] {
  const c = flow.client;
  const first = (side: Side, f: Field): string | null => firstPacket(conn, c, side, f)[0] ?? null;
  const s = flow.ssh;
  const tsharkBanner = first('client', 'ssh.protocol') ?? first('server', 'ssh.protocol');
  if (s === null && tsharkBanner === null) return [];
  // tshark keeps the banner's line ending; planewatch keeps the identification string itself.
  const line = (v: string | null): string | null => (v === null ? null : v.replace(/\r?\n$/, ''));
  return [
    { field: 'ssh.clientBanner', planewatch: s?.clientBanner ?? null, tshark: line(first('client', 'ssh.protocol')) },
    { field: 'ssh.serverBanner', planewatch: s?.serverBanner ?? null, tshark: line(first('server', 'ssh.protocol')) },
    { field: 'ssh.hassh', planewatch: s?.hassh ?? null, tshark: first('client', 'ssh.kex.hassh') },
    { field: 'ssh.hasshAlgorithms', planewatch: s?.hasshAlgorithms ?? null, tshark: first('client', 'ssh.kex.hassh_algorithms') },
    { field: 'ssh.hasshServer', planewatch: s?.hasshServer ?? null, tshark: first('server', 'ssh.kex.hasshserver') },
    { field: 'ssh.hasshServerAlgorithms', planewatch: s?.hasshServerAlgorithms ?? null, tshark: first('server', 'ssh.kex.hasshserver_algorithms') },
  ];
}

/** Every comparison for one connection: TLS, HTTP/1, HTTP/2 and SSH fields that either tool reports. */
export function compareFlow(flow: JsonFlow, conn: TsharkConnection): Check[] {
  return [...tlsChecks(flow, conn), ...httpChecks(flow, conn), ...sshChecks(flow, conn)];
}

export function disagrees(c: Check): boolean {
  return JSON.stringify(c.planewatch) !== JSON.stringify(c.tshark);
}

export function describeCheck(where: string, c: Check): string {
  return `${where} ${c.field}: planewatch=${JSON.stringify(c.planewatch)} tshark=${JSON.stringify(c.tshark)}`;
}
