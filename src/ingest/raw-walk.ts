import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { rd32 } from './bytes.js';
import { detectFormat, isGzip, type CaptureFormat } from './capture-format.js';
import { PCAP_FILE_HEADER_BYTES, PCAP_RECORD_HEADER_BYTES } from './pcap-reader.js';
import { BLOCK_EPB, BLOCK_PB, BLOCK_SPB } from './pcapng-reader.js';
import { MAX_CAPLEN } from './record-stream.js';

/** Read size of the walk; large so that the walk measures record stepping, not system calls. */
export const WALK_BUFFER_BYTES = 4 * 1024 * 1024;
/** Header bytes the walk looks at: pcapng block header up to an EPB's captured length. */
const MAX_WALK_HEADER = 24;

export interface RawWalkResult {
  format: CaptureFormat | null;
  /** Packet records seen. */
  packets: number;
  /** Sum of their captured lengths (an SPB counts its whole data area). */
  bytes: number;
  /** Bytes read. */
  fileBytes: number;
  /** Why the walk stopped early, or null. */
  error: string | null;
}

/**
 * The benchmark's ceiling: steps over the record headers of a pcap or pcapng file and nothing else —
 * no frame objects, no views, no timestamps. Any real reader is slower than this. A gzip'd file is
 * inflated first (the reader has to as well); `fileBytes` then counts inflated bytes.
 */
export async function walkRecords(file: string, bufferBytes = WALK_BUFFER_BYTES): Promise<RawWalkResult> {
  const res: RawWalkResult = { format: null, packets: 0, bytes: 0, fileBytes: 0, error: null };
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    res.error = e instanceof Error ? e.message : String(e);
    return res;
  }
  try {
    const walker = new RecordWalker();
    const buf = new Uint8Array(Math.max(bufferBytes, MAX_WALK_HEADER));
    for (;;) {
      const n = (await fh.read(buf, 0, buf.length, null)).bytesRead;
      if (n === 0) break;
      if (res.fileBytes === 0) {
        if (isGzip(buf.subarray(0, n))) return await walkGzip(file, res);
        res.format = detectFormat(buf.subarray(0, n));
        if (res.format === null) {
          res.error = 'not a plain pcap or pcapng file';
          break;
        }
        walker.start(res.format, buf);
      }
      res.fileBytes += n;
      if (!walker.walk(buf, n)) {
        res.error = `impossible record length at byte offset ${walker.recordStart}`;
        break;
      }
    }
    res.packets = walker.packets;
    res.bytes = walker.bytes;
  } finally {
    await fh.close();
  }
  return res;
}

async function walkGzip(file: string, res: RawWalkResult): Promise<RawWalkResult> {
  const walker = new RecordWalker();
  const inflated = createReadStream(file, { highWaterMark: WALK_BUFFER_BYTES }).pipe(createGunzip({ chunkSize: 1024 * 1024 }));
  try {
    for await (const chunk of inflated as AsyncIterable<Buffer>) {
      if (res.fileBytes === 0) {
        res.format = detectFormat(chunk);
        if (res.format === null) {
          res.error = 'not a pcap or pcapng file inside the gzip stream';
          break;
        }
        walker.start(res.format, chunk);
      }
      res.fileBytes += chunk.length;
      if (!walker.walk(chunk, chunk.length)) {
        res.error = `impossible record length at byte offset ${walker.recordStart} of the inflated stream`;
        break;
      }
    }
  } catch (e) {
    res.error = e instanceof Error ? e.message : String(e);
  } finally {
    inflated.destroy();
  }
  res.packets = walker.packets;
  res.bytes = walker.bytes;
  return res;
}

/** Header-only state machine; headers split across reads are gathered in a small array. */
class RecordWalker {
  packets = 0;
  bytes = 0;
  /** Stream offset of the record being looked at, for the error message. */
  recordStart = 0;
  private pcapng = false;
  private le = true;
  private skip = 0;
  private readonly hdr = new Uint8Array(MAX_WALK_HEADER);
  private hdrHave = 0;
  private baseNeed = 0;
  private hdrNeed = 0;
  private abs = 0;

  start(format: CaptureFormat, first: Uint8Array): void {
    this.pcapng = format === 'pcapng';
    // pcapng: type, length and (for a section header) the byte-order magic. pcap: one record header.
    this.baseNeed = this.pcapng ? 12 : PCAP_RECORD_HEADER_BYTES;
    this.hdrNeed = this.baseNeed;
    if (!this.pcapng) {
      this.le = first[0] === 0xd4 || first[0] === 0x4d;
      this.skip = PCAP_FILE_HEADER_BYTES;
    }
  }

  /** Walks `b[0..len)`; returns false on an impossible length. */
  walk(b: Uint8Array, len: number): boolean {
    let pos = 0;
    for (;;) {
      if (this.skip > 0) {
        const n = this.skip < len - pos ? this.skip : len - pos;
        this.skip -= n;
        pos += n;
        if (this.skip > 0) break;
      }
      if (pos >= len) break;
      if (this.hdrHave === 0 && len - pos >= MAX_WALK_HEADER) {
        // Whole header in this read: look at it in place and skip the record from its start.
        this.recordStart = this.abs + pos;
        const size = this.measure(b, pos, MAX_WALK_HEADER);
        if (size < 0) return false;
        this.skip = size;
        continue;
      }
      if (this.hdrHave === 0) this.recordStart = this.abs + pos;
      const want = this.hdrNeed - this.hdrHave;
      const n = want < len - pos ? want : len - pos;
      this.hdr.set(b.subarray(pos, pos + n), this.hdrHave);
      this.hdrHave += n;
      pos += n;
      if (this.hdrHave < this.hdrNeed) break;
      const size = this.measure(this.hdr, 0, this.hdrHave);
      if (size === NEED_MORE) continue;
      if (size < 0) return false;
      this.skip = size - this.hdrHave;
      this.hdrHave = 0;
      this.hdrNeed = this.baseNeed;
    }
    this.abs += len;
    return true;
  }

  /** Record length, BAD on damage, NEED_MORE when an EPB/PB header needs all 24 bytes. */
  private measure(h: Uint8Array, o: number, have: number): number {
    if (!this.pcapng) {
      const caplen = rd32(h, o + 8, this.le);
      if (caplen > MAX_CAPLEN) return BAD;
      this.packets++;
      this.bytes += caplen;
      return PCAP_RECORD_HEADER_BYTES + caplen;
    }
    if (h[o] === 0x0a && h[o + 1] === 0x0d && h[o + 2] === 0x0d && h[o + 3] === 0x0a) {
      this.le = h[o + 8] === 0x4d;
    }
    const type = rd32(h, o, this.le);
    const len = rd32(h, o + 4, this.le);
    if (len < 12 || (len & 3) !== 0) return BAD;
    if (type === BLOCK_EPB || type === BLOCK_PB) {
      if (have < MAX_WALK_HEADER) {
        this.hdrNeed = MAX_WALK_HEADER;
        return NEED_MORE;
      }
      this.packets++;
      this.bytes += rd32(h, o + 20, this.le);
    } else if (type === BLOCK_SPB) {
      this.packets++;
      this.bytes += len - 16;
    }
    return len;
  }
}

const BAD = -1;
const NEED_MORE = -2;
