import { Worker } from 'node:worker_threads';

/**
 * SHA-256 of a file computed on another thread while the main thread parses the same bytes.
 *
 * Hashing costs about as much as reading frames, so on large files it runs beside the parser: the
 * file is read into a small ring of shared buffers; the parser and the hashing thread both only read a
 * buffer, and it is refilled only after the hashing thread has released it. Memory stays at
 * `slots × slotBytes` whatever the file size.
 */
export class ParallelHasher {
  private readonly worker: Worker;
  private readonly buffers: Uint8Array[] = [];
  private readonly busy: (Promise<void> | null)[] = [];
  private readonly release: ((() => void) | null)[] = [];
  private digestWaiter: ((hex: string) => void) | null = null;
  private failure: Error | null = null;

  constructor(
    readonly slotBytes: number,
    readonly slots = 3,
  ) {
    for (let i = 0; i < slots; i++) {
      this.buffers.push(new Uint8Array(new SharedArrayBuffer(slotBytes)));
      this.busy.push(null);
      this.release.push(null);
    }
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { buffers: this.buffers.map((b) => b.buffer) } });
    this.worker.on('message', (m: { done?: number; digest?: string }) => {
      if (m.digest !== undefined) {
        this.digestWaiter?.(m.digest);
        return;
      }
      const i = m.done!;
      this.busy[i] = null;
      const r = this.release[i];
      this.release[i] = null;
      r?.();
    });
    this.worker.on('error', (e) => {
      this.failure = e;
      for (const r of this.release) r?.();
    });
  }

  /** Buffer of slot `i` if the hashing thread is already done with it, else null (see slot()). */
  free(i: number): Uint8Array | null {
    return this.busy[i] === null && this.failure === null ? this.buffers[i]! : null;
  }

  /** Buffer of slot `i`, once the hashing thread no longer reads it. */
  async slot(i: number): Promise<Uint8Array> {
    const pending = this.busy[i];
    if (pending !== null && pending !== undefined) await pending;
    if (this.failure !== null) throw this.failure;
    return this.buffers[i]!;
  }

  /** Hands the first `n` bytes of slot `i` to the hashing thread (in file order). */
  submit(i: number, n: number): void {
    this.busy[i] = new Promise<void>((res) => (this.release[i] = res));
    this.worker.postMessage({ slot: i, n });
  }

  /** Hex digest of everything submitted; stops the thread. */
  async digest(): Promise<string> {
    const hex = new Promise<string>((res) => (this.digestWaiter = res));
    this.worker.postMessage({ end: true });
    const out = await hex;
    await this.worker.terminate();
    return out;
  }

  /** Stops the thread without a digest (error paths). */
  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const views = workerData.buffers.map((b) => new Uint8Array(b));
const hash = createHash('sha256');
parentPort.on('message', (m) => {
  if (m.end) { parentPort.postMessage({ digest: hash.digest('hex') }); return; }
  hash.update(views[m.slot].subarray(0, m.n));
  parentPort.postMessage({ done: m.slot });
});
`;
