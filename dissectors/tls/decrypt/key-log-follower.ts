/**
 * Key log files read as they grow, for live captures.
 *
 * A client started with SSLKEYLOGFILE appends its secrets while its connections run, so a live
 * capture cannot read the file once at the start. This follower remembers how far each file was
 * read and, when asked, reads what was appended since: at start, on every status tick, and when a
 * connection looks for secrets that are not there yet (KeyLog.follow). As in Wireshark, a connection
 * finds the secrets logged by the time it needs them; those logged later do not decrypt it.
 *
 * Only whole lines are taken; a line still being written waits for its newline. A file that shrinks
 * (truncated or replaced) is read again from its start, and one that does not exist yet is looked for
 * again later. Each file is read up to MAX_KEY_LOG_BYTES in all.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { MAX_KEY_LOG_BYTES, MAX_KEY_LOG_LINE, type KeyLog } from './key-log';

/** Checks for appended secrets this far apart at most when asked on a miss (a burst of new connections). */
export const FOLLOW_MIN_INTERVAL_MS = 2;
/** Bytes read per system call. */
const READ_CHUNK = 64 * 1024;

class FollowedFile {
  /** Bytes of the file consumed (whole lines). */
  offset = 0;
  /** Start of a line whose newline has not been written yet. */
  partial = '';
  /** The line being read is already too long to be a secret: skipped up to its newline. */
  overlong = false;
  seen = false;

  constructor(readonly path: string) {}
}

export class KeyLogFollower {
  private readonly files: FollowedFile[];
  private lastCheck = -Infinity;
  private readonly buf = Buffer.allocUnsafe(READ_CHUNK);

  constructor(
    paths: readonly string[],
    private readonly into: KeyLog,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.files = paths.map((p) => new FollowedFile(p));
  }

  /** Paths not found so far (a client may create its key log only when it starts). */
  get missing(): string[] {
    return this.files.filter((f) => !f.seen).map((f) => f.path);
  }

  /** Makes `into.follow` call this follower (at most every FOLLOW_MIN_INTERVAL_MS unless forced). */
  attach(): void {
    this.into.follow = (force: boolean) => {
      const t = this.now();
      if (!force && t - this.lastCheck < FOLLOW_MIN_INTERVAL_MS) return false;
      return this.poll() > 0;
    };
  }

  /** Reads what every file gained since the last call; returns the number of secret lines added. */
  poll(): number {
    this.lastCheck = this.now();
    let added = 0;
    for (const f of this.files) added += this.readNew(f);
    return added;
  }

  private readNew(f: FollowedFile): number {
    let fd: number;
    try {
      fd = openSync(f.path, 'r');
    } catch {
      return 0;
    }
    try {
      f.seen = true;
      const size = fstatSync(fd).size;
      if (size < f.offset) {
        // Truncated or replaced: its secrets are new ones.
        f.offset = 0;
        f.partial = '';
        f.overlong = false;
      }
      const end = Math.min(size, MAX_KEY_LOG_BYTES);
      let added = 0;
      while (f.offset < end) {
        const n = readSync(fd, this.buf, 0, Math.min(READ_CHUNK, end - f.offset), f.offset);
        if (n <= 0) break;
        f.offset += n;
        let text = f.partial + this.buf.toString('latin1', 0, n);
        if (f.overlong) {
          const nl = text.indexOf('\n');
          if (nl < 0) {
            f.partial = '';
            continue;
          }
          text = text.slice(nl + 1);
          f.overlong = false;
        }
        const lastNewline = text.lastIndexOf('\n');
        f.partial = lastNewline < 0 ? text : text.slice(lastNewline + 1);
        if (lastNewline >= 0) added += this.into.addText(text.slice(0, lastNewline + 1));
        if (f.partial.length > MAX_KEY_LOG_LINE) {
          f.partial = '';
          f.overlong = true;
          this.into.ignoredLines++;
        }
      }
      return added;
    } finally {
      closeSync(fd);
    }
  }
}
