/**
 * Destinations for capture writers. Writers batch records into large chunks and hand each chunk to a
 * sink exactly once; a sink must consume the bytes before returning (the chunk buffer is reused).
 */
import { writeSync, openSync, closeSync } from 'node:fs';

export interface ByteSink {
  /** Consume `bytes` now; the caller reuses the buffer after this returns. */
  write(bytes: Uint8Array): void;
  close(): void;
}

/** Writes synchronously to a file descriptor (a file, or 1 for stdout). */
export class FdSink implements ByteSink {
  private readonly fd: number;
  private readonly ownsFd: boolean;

  constructor(fd: number, ownsFd = false) {
    this.fd = fd;
    this.ownsFd = ownsFd;
  }

  static open(path: string): FdSink {
    return new FdSink(openSync(path, 'w'), true);
  }

  write(bytes: Uint8Array): void {
    let off = 0;
    // writeSync may write less than asked on pipes; loop until the chunk is gone.
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
  }

  close(): void {
    if (this.ownsFd) closeSync(this.fd);
  }
}

/** Collects everything in memory (small captures, tests). */
export class MemorySink implements ByteSink {
  private readonly parts: Buffer[] = [];

  write(bytes: Uint8Array): void {
    this.parts.push(Buffer.from(bytes));
  }

  close(): void {}

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}
