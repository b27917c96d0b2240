import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { http1Factory, MAX_HEADER_BYTES, MAX_REQUESTS_PER_FLOW, probeHttp1, Http1Dissector } from '../../../dissectors/http/http1-dissector';
import { ProbeResult } from '../../../dissectors/types';
import type { HttpRequestRecord } from '../../../src/model/records';
import { expectSplitInvariant, run, seg, type Segment } from './helpers';
import { legacyTokenClaims, signedJwt } from './tokens';
import { stampOf } from '../../../src/flow/packet-stamp';

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const eq = (a: unknown, b: unknown) => expect(a).toEqual(b);

describe('probeHttp1', () => {
  it('recognises request methods and status lines on a bounded prefix', () => {
    const p = (dir: 0 | 1, s: string) => probeHttp1(dir, bytes(s), 0, s.length);
    expect(p(0, 'GET / HTTP/1.1\r\n')).toBe(ProbeResult.MATCH);
    expect(p(0, 'PATCH ')).toBe(ProbeResult.MATCH);
    expect(p(0, 'OPTI')).toBe(ProbeResult.NEED_MORE);
    expect(p(0, 'P')).toBe(ProbeResult.NEED_MORE);
    expect(p(0, 'GETX / HTTP/1.1')).toBe(ProbeResult.NO_MATCH);
    expect(p(0, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')).toBe(ProbeResult.NO_MATCH); // the h2c preface
    expect(p(0, '\x16\x03\x01')).toBe(ProbeResult.NO_MATCH);
    expect(p(1, 'HTTP/1.1 200 OK\r\n')).toBe(ProbeResult.MATCH);
    expect(p(1, 'HTTP/')).toBe(ProbeResult.NEED_MORE);
    expect(p(1, 'HTTP/2')).toBe(ProbeResult.NO_MATCH);
    expect(p(1, 'SSH-2.0-OpenSSH')).toBe(ProbeResult.NO_MATCH);
  });
});

// GET /api/v1/namespaces/kube-system/pods?watch=true HTTP/1.1 with a bearer token, then a
// chunked response with a chunk extension and a trailer:
//   47 45 54 20 2f 61 70 69 ...  "GET /api..."
//   ... 0d 0a 0d 0a              end of the header section
//   "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.secret-service-account-token';
const watchConversation: Segment[] = [
  seg(0,
    'GET /api/v1/namespaces/kube-system/pods?watch=true HTTP/1.1\r\n' +
    'Host: 10.96.0.1:443\r\n' +
    'User-Agent: kubelet/v1.29.0 (linux/amd64) kubernetes/abcdef\r\n' +
    `Authorization: Bearer ${TOKEN}\r\n` +
    'Accept: application/json\r\n\r\n'),
  seg(1,
    'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n' +
    '5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n'),
];

describe('Http1Dissector', () => {
  it('parses a request, hashes the bearer token, and skips a chunked body with extensions and trailers', () => {
    const { result, anomalies } = run(http1Factory, watchConversation);
    expect(anomalies).toEqual([]);
    expect(result).toHaveLength(1);
    const r = result[0]!;
    expect(r).toMatchObject({
      method: 'GET', path: '/api/v1/namespaces/kube-system/pods?watch=true', version: '1.1',
      host: '10.96.0.1:443', userAgent: 'kubelet/v1.29.0 (linux/amd64) kubernetes/abcdef',
      auth: 'bearer', status: 200, reason: 'OK', responseContentType: 'application/json', responseBodyBytes: 11,
      frame: 1, ts: 1000,
    });
    const expected = 'sha256:' + createHash('sha256').update(TOKEN).digest('hex').slice(0, 16);
    expect(r.authHash).toBe(expected);
    expect(r.k8s).toEqual({ api: 'apiserver', operation: 'watch', target: 'pods', namespace: 'kube-system', name: null, scheme: null });
    // The credential is nowhere in the output.
    expect(JSON.stringify(result)).not.toContain('secret-service-account-token');
  });

  it('hashes basic credentials and classifies unknown schemes as other', () => {
    const basic = Buffer.from('admin:hunter2').toString('base64');
    const { result } = run(http1Factory, [
      seg(0, `GET /healthz HTTP/1.1\r\nAuthorization: Basic ${basic}\r\n\r\nGET /version HTTP/1.1\r\nAuthorization: Negotiate abc\r\n\r\nGET / HTTP/1.0\r\n\r\n`),
    ]);
    expect(result.map((r) => r.auth)).toEqual(['basic', 'other', 'none']);
    expect(result[0]!.authHash).toBe('sha256:' + createHash('sha256').update(basic).digest('hex').slice(0, 16));
    expect(result[2]!.authHash).toBeNull();
    expect(result[2]!.version).toBe('1.0');
    expect(JSON.stringify(result)).not.toContain(basic);
  });

  it('reads whose each credential is: a legacy service-account token, a bootstrap token, a basic user', () => {
    const legacy = signedJwt(legacyTokenClaims('ci', 'deployer', 'deployer-token-4f9xq'));
    const basic = Buffer.from('admin:hunter2').toString('base64');
    const { result } = run(http1Factory, [
      seg(0, `GET /api/v1/secrets HTTP/1.1\r\nAuthorization: Bearer ${legacy}\r\n\r\n` +
        'POST /apis/certificates.k8s.io/v1/certificatesigningrequests HTTP/1.1\r\nAuthorization: Bearer 07401b.f395accd246ae52d\r\nContent-Length: 0\r\n\r\n' +
        `GET /healthz HTTP/1.1\r\nAuthorization: Basic ${basic}\r\n\r\n` +
        `GET /version HTTP/1.1\r\nAuthorization: bearer ${legacy}\r\n\r\n`),
    ]);
    expect(result.map((r) => [r.authIdentity?.kind, r.authIdentity?.subject])).toEqual([
      ['serviceaccount-legacy', 'system:serviceaccount:ci:deployer'],
      ['bootstrap', 'system:bootstrap:07401b'],
      ['basic', 'admin'],
      ['serviceaccount-legacy', 'system:serviceaccount:ci:deployer'],
    ]);
    const text = JSON.stringify(result);
    for (const secret of [legacy.split('.')[2]!, 'f395accd246ae52d', 'hunter2', basic]) expect(text).not.toContain(secret);
  });

  it("reads a browser's bearer token from the WebSocket subprotocol (exec from a web console), as a credential", () => {
    const token = signedJwt(legacyTokenClaims('kubernetes-dashboard', 'admin-user', 'admin-user-token-x1'));
    const protocol = `base64url.bearer.authorization.k8s.io.${Buffer.from(token).toString('base64url')}, v5.channel.k8s.io`;
    const { result, anomalies } = run(http1Factory, [
      seg(0, 'GET /api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true&stdout=true&tty=true HTTP/1.1\r\n' +
        'Host: 10.0.0.10:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`),
      seg(1, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n'),
    ]);
    expect(anomalies).toEqual([]);
    expect(result).toHaveLength(1);
    expect(result[0]).toMatchObject({ auth: 'bearer', status: 101, upgrade: 'websocket', k8s: { operation: 'exec' } });
    expect(result[0]!.authHash).toBe('sha256:' + createHash('sha256').update(token).digest('hex').slice(0, 16));
    expect(result[0]!.authIdentity).toMatchObject({ kind: 'serviceaccount-legacy', subject: 'system:serviceaccount:kubernetes-dashboard:admin-user' });
    const text = JSON.stringify(result);
    expect(text).not.toContain(token.split('.')[2]!);
    expect(text).not.toContain(Buffer.from(token).toString('base64url').slice(0, 40));
    // kubectl --as: the user a request acts as.
    const as = run(http1Factory, [seg(0, 'GET /api/v1/secrets HTTP/1.1\r\nAuthorization: Bearer abc\r\nImpersonate-User: jane@example.com\r\nImpersonate-Group: system:masters\r\n\r\n')]);
    expect(as.result[0]!.impersonateUser).toBe('jane@example.com');
    // A subprotocol list without a token is no credential.
    const plain = run(http1Factory, [seg(0, 'GET /api/v1/namespaces/default/pods/web-0/attach HTTP/1.1\r\nSec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\n\r\n')]);
    expect(plain.result[0]!.auth).toBe('none');
  });

  it('matches pipelined responses in order: Content-Length, HEAD, 204, 304, and chunked', () => {
    const conv: Segment[] = [
      seg(0,
        'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' +
        'HEAD /b HTTP/1.1\r\nHost: x\r\n\r\n' +
        'POST /c HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nbody' +
        'DELETE /d HTTP/1.1\r\n\r\n' +
        'PUT /e HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'),
      seg(1,
        'HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Type: text/html\r\n\r\n0123456789' +
        'HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n' + // HEAD: no body despite the length
        'HTTP/1.1 100 Continue\r\n\r\n' +
        'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok' +
        'HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n' +
        'HTTP/1.1 304 Not Modified\r\n\r\n'),
    ];
    const { result, anomalies } = run(http1Factory, conv);
    expect(anomalies).toEqual([]);
    expect(result.map((r) => [r.method, r.path, r.status, r.requestBodyBytes, r.responseBodyBytes])).toEqual([
      ['GET', '/a', 200, 0, 10],
      ['HEAD', '/b', 200, 0, 0],
      ['POST', '/c', 201, 4, 2],
      ['DELETE', '/d', 204, 0, 0],
      ['PUT', '/e', 304, 3, 0],
    ]);
    expect(result[0]!.responseContentType).toBe('text/html');
    expect(result[2]!.contentType).toBe('text/plain');
    expectSplitInvariant(http1Factory, conv, eq);
  });

  it('reads a response without a length to the end of the connection', () => {
    const { result } = run(http1Factory, [
      seg(0, 'GET /metrics HTTP/1.0\r\n\r\n'),
      seg(1, 'HTTP/1.0 200 OK\r\n\r\nline1\n'),
      seg(1, 'line2\nline3\n'),
    ]);
    expect(result[0]!.responseBodyBytes).toBe(18);
  });

  it('records a SPDY upgrade for kubelet exec and stops parsing after 101', () => {
    const conv: Segment[] = [
      seg(0,
        'POST /exec/default/nginx/nginx?command=sh&input=1&output=1&tty=1 HTTP/1.1\r\n' +
        'Host: 10.0.1.21:10250\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
        'X-Stream-Protocol-Version: v4.channel.k8s.io\r\nX-Stream-Protocol-Version: channel.k8s.io\r\n\r\n'),
      seg(1, 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n\x80\x03\x00\x02junk'),
      seg(0, '\x80\x03\x00\x01\x01\x00\x00\x1aGET /not-a-request HTTP/1.1\r\n\r\n'),
    ];
    const { result, anomalies } = run(http1Factory, conv);
    expect(anomalies).toEqual([]);
    expect(result).toHaveLength(1);
    expect(result[0]).toMatchObject({ method: 'POST', status: 101, upgrade: 'SPDY/3.1', streamProtocol: 'channel.k8s.io' });
    expect(result[0]!.k8s).toMatchObject({ api: 'kubelet', operation: 'exec', namespace: 'default', name: 'nginx' });
    expectSplitInvariant(http1Factory, conv, eq);
  });

  it('keeps parsing when an upgrade is refused', () => {
    const { result } = run(http1Factory, [
      seg(0, 'GET /ws HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n'),
      seg(1, 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'),
      seg(0, 'GET /next HTTP/1.1\r\n\r\n'),
      seg(1, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
    ]);
    expect(result.map((r) => [r.path, r.status, r.upgrade])).toEqual([['/ws', 403, 'websocket'], ['/next', 200, null]]);
  });

  it('keeps X-Forwarded-* headers of API server proxy requests', () => {
    const { result } = run(http1Factory, [
      seg(0, 'GET /metrics HTTP/1.1\r\nHost: 10.244.1.5:8080\r\nX-Forwarded-For: 10.0.0.10\r\n' +
        'X-Forwarded-Uri: /api/v1/namespaces/default/pods/web:8080/proxy/metrics\r\nX-Forwarded-Host: 10.0.0.1:6443\r\nX-Forwarded-Proto: https\r\n\r\n'),
    ]);
    expect(result[0]).toMatchObject({
      xForwardedFor: '10.0.0.10', xForwardedUri: '/api/v1/namespaces/default/pods/web:8080/proxy/metrics',
      xForwardedHost: '10.0.0.1:6443', xForwardedProto: 'https',
    });
  });

  it('counts an oversized header section and does not grow past the cap', () => {
    const big = 'X-Filler: ' + 'a'.repeat(40000) + '\r\n';
    const conv = [seg(0, 'GET /big HTTP/1.1\r\nHost: h\r\n' + big + 'Content-Length: 3\r\n\r\nabcGET /after HTTP/1.1\r\n\r\n')];
    const r = run(http1Factory, conv, (len) => { const out: number[] = []; for (let o = 0; o < len; o += 1000) out.push(Math.min(1000, len - o)); return out; });
    expect(r.anomalies).toContain('http.header_too_long');
    expect(r.result.map((x) => x.path)).toEqual(['/big', '/after']);
    const headBuf = (r.dissector as unknown as { dirs: Array<{ headBuf: Uint8Array }> }).dirs[0]!.headBuf;
    expect(headBuf.length).toBeLessThanOrEqual(MAX_HEADER_BYTES);
  });

  it('stops keeping requests after MAX_REQUESTS_PER_FLOW and counts them', () => {
    const n = MAX_REQUESTS_PER_FLOW + 5;
    const { result, anomalies } = run(http1Factory, [seg(0, 'GET / HTTP/1.1\r\n\r\n'.repeat(n))]);
    expect(result).toHaveLength(MAX_REQUESTS_PER_FLOW);
    expect(anomalies.filter((a) => a === 'http.too_many_requests')).toHaveLength(5);
  });

  it('reports a malformed chunk size and a malformed request line, then goes idle', () => {
    const a = run(http1Factory, [seg(1, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')]);
    expect(a.anomalies).toContain('http.bad_chunk_size');
    const b = run(http1Factory, [seg(0, 'GET\r\n\r\n')]);
    expect(b.anomalies).toEqual(['http.bad_request_line']);
  });

  it('hands an Upgrade: h2c connection to the HTTP/2 parser', () => {
    // Server SETTINGS (empty), then HEADERS on stream 1: :status 200 (static index 8 → 0x88), END_STREAM|END_HEADERS.
    //   00 00 00 04 00 00 00 00 00      SETTINGS, length 0
    //   00 00 01 01 05 00 00 00 01 88   HEADERS stream 1
    const settings = '\x00\x00\x00\x04\x00\x00\x00\x00\x00';
    const headers = '\x00\x00\x01\x01\x05\x00\x00\x00\x01\x88';
    const conv: Segment[] = [
      seg(0, 'GET /healthz HTTP/1.1\r\nHost: api\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n'),
      seg(1, 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n' + settings + headers),
      seg(0, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + settings),
    ];
    const { result, anomalies, dissector } = run(http1Factory, conv);
    expect(anomalies).toEqual([]);
    expect(result.map((r) => [r.version, r.path, r.status, r.upgrade, r.streamId])).toEqual([
      ['1.1', '/healthz', 101, 'h2c', null],
      ['2', '/healthz', 200, null, 1],
    ]);
    expect((dissector as Http1Dissector).http2).not.toBeNull();
    expectSplitInvariant(http1Factory, conv, eq);
  });

  it('is split invariant on the watch conversation', () => {
    expectSplitInvariant(http1Factory, watchConversation, eq);
  });

  it('continues a body across a capture gap and stops on a gap in the headers', () => {
    const d = http1Factory.create(() => {});
    d.feed(1, bytes('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789'), 0, 48, stampOf(0, 1));
    d.gap(1, 50);
    const after = bytes('0123456789'.repeat(4) + 'HTTP/1.1');
    d.feed(1, after, 0, after.length, stampOf(0, 2));
    expect((d.result() as HttpRequestRecord[]).length).toBe(0); // response without request: not kept
  });
});
