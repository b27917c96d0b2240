import { huffmanDecode } from './hpack-huffman';
import { STATIC_TABLE, STATIC_TABLE_LENGTH } from './hpack-static-table';

/**
 * HPACK decoder (RFC 7541) for one direction of an HTTP/2 connection.
 *
 * A passive observer must decode every header block, even ones it does not keep, or its dynamic
 * table drifts from the endpoints'. After the first error the decoder marks itself failed and
 * refuses further blocks: every later index would be meaningless.
 */

/** Upper bound of the dynamic table an encoder may ask for (SETTINGS_HEADER_TABLE_SIZE default is 4096). */
export const MAX_HPACK_TABLE_SIZE = 65536;
/** Decoded header list size (RFC 7540 §6.5.2 accounting) beyond which fields are dropped, not kept. */
export const MAX_HEADER_LIST_BYTES = 65536;
/** Longest single decoded string; longer literals are a decoding error. */
export const MAX_HPACK_STRING = 65536;

const ENTRY_OVERHEAD = 32;

/** Receives the fields of a header block, in order. */
export interface HeaderSink {
  onHeader(name: string, value: string): void;
}

export const HpackStatus = { OK: 0, ERROR: 1, LIST_TOO_LONG: 2 } as const;
export type HpackStatus = (typeof HpackStatus)[keyof typeof HpackStatus];

const latin1 = new TextDecoder('latin1');

export class HpackDecoder {
  /** Dynamic table as a ring: newest entry at `head - 1`. */
  private names: string[];
  private values: string[];
  private head: number;
  private count: number;
  /** Current size in RFC 7541 §4.1 octets. */
  size: number;
  /** Size the encoder last set with a dynamic table size update. */
  maxSize: number;
  /** SETTINGS_HEADER_TABLE_SIZE announced by the decoding endpoint (bounds size updates). */
  settingsLimit: number;
  failed: boolean;
  private scratch: Uint8Array;
  // Cursor over the block being decoded (fields, not locals, so helpers return plain numbers).
  private pos: number;

  constructor() {
    this.names = new Array<string>(64).fill('');
    this.values = new Array<string>(64).fill('');
    this.head = 0;
    this.count = 0;
    this.size = 0;
    this.maxSize = 4096;
    this.settingsLimit = 4096;
    this.failed = false;
    this.scratch = new Uint8Array(1024);
    this.pos = 0;
  }

  /** The decoding endpoint announced SETTINGS_HEADER_TABLE_SIZE. */
  setSettingsLimit(limit: number): void {
    this.settingsLimit = Math.min(limit, MAX_HPACK_TABLE_SIZE);
  }

  /** Dynamic table entries, newest first (index 62 first), for tests and diagnostics. */
  dynamicEntries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head - 1 - i + this.names.length * 2) % this.names.length;
      out.push([this.names[slot]!, this.values[slot]!]);
    }
    return out;
  }

  /**
   * Decodes one complete header block. Fields go to `sink` until the list exceeds
   * MAX_HEADER_LIST_BYTES (then LIST_TOO_LONG: decoding continues to keep the table in sync).
   */
  decode(block: Uint8Array, start: number, end: number, sink: HeaderSink | null): HpackStatus {
    if (this.failed) return HpackStatus.ERROR;
    this.pos = start;
    let listBytes = 0;
    let tooLong = false;
    let sawField = false;
    while (this.pos < end) {
      const b = block[this.pos]!;
      let name: string;
      let value: string;
      if (b & 0x80) {
        const index = this.readInt(block, end, 7);
        if (index <= 0) return this.fail();
        const slot = this.lookup(index);
        if (slot < 0) return this.fail();
        name = this.nameAt(index, slot);
        value = this.valueAt(index, slot);
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update: only before the first field (RFC 7541 §4.2).
        const newSize = this.readInt(block, end, 5);
        if (newSize < 0 || sawField || newSize > Math.max(this.settingsLimit, 4096)) return this.fail();
        this.maxSize = newSize;
        this.evictTo(newSize);
        continue;
      } else {
        const incremental = (b & 0xc0) === 0x40;
        const index = this.readInt(block, end, incremental ? 6 : 4);
        if (index < 0) return this.fail();
        if (index === 0) {
          const n = this.readString(block, end);
          if (n === null) return this.fail();
          name = n;
        } else {
          const slot = this.lookup(index);
          if (slot < 0) return this.fail();
          name = this.nameAt(index, slot);
        }
        const v = this.readString(block, end);
        if (v === null) return this.fail();
        value = v;
        if (incremental) this.insert(name, value);
      }
      sawField = true;
      listBytes += name.length + value.length + ENTRY_OVERHEAD;
      if (listBytes > MAX_HEADER_LIST_BYTES) tooLong = true;
      else if (sink !== null) sink.onHeader(name, value);
    }
    return tooLong ? HpackStatus.LIST_TOO_LONG : HpackStatus.OK;
  }

  private fail(): HpackStatus {
    this.failed = true;
    return HpackStatus.ERROR;
  }

  /** RFC 7541 §5.1 integer with an N-bit prefix at `pos`; -1 when truncated or absurdly large. */
  private readInt(buf: Uint8Array, end: number, prefixBits: number): number {
    const mask = (1 << prefixBits) - 1;
    let value = buf[this.pos++]! & mask;
    if (value < mask) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= end || shift > 21) return -1; // > 2^28: no legitimate field is that large
      const b = buf[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return value;
    }
  }

  /** RFC 7541 §5.2 string literal at `pos`; null when malformed. */
  private readString(buf: Uint8Array, end: number): string | null {
    if (this.pos >= end) return null;
    const huffman = (buf[this.pos]! & 0x80) !== 0;
    const len = this.readInt(buf, end, 7);
    if (len < 0 || len > end - this.pos || len > MAX_HPACK_STRING) return null;
    const s = this.pos;
    this.pos += len;
    if (!huffman) return latin1.decode(buf.subarray(s, s + len));
    // Huffman output is at most 8/5 of the input.
    const need = Math.ceil((len * 8) / 5) + 1;
    if (this.scratch.length < need) this.scratch = new Uint8Array(Math.max(need, this.scratch.length * 2));
    const n = huffmanDecode(buf, s, s + len, this.scratch);
    if (n < 0) return null;
    return latin1.decode(this.scratch.subarray(0, n));
  }

  /** Ring slot of a dynamic index, 0 for static indexes, -1 when out of range. */
  private lookup(index: number): number {
    if (index <= STATIC_TABLE_LENGTH) return 0;
    const d = index - STATIC_TABLE_LENGTH - 1;
    if (d >= this.count) return -1;
    return (this.head - 1 - d + this.names.length * 2) % this.names.length;
  }

  private nameAt(index: number, slot: number): string {
    return index <= STATIC_TABLE_LENGTH ? STATIC_TABLE[index]![0] : this.names[slot]!;
  }

  private valueAt(index: number, slot: number): string {
    return index <= STATIC_TABLE_LENGTH ? STATIC_TABLE[index]![1] : this.values[slot]!;
  }

  private insert(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.maxSize) {
      // RFC 7541 §4.4: an entry larger than the table empties it and is not added.
      this.evictTo(0);
      return;
    }
    this.evictTo(this.maxSize - entrySize);
    if (this.count === this.names.length) this.grow();
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.head = (this.head + 1) % this.names.length;
    this.count++;
    this.size += entrySize;
  }

  private evictTo(target: number): void {
    while (this.size > target && this.count > 0) {
      const slot = (this.head - this.count + this.names.length * 2) % this.names.length;
      this.size -= this.names[slot]!.length + this.values[slot]!.length + ENTRY_OVERHEAD;
      this.names[slot] = '';
      this.values[slot] = '';
      this.count--;
    }
  }

  private grow(): void {
    // Entries are at least 32 octets, so the ring never needs more than MAX_HPACK_TABLE_SIZE / 32 slots.
    const n = this.names.length;
    const names = new Array<string>(n * 2).fill('');
    const values = new Array<string>(n * 2).fill('');
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head - this.count + i + n * 2) % n;
      names[i] = this.names[slot]!;
      values[i] = this.values[slot]!;
    }
    this.names = names;
    this.values = values;
    this.head = this.count;
  }
}
