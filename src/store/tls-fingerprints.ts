import type { TlsInfo } from '../model/records';
import type { Db } from './store';
import { mixList, sameList } from '../number-hash';

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

/** Fingerprints remembered by the writer; past this many it starts over (the table has them all). */
const MAX_REMEMBERED = 8192;

interface Remembered {
  fields: HelloFingerprint;
  id: number;
}

/**
 * Writes fingerprints once each and hands out their ids. A fingerprint already written is found by
 * a hash of its number lists, computed without building anything, and then compared field by field:
 * serialising every connection's hello fields to look them up cost more than storing them.
 */
export class FingerprintWriter {
  private readonly remembered = new Map<number, Remembered[]>();
  private count = 0;
  private readonly insert;
  private readonly lookup;

  /** `hash` is the bucket key (tests pass one under which every fingerprint collides). */
  constructor(
    db: Db,
    private readonly hash: (fp: HelloFingerprint) => number = fingerprintHash,
  ) {
    this.insert = db.prepare(`INSERT OR IGNORE INTO tls_fingerprints (fields) VALUES (?)`);
    this.lookup = db.prepare(`SELECT id FROM tls_fingerprints WHERE fields = ?`).pluck();
  }

  /** Forgets the fingerprints written (after a rollback they may be gone): they are looked up again. */
  forget(): void {
    this.remembered.clear();
    this.count = 0;
  }

  /** The id of the connection's fingerprint, written first if it is new. Must run inside the caller's transaction. */
  idOf(tls: HelloFingerprint): number {
    const h = this.hash(tls);
    const bucket = this.remembered.get(h);
    if (bucket !== undefined) for (const r of bucket) if (sameFingerprint(r.fields, tls)) return r.id;
    const fields = fingerprintOf(tls);
    const json = JSON.stringify(fields);
    this.insert.run(json);
    const id = this.lookup.get(json) as number;
    if (this.count >= MAX_REMEMBERED) {
      this.remembered.clear();
      this.count = 0;
    }
    const entry = { fields, id };
    const again = this.remembered.get(h);
    if (again !== undefined) again.push(entry);
    else this.remembered.set(h, [entry]);
    this.count++;
    return id;
  }
}

/** A hash of the number lists (the strings are computed from them and the versions). */
function fingerprintHash(t: HelloFingerprint): number {
  let h = 0x811c9dc5;
  h = mixList(h, t.clientCiphers);
  h = mixList(h, t.clientExtensions);
  h = mixList(h, t.serverExtensions);
  h = mixList(h, t.supportedGroups);
  h = mixList(h, t.signatureAlgorithms);
  h = mixList(h, t.supportedVersions);
  return mixList(h, t.ecPointFormats);
}

function sameFingerprint(a: HelloFingerprint, b: HelloFingerprint): boolean {
  return (
    a.ja3 === b.ja3 && a.ja3Full === b.ja3Full && a.ja3s === b.ja3s && a.ja3sFull === b.ja3sFull && a.ja4 === b.ja4 &&
    sameList(a.clientCiphers, b.clientCiphers) && sameList(a.clientExtensions, b.clientExtensions) &&
    sameList(a.serverExtensions, b.serverExtensions) && sameList(a.supportedGroups, b.supportedGroups) &&
    sameList(a.signatureAlgorithms, b.signatureAlgorithms) && sameList(a.supportedVersions, b.supportedVersions) &&
    sameList(a.ecPointFormats, b.ecPointFormats)
  );
}

/**
 * The fingerprint's fields of a connection's TLS evidence, as a literal (one object shape, quick to
 * serialise) holding copies of the lists: the remembered fingerprint must not change with the
 * connection it came from.
 */
function fingerprintOf(t: HelloFingerprint): HelloFingerprint {
  return {
    clientCiphers: [...t.clientCiphers],
    clientExtensions: [...t.clientExtensions],
    serverExtensions: [...t.serverExtensions],
    supportedGroups: [...t.supportedGroups],
    signatureAlgorithms: [...t.signatureAlgorithms],
    supportedVersions: [...t.supportedVersions],
    ecPointFormats: [...t.ecPointFormats],
    ja3: t.ja3,
    ja3Full: t.ja3Full,
    ja3s: t.ja3s,
    ja3sFull: t.ja3sFull,
    ja4: t.ja4,
  };
}

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
      fp = fields === undefined ? MISSING_FINGERPRINT : deepFreeze(JSON.parse(fields) as HelloFingerprint);
      this.cache.set(id, fp);
    }
    return fp;
  }
}

/** The fingerprint of a hello that was not seen (or of an id not in the table): nothing offered. */
export const MISSING_FINGERPRINT: HelloFingerprint = deepFreeze({
  clientCiphers: [], clientExtensions: [], serverExtensions: [], supportedGroups: [], signatureAlgorithms: [],
  supportedVersions: [], ecPointFormats: [], ja3: null, ja3Full: null, ja3s: null, ja3sFull: null, ja4: null,
});

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null) Object.freeze(v);
  return Object.freeze(o);
}
