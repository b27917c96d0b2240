/**
 * NSS key log (the SSLKEYLOGFILE format written by OpenSSL, BoringSSL, NSS, Go and Node's `keylog`
 * event) → session secrets keyed by the ClientHello random.
 *
 * A line is `LABEL <client_random hex> <secret hex>`. TLS ≤ 1.2 sessions log `CLIENT_RANDOM` with the
 * 48-byte master secret; TLS 1.3 sessions log the handshake and first application traffic secrets.
 * Anything else (comments, exporter and early secrets, junk, over-long lines) is ignored: a key log is
 * user input, read once per run, never on the packet path.
 */
import { readFileSync, statSync } from 'node:fs';
import { ByteBudget } from '../../../src/byte-budget';
import { MAX_HELD_TOTAL } from '../held-records';

/** Largest key log text accepted from one source (file or Decryption Secrets Block). */
export const MAX_KEY_LOG_BYTES = 64 * 1024 * 1024;
/** Most sessions kept in one store; further new sessions are ignored (and counted). */
export const MAX_KEY_LOG_SESSIONS = 1_000_000;
/** Missed lookups remembered, to tell secrets that came too late (a few MB at most). */
const MAX_MISSED_SESSIONS = 65_536;
/** Longest line read; a real line is under 250 characters (label + 64 + 96 hex digits). */
export const MAX_KEY_LOG_LINE = 512;

const RANDOM_HEX = 64;

/** What a key log knows about one TLS session. Secrets are raw bytes; null when not logged. */
export interface SessionSecrets {
  /** TLS ≤ 1.2 master secret (`CLIENT_RANDOM`). */
  masterSecret: Uint8Array | null;
  clientHandshake: Uint8Array | null;
  serverHandshake: Uint8Array | null;
  clientTraffic0: Uint8Array | null;
  serverTraffic0: Uint8Array | null;
}

type SecretField = keyof SessionSecrets;

const LABELS: Record<string, SecretField> = {
  CLIENT_RANDOM: 'masterSecret',
  CLIENT_HANDSHAKE_TRAFFIC_SECRET: 'clientHandshake',
  SERVER_HANDSHAKE_TRAFFIC_SECRET: 'serverHandshake',
  CLIENT_TRAFFIC_SECRET_0: 'clientTraffic0',
  SERVER_TRAFFIC_SECRET_0: 'serverTraffic0',
};

const LABEL_OF: Record<SecretField, string> = Object.fromEntries(Object.entries(LABELS).map(([l, f]) => [f, l])) as Record<SecretField, string>;

/** One secret of a store, as exportSecrets gives it. */
export type ExportedSecret = [random: string, field: SecretField, secret: Uint8Array];

const HEX = /^[0-9a-fA-F]+$/;

function emptySecrets(): SessionSecrets {
  return { masterSecret: null, clientHandshake: null, serverHandshake: null, clientTraffic0: null, serverTraffic0: null };
}

/** 52-bit digest of the 32-byte random at `start` (two 26-bit FNV-style halves). */
function randomDigest(b: Uint8Array, start: number): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = start; i < start + 32; i++) {
    h1 = Math.imul(h1 ^ b[i]!, 0x01000193);
    h2 = Math.imul(h2 ^ b[i]!, 0x5bd1e995) ^ (h2 >>> 13);
  }
  return (h1 >>> 6) * 0x4000000 + (h2 >>> 6);
}

/** Lower-case hex of `len` bytes at `start`: the map key. Built once per connection, at ServerHello. */
export function randomKey(b: Uint8Array, start: number, len = 32): string {
  let s = '';
  for (let i = start; i < start + len; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
}

/**
 * A growing store of session secrets, shared by every connection of a run. It may be filled while a
 * capture is being read (Decryption Secrets Blocks arrive between packets); a connection looks its
 * session up when it needs the keys (at ServerHello).
 */
export class KeyLog {
  private readonly sessions = new Map<string, SessionSecrets>();
  /** Lines that were not a usable secret (junk, unknown labels, bad hex), for diagnostics. */
  ignoredLines = 0;
  /** Sessions not kept because the store was full. */
  droppedSessions = 0;
  /**
   * Secrets stored for a session that had already been looked up and missed: they came too late for
   * the connection (a Decryption Secrets Block after it, a key log written after its handshake).
   */
  lateSecrets = 0;
  /**
   * Sessions looked up without success, by a 52-bit digest of their random (no string is built for a
   * connection without keys). Bounded; beyond, every new secret counts as late.
   */
  private readonly missed = new Set<number>();
  private missedOverflow = false;

  /**
   * Reads more secrets from wherever they come from (a key log file being written during a live
   * capture); true when it added any. Called when a secret is looked for and missing; it may skip
   * a read made too soon after the last one, unless `force`d.
   */
  follow: ((force: boolean) => boolean) | null = null;

  /** What TLS 1.3 connections waiting for late secrets hold of their server's records, together. */
  readonly holdBudget = new ByteBudget(MAX_HELD_TOTAL);

  /**
   * Called with the key log text given to addText or addBytes (whole lines, as read, unknown labels
   * included): for whoever keeps a copy of the key log (a live capture written to a file embeds it).
   */
  onText: ((text: string) => void) | null = null;

  /** Number of sessions with at least one secret. */
  get size(): number {
    return this.sessions.size;
  }

  /** Adds every secret in `text`; returns how many lines were used. */
  addText(text: string): number {
    const src = text.length > MAX_KEY_LOG_BYTES ? text.slice(0, MAX_KEY_LOG_BYTES) : text;
    this.onText?.(src);
    let used = 0;
    let pos = 0;
    while (pos < src.length) {
      let nl = src.indexOf('\n', pos);
      if (nl < 0) nl = src.length;
      if (nl - pos <= MAX_KEY_LOG_LINE) {
        if (this.addLine(src.slice(pos, nl))) used++;
      } else this.ignoredLines++;
      pos = nl + 1;
    }
    return used;
  }

  /** Adds key log bytes (UTF-8/ASCII), e.g. the body of a pcapng Decryption Secrets Block. */
  addBytes(data: Uint8Array): number {
    const n = Math.min(data.length, MAX_KEY_LOG_BYTES);
    return this.addText(Buffer.from(data.buffer, data.byteOffset, n).toString('latin1'));
  }

  /** Every session of `other` is added (a secret already known here is kept). */
  merge(other: KeyLog): void {
    for (const [k, v] of other.sessions) {
      for (const f of Object.keys(v) as SecretField[]) if (v[f] !== null) this.put(k, f, v[f]!);
    }
  }

  /** Every secret held, as (ClientHello random in hex, field, secret): for a store on another thread. */
  exportSecrets(): ExportedSecret[] {
    const out: ExportedSecret[] = [];
    for (const [k, v] of this.sessions) {
      for (const f of Object.keys(v) as SecretField[]) if (v[f] !== null) out.push([k, f, v[f]!]);
    }
    return out;
  }

  /** Adds secrets exported by another store (a secret already known here is kept). */
  importSecrets(secrets: readonly ExportedSecret[]): void {
    for (const [k, f, v] of secrets) if (f in LABEL_OF && k.length === RANDOM_HEX) this.put(k, f, v);
  }

  /**
   * The secrets of the session whose ClientHello random is `random[start..start+32)`, or null.
   * `force`: on a miss, read a followed key log now even if it was read a moment ago.
   */
  lookup(random: Uint8Array, start = 0, force = false): SessionSecrets | null {
    if (random.length < start + 32) return null;
    if (this.sessions.size > 0 || this.follow !== null) {
      const key = randomKey(random, start);
      const found = this.sessions.get(key) ?? (this.refresh(force) ? this.sessions.get(key) : undefined);
      if (found !== undefined) return found;
    }
    if (this.missed.size < MAX_MISSED_SESSIONS) this.missed.add(randomDigest(random, start));
    else this.missedOverflow = true;
    return null;
  }

  /** Asks `follow` for more secrets (`force`: whenever it last looked); true when some were added. */
  refresh(force = false): boolean {
    return this.follow !== null && this.follow(force);
  }

  private addLine(raw: string): boolean {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return false;
    const parts = line.split(/\s+/);
    const field = parts.length === 3 ? LABELS[parts[0]!] : undefined;
    const random = parts[1] ?? '';
    const secret = parts[2] ?? '';
    if (
      field === undefined ||
      random.length !== RANDOM_HEX ||
      !HEX.test(random) ||
      !HEX.test(secret) ||
      !validSecretLength(field, secret.length / 2) ||
      secret.length % 2 !== 0
    ) {
      this.ignoredLines++;
      return false;
    }
    return this.put(random.toLowerCase(), field, Buffer.from(secret, 'hex'));
  }

  private put(key: string, field: SecretField, secret: Uint8Array): boolean {
    let s = this.sessions.get(key);
    if (s === undefined) {
      if (this.sessions.size >= MAX_KEY_LOG_SESSIONS) {
        this.droppedSessions++;
        return false;
      }
      s = emptySecrets();
      this.sessions.set(key, s);
    }
    if (s[field] === null) {
      s[field] = new Uint8Array(secret);
      if (this.missed.size > 0 && (this.missedOverflow || this.missed.has(randomDigest(Buffer.from(key, 'hex'), 0)))) this.lateSecrets++;
    }
    return true;
  }
}

/** Master secrets are 48 bytes; TLS 1.3 traffic secrets are a hash long (32 for SHA-256, 48 for SHA-384). */
function validSecretLength(field: SecretField, bytes: number): boolean {
  return field === 'masterSecret' ? bytes === 48 : bytes === 32 || bytes === 48;
}

/** Parses key log text into a new store. */
export function parseKeyLog(text: string): KeyLog {
  const k = new KeyLog();
  k.addText(text);
  return k;
}

/**
 * Reads key log files (`--keylog`, repeatable) into one store. A file that cannot be read or is
 * larger than MAX_KEY_LOG_BYTES is a usage error: it throws an Error naming the file.
 */
export function loadKeyLogFiles(paths: readonly string[], into: KeyLog = new KeyLog()): KeyLog {
  for (const path of paths) {
    let text: string;
    try {
      if (statSync(path).size > MAX_KEY_LOG_BYTES) throw new Error(`larger than ${MAX_KEY_LOG_BYTES} bytes`);
      text = readFileSync(path, 'latin1');
    } catch (e) {
      throw new Error(`cannot read key log ${path}: ${(e as Error).message}`);
    }
    into.addText(text);
  }
  return into;
}
