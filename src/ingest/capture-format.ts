import {
  PCAP_MAGIC_NSEC_BE,
  PCAP_MAGIC_NSEC_LE,
  PCAP_MAGIC_USEC_BE,
  PCAP_MAGIC_USEC_LE,
} from './pcap-reader.js';
import { BLOCK_SHB } from './pcapng-reader.js';

export type CaptureFormat = 'pcap' | 'pcapng';

/** Bytes needed to recognise any supported format. */
export const MAGIC_BYTES = 4;

/** True when the bytes start with the gzip magic (1f 8b). */
export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Recognises a capture format from its first four bytes; null when they are no known magic. */
export function detectFormat(b: Uint8Array): CaptureFormat | null {
  if (b.length < MAGIC_BYTES) return null;
  const magic = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  switch (magic) {
    case PCAP_MAGIC_USEC_BE:
    case PCAP_MAGIC_USEC_LE:
    case PCAP_MAGIC_NSEC_BE:
    case PCAP_MAGIC_NSEC_LE:
      return 'pcap';
    case BLOCK_SHB:
      return 'pcapng';
    default:
      return null;
  }
}

/** The first bytes as hex, for an error message. */
export function describeMagic(b: Uint8Array): string {
  return Array.from(b.subarray(0, MAGIC_BYTES), (x) => x.toString(16).padStart(2, '0')).join(' ');
}
