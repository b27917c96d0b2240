/**
 * `live --write FILE`: every frame a live run analyses, written to a pcapng file as it arrives (what
 * `tshark -w` and `dumpcap -w` do), so that a live capture's flows can be extracted, downloaded from
 * the dashboard or analysed again later. The file's frame numbers are the run's: a stored flow's
 * first and last frame find its packets in it. Secrets the run learns (key log files it follows, the
 * stream's own Decryption Secrets Blocks) are written into it, as they were read, as Decryption
 * Secrets Blocks before the next packet, so the file decrypts on its own.
 *
 * The file is flushed every status tick, so a reader sees all but the last second of traffic. A write
 * that fails (full disk), or one that would take the file past its size limit, stops the writing, not
 * the capture.
 */
import { FdSink } from '../export/byte-sink';
import { PcapngWriter } from '../export/pcapng-writer';
import type { Frame } from '../ingest/frame';

/** Interfaces kept apart in the file: a source interface id and a link type. */
const LINK_TYPES = 0x10000;

export class LiveCaptureFile {
  private readonly writer: PcapngWriter;
  /** (source interface id × LINK_TYPES + link type) → the file's interface id. */
  private readonly interfaces = new Map<number, number>();
  private lastKey = -1;
  private lastId = 0;
  private readonly pendingSecrets: string[] = [];
  /** Why writing stopped, if it did. */
  failure: string | null = null;

  /**
   * `name`: what the file's interfaces are called (the capture interface, `stdin`, `vxlan:4789`);
   * `maxBytes`: the file's size at most (the packets after it are not written).
   */
  constructor(
    readonly path: string,
    private readonly name: string,
    private readonly maxBytes = Infinity,
  ) {
    this.writer = new PcapngWriter(FdSink.open(path));
  }

  /** Frames written. */
  get packets(): number {
    return this.writer.packets;
  }

  /** The per-packet call: writes `f` (no allocation once its interface is known). */
  add(f: Frame): void {
    if (this.failure !== null) return;
    try {
      if (this.pendingSecrets.length > 0) this.writeSecrets();
      const key = f.interfaceId * LINK_TYPES + f.linkType;
      if (key !== this.lastKey) {
        this.lastId = this.interfaceFor(key, f.interfaceId, f.linkType);
        this.lastKey = key;
      }
      // An Enhanced Packet Block: 32 bytes around the data, padded to 4.
      if (this.writer.bytesWritten + 35 + f.end - f.start > this.maxBytes) {
        // What is written reaches the file now: nothing is flushed once writing has stopped.
        this.writer.flush();
        this.failure = `the file reached its limit of ${this.maxBytes} bytes`;
        this.pendingSecrets.length = 0;
        return;
      }
      this.writer.writePacketRange(this.lastId, f.tsSec, f.tsNsec, f.buf, f.start, f.end, f.origLen);
    } catch (e) {
      this.fail(e);
    }
  }

  /** Key log text (whole lines) read during the run; written ahead of the next packet. */
  secrets(text: string): void {
    if (this.failure === null && text !== '') this.pendingSecrets.push(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Hands what is buffered to the file, so readers of it see the traffic so far. */
  flush(): void {
    if (this.failure !== null) return;
    try {
      if (this.pendingSecrets.length > 0) this.writeSecrets();
      this.writer.flush();
    } catch (e) {
      this.fail(e);
    }
  }

  close(): void {
    this.flush();
    try {
      this.writer.close();
    } catch (e) {
      this.fail(e);
    }
  }

  private interfaceFor(key: number, interfaceId: number, linkType: number): number {
    let id = this.interfaces.get(key);
    if (id === undefined) {
      const name = interfaceId === 0 ? this.name : `${this.name}#${interfaceId}`;
      id = this.writer.addInterface(linkType, { tsresolDigits: 9, name });
      this.interfaces.set(key, id);
    }
    return id;
  }

  private writeSecrets(): void {
    const text = this.pendingSecrets.join('');
    this.pendingSecrets.length = 0;
    this.writer.writeTlsKeyLog(text);
  }

  private fail(e: unknown): void {
    this.failure = e instanceof Error ? e.message : String(e);
    this.pendingSecrets.length = 0;
  }
}
