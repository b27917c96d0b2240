/**
 * One captured frame as handed out by a reader.
 *
 * Readers own a single Frame object and overwrite it for every record: `data` is a view into the
 * reader's buffer and is valid only until the next frame is delivered. Whoever keeps bytes copies them.
 */
export class Frame {
  /** View of the captured bytes (caplen bytes). */
  data: Uint8Array = new Uint8Array(0);
  /** Bytes on the wire; larger than data.length when the snaplen cut the record. */
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

  /** True when the snaplen cut the record (data.length < origLen). */
  get truncated(): boolean {
    return this.data.length < this.origLen;
  }

  /** Timestamp as floating seconds (microsecond precision is kept for current epochs). */
  get ts(): number {
    return this.tsSec + this.tsNsec / 1e9;
  }
}

/** Receives every frame; must not keep `frame` or `frame.data` beyond the call. */
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
