import type { AnomalyCounter } from '../anomalies.js';
import type { CaptureError } from './capture-error.js';
import type { CaptureFormat } from './capture-format.js';
import type { CaptureSecret } from './pcapng-reader.js';

/** What reading one capture found; returned by readCapture whether or not the file was damaged. */
export interface CaptureInfo {
  /** The path given, or '-' for standard input. */
  file: string;
  /** null when the format could not be recognised (see error). */
  format: CaptureFormat | null;
  /** True when the input was gzip-compressed. */
  compressed: boolean;
  /** Distinct LINKTYPE_* values in the order their interfaces were described. */
  linkTypes: number[];
  /** Frames delivered to the sink. */
  packets: number;
  /** Sum of captured lengths of the delivered frames. */
  bytes: number;
  /** Bytes of the decompressed capture stream consumed. */
  fileBytes: number;
  /** Frames cut short by the snaplen. */
  truncatedFrames: number;
  /** Earliest and latest frame timestamp (seconds since the epoch); null without timestamped frames. */
  firstTs: number | null;
  lastTs: number | null;
  /** SHA-256 (hex) of the raw input bytes as read (compressed bytes for gzip), for de-duplication. */
  sha256: string;
  /** Contents of the pcapng Decryption Secrets Blocks. */
  secrets: CaptureSecret[];
  /** Concatenated TLS key log text from the Decryption Secrets Blocks ('' when none). */
  keyLog: string;
  /** The damage that stopped reading, or null when the whole input was read. */
  error: CaptureError | null;
  /** True when reading was stopped by the abort signal (not an error). */
  aborted: boolean;
  anomalies: AnomalyCounter;
}
