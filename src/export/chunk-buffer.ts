/**
 * A fixed write-behind buffer shared by the capture writers: records are appended in place and the
 * buffer goes to the sink when full, so a multi-GB capture costs one allocation and few syscalls.
 */
import type { ByteSink } from './byte-sink.js';

/** Size of one chunk handed to the sink. Large enough that syscalls do not dominate. */
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024;

export class ChunkBuffer {
  readonly buf: Buffer;
  readonly view: DataView;
  pos = 0;
  /** Total bytes written through this buffer (flushed or pending). */
  written = 0;
  private readonly sink: ByteSink;

  constructor(sink: ByteSink, size = MAX_CHUNK_BYTES) {
    this.sink = sink;
    this.buf = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Make sure `n` contiguous bytes are free; flushes first when needed. Returns false if n > capacity. */
  reserve(n: number): boolean {
    if (this.pos + n <= this.buf.length) return true;
    this.flush();
    return n <= this.buf.length;
  }

  /** Append bytes that may be larger than the buffer (written straight through). */
  put(bytes: Uint8Array): void {
    if (this.reserve(bytes.length)) {
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
    } else {
      this.sink.write(bytes);
    }
    this.written += bytes.length;
  }

  /** Account for `n` bytes written directly into `buf` at `pos` by the caller. */
  advance(n: number): void {
    this.pos += n;
    this.written += n;
  }

  flush(): void {
    if (this.pos > 0) {
      this.sink.write(this.buf.subarray(0, this.pos));
      this.pos = 0;
    }
  }

  close(): void {
    this.flush();
    this.sink.close();
  }
}
