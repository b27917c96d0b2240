/**
 * `follow --format http`: an HTTP/1.x connection message by message, as Wireshark's Follow HTTP
 * Stream shows it — each message under a line naming the side, the frame it began in and its start
 * line, its header fields as sent, and its body de-chunked and decoded (gzip, deflate, br) as text. A
 * connection whose client does not start with an HTTP/1 request is shown as text instead.
 */
import type { Direction } from '../flow/direction';
import { layerName, type FollowChunk, type FollowResult } from '../export/follow-stream';
import { Http1MessageReader, type Http1Message } from '../export/http1-messages';
import { asciiText, type FollowRenderer, type Write } from './follow-text';
import { DecodedViewRenderer } from './follow-decoded';
import { MAX_BODY_SHOWN } from './follow-http2';
import { terminalSafe } from './terminal-text';

export class Http1FollowRenderer extends DecodedViewRenderer {
  private readonly reader = new Http1MessageReader((m) => {
    const { head, body } = http1MessageText(m);
    this.item(m.dir, m.frame, m.ts, head, body);
  });

  constructor(write: Write, colour: boolean, asText: FollowRenderer) {
    super(write, colour, asText, 'not HTTP/1 (the client did not start with a request line)');
  }

  protected feed(c: FollowChunk): void {
    this.reader.data(c);
  }

  protected rejected(): boolean {
    return this.reader.notHttp1;
  }

  protected missing(dir: Direction, bytes: number): void {
    this.reader.gap(dir, bytes);
  }

  protected finish(r: FollowResult): void {
    this.reader.end();
    this.write(`==== HTTP/1 in the ${layerName(r.layer)}: ${this.reader.messages} messages; ${this.totals[0]} bytes from the client, ${this.totals[1]} from the server\n`);
    if (r.note !== null) this.write(`note: ${r.note}\n`);
  }
}

/**
 * An HTTP/1 message in words: its head (the start line, or what a notice says) and its body lines
 * (header fields as sent, how the body came, the body as text, at most MAX_BODY_SHOWN bytes). Start
 * lines, fields and bodies come from the wire: every control character is replaced.
 */
export function http1MessageText(m: Http1Message): { head: string; body: string[] } {
  if (m.notice) return { head: m.info, body: [] };
  const body = m.head.slice(1).map((l) => terminalSafe(l, 8192));
  if (m.info !== '') body.push(`[body: ${m.info}]`);
  if (m.body !== null && m.body.length > 0) {
    const shown = Math.min(m.body.length, MAX_BODY_SHOWN);
    const text = asciiText(m.body.subarray(0, shown));
    body.push(...(text.endsWith('\n') ? text.slice(0, -1) : text).split('\n'));
    if (m.body.length > shown) body.push(`[… ${m.body.length - shown} more bytes]`);
  }
  return { head: terminalSafe(m.head[0] ?? '', 300), body };
}
