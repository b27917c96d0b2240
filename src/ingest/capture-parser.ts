import { AnomalyCounter, type AnomalyCode } from '../anomalies.js';
import { CaptureError } from './capture-error.js';
import { describeMagic, detectFormat, isGzip, MAGIC_BYTES, type CaptureFormat } from './capture-format.js';
import type { FrameSink } from './frame.js';
import { PcapReader } from './pcap-reader.js';
import { PcapngReader, type CaptureSecret, type SecretsHandler } from './pcapng-reader.js';
import type { RecordStream } from './record-stream.js';

/**
 * A push parser for any supported (already decompressed) capture stream: looks at the first four
 * bytes, picks the pcap or pcapng reader and forwards everything to it. Usable on a file, a pipe from
 * tcpdump, or any other byte stream.
 */
export class CaptureParser {
  readonly anomalies: AnomalyCounter;
  format: CaptureFormat | null = null;
  private reader: RecordStream | null = null;
  private ownError: CaptureError | null = null;
  private readonly head = new Uint8Array(MAGIC_BYTES);
  private headLen = 0;
  private ended = false;

  constructor(
    readonly file: string,
    private readonly sink: FrameSink,
    anomalies?: AnomalyCounter,
    private readonly onSecrets: SecretsHandler | null = null,
  ) {
    this.anomalies = anomalies ?? new AnomalyCounter();
  }

  push(chunk: Uint8Array): void {
    if (this.reader !== null) {
      this.reader.push(chunk);
      return;
    }
    if (this.ownError !== null || this.ended || chunk.length === 0) return;
    const take = Math.min(MAGIC_BYTES - this.headLen, chunk.length);
    this.head.set(chunk.subarray(0, take), this.headLen);
    this.headLen += take;
    if (this.headLen < MAGIC_BYTES) return;
    const format = detectFormat(this.head);
    if (format === null) {
      const what = isGzip(this.head) ? 'gzip data where a capture was expected' : 'not a pcap or pcapng file';
      this.failOwn('capture.bad_magic', 0, `${what} (first bytes ${describeMagic(this.head)})`);
      return;
    }
    this.format = format;
    this.reader =
      format === 'pcap'
        ? new PcapReader(this.file, this.sink, this.anomalies)
        : new PcapngReader(this.file, this.sink, this.anomalies, this.onSecrets);
    this.reader.push(this.head);
    if (take < chunk.length) this.reader.push(chunk.subarray(take));
  }

  /** Declares the end of input; returns the first error (cut-off record, bad magic...) or null. */
  end(): CaptureError | null {
    if (this.reader !== null) return this.reader.end();
    if (!this.ended && this.ownError === null) {
      if (this.headLen === 0) this.failOwn('capture.bad_magic', 0, 'empty input, no capture header');
      else this.failOwn('capture.truncated_header', 0, `input ends after ${this.headLen} bytes`);
    }
    this.ended = true;
    return this.ownError;
  }

  /** Records damage found outside the format (read or decompression failure) at the current offset. */
  fail(code: AnomalyCode, detail: string): void {
    if (this.reader !== null) this.reader.fail(code, this.reader.offset, detail);
    else this.failOwn(code, this.headLen, detail);
  }

  get error(): CaptureError | null {
    return this.reader !== null ? this.reader.error : this.ownError;
  }
  /** Bytes of the (decompressed) stream consumed. */
  get offset(): number {
    return this.reader !== null ? this.reader.offset : this.headLen;
  }
  get packets(): number {
    return this.reader?.packets ?? 0;
  }
  get bytes(): number {
    return this.reader?.bytes ?? 0;
  }
  get truncatedFrames(): number {
    return this.reader?.truncatedFrames ?? 0;
  }
  get linkTypes(): number[] {
    return this.reader?.linkTypes ?? [];
  }
  get firstTs(): number {
    return this.reader?.firstTs ?? Number.NaN;
  }
  get lastTs(): number {
    return this.reader?.lastTs ?? Number.NaN;
  }
  get secrets(): CaptureSecret[] {
    return this.reader instanceof PcapngReader ? this.reader.secrets : [];
  }
  get keyLog(): string {
    return this.reader instanceof PcapngReader ? this.reader.keyLog : '';
  }

  private failOwn(code: AnomalyCode, offset: number, detail: string): void {
    if (this.ownError !== null) return;
    this.ownError = new CaptureError(this.file, offset, code, detail);
    this.anomalies.add(code);
  }
}
