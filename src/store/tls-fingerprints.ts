import type { TlsInfo } from '../model/records';
import type { Db } from './store';

/**
 * The parts of a TLS connection's evidence that only its hellos decide: what the client offered
 * (ciphers, extensions, groups, signature algorithms, versions) and what the server answered with,
 * and the JA3/JA3S/JA4 fingerprints of them. A cluster's clients send the same few hellos on thousands
 * of connections, so these fields, over half of a TLS flow's evidence, are stored once in
 * `tls_fingerprints` and each flow's evidence refers to them by id.
 */
export const HELLO_FINGERPRINT_KEYS = [
  'clientCiphers', 'clientExtensions', 'serverExtensions', 'supportedGroups', 'signatureAlgorithms',
  'supportedVersions', 'ecPointFormats', 'ja3', 'ja3Full', 'ja3s', 'ja3sFull', 'ja4',
] as const satisfies readonly (keyof TlsInfo)[];

export type HelloFingerprint = Pick<TlsInfo, (typeof HELLO_FINGERPRINT_KEYS)[number]>;

/** Fingerprint ids remembered by the writer; past this many it starts over (the table has them all). */
const MAX_REMEMBERED = 8192;

/** Writes fingerprints once each and hands out their ids. */
export class FingerprintWriter {
  private readonly ids = new Map<string, number>();
  private readonly insert;
  private readonly lookup;

  constructor(db: Db) {
    this.insert = db.prepare(`INSERT OR IGNORE INTO tls_fingerprints (fields) VALUES (?)`);
    this.lookup = db.prepare(`SELECT id FROM tls_fingerprints WHERE fields = ?`).pluck();
  }

  /**
   * The TLS evidence to store: the fingerprint's fields left out (undefined, which JSON omits) and its
   * id put in. Must run inside the caller's transaction.
   */
  split<T extends HelloFingerprint>(tls: T): Omit<T, keyof HelloFingerprint> & { fingerprint: number } {
    const fields = JSON.stringify(fingerprintOf(tls));
    let id = this.ids.get(fields);
    if (id === undefined) {
      this.insert.run(fields);
      id = this.lookup.get(fields) as number;
      if (this.ids.size >= MAX_REMEMBERED) this.ids.clear();
      this.ids.set(fields, id);
    }
    return { ...tls, ...LEFT_OUT, fingerprint: id };
  }
}

/** The fingerprint's fields of a connection's TLS evidence (a literal: one object shape, quick to serialise). */
function fingerprintOf(t: HelloFingerprint): HelloFingerprint {
  return {
    clientCiphers: t.clientCiphers,
    clientExtensions: t.clientExtensions,
    serverExtensions: t.serverExtensions,
    supportedGroups: t.supportedGroups,
    signatureAlgorithms: t.signatureAlgorithms,
    supportedVersions: t.supportedVersions,
    ecPointFormats: t.ecPointFormats,
    ja3: t.ja3,
    ja3Full: t.ja3Full,
    ja3s: t.ja3s,
    ja3sFull: t.ja3sFull,
    ja4: t.ja4,
  };
}

/** Spread over the evidence, it blanks out every field of the fingerprint. */
const LEFT_OUT = Object.freeze(Object.fromEntries(HELLO_FINGERPRINT_KEYS.map((k) => [k, undefined]))) as unknown as HelloFingerprint;

/** Reads fingerprints back by id, each parsed once per reader and shared (frozen) by its flows. */
export class FingerprintReader {
  private readonly cache = new Map<number, HelloFingerprint>();
  private readonly select;

  constructor(db: Db) {
    this.select = db.prepare(`SELECT fields FROM tls_fingerprints WHERE id = ?`).pluck();
  }

  /** The fingerprint of that id; an id not in the table (a damaged database) reads as one with nothing offered. */
  get(id: number): HelloFingerprint {
    let fp = this.cache.get(id);
    if (fp === undefined) {
      const fields = this.select.get(id) as string | undefined;
      fp = fields === undefined ? MISSING : deepFreeze(JSON.parse(fields) as HelloFingerprint);
      this.cache.set(id, fp);
    }
    return fp;
  }
}

const MISSING: HelloFingerprint = deepFreeze({
  clientCiphers: [], clientExtensions: [], serverExtensions: [], supportedGroups: [], signatureAlgorithms: [],
  supportedVersions: [], ecPointFormats: [], ja3: null, ja3Full: null, ja3s: null, ja3sFull: null, ja4: null,
});

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) Object.freeze(v);
  return Object.freeze(o);
}
