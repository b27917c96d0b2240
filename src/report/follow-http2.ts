/**
 * `follow --format http2`: a (decrypted) HTTP/2 connection frame by frame, as Wireshark's Follow
 * HTTP/2 Stream and its packet details show it — each frame under a line naming the side, the
 * capture frame it began in, its type and stream; header blocks decoded, DATA as text, control
 * frames with their fields; a connection upgraded from HTTP/1.1 (`Upgrade: h2c`) from its upgrade
 * request on. A connection that does neither is shown as text instead.
 */
import type { Direction } from '../flow/direction';
import { layerName, type FollowChunk, type FollowResult } from '../export/follow-stream';
import { Http2FrameReader, type Http2Event } from '../export/http2-frames';
import { asciiText, SIDE, type FollowRenderer, type Write } from './follow-text';
import { DecodedViewRenderer } from './follow-decoded';
import { terminalSafe } from './terminal-text';

/** DATA bytes printed per frame, and bytes of a decoded body; the rest is counted. */
export const MAX_DATA_SHOWN = 4096;
export const MAX_BODY_SHOWN = 65536;

/** A DATA frame of a content-encoded message (its bytes are compressed). */
export function isEncodedData(e: Http2Event): boolean {
  return e.type === 'DATA' && e.info.endsWith('-encoded');
}


export class Http2FollowRenderer extends DecodedViewRenderer {
  private readonly reader = new Http2FrameReader((e) => {
    const { head, body } = http2EventText(e);
    this.item(e.dir, e.frame, e.ts, head, body);
  });

  constructor(write: Write, colour: boolean, asText: FollowRenderer) {
    super(write, colour, asText, 'not HTTP/2 (neither the connection preface nor an upgrade to h2c from the client)');
  }

  protected feed(c: FollowChunk): void {
    this.reader.data(c);
  }

  protected rejected(): boolean {
    return this.reader.notHttp2;
  }

  protected missing(dir: Direction, bytes: number): void {
    this.said(dir, `[${bytes} bytes from the ${SIDE[dir]} missing]`);
    this.reader.gap(dir);
  }

  protected finish(r: FollowResult): void {
    for (const dir of [0, 1] as const) {
      const { partial, skipped } = this.reader.leftover(dir);
      if (skipped > 0) this.write(`[${skipped} bytes from the ${SIDE[dir]} not decoded]\n`);
      if (partial > 0) this.write(`[${partial} bytes from the ${SIDE[dir]} end in the middle of a frame]\n`);
    }
    this.write(`==== HTTP/2 in the ${layerName(r.layer)}: ${this.reader.frames} frames; ${this.totals[0]} bytes from the client, ${this.totals[1]} from the server\n`);
    if (r.note !== null) this.write(`note: ${r.note}\n`);
  }
}

/**
 * An HTTP/2 frame in words: its head (type, stream, size, flags or fields) and its body lines (the
 * header fields, or DATA as text, at most MAX_DATA_SHOWN bytes). Wire strings are made terminal-safe.
 */
export function http2EventText(e: Http2Event): { head: string; body: string[] } {
  const head = e.type === 'preface' || e.type === 'error'
    ? e.info
    : e.type === 'upgrade'
      ? `HTTP/1.1 ${e.dir === 0 ? 'upgrade request, stream 1' : 'upgrade answer'}: ${terminalSafe(e.info, 300)}`
    : e.type === 'body'
      ? `body of stream ${e.stream}: ${e.info}`
      : [
        `${e.type}${e.stream !== 0 ? ` stream ${e.stream}` : ''}`,
        e.data !== null ? `, ${e.info}` : '',
        e.info && e.data === null ? ` ${terminalSafe(e.info, 300)}` : '',
        e.flags.length ? ` (${e.flags.join(', ')})` : '',
      ].join('');
  const body: string[] = [];
  // Header names and values come from the wire: every control character is replaced.
  if (e.headers !== null) for (const [n, v] of e.headers) body.push(terminalSafe(`${n}: ${v}`, 8192));
  // A content-encoded message's frames are shown decoded, as one body, when its stream ends.
  if (e.data !== null && e.data.length > 0 && !isEncodedData(e)) {
    const shown = Math.min(e.data.length, e.type === 'body' ? MAX_BODY_SHOWN : MAX_DATA_SHOWN);
    const text = asciiText(e.data.subarray(0, shown));
    body.push(...(text.endsWith('\n') ? text.slice(0, -1) : text).split('\n'));
    if (e.data.length > shown) body.push(`[… ${e.data.length - shown} more bytes]`);
  }
  return { head, body };
}
