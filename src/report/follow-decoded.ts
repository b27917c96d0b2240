/**
 * What `follow --format http` and `--format http2` share: a protocol view over the bytes each side
 * sent, each item under a line naming the side, frame, time and what it is, and the text view to
 * fall back on when the connection turns out not to speak the protocol.
 */
import type { Direction } from '../flow/direction';
import type { FollowChunk, FollowResult } from '../export/follow-stream';
import { iso, paintSide, type FollowHeader, type FollowRenderer, type Write } from './follow-text';

/** Bytes held, before the reader has shown anything, to be shown as text should it refuse them. */
export const MAX_HELD_BYTES = 1024 * 1024;

type Held = { chunk: FollowChunk } | { gap: Direction; bytes: number };

export abstract class DecodedViewRenderer implements FollowRenderer {
  protected readonly totals = [0, 0];
  private fallback = false;
  /**
   * What the reader was given while it had shown nothing: a reader may take several chunks to
   * decide (a request head split over packets, a server that speaks first, an upgrade refused), and
   * the text view must then begin at the connection's first byte. Null once something was shown.
   */
  private held: Held[] | null = [];
  private heldBytes = 0;

  constructor(
    protected readonly write: Write,
    private readonly colour: boolean,
    private readonly asText: FollowRenderer,
    /** Said once when falling back, before the text view. */
    private readonly notThis: string,
  ) {}

  begin(h: FollowHeader): void {
    this.asText.begin(h);
  }

  data(c: FollowChunk): void {
    this.totals[c.dir] += c.data.length;
    if (!this.fallback) {
      this.feed(c);
      if (!this.rejected()) {
        this.hold({ chunk: { ...c, data: Buffer.from(c.data) } }, c.data.length);
        return;
      }
      this.fallback = true;
      this.write(`${this.notThis}: shown as text\n`);
      for (const h of this.held ?? []) {
        if ('chunk' in h) this.asText.data(h.chunk);
        else this.asText.gap(h.gap, h.bytes);
      }
      this.held = null;
    }
    this.asText.data(c);
  }

  gap(dir: Direction, bytes: number): void {
    if (this.fallback) this.asText.gap(dir, bytes);
    else {
      this.hold({ gap: dir, bytes }, 0);
      this.missing(dir, bytes);
    }
  }

  private hold(h: Held, bytes: number): void {
    if (this.held === null) return;
    this.heldBytes += bytes;
    if (this.heldBytes > MAX_HELD_BYTES) this.held = null;
    else this.held.push(h);
  }

  end(r: FollowResult): void {
    if (this.fallback) this.asText.end(r);
    else this.finish(r);
  }

  /** One item: a head line in the side's colour (on a terminal), then its body lines. */
  protected item(dir: Direction, frame: number, ts: number, head: string, body: readonly string[]): void {
    // Shown decoded: should the reader refuse what comes later, the text view starts from there.
    this.held = null;
    const arrow = dir === 0 ? 'client → server' : 'server → client';
    this.write(this.paint(dir, `──── ${arrow}  frame ${frame}  ${iso(ts)}  ${head}`) + '\n');
    for (const l of body) this.write(`${l}\n`);
  }

  /** A line about the stream (missing bytes), in the side's colour. */
  protected said(dir: Direction, text: string): void {
    this.write(this.paint(dir, text) + '\n');
  }

  private paint(dir: Direction, s: string): string {
    return paintSide(dir, s, this.colour);
  }

  /** Hands the bytes to the protocol's reader. */
  protected abstract feed(c: FollowChunk): void;
  /** The reader decided the bytes are not its protocol. */
  protected abstract rejected(): boolean;
  protected abstract missing(dir: Direction, bytes: number): void;
  protected abstract finish(r: FollowResult): void;
}
