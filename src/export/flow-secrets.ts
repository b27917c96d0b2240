/**
 * The TLS secrets of the connections being extracted, out of the key logs a capture carries in its
 * Decryption Secrets Blocks. An extract of a few connections embeds theirs and no others: a capture's
 * key log can hold the secrets of every session on the wire (API-server connections with their bearer
 * tokens among them), and the extract is what gets handed around.
 *
 * A connection is known by the random of its ClientHello, which a key log line names (NSS key log
 * format: `LABEL <client random, 64 hex digits> <secret>`); it is read from the first bytes the client
 * sent, where the ClientHello begins.
 */
import type { DecodedPacket } from '../decode/packet';
import { SECRETS_TLS_KEY_LOG, type CaptureSecret } from '../ingest/pcapng-reader';
import { MAX_KEY_LOG_BYTES, MAX_KEY_LOG_LINE, randomKey } from '../../dissectors/tls/decrypt/key-log';

const PROTO_TCP = 6;
const TLS_HANDSHAKE = 22;
const CLIENT_HELLO = 1;
/** Record header (5), handshake header (4), client_version (2): the random follows. */
const RANDOM_OFFSET = 11;
const RANDOM_BYTES = 32;
/** Key log line: a label, the 64 hex digits of a ClientHello random, a secret. */
const KEY_LOG_LINE = /^\s*[A-Z_0-9]+\s+([0-9a-fA-F]{64})\s+[0-9a-fA-F]+\s*$/;

export class FlowSecrets {
  /** ClientHello randoms of the connections (lower-case hex). */
  private readonly randoms = new Set<string>();
  /** Key log lines read, by random (bounded as a key log is); only those of the connections are written. */
  private readonly lines = new Map<string, string[]>();
  private bytes = 0;

  /** A Decryption Secrets Block of the capture (SecretsHandler). */
  readonly onSecrets = (secret: CaptureSecret): void => {
    if (secret.type !== SECRETS_TLS_KEY_LOG) return;
    const text = Buffer.from(secret.data.buffer, secret.data.byteOffset, secret.data.length).toString('latin1');
    for (const raw of text.split('\n')) {
      if (raw.length > MAX_KEY_LOG_LINE || this.bytes + raw.length > MAX_KEY_LOG_BYTES) continue;
      const m = KEY_LOG_LINE.exec(raw);
      if (m === null) continue;
      const random = m[1]!.toLowerCase();
      const line = raw.trim();
      let list = this.lines.get(random);
      if (list === undefined) this.lines.set(random, (list = []));
      if (list.includes(line)) continue;
      list.push(line);
      this.bytes += line.length;
    }
  };

  /** A packet of one of the connections: a client's first record names its random. */
  notePacket(pkt: DecodedPacket): void {
    if (pkt.protocol !== PROTO_TCP || pkt.payloadLength < RANDOM_OFFSET + RANDOM_BYTES) return;
    const b = pkt.data;
    const o = pkt.payloadOffset;
    if (b[o] !== TLS_HANDSHAKE || b[o + 1] !== 3 || b[o + 5] !== CLIENT_HELLO) return;
    this.randoms.add(randomKey(b, o + RANDOM_OFFSET, RANDOM_BYTES));
  }

  /** Connections whose ClientHello was seen without any secret for it so far. */
  get missing(): number {
    let n = 0;
    for (const r of this.randoms) if (!this.lines.has(r)) n++;
    return n;
  }

  /** The key log of the connections (one line per secret, newline-terminated), '' when none. */
  keyLog(): string {
    let out = '';
    for (const r of this.randoms) for (const l of this.lines.get(r) ?? []) out += l + '\n';
    return out;
  }
}
