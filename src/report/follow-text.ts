/**
 * How `planewatch follow` prints a conversation: as text (printable ASCII, everything else a dot, as
 * Wireshark's and tshark's ASCII view), as a hex dump, as the raw bytes of one side, or as JSON.
 * Consecutive bytes from one side are printed as one block under a line naming the side, the frame
 * and the time; a block is flushed early past BLOCK_BYTES so memory stays flat on any connection.
 */
import type { Direction } from '../flow/direction';
import { layerName, type FollowChunk, type FollowResult, type FollowSink } from '../export/follow-stream';
import { terminalSafe } from './terminal-text';

export type FollowFormat = 'ascii' | 'hex' | 'raw' | 'json';
export const FOLLOW_FORMATS: readonly FollowFormat[] = ['ascii', 'hex', 'raw', 'json'];

/** Bytes of one side held before they are printed (a longer turn is printed in several blocks). */
export const BLOCK_BYTES = 64 * 1024;

/** Where the rendering goes (standard output, or a test's buffer). */
export type Write = (s: string | Uint8Array) => void;

export interface FollowHeader {
  flowKey: string;
  /** `ip:port` of each side, and the name planewatch knows it by (or null). */
  client: string;
  server: string;
  clientName: string | null;
  serverName: string | null;
  path: string;
  app: string;
  captureFile: string;
}

export interface FollowRenderer extends FollowSink {
  begin(h: FollowHeader): void;
  end(r: FollowResult): void;
}

/** The sides by direction, as the views name them. */
export const SIDE: readonly ['client', 'server'] = ['client', 'server'];

/** A line in its side's colour on a terminal: client red, server blue, as Wireshark colours them. */
export function paintSide(dir: Direction, s: string, colour: boolean): string {
  if (!colour) return s;
  return `${dir === 0 ? '\x1b[31m' : '\x1b[34m'}${s}\x1b[0m`;
}

/** ISO 8601 with microseconds, as captures keep them. */
export function iso(ts: number): string {
  // Microseconds, as captures keep them (toISOString stops at milliseconds).
  const ms = Math.floor(ts * 1000);
  const us = Math.round((ts * 1e6) % 1000);
  return new Date(ms).toISOString().replace('Z', `${String(us).padStart(3, '0')}Z`);
}

/** Printable ASCII and newlines/tabs as they are; CRLF as a newline; every other byte a dot. */
export function asciiText(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x0d && b[i + 1] === 0x0a) continue;
    s += (c >= 0x20 && c < 0x7f) || c === 0x0a || c === 0x09 ? String.fromCharCode(c) : '.';
  }
  return s;
}

/** `00000000  47 45 54 20 …  GET …` lines, 16 bytes each, offsets from `offset`. */
export function hexLines(b: Uint8Array, offset: number): string {
  let out = '';
  for (let i = 0; i < b.length; i += 16) {
    const row = b.subarray(i, i + 16);
    let hex = '';
    for (let j = 0; j < 16; j++) {
      hex += j < row.length ? row[j]!.toString(16).padStart(2, '0') + ' ' : '   ';
      if (j === 7) hex += ' ';
    }
    let text = '';
    for (const c of row) text += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
    out += `${(offset + i).toString(16).padStart(8, '0')}  ${hex} ${text}\n`;
  }
  return out;
}

/** Collects one side's consecutive bytes into a block. */
abstract class BlockRenderer implements FollowRenderer {
  private dir: Direction | -1 = -1;
  private parts: Uint8Array[] = [];
  private size = 0;
  private frame = 0;
  private ts = 0;
  /** Bytes printed so far per side (hex offsets). */
  protected readonly offsets = [0, 0];

  constructor(protected readonly write: Write, private readonly colour: boolean) {}

  begin(h: FollowHeader): void {
    // Names come from certificates, DNS answers and requests: nothing in them may steer the terminal.
    const name = (n: string | null) => (n ? ` (${terminalSafe(n)})` : '');
    this.write(
      `Follow flow ${terminalSafe(h.flowKey)}: ${h.client}${name(h.clientName)} → ${h.server}${name(h.serverName)}\n` +
        `path ${h.path}, app ${h.app}, capture ${terminalSafe(h.captureFile, 500)}\n`,
    );
  }

  data(c: FollowChunk): void {
    if (c.dir !== this.dir || this.size >= BLOCK_BYTES || c.datagram === true) this.flush();
    if (this.size === 0) {
      this.dir = c.dir;
      this.frame = c.frame;
      this.ts = c.ts;
    }
    this.parts.push(c.data);
    this.size += c.data.length;
  }

  gap(dir: Direction, bytes: number): void {
    this.flush();
    this.write(this.paint(dir, `[${bytes} bytes from the ${SIDE[dir]} missing]`) + '\n');
  }

  end(r: FollowResult): void {
    this.flush();
    const total = `${this.offsets[0]} bytes from the client, ${this.offsets[1]} from the server`;
    this.write(`==== ${layerName(r.layer)}: ${total}\n`);
    if (r.note !== null) this.write(`note: ${r.note}\n`);
  }

  private flush(): void {
    if (this.size === 0 || this.dir === -1) return;
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    const dir = this.dir;
    const arrow = dir === 0 ? 'client → server' : 'server → client';
    this.write(this.paint(dir, `──── ${arrow}  frame ${this.frame}  ${iso(this.ts)}  ${bytes.length} bytes`) + '\n');
    this.body(dir, bytes);
    this.offsets[dir] += bytes.length;
    this.parts = [];
    this.size = 0;
    this.dir = -1;
  }

  private paint(dir: Direction, s: string): string {
    return paintSide(dir, s, this.colour);
  }

  protected abstract body(dir: Direction, bytes: Uint8Array): void;
}

class AsciiRenderer extends BlockRenderer {
  protected body(_dir: Direction, bytes: Uint8Array): void {
    const text = asciiText(bytes);
    this.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}

class HexRenderer extends BlockRenderer {
  protected body(dir: Direction, bytes: Uint8Array): void {
    this.write(hexLines(bytes, this.offsets[dir]!));
  }
}

/** One side's bytes exactly as sent (or decrypted); gaps are told on stderr, since raw bytes cannot say so. */
class RawRenderer implements FollowRenderer {
  private written = 0;
  constructor(
    private readonly write: Write,
    private readonly side: Direction,
    private readonly warn: (s: string) => void,
  ) {}
  begin(): void {}
  data(c: FollowChunk): void {
    if (c.dir !== this.side) return;
    this.write(c.data);
    this.written += c.data.length;
  }
  gap(dir: Direction, bytes: number): void {
    if (dir === this.side) this.warn(`${bytes} bytes missing from the ${SIDE[dir]} after byte ${this.written}: the output skips them`);
  }
  end(r: FollowResult): void {
    if (r.note !== null) this.warn(r.note);
  }
}

/** One JSON document, written as it goes: `chunks` first, the summary after them. */
class JsonRenderer implements FollowRenderer {
  private first = true;
  private readonly totals = [0, 0];
  constructor(private readonly write: Write) {}
  begin(h: FollowHeader): void {
    this.write(`{"flow":${JSON.stringify(h)},"chunks":[`);
  }
  data(c: FollowChunk): void {
    this.totals[c.dir] += c.data.length;
    this.item({ side: SIDE[c.dir], frame: c.frame, ts: c.ts, bytes: c.data.length, data: Buffer.from(c.data.buffer, c.data.byteOffset, c.data.length).toString('base64') });
  }
  gap(dir: Direction, bytes: number): void {
    this.item({ side: SIDE[dir], gap: bytes });
  }
  end(r: FollowResult): void {
    const summary = {
      layer: r.layer,
      app: r.evidence?.app ?? null,
      tlsVersion: r.evidence?.tls?.version ?? null,
      decrypted: r.evidence?.tls?.decrypted ?? false,
      clientBytes: this.totals[0],
      serverBytes: this.totals[1],
      frames: r.frames,
      note: r.note,
      error: r.error?.message ?? null,
    };
    this.write(`],${JSON.stringify(summary).slice(1)}\n`);
  }
  private item(o: object): void {
    this.write((this.first ? '' : ',') + JSON.stringify(o));
    this.first = false;
  }
}

export function followRenderer(
  format: FollowFormat,
  write: Write,
  opts: { colour: boolean; side: Direction | null; warn: (s: string) => void },
): FollowRenderer {
  switch (format) {
    case 'ascii':
      return new AsciiRenderer(write, opts.colour);
    case 'hex':
      return new HexRenderer(write, opts.colour);
    case 'raw':
      return new RawRenderer(write, opts.side ?? 0, opts.warn);
    case 'json':
      return new JsonRenderer(write);
  }
}
