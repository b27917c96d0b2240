/**
 * Captured frames copied into a new capture file: classic pcap (one link type, microseconds) or
 * pcapng (an interface per source interface and link type, nanoseconds, room for TLS key logs).
 */
import { basename } from 'node:path';
import type { Frame } from '../ingest/frame';
import type { ByteSink } from './byte-sink';
import type { FrameWriter } from './flow-packets';
import { PcapWriter } from './pcap-writer';
import { PcapngWriter } from './pcapng-writer';

export type CaptureFileFormat = 'pcap' | 'pcapng';

export interface CaptureFileWriter extends FrameWriter {
  /** Frames from here on come from this capture file (its interfaces are its own in pcapng, named after it). */
  source(index: number, file: string): void;
  /** Frames written. */
  readonly packets: number;
  /** Writes TLS secrets (key log text) ahead of the frames that follow; false when the format cannot hold them. */
  secrets(keyLog: string): boolean;
  close(): void;
}

/** Classic pcap: every frame must have the first frame's link type. */
class PcapFrameWriter implements CaptureFileWriter {
  private writer: PcapWriter | null = null;
  private linkType = -1;

  constructor(private readonly sink: ByteSink) {}

  get packets(): number {
    return this.writer?.packets ?? 0;
  }

  source(): void {}

  secrets(): boolean {
    return false;
  }

  write(f: Frame): void {
    if (this.writer === null) {
      this.linkType = f.linkType;
      this.writer = new PcapWriter(this.sink, f.linkType);
    } else if (f.linkType !== this.linkType) {
      throw new Error(`frames of link types ${this.linkType} and ${f.linkType}: a pcap file holds one; write pcapng instead`);
    }
    this.writer.writePacket(f.tsSec, Math.floor(f.tsNsec / 1000), f.buf.subarray(f.start, f.end), f.origLen);
  }

  close(): void {
    // An empty result is still a valid capture (of Ethernet).
    (this.writer ?? new PcapWriter(this.sink, 1)).close();
  }
}

/** pcapng: one interface block per (capture, interface, link type) met, nanosecond timestamps. */
class PcapngFrameWriter implements CaptureFileWriter {
  private readonly writer: PcapngWriter;
  private readonly interfaces = new Map<string, number>();
  private sourceIndex = 0;
  private sourceName = '';

  constructor(sink: ByteSink, keyLogs: readonly string[]) {
    this.writer = new PcapngWriter(sink);
    for (const k of keyLogs) this.writer.writeTlsKeyLog(k);
  }

  get packets(): number {
    return this.writer.packets;
  }

  source(index: number, file: string): void {
    this.sourceIndex = index;
    this.sourceName = basename(file);
  }

  secrets(keyLog: string): boolean {
    this.writer.writeTlsKeyLog(keyLog);
    return true;
  }

  write(f: Frame): void {
    const key = `${this.sourceIndex}:${f.interfaceId}:${f.linkType}`;
    let id = this.interfaces.get(key);
    if (id === undefined) {
      id = this.writer.addInterface(f.linkType, { tsresolDigits: 9, name: `${this.sourceName}#${f.interfaceId}` });
      this.interfaces.set(key, id);
    }
    this.writer.writePacket(id, f.tsSec, f.tsNsec, f.buf.subarray(f.start, f.end), f.origLen);
  }

  close(): void {
    this.writer.close();
  }
}

/** A writer of `format` into `sink`; key logs (SSLKEYLOGFILE text) go into pcapng Decryption Secrets Blocks. */
export function captureFileWriter(format: CaptureFileFormat, sink: ByteSink, keyLogs: readonly string[] = []): CaptureFileWriter {
  if (format === 'pcap') {
    if (keyLogs.length > 0) throw new Error('key logs can be embedded in pcapng only');
    return new PcapFrameWriter(sink);
  }
  return new PcapngFrameWriter(sink, keyLogs);
}
