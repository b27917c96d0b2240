import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { http2Factory, probeHttp2, CLIENT_PREFACE, MAX_STREAMS, Http2Dissector } from '../../../dissectors/http2/http2-dissector';
import { ProbeResult } from '../../../dissectors/types';
import { expectSplitInvariant, hex, run, type Segment } from '../http/helpers';
import { recordHttp2, request } from './record-h2';
import { boundTokenClaims, signedJwt } from '../http/tokens';

const eq = (a: unknown, b: unknown) => expect(a).toEqual(b);
const TOKEN = 'h2-bearer-token-value-9f8e7d';

/** A conversation recorded from node:http2: a list, a gRPC-like call, a POST with a body, then GOAWAY. */
async function recordConversation(): Promise<Segment[]> {
  return recordHttp2(
    (stream, headers) => {
      const path = String(headers[':path']);
      if (path.startsWith('/k8s.io.Runtime/')) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 2, 8, 1]));
      } else if (headers[':method'] === 'POST') {
        stream.on('data', () => {});
        stream.on('end', () => { stream.respond({ ':status': 201, 'content-type': 'application/json' }); stream.end('{"ok":true}'); });
      } else {
        stream.respond({ ':status': 200, 'content-type': 'application/json' });
        stream.end('{"kind":"PodList","items":[]}');
      }
    },
    async (client) => {
      await request(client, { ':method': 'GET', ':path': '/api/v1/namespaces/default/pods', 'user-agent': 'kubectl/v1.29.0', authorization: `Bearer ${TOKEN}` });
      await request(client, { ':method': 'POST', ':path': '/k8s.io.Runtime/ListPods', 'content-type': 'application/grpc', te: 'trailers' }, Buffer.from([0, 0, 0, 0, 0]));
      await request(client, { ':method': 'POST', ':path': '/api/v1/namespaces/default/configmaps', 'content-type': 'application/json' }, Buffer.from('{"a":1}'));
    },
  );
}

describe('probeHttp2', () => {
  it('matches the client preface and a server SETTINGS frame header', () => {
    expect(probeHttp2(0, CLIENT_PREFACE, 0, 24)).toBe(ProbeResult.MATCH);
    expect(probeHttp2(0, CLIENT_PREFACE, 0, 10)).toBe(ProbeResult.NEED_MORE);
    const get = new Uint8Array(Buffer.from('GET / HTTP/1.1\r\n'));
    expect(probeHttp2(0, get, 0, get.length)).toBe(ProbeResult.NO_MATCH);
    // 00 00 12 04 00 00 00 00 00: SETTINGS, 18 bytes (3 settings), stream 0
    const settings = hex('000012040000000000');
    expect(probeHttp2(1, settings, 0, 9)).toBe(ProbeResult.MATCH);
    expect(probeHttp2(1, settings, 0, 4)).toBe(ProbeResult.NEED_MORE);
    expect(probeHttp2(1, hex('000012010000000001'), 0, 9)).toBe(ProbeResult.NO_MATCH); // HEADERS
    expect(probeHttp2(1, hex('000005040000000000'), 0, 9)).toBe(ProbeResult.NO_MATCH); // not a multiple of 6
  });
});

describe('Http2Dissector on node:http2 conversations', () => {
  it("reads a gRPC call's status and percent-encoded message, from trailers or a trailers-only response", async () => {
    const conv = await recordHttp2(
      (stream, headers) => {
        const path = String(headers[':path']);
        if (path.endsWith('/Range')) {
          // Trailers-only: the status in the one header block.
          stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '16', 'grpc-message': 'etcdserver: invalid auth token' }, { endStream: true });
        } else {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '7', 'grpc-message': 'denied%3A caf%C3%A9 %ZZ' }));
          stream.end();
        }
      },
      async (client) => {
        await request(client, { ':method': 'POST', ':path': '/etcdserverpb.KV/Range', 'content-type': 'application/grpc', token: 'simple.token.1' }, Buffer.from([0, 0, 0, 0, 0]));
        await request(client, { ':method': 'POST', ':path': '/etcdserverpb.KV/Put', 'content-type': 'application/grpc' }, Buffer.from([0, 0, 0, 0, 0]));
      },
    );
    const { result, anomalies } = run(http2Factory, conv);
    expect(anomalies).toEqual([]);
    expect(result.map((r) => [r.path, r.status, r.grpcStatus, r.grpcMessage])).toEqual([
      ['/etcdserverpb.KV/Range', 200, 16, 'etcdserver: invalid auth token'],
      // Escapes decoded as UTF-8; a malformed one kept as sent.
      ['/etcdserverpb.KV/Put', 200, 7, 'denied: café %ZZ'],
    ]);
  });

  it('decodes requests, responses, gRPC method, bodies and GOAWAY', async () => {
    const conv = await recordConversation();
    const { result, anomalies, dissector } = run(http2Factory, conv);
    expect(anomalies).toEqual([]);
    expect(result.map((r) => [r.streamId, r.method, r.path, r.status, r.host, r.version])).toEqual([
      [1, 'GET', '/api/v1/namespaces/default/pods', 200, 'kube-apiserver:6443', '2'],
      [3, 'POST', '/k8s.io.Runtime/ListPods', 200, 'kube-apiserver:6443', '2'],
      [5, 'POST', '/api/v1/namespaces/default/configmaps', 201, 'kube-apiserver:6443', '2'],
    ]);
    const [list, grpc, create] = result;
    expect(list).toMatchObject({ userAgent: 'kubectl/v1.29.0', auth: 'bearer', responseContentType: 'application/json', responseBodyBytes: 29 });
    expect(list!.authHash).toBe('sha256:' + createHash('sha256').update(TOKEN).digest('hex').slice(0, 16));
    expect(list!.k8s).toMatchObject({ api: 'apiserver', operation: 'list', target: 'pods', namespace: 'default' });
    expect(grpc).toMatchObject({ contentType: 'application/grpc', grpcMethod: 'k8s.io.Runtime/ListPods', requestBodyBytes: 5, responseBodyBytes: 7, grpcStatus: 0, grpcMessage: null });
    expect(list).toMatchObject({ grpcStatus: null, grpcMessage: null });
    expect(create).toMatchObject({ requestBodyBytes: 7, responseBodyBytes: 11, k8s: { operation: 'create', target: 'configmaps' } });
    expect(JSON.stringify(result)).not.toContain(TOKEN);
    expect((dissector as Http2Dissector).goAway).toMatchObject({ errorCode: 0, lastStreamId: expect.any(Number) });
  });

  it('reads whose a service-account token is, keeping its claims and not the token', async () => {
    const token = signedJwt(boundTokenClaims({ namespace: 'monitoring', serviceAccount: 'prometheus', pod: 'prometheus-0', node: 'worker-2' }));
    const conv = await recordHttp2(
      (stream) => {
        stream.respond({ ':status': 200 });
        stream.end();
      },
      async (client) => {
        // The same token on every request, as client-go sends it; and one request without it.
        for (let i = 0; i < 3; i++) await request(client, { ':method': 'GET', ':path': '/api/v1/nodes', authorization: `Bearer ${token}` });
        await request(client, { ':method': 'GET', ':path': '/version' });
        // The token as a WebSocket subprotocol (a browser's exec over HTTP/2, RFC 8441).
        await request(client, { ':method': 'GET', ':path': '/api/v1/namespaces/default/pods/web-0/exec', 'sec-websocket-protocol': `base64url.bearer.authorization.k8s.io.${Buffer.from(token).toString('base64url')}, v5.channel.k8s.io` });
      },
    );
    const { result, anomalies } = run(http2Factory, conv);
    expect(anomalies).toEqual([]);
    expect(result.map((r) => r.authIdentity?.subject ?? null)).toEqual([
      'system:serviceaccount:monitoring:prometheus', 'system:serviceaccount:monitoring:prometheus', 'system:serviceaccount:monitoring:prometheus', null,
      'system:serviceaccount:monitoring:prometheus',
    ]);
    expect(result[4]!.authHash).toBe(result[0]!.authHash);
    expect(result[0]!.authIdentity).toMatchObject({ kind: 'serviceaccount', pod: 'prometheus-0', node: 'worker-2' });
    const text = JSON.stringify(result);
    expect(text).not.toContain(token.split('.')[2]!);
    expect(text).not.toContain(token.split('.')[1]!);
  });

  it('is split invariant (whole, byte by byte, every split point)', async () => {
    const conv = await recordConversation();
    expectSplitInvariant(http2Factory, conv, eq);
  });

  it('counts a bad preface and stops that direction', () => {
    const { anomalies } = run(http2Factory, [{ dir: 0, bytes: new Uint8Array(Buffer.from('PRI * HTTP/1.1\r\n\r\n')) }]);
    expect(anomalies).toEqual(['http2.bad_preface']);
  });

  it('reports an HPACK error (index out of range) and stops decoding that direction', () => {
    // preface, then HEADERS stream 1 END_HEADERS with block "be" (dynamic index 62, table empty)
    const bytes = new Uint8Array([...CLIENT_PREFACE, ...hex('000001010400000001be'), ...hex('000001010500000003' + '82')]);
    const { anomalies, result } = run(http2Factory, [{ dir: 0, bytes }]);
    expect(anomalies).toEqual(['http2.hpack_error']);
    expect(result).toHaveLength(1); // stream 1 was opened before its block failed; stream 3 is not decoded
  });

  it('keeps at most MAX_STREAMS streams and counts the rest', () => {
    const parts: number[] = [...CLIENT_PREFACE];
    const n = MAX_STREAMS + 3;
    for (let i = 0; i < n; i++) {
      const id = 2 * i + 1;
      // HEADERS, length 3, END_STREAM|END_HEADERS: :method GET (82), :scheme http (86), :path / (84)
      parts.push(0, 0, 3, 1, 5, (id >>> 24) & 0x7f, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff, 0x82, 0x86, 0x84);
    }
    const { anomalies, result } = run(http2Factory, [{ dir: 0, bytes: new Uint8Array(parts) }]);
    expect(result).toHaveLength(MAX_STREAMS);
    expect(anomalies.filter((a) => a === 'http2.too_many_streams')).toHaveLength(3);
  });

  it('skips an oversized frame and reports it', () => {
    // SETTINGS frame claiming 100000 bytes (0x0186a0)
    const head = hex('0186a0040000000000');
    const bytes = new Uint8Array(9 + 100000);
    bytes.set(head, 0);
    const { anomalies } = run(http2Factory, [{ dir: 1, bytes }]);
    expect(anomalies).toEqual(['http2.frame_too_large']);
  });
});

describe("etcd's own authentication over HTTP/2 (gRPC)", () => {
  /** protobuf: field 1 name, field 2 password (length-delimited), in a gRPC message. */
  const grpcMessage = (fields: [number, string][], extra: number[] = []) => {
    const body: number[] = [...extra];
    for (const [n, text] of fields) body.push((n << 3) | 2, Buffer.byteLength(text), ...Buffer.from(text));
    return Buffer.from([0, 0, 0, 0, body.length, ...body]);
  };
  const jwt = signedJwt({ username: 'kube-apiserver-etcd', revision: 4, exp: 1_800_000_000 });

  async function recordEtcdAuth(): Promise<Segment[]> {
    return recordHttp2(
      (stream) => {
        stream.on('data', () => {});
        stream.on('end', () => {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(Buffer.from([0, 0, 0, 0, 0]));
        });
      },
      async (client) => {
        const grpc = { ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers' };
        // An unknown varint field before the name, as a later etcd might add.
        await request(client, { ...grpc, ':path': '/etcdserverpb.Auth/Authenticate' }, grpcMessage([[1, 'root'], [2, 'pw-Only-In-Capture']], [0x18, 0x96, 0x01]));
        await request(client, { ...grpc, ':path': '/etcdserverpb.KV/Range', token: jwt }, grpcMessage([[1, '/registry']]));
        await request(client, { ...grpc, ':path': '/etcdserverpb.KV/Range', token: 'XWbPZiEPUjzhJGIc.17' }, grpcMessage([[1, '/registry']]));
        // The same metadata on another service is not etcd's token.
        await request(client, { ...grpc, ':path': '/other.Service/Call', token: 'not-etcd' }, grpcMessage([]));
      },
    );
  }

  it('names the user of a password and of a JWT token, hashes both, keeps neither, and is split invariant', async () => {
    const conv = await recordEtcdAuth();
    const { result } = run(http2Factory, conv);
    const reqs = result as { path: string; auth: string; authHash: string | null; authIdentity: { kind: string; subject: string | null; expires: number | null } | null }[];
    expect(reqs.map((r) => [r.path, r.auth, r.authIdentity?.subject ?? null])).toEqual([
      ['/etcdserverpb.Auth/Authenticate', 'basic', 'etcd:root'],
      ['/etcdserverpb.KV/Range', 'bearer', 'etcd:kube-apiserver-etcd'],
      ['/etcdserverpb.KV/Range', 'bearer', null],
      ['/other.Service/Call', 'none', null],
    ]);
    expect(reqs[0]!.authHash).toBe(`sha256:${createHash('sha256').update('root:pw-Only-In-Capture').digest('hex').slice(0, 16)}`);
    expect(reqs[1]!.authIdentity).toMatchObject({ kind: 'etcd', expires: 1_800_000_000 });
    expect(reqs[2]!.authHash).toBe(`sha256:${createHash('sha256').update('XWbPZiEPUjzhJGIc.17').digest('hex').slice(0, 16)}`);
    expect(JSON.stringify(result)).not.toContain('pw-Only-In-Capture');
    expect(JSON.stringify(result)).not.toContain('XWbPZiEPUjzhJGIc');
    expectSplitInvariant(http2Factory, conv, eq);
  });
});
