/**
 * One captured frame as handed out by a reader.
 *
 * Readers own a single Frame object and overwrite it for every record: its bytes are
 * `buf[start..end)`, a range of the reader's buffer that is valid only until the next frame is
 * delivered. Whoever keeps bytes copies them. The range is given as offsets rather than as a view so
 * that no object is made per packet; `data` makes a view for those who want one.
 */
const EMPTY = new Uint8Array(0);

export class Frame {
  /** The buffer holding the captured bytes (caplen of them, from `start`). */
  buf: Uint8Array = EMPTY;
  start = 0;
  end = 0;
  /** Bytes on the wire; larger than the captured bytes when the snaplen cut the record. */
  origLen = 0;
  /** Seconds since the epoch. */
  tsSec = 0;
  /** Sub-second part in nanoseconds (0..999_999_999), whatever the file's resolution was. */
  tsNsec = 0;
  /** LINKTYPE_* of the interface the frame was captured on. */
  linkType = 1;
  /** pcapng interface id (0 for classic pcap). */
  interfaceId = 0;
  /** 1-based frame number within the capture, as Wireshark counts them. */
  number = 0;
  /** Byte offset of the record in the (decompressed) capture stream. */
  offset = 0;

  /** The captured bytes as a view (a new one each time it is read). */
  get data(): Uint8Array {
    return this.buf.subarray(this.start, this.end);
  }

  /** Makes the frame's bytes the whole of `bytes`. */
  set data(bytes: Uint8Array) {
    this.buf = bytes;
    this.start = 0;
    this.end = bytes.length;
  }

  /** Bytes captured. */
  get caplen(): number {
    return this.end - this.start;
  }

  /** True when the snaplen cut the record (fewer bytes captured than were on the wire). */
  get truncated(): boolean {
    return this.end - this.start < this.origLen;
  }

  /** Timestamp as floating seconds (microsecond precision is kept for current epochs). */
  get ts(): number {
    return this.tsSec + this.tsNsec / 1e9;
  }
}

/** Receives every frame; must not keep `frame` or its bytes beyond the call. */
export type FrameSink = (frame: Frame) => void;

/** Well-known LINKTYPE_* values (https://www.tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  LINUX_SLL2: 276,
  /** DLT_RAW as some systems number it in classic pcap headers. */
  RAW_BSD12: 12,
  RAW_BSD14: 14,
} as const;
