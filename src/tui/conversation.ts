/**
 * A flow's conversation as lines for the terminal UI (what `planewatch follow` prints): a header
 * line per turn naming who sent it, then the bytes as printable ASCII, every other byte a dot.
 * Bounded: past MAX_CONVERSATION_BYTES the reading stops and the last line says so.
 */
import type { Direction } from '../flow/direction';
import { followFlow, layerName } from '../export/follow-stream';
import type { FlowSelector } from '../export/flow-packets';
import { asciiText } from '../report/follow-text';
import { http2EventText } from '../report/follow-http2';
import { http1MessageText } from '../report/follow-http1';
import { Http1MessageReader } from '../export/http1-messages';
import { Http2FrameReader } from '../export/http2-frames';
import { formatBytes } from '../report/text-report';
import { KeyLog } from '../../dissectors/tls/decrypt/key-log';

/** Bytes of conversation the TUI holds at most. */
export const MAX_CONVERSATION_BYTES = 256 * 1024;

export interface ConversationLine {
  text: string;
  /** The side that sent it (its header line included), or null for a line about the conversation. */
  side: Direction | null;
  header: boolean;
}

export interface Conversation {
  /** One line on what is shown (decrypted TLS or TCP payload, bytes per side). */
  summary: string;
  lines: ConversationLine[];
}

/**
 * An HTTP/2 connection (one whose client starts with the preface) is shown frame by frame with its
 * header blocks decoded, as `follow --format http2` prints it; an HTTP/1 one message by message with
 * its bodies de-chunked and decoded, as `--format http` does; anything else as text.
 */
export async function readConversation(file: string, flow: FlowSelector, keyLog = new KeyLog()): Promise<Conversation> {
  const h2lines: ConversationLine[] = [];
  const h2 = new Http2FrameReader((e) => {
    const { head, body } = http2EventText(e);
    h2lines.push({ text: `${e.dir === 0 ? '▶ client → server' : '◀ server → client'}  frame ${e.frame}  ${head}`, side: e.dir, header: true });
    for (const l of body) h2lines.push({ text: expandTabs(l), side: e.dir, header: false });
  });
  const h1lines: ConversationLine[] = [];
  const h1 = new Http1MessageReader((m) => {
    const { head, body } = http1MessageText(m);
    h1lines.push({ text: `${m.dir === 0 ? '▶ client → server' : '◀ server → client'}  frame ${m.frame}  ${head}`, side: m.dir, header: true });
    for (const l of body) h1lines.push({ text: expandTabs(l), side: m.dir, header: false });
  });
  const lines: ConversationLine[] = [];
  const totals = [0, 0];
  let shown = 0;
  let side: Direction | -1 = -1;
  /** The current turn's text not yet cut into lines (a line may span chunks). */
  let partial = '';
  const abort = new AbortController();
  const endTurn = () => {
    if (side === -1) return;
    const text = partial.endsWith('\n') ? partial.slice(0, -1) : partial;
    for (const l of text.split('\n')) lines.push({ text: expandTabs(l), side, header: false });
    partial = '';
  };
  const result = await followFlow(file, flow, {
    layer: 'auto',
    keyLog,
    signal: abort.signal,
    sink: {
      data: (c) => {
        totals[c.dir] += c.data.length;
        if (abort.signal.aborted) return;
        const data = shown + c.data.length > MAX_CONVERSATION_BYTES ? c.data.subarray(0, MAX_CONVERSATION_BYTES - shown) : c.data;
        shown += data.length;
        const part = data === c.data ? c : { ...c, data };
        if (!h2.notHttp2) h2.data(part);
        if (!h1.notHttp1) h1.data(part);
        if (c.dir !== side || c.datagram === true) {
          endTurn();
          side = c.dir;
          lines.push({ text: `${c.dir === 0 ? '▶ client → server' : '◀ server → client'}  frame ${c.frame}`, side: c.dir, header: true });
        }
        partial += asciiText(data);
        if (shown >= MAX_CONVERSATION_BYTES) abort.abort();
      },
      gap: (dir, bytes) => {
        if (abort.signal.aborted) return;
        h2.gap(dir);
        h1.gap(dir, bytes);
        h2lines.push({ text: `[${bytes} bytes from the ${dir === 0 ? 'client' : 'server'} missing]`, side: dir, header: true });
        endTurn();
        side = -1;
        lines.push({ text: `[${bytes} bytes from the ${dir === 0 ? 'client' : 'server'} missing]`, side: dir, header: true });
      },
    },
  });
  endTurn();
  h1.end();
  const isHttp2 = !h2.notHttp2 && h2.frames > 0;
  const isHttp1 = !isHttp2 && !h1.notHttp1 && h1.messages > 0;
  if (isHttp2) lines.splice(0, lines.length, ...h2lines);
  else if (isHttp1) lines.splice(0, lines.length, ...h1lines);
  if (abort.signal.aborted) lines.push({ text: `… only the first ${formatBytes(MAX_CONVERSATION_BYTES)} are shown (planewatch follow prints all of it)`, side: null, header: false });
  if (result.note !== null) lines.push({ text: `note: ${result.note}`, side: null, header: false });
  if (result.error !== null) lines.push({ text: `${result.error.message} (what came before it is shown)`, side: null, header: false });
  const what = `${isHttp2 ? `HTTP/2 (${h2.frames} frames) in the ` : isHttp1 ? `HTTP/1 (${h1.messages} messages) in the ` : ''}${layerName(result.layer)}`;
  const cut = abort.signal.aborted ? ' (so far)' : '';
  return { summary: `${what}: ${formatBytes(totals[0]!)} from the client, ${formatBytes(totals[1]!)} from the server${cut}`, lines };
}

/** Tabs to spaces up to the next multiple of 8 (a tab is a control character to the screen's cleaner). */
export function expandTabs(line: string): string {
  if (!line.includes('\t')) return line;
  let out = '';
  for (const ch of line) out += ch === '\t' ? ' '.repeat(8 - (out.length % 8)) : ch;
  return out;
}
