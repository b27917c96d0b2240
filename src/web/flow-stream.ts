/**
 * GET /api/flows/:id/stream: a flow's conversation, read back from its capture (the dashboard's
 * Follow Stream; `planewatch follow` on the command line): a TCP connection's bytes per turn, a UDP
 * flow's datagrams, or with view=http2 its HTTP/2 frames. Decrypted TLS is shown only
 * when the dashboard was started to decrypt (`serve --decrypt` / `--keylog`): a capture's key log
 * blocks would otherwise hand anyone with the dashboard the tokens inside its connections.
 */
import type { FastifyReply } from 'fastify';
import { flowPacketsProblem, locateCapture } from '../export/capture-location';
import { STORED_FLOW_SELECTOR_SQL, type StoredFlowSelector } from '../export/flow-packets';
import { followFlow, type FollowLayer } from '../export/follow-stream';
import { Http2FrameReader, type Http2Event } from '../export/http2-frames';
import { Http1MessageReader, type Http1Message } from '../export/http1-messages';
import type { Direction } from '../flow/direction';
import { KeyLog } from '../../dissectors/tls/decrypt/key-log';
import type { StatementCache } from './statements';
import { SIDE } from '../report/follow-text';

/** Bytes of conversation one response carries unless asked for less (or more, up to MAX_STREAM_BYTES). */
export const DEFAULT_STREAM_BYTES = 1024 * 1024;
export const MAX_STREAM_BYTES = 16 * 1024 * 1024;

export interface StreamQuery {
  layer?: FollowLayer | 'auto';
  maxBytes?: number;
  /**
   * 'bytes' (default): what each side sent; 'http': its HTTP/1 messages, bodies de-chunked and
   * decoded; 'http2': its HTTP/2 frames, header blocks decoded.
   */
  view?: 'bytes' | 'http' | 'http2';
}

/** DATA bytes of one HTTP/2 frame, and of a decoded (gzip, deflate, br) body, sent to the dashboard; the rest is counted. */
export const MAX_FRAME_DATA = 4096;
export const MAX_BODY_DATA = 65536;

/** An HTTP/1 message as the API sends it: the reader's message with its side named and its body in base64. */
type Http1MessageItem = Omit<Http1Message, 'dir' | 'body'> & {
  side: 'client' | 'server';
  /** The body (base64, at most MAX_BODY_DATA bytes) and its full length. */
  body: string | null;
  bodyBytes: number;
};

/** An HTTP/2 frame as the API sends it: the reader's event with its side named and DATA in base64. */
type Http2FrameItem = Omit<Http2Event, 'dir' | 'data'> & {
  side: 'client' | 'server';
  /** DATA payload (base64, at most MAX_FRAME_DATA bytes) and its full length. */
  data: string | null;
  dataBytes: number;
};

interface StreamChunk {
  kind: 'data' | 'gap';
  side: 'client' | 'server';
  frame: number | null;
  ts: number | null;
  /** Bytes in `data` (base64), or bytes missing for a gap. */
  bytes: number;
  data: string;
}


/** `decryption`: the secrets the dashboard decrypts with, or null when it does not decrypt. */
export async function sendFlowStream(
  stmts: StatementCache,
  dbFile: string,
  id: number,
  q: StreamQuery,
  decryption: KeyLog | null,
  reply: FastifyReply,
): Promise<unknown> {
  const row = stmts.one<StoredFlowSelector>(`${STORED_FLOW_SELECTOR_SQL} WHERE f.id = ?`, [id]);
  if (row === undefined) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: 'flow not found' });
  const where = locateCapture(row.captureFile, dbFile);
  const problem = flowPacketsProblem(where, row.firstFrame);
  if (problem !== null || !('file' in where)) {
    return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `${problem}: its conversation cannot be read again` });
  }
  const maxBytes = q.maxBytes ?? DEFAULT_STREAM_BYTES;
  const chunks: StreamChunk[] = [];
  const pending: { side: Direction; frame: number; ts: number; parts: Uint8Array[]; size: number } = { side: 0, frame: 0, ts: 0, parts: [], size: 0 };
  const totals = [0, 0];
  let shown = 0;
  let truncated = false;
  const abort = new AbortController();
  // Consecutive bytes from one side go out as one chunk, as the dashboard shows them.
  const flush = () => {
    if (pending.size === 0) return;
    const data = Buffer.concat(pending.parts, pending.size);
    chunks.push({ kind: 'data', side: SIDE[pending.side], frame: pending.frame, ts: pending.ts, bytes: data.length, data: data.toString('base64') });
    pending.parts = [];
    pending.size = 0;
  };
  const layer = decryption === null ? 'tcp' : (q.layer ?? 'auto');
  const frames: Http2FrameItem[] = [];
  const reader = q.view === 'http2'
    ? new Http2FrameReader((e) => {
        frames.push({
          side: SIDE[e.dir], frame: e.frame, ts: e.ts, type: e.type, stream: e.stream, flags: e.flags, headers: e.headers,
          data: e.data === null ? null : Buffer.from(e.data.subarray(0, e.type === 'body' ? MAX_BODY_DATA : MAX_FRAME_DATA)).toString('base64'),
          dataBytes: e.data?.length ?? 0, info: e.info,
        });
      })
    : null;
  const messages: Http1MessageItem[] = [];
  const h1 = q.view === 'http'
    ? new Http1MessageReader((m) => {
        messages.push({
          side: SIDE[m.dir], frame: m.frame, ts: m.ts, head: m.head, info: m.info, notice: m.notice,
          body: m.body === null ? null : Buffer.from(m.body.subarray(0, MAX_BODY_DATA)).toString('base64'),
          bodyBytes: m.body?.length ?? 0,
        });
      })
    : null;
  const messageReader = reader ?? h1;
  const result = await followFlow(where.file, row, {
    layer,
    // A copy: secrets found in one capture are not kept for the next request's.
    keyLog: decryption === null ? new KeyLog() : copyOf(decryption),
    captureSecrets: decryption !== null,
    signal: abort.signal,
    sink: {
      data: (c) => {
        totals[c.dir] += c.data.length;
        if (truncated) return;
        if (messageReader !== null) {
          // Frames or messages are read from the bytes up to the limit; the chunks themselves are not sent.
          const take = Math.min(c.data.length, maxBytes - shown);
          shown += take;
          messageReader.data(take === c.data.length ? c : { ...c, data: c.data.subarray(0, take) });
          if (shown >= maxBytes) {
            truncated = true;
            abort.abort();
          }
          return;
        }
        let data = c.data;
        if (shown + data.length > maxBytes) {
          data = data.subarray(0, maxBytes - shown);
          truncated = true;
          abort.abort();
        }
        shown += data.length;
        if (pending.size > 0 && (pending.side !== c.dir || c.datagram === true)) flush();
        if (pending.size === 0) Object.assign(pending, { side: c.dir, frame: c.frame, ts: c.ts });
        pending.parts.push(data);
        pending.size += data.length;
      },
      gap: (dir, bytes) => {
        if (truncated) return;
        // In the HTTP/2 view the side's decoding stops, which its frames say.
        if (reader !== null) return reader.gap(dir);
        if (h1 !== null) return h1.gap(dir, bytes);
        flush();
        chunks.push({ kind: 'gap', side: SIDE[dir], frame: null, ts: null, bytes, data: '' });
      },
    },
  });
  flush();
  h1?.end();
  let note = result.note;
  if (decryption === null && result.evidence?.app === 'tls') {
    note = 'this dashboard does not decrypt (start it with --decrypt, or --keylog FILE): the encrypted records are shown';
  }
  const stored = stmts.one<{ app: string }>('SELECT app FROM flows WHERE id = ?', [id]);
  return {
    layer: result.layer,
    app: result.evidence?.app ?? stored?.app ?? 'unknown',
    tlsVersion: result.evidence?.tls?.version ?? null,
    decrypted: result.layer === 'tls',
    decryption: decryption !== null,
    note,
    truncated,
    // Up to the point where reading stopped (all of it unless truncated).
    clientBytes: totals[0]!,
    serverBytes: totals[1]!,
    error: result.error?.message ?? null,
    chunks,
    http2: reader === null ? null : { isHttp2: !reader.notHttp2, frames: reader.notHttp2 ? [] : frames },
    http1: h1 === null ? null : { isHttp1: !h1.notHttp1, messages: h1.notHttp1 ? [] : messages },
  };
}

function copyOf(keyLog: KeyLog): KeyLog {
  const k = new KeyLog();
  k.merge(keyLog);
  return k;
}
