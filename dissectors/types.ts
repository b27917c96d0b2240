import type { Direction } from '../src/flow/direction';
import type { PacketStamp } from '../src/flow/packet-stamp';
import type { AnomalyCode } from '../src/anomalies';
import type { KeyLog } from './tls/decrypt/key-log';

/** Result of looking at the first bytes of a stream. */
export const ProbeResult = { NO_MATCH: 0, MATCH: 1, NEED_MORE: 2 } as const;
export type ProbeResult = (typeof ProbeResult)[keyof typeof ProbeResult];

export type DissectorId = 'tls' | 'http' | 'http2' | 'ssh' | 'dns';

/** Where a dissector reports anomalies (counted per flow and per capture by the engine). */
export type AnomalySink = (code: AnomalyCode) => void;

/**
 * An incremental protocol parser for one connection.
 *
 * `feed` may be called with one byte or a megabyte; the result is the same however the stream is
 * split. `feed` never throws; malformed input is reported through the anomaly sink and the parser
 * goes idle for that direction. Every internal buffer is capped. `data[start..end)` is a view valid
 * only during the call: whatever a dissector keeps of it, it copies. So is `at` (the capture time and
 * frame of the packet that carried the bytes): a dissector keeps its numbers, never the object.
 */
export interface Dissector<R = unknown> {
  readonly id: DissectorId;
  feed(dir: Direction, data: Uint8Array, start: number, end: number, at: PacketStamp): void;
  /** `bytes` bytes missing in `dir`: resynchronise if possible, else stop parsing that direction. */
  gap(dir: Direction, bytes: number): void;
  end(dir: Direction): void;
  /** What was learned so far (may be called at any time, e.g. periodically in live mode). */
  result(): R;
}

/** What a dissector may know about the connection it parses. */
export interface FlowContext {
  serverPort: number;
  /** TLS session secrets of the run (key log files, pcapng Decryption Secrets Blocks); null/absent: none. */
  keyLog?: KeyLog | null;
  /**
   * Receives the application data a TLS connection decrypts to, as it is decrypted (`follow`'s view
   * of a connection). `data` is valid only during the call. Absent: nobody listens.
   */
  onPlaintext?: PlaintextTap | null;
}

/** Decrypted application bytes of one direction, with the time and frame of the record that carried them. */
export type PlaintextTap = (dir: Direction, data: Uint8Array, ts: number, frame: number) => void;

/** Describes a dissector for the registry: how to recognise it and how to make one. */
export interface DissectorFactory<R = unknown> {
  readonly id: DissectorId;
  /** Look at the first bytes a client (dir 0) or server (dir 1) sent. Bounded prefix, never throws. */
  probe(dir: Direction, data: Uint8Array, start: number, end: number): ProbeResult;
  /** `flow` tells the dissector about its connection (e.g. the server port, which decides whether
   * a path such as /metrics belongs to a kubelet). */
  create(anomaly: AnomalySink, flow?: FlowContext): Dissector<R>;
}
