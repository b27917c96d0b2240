/**
 * The application protocol inside a decrypted TLS connection: HTTP/2 when ALPN chose "h2" or the
 * client's first plaintext is the HTTP/2 preface, HTTP/1 when ALPN or the first bytes say so, nothing
 * otherwise — the same dissectors the registry pins on plaintext connections, fed decrypted data.
 */
import type { Direction } from '../../../src/flow/direction';
import type { PacketStamp } from '../../../src/flow/packet-stamp';
import type { HttpRequestRecord } from '../../../src/model/records';
import { http1Factory } from '../../http/http1-dissector';
import { http2Factory } from '../../http2/http2-dissector';
import { ProbeResult, type AnomalySink, type Dissector } from '../../types';

const NONE: HttpRequestRecord[] = [];

export class InnerApp {
  private dissector: Dissector<HttpRequestRecord[]> | null;
  private readonly anomaly: AnomalySink;
  private readonly alpn: string | null;
  private readonly serverPort: number;
  /** Server data before the client spoke and without ALPN: nothing can be chosen; it is not parsed. */
  private undecided: boolean;

  constructor(anomaly: AnomalySink, alpnSelected: string | null, serverPort: number) {
    this.dissector = null;
    this.anomaly = anomaly;
    this.alpn = alpnSelected;
    this.serverPort = serverPort;
    this.undecided = true;
  }

  feed(dir: Direction, data: Uint8Array, start: number, end: number, at: PacketStamp): void {
    if (this.undecided) {
      if (!this.choose(dir, data, start, end)) return;
    }
    this.dissector?.feed(dir, data, start, end, at);
  }

  gap(dir: Direction, bytes: number): void {
    this.dissector?.gap(dir, bytes);
  }

  end(dir: Direction): void {
    this.dissector?.end(dir);
  }

  /** Requests seen inside the decrypted connection. */
  result(): HttpRequestRecord[] {
    if (this.dissector === null) return NONE;
    const r = this.dissector.result();
    return Array.isArray(r) ? r : NONE;
  }

  private choose(dir: Direction, data: Uint8Array, start: number, end: number): boolean {
    let f: typeof http1Factory | null;
    if (this.alpn === 'h2') f = http2Factory;
    else if (this.alpn === 'http/1.1' || this.alpn === 'http/1.0') f = http1Factory;
    else if (dir !== 0) return false;
    else if (http2Factory.probe(0, data, start, end) !== ProbeResult.NO_MATCH) f = http2Factory;
    else if (http1Factory.probe(0, data, start, end) !== ProbeResult.NO_MATCH) f = http1Factory;
    else f = null; // some other protocol: its plaintext is not parsed
    this.undecided = false;
    if (f !== null) this.dissector = f.create(this.anomaly, { serverPort: this.serverPort });
    return f !== null;
  }
}
