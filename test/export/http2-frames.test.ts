import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordHttp2, request } from '../dissectors/http2/record-h2';
import { http2EventText } from '../../src/report/follow-http2';
import { Http2FrameReader, type Http2Event } from '../../src/export/http2-frames';
import type { Direction } from '../../src/flow/direction';
import { h2Frame } from './http2-frame-bytes';

/** Hand-built frames (RFC 9113 §4.1) and HPACK literals without indexing (RFC 7541 §6.2.2). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const frame = h2Frame;
function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}

function read(chunks: [Direction, Buffer][], gaps: Direction[] = []) {
  const events: Http2Event[] = [];
  const r = new Http2FrameReader((e) => events.push({ ...e, data: e.data === null ? null : Buffer.from(e.data) }));
  chunks.forEach(([dir, data], i) => {
    r.data({ dir, data, ts: 1000 + i, frame: i + 1 });
    if (gaps.includes(dir) && i === chunks.length - 1) r.gap(dir);
  });
  return { r, events };
}

describe('Http2FrameReader', () => {
  it('reads frames split anywhere across chunks, with CONTINUATIONs, padding and priority removed', () => {
    const block = Buffer.concat([literal(':method', 'GET'), literal(':path', '/api/v1/secrets')]);
    const headers = Buffer.concat([
      // HEADERS, PADDED | PRIORITY, stream 1: pad length 2, 5 priority bytes, the first field; then CONTINUATION with the second.
      frame(1, 0x08 | 0x20, 1, Buffer.concat([Buffer.from([2]), Buffer.alloc(5), literal(':method', 'GET'), Buffer.alloc(2)])),
      frame(9, 0x04, 1, literal(':path', '/api/v1/secrets')),
    ]);
    const data = frame(0, 0x08 | 0x01, 1, Buffer.concat([Buffer.from([3]), Buffer.from('{"a":1}'), Buffer.alloc(3)]));
    const all = Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.from([0, 4, 0, 0, 0xff, 0xff])), headers, data]);
    expect(block.length).toBeGreaterThan(0);
    // Byte by byte: every boundary falls inside something.
    const { r, events } = read([...all].map((b) => [0, Buffer.from([b])] as [Direction, Buffer]));
    expect(events.map((e) => [e.type, e.stream, e.flags, e.headers, e.data?.toString(), e.info])).toEqual([
      ['preface', 0, [], null, undefined, 'connection preface'],
      ['SETTINGS', 0, [], null, undefined, 'INITIAL_WINDOW_SIZE=65535'],
      ['HEADERS', 1, [], [[':method', 'GET'], [':path', '/api/v1/secrets']], undefined, ''],
      ['DATA', 1, ['END_STREAM'], null, '{"a":1}', '7 bytes'],
    ]);
    expect(r.frames).toBe(4);
    expect(r.leftover(0)).toEqual({ partial: 0, skipped: 0 });
    // A header block is dated by the chunk it began in.
    expect(events[2]!.frame).toBe(PREFACE.length + 15 + 1);
  });

  it('names control frames by their fields', () => {
    const goaway = Buffer.concat([Buffer.from([0, 0, 0, 7, 0, 0, 0, 11]), Buffer.from('bye')]);
    const { events } = read([[1, Buffer.concat([
      frame(4, 0x01, 0, ''), frame(8, 0, 0, Buffer.from([0, 0, 0x10, 0])), frame(3, 0, 5, Buffer.from([0, 0, 0, 8])),
      frame(6, 0x01, 0, Buffer.from('12345678')), frame(7, 0, 0, goaway), frame(0xfa, 0, 0, 'x'),
    ])]]);
    expect(events.map((e) => `${e.type} ${e.flags.join(',')} ${e.info}`)).toEqual([
      'SETTINGS ACK ', 'WINDOW_UPDATE  connection +4096', 'RST_STREAM  CANCEL', 'PING ACK 3132333435363738',
      'GOAWAY  last stream 7: ENHANCE_YOUR_CALM "bye"', 'type 0xfa  1 bytes (a type HTTP/2 ignores)',
    ]);
  });

  it('stops a side at a gap, a header block that does not decode, or a frame interleaved with a header block', () => {
    const afterGap = read([[0, Buffer.concat([PREFACE, frame(4, 0, 0, '')])], [0, frame(4, 0x01, 0, '')]], [0]);
    expect(afterGap.events.at(-1)!.info).toBe('HTTP/2 decoding of this side stopped after a gap');
    afterGap.r.data({ dir: 0, data: Buffer.alloc(10), ts: 0, frame: 9 });
    expect(afterGap.r.leftover(0)).toEqual({ partial: 0, skipped: 10 });
    // An indexed field beyond the tables: HPACK's COMPRESSION_ERROR.
    const bad = read([[1, Buffer.concat([frame(1, 0x04, 1, Buffer.from([0xff, 0x70])), frame(4, 0, 0, '')])]]);
    expect(bad.events.map((e) => e.type)).toEqual(['HEADERS', 'error']);
    expect(bad.events[1]!.info).toMatch(/does not decode/);
    expect(bad.r.leftover(1).skipped).toBe(9);
    const interleaved = read([[1, Buffer.concat([frame(1, 0, 1, literal('a', 'b')), frame(0, 0, 1, 'x')])]]);
    expect(interleaved.events.map((e) => e.info)).toEqual(['HTTP/2 decoding of this side stopped at a DATA frame inside the header block of stream 1']);
  });

  it('says the bytes are not HTTP/2 when the client does not start with the preface', () => {
    const { r, events } = read([[0, Buffer.from('GET / HTTP/1.1\r\n\r\n')]]);
    expect(r.notHttp2).toBe(true);
    expect(events).toEqual([]);
  });
});

describe('Http2FrameReader: a connection upgraded from HTTP/1.1 (Upgrade: h2c)', () => {
  const settings = frame(4, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100]));
  const response = Buffer.concat([frame(1, 0x04, 1, Buffer.from([0x88])), frame(0, 0x01, 1, '{"kind":"PodList"}')]);
  const upgradeRequest = (method = 'GET', extra = '') =>
    `${method} /api/v1/pods HTTP/1.1\r\nHost: 10.0.0.10:8080\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n${extra}\r\n`;
  const switched = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n';
  const summary = (events: Http2Event[]) => events.map((e) => [e.dir, e.type, e.stream, e.type === 'upgrade' ? e.info : e.data?.toString() ?? e.info]);
  const expected = [
    [0, 'upgrade', 1, 'GET /api/v1/pods HTTP/1.1'],
    [1, 'upgrade', 1, 'HTTP/1.1 101 Switching Protocols'],
    [1, 'SETTINGS', 0, 'MAX_CONCURRENT_STREAMS=100'],
    [0, 'preface', 0, 'connection preface'],
    [0, 'SETTINGS', 0, 'MAX_CONCURRENT_STREAMS=100'],
    [1, 'HEADERS', 1, ''],
    [1, 'DATA', 1, '{"kind":"PodList"}'],
  ];

  it('reads the upgrade request as stream 1, the 101, then both sides as HTTP/2, split anywhere', () => {
    const client = Buffer.concat([Buffer.from(upgradeRequest(), 'latin1'), PREFACE, settings]);
    const server = Buffer.concat([Buffer.from(switched, 'latin1'), settings, response]);
    const whole = read([[0, client.subarray(0, client.indexOf(PREFACE))], [1, server.subarray(0, server.indexOf(response))], [0, PREFACE], [0, settings], [1, response]]);
    expect(summary(whole.events)).toEqual(expected);
    expect(whole.events[0]!.headers).toContainEqual(['Upgrade', 'h2c']);
    expect(whole.events[5]!.headers).toEqual([[':status', '200']]);
    expect(whole.r.frames).toBe(4);
    // Byte by byte, the request and its preface in one stream of bytes, the answer in another.
    const bytes = (dir: Direction, b: Buffer) => [...b].map((x) => [dir, Buffer.from([x])] as [Direction, Buffer]);
    const split = read([...bytes(0, client.subarray(0, client.indexOf(PREFACE))), ...bytes(1, server.subarray(0, server.indexOf(response))),
      ...bytes(0, client.subarray(client.indexOf(PREFACE))), ...bytes(1, response)]);
    expect(summary(split.events)).toEqual(expected);
    expect(split.r.leftover(0)).toEqual({ partial: 0, skipped: 0 });
    expect(split.r.leftover(1)).toEqual({ partial: 0, skipped: 0 });
  });

  it('passes over the request body and an interim 100 Continue; a POST whose method starts like the preface is read too', () => {
    const body = '{"spec":{}}';
    const { r, events } = read([
      [0, Buffer.concat([Buffer.from(upgradeRequest('POST', `Content-Length: ${body.length}\r\n`) + body, 'latin1'), PREFACE, settings])],
      [1, Buffer.from('HTTP/1.1 100 Continue\r\n\r\n' + switched, 'latin1')],
      [1, Buffer.concat([settings, response])],
    ]);
    expect(r.notHttp2).toBe(false);
    expect(summary(events).map(([d, t]) => `${d}:${t}`)).toEqual(['0:upgrade', '0:preface', '0:SETTINGS', '1:upgrade', '1:SETTINGS', '1:HEADERS', '1:DATA']);
    expect(events[0]!.info).toBe('POST /api/v1/pods HTTP/1.1');
  });

  it('leaves a refused upgrade, a request that asks for something else, and a server that spoke HTTP/2 first as not HTTP/2', () => {
    expect(read([[0, Buffer.from(upgradeRequest(), 'latin1')], [1, Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')]]).r.notHttp2).toBe(true);
    expect(read([[0, Buffer.from('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')]]).r.notHttp2).toBe(true);
    expect(read([[1, settings], [0, Buffer.from(upgradeRequest(), 'latin1')]]).r.notHttp2).toBe(true);
    // Not a head at all: nothing is held past the limit.
    const noise = read([[0, Buffer.alloc(70 * 1024, 0x41)]]);
    expect(noise.r.notHttp2).toBe(true);
    expect(noise.events).toEqual([]);
    // A server that sends on while the request's head is still incomplete.
    const request = Buffer.from(upgradeRequest(), 'latin1');
    const flooded = read([[0, request.subarray(0, 40)], [1, Buffer.alloc(70 * 1024, 0x48)]]);
    expect(flooded.r.notHttp2).toBe(true);
  });

  it('never throws on an upgrade cut, mutated, split anywhere and broken by gaps, and holds no more than it was given', () => {
    const client = Buffer.concat([Buffer.from(upgradeRequest('POST', 'Content-Length: 3\r\n') + 'abc', 'latin1'), PREFACE, settings]);
    const server = Buffer.concat([Buffer.from('HTTP/1.1 100 Continue\r\n\r\n' + switched, 'latin1'), settings, response]);
    const piece = fc.record({ dir: fc.constantFrom<Direction>(0, 1), size: fc.integer({ min: 1, max: 80 }), gap: fc.boolean() });
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }), (pieces, flips) => {
        const bytes = [Buffer.from(client), Buffer.from(server)];
        for (const [at, v] of flips) bytes[at % 2]![(at >> 1) % bytes[at % 2]!.length] = v;
        const r = new Http2FrameReader(() => {});
        const taken = [0, 0];
        for (const p of pieces) {
          const b = bytes[p.dir]!;
          if (p.gap && taken[p.dir]! < b.length) r.gap(p.dir);
          r.data({ dir: p.dir, data: b.subarray(taken[p.dir], taken[p.dir]! + p.size), ts: 0, frame: 1 });
          taken[p.dir] = Math.min(b.length, taken[p.dir]! + p.size);
        }
        for (const dir of [0, 1] as const) {
          const { partial } = r.leftover(dir);
          expect(partial).toBeLessThanOrEqual(bytes[dir]!.length);
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('Http2FrameReader: content-encoded bodies', () => {
  it("decodes a gzip'd response from node:http2 once its stream ends, the frames themselves shown as encoded", async () => {
    const secretList = JSON.stringify({ kind: 'SecretList', items: Array.from({ length: 200 }, (_, i) => ({ metadata: { name: `s-${i}` }, data: { token: 'dG9rZW4=' } })) });
    const segments = await recordHttp2(
      (stream) => {
        stream.respond({ ':status': 200, 'content-type': 'application/json', 'content-encoding': 'gzip' });
        const z = gzipSync(secretList);
        // Two writes: the body arrives in several DATA frames.
        stream.write(z.subarray(0, 100));
        stream.end(z.subarray(100));
      },
      async (client) => {
        await request(client, { ':method': 'GET', ':path': '/api/v1/namespaces/kube-system/secrets', 'accept-encoding': 'gzip' });
      },
    );
    const events: Http2Event[] = [];
    const r = new Http2FrameReader((e) => events.push({ ...e, data: e.data === null ? null : Buffer.from(e.data) }));
    segments.forEach((sg, i) => r.data({ dir: sg.dir, data: sg.bytes, ts: i, frame: i + 1 }));
    const data = events.filter((e) => e.type === 'DATA' && e.dir === 1);
    expect(data.length).toBeGreaterThan(1);
    for (const d of data) expect(d.info).toMatch(/^\d+ bytes, gzip-encoded$/);
    const body = events.filter((e) => e.type === 'body');
    expect(body).toHaveLength(1);
    expect(body[0]).toMatchObject({ dir: 1, stream: 1 });
    expect(body[0]!.info).toMatch(new RegExp(`^gzip body of \\d+ bytes decoded to ${Buffer.byteLength(secretList)}$`));
    expect(body[0]!.data!.toString()).toBe(secretList);
    // As follow --format http2 prints them: the frames without their compressed bytes, the body as text.
    expect(http2EventText(data[0]!)).toEqual({ head: expect.stringMatching(/^DATA stream 1, \d+ bytes, gzip-encoded$/), body: [] });
    const text = http2EventText(body[0]!);
    expect(text.head).toMatch(/^body of stream 1: gzip body of \d+ bytes decoded to \d+$/);
    expect(text.body[0]!.startsWith('{"kind":"SecretList","items":[{"metadata":{"name":"s-0"}')).toBe(true);
  });

  it('decodes deflate and br, ends a body at its trailers, and says when one does not decode or is too long', () => {
    const h = (stream: number, flags: number, ...fields: [string, string][]) => frame(1, 0x04 | flags, stream, Buffer.concat(fields.map(([n, v]) => literal(n, v))));
    const deflated = deflateSync('{"kind":"Status"}');
    const { events } = read([[1, Buffer.concat([
      h(1, 0, [':status', '200'], ['content-encoding', 'deflate']), frame(0, 0, 1, deflated), h(1, 0x01, ['grpc-status', '0']),
      h(3, 0, [':status', '200'], ['content-encoding', 'gzip']), frame(0, 0x01, 3, 'not gzip at all'),
      h(5, 0, [':status', '200'], ['content-encoding', 'br']), frame(0, 0x01, 5, brotliCompressSync('{"kind":"PodList"}')),
    ])]]);
    const bodies = events.filter((e) => e.type === 'body');
    expect(bodies.map((b) => [b.stream, b.data?.toString() ?? null])).toEqual([[1, '{"kind":"Status"}'], [3, null], [5, '{"kind":"PodList"}']]);
    expect(bodies[2]!.info).toMatch(/^br body of \d+ bytes decoded to 18$/);
    expect(bodies[1]!.info).toMatch(/^gzip body of 15 bytes does not decode: /);
  });
});
