/**
 * What `follow --format http` and `--format http2` share: a protocol view over the bytes each side
 * sent, each item under a line naming the side, frame, time and what it is, and the text view to
 * fall back on when the connection turns out not to speak the protocol.
 */
import type { Direction } from '../flow/direction';
import type { FollowChunk, FollowResult } from '../export/follow-stream';
import { iso, paintSide, type FollowHeader, type FollowRenderer, type Write } from './follow-text';

export abstract class DecodedViewRenderer implements FollowRenderer {
  protected readonly totals = [0, 0];
  private fallback = false;

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
      if (!this.rejected()) return;
      this.fallback = true;
      this.write(`${this.notThis}: shown as text\n`);
    }
    this.asText.data(c);
  }

  gap(dir: Direction, bytes: number): void {
    if (this.fallback) this.asText.gap(dir, bytes);
    else this.missing(dir, bytes);
  }

  end(r: FollowResult): void {
    if (this.fallback) this.asText.end(r);
    else this.finish(r);
  }

  /** One item: a head line in the side's colour (on a terminal), then its body lines. */
  protected item(dir: Direction, frame: number, ts: number, head: string, body: readonly string[]): void {
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
