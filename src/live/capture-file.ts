/**
 * `live --write FILE`: every frame a live run analyses, written to a pcapng file as it arrives (what
 * `tshark -w` and `dumpcap -w` do), so that a live capture's flows can be extracted, downloaded from
 * the dashboard or analysed again later. The file's frame numbers are the run's: a stored flow's
 * first and last frame find its packets in it. Secrets the run learns (key log files it follows, the
 * stream's own Decryption Secrets Blocks) are written into it, as they were read, as Decryption
 * Secrets Blocks before the next packet, so the file decrypts on its own.
 *
 * With a ring (`--ring N`, as `dumpcap -b files:N`), a file that reaches the size limit is closed and
 * the next piece begun (ring-files.ts names them), and only the newest N are kept: a run can go on
 * for days with its recent packets at hand. Each piece begins with the secrets learned so far (the
 * most recent RING_SECRETS_BYTES of them), so it decrypts on its own too.
 *
 * The file is flushed every status tick, so a reader sees all but the last second of traffic. A write
 * that fails (full disk), or one that would take a file without a ring past its size limit, stops the
 * writing, not the capture.
 */
import { accessSync, constants, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { FdSink } from '../export/byte-sink';
import { PcapngWriter } from '../export/pcapng-writer';
import { ringPieceName } from '../export/ring-files';
import type { Frame } from '../ingest/frame';

/** Key log text carried into each new piece of a ring, at most (the newest is kept). */
export const RING_SECRETS_BYTES = 4 * 1024 * 1024;

/** Interfaces kept apart in the file: a source interface id and a link type. */
const LINK_TYPES = 0x10000;

export class LiveCaptureFile {
  /** Null until the first piece of a ring is begun (its name needs its first frame's number). */
  private writer: PcapngWriter | null = null;
  /** (source interface id × LINK_TYPES + link type) → the file's interface id. */
  private readonly interfaces = new Map<number, number>();
  private lastKey = -1;
  private lastId = 0;
  private readonly pendingSecrets: string[] = [];
  /** Why writing stopped, if it did. */
  failure: string | null = null;
  /** Frames written to the pieces before the current one. */
  private earlierPackets = 0;
  /** A ring's pieces still on disk, oldest first, and the number of the last one begun. */
  private readonly pieces: string[] = [];
  private seq = 0;
  /** A ring's secrets so far (newest last, RING_SECRETS_BYTES at most), for each new piece. */
  private readonly ringSecrets: string[] = [];
  private ringSecretBytes = 0;

  /**
   * `name`: what the file's interfaces are called (the capture interface, `stdin`, `vxlan:4789`);
   * `maxBytes`: a file's size at most (without a ring the packets after it are not written);
   * `ring`: the number of pieces of at most `maxBytes` to keep, or null for one file at `path`.
   */
  constructor(
    readonly path: string,
    private readonly name: string,
    private readonly maxBytes = Infinity,
    private readonly ring: number | null = null,
  ) {
    if (ring === null) this.writer = new PcapngWriter(FdSink.open(path));
    // A ring's first piece is named after its first frame: whether it can be made is known now.
    else accessSync(dirname(path), constants.W_OK);
  }

  /** Frames written. */
  get packets(): number {
    return this.earlierPackets + (this.writer?.packets ?? 0);
  }

  /** Pieces of a ring written so far, deleted ones included. */
  get piecesBegun(): number {
    return this.seq;
  }

  /** The per-packet call: writes `f` (no allocation once its interface is known). */
  add(f: Frame): void {
    if (this.failure !== null) return;
    try {
      let writer = this.writer ?? this.beginPiece(f.number);
      // An Enhanced Packet Block: 32 bytes around the data, padded to 4.
      // (A piece of a ring holds one packet at least, however large.)
      if (writer.bytesWritten + 35 + f.end - f.start > this.maxBytes && (this.ring === null || writer.packets > 0)) {
        if (this.ring === null) {
          // What is written reaches the file now: nothing is flushed once writing has stopped.
          writer.flush();
          this.failure = `the file reached its limit of ${this.maxBytes} bytes`;
          this.pendingSecrets.length = 0;
          return;
        }
        writer = this.beginPiece(f.number);
      }
      if (this.pendingSecrets.length > 0) this.writeSecrets();
      const key = f.interfaceId * LINK_TYPES + f.linkType;
      if (key !== this.lastKey) {
        this.lastId = this.interfaceFor(key, f.interfaceId, f.linkType);
        this.lastKey = key;
      }
      writer.writePacketRange(this.lastId, f.tsSec, f.tsNsec, f.buf, f.start, f.end, f.origLen);
    } catch (e) {
      this.fail(e);
    }
  }

  /** Key log text (whole lines) read during the run; written ahead of the next packet. */
  secrets(text: string): void {
    if (this.failure !== null || text === '') return;
    const lines = text.endsWith('\n') ? text : `${text}\n`;
    this.pendingSecrets.push(lines);
    if (this.ring !== null) {
      this.ringSecrets.push(lines);
      this.ringSecretBytes += lines.length;
      while (this.ringSecretBytes > RING_SECRETS_BYTES && this.ringSecrets.length > 1) this.ringSecretBytes -= this.ringSecrets.shift()!.length;
    }
  }

  /** Hands what is buffered to the file, so readers of it see the traffic so far. */
  flush(): void {
    if (this.failure !== null || this.writer === null) return;
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
      this.writer?.close();
    } catch (e) {
      this.fail(e);
    }
  }

  /**
   * Closes the current piece of a ring (if any), begins the next with `firstFrame`, carrying the
   * secrets so far into it, and deletes the pieces beyond the ring's size. Rare: once per file.
   */
  private beginPiece(firstFrame: number): PcapngWriter {
    if (this.writer !== null) {
      this.earlierPackets += this.writer.packets;
      this.writer.close();
    }
    this.seq++;
    const file = ringPieceName(this.path, this.seq, firstFrame);
    const writer = new PcapngWriter(FdSink.open(file));
    this.writer = writer;
    this.pieces.push(file);
    this.interfaces.clear();
    this.lastKey = -1;
    // The secrets learned so far, newest last (those pending among them, once).
    this.pendingSecrets.length = 0;
    if (this.ringSecrets.length > 0) this.pendingSecrets.push(this.ringSecrets.join(''));
    while (this.pieces.length > this.ring!) rmSync(this.pieces.shift()!, { force: true });
    return writer;
  }

  private interfaceFor(key: number, interfaceId: number, linkType: number): number {
    let id = this.interfaces.get(key);
    if (id === undefined) {
      const name = interfaceId === 0 ? this.name : `${this.name}#${interfaceId}`;
      id = this.writer!.addInterface(linkType, { tsresolDigits: 9, name });
      this.interfaces.set(key, id);
    }
    return id;
  }

  private writeSecrets(): void {
    const text = this.pendingSecrets.join('');
    this.pendingSecrets.length = 0;
    this.writer!.writeTlsKeyLog(text);
  }

  private fail(e: unknown): void {
    this.failure = e instanceof Error ? e.message : String(e);
    this.pendingSecrets.length = 0;
  }
}
