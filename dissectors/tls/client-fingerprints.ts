/**
 * JA3 and JA4 of a ClientHello, remembered by the fields they are computed from.
 *
 * The clients of a cluster send the same few ClientHellos on thousands of connections; building the
 * JA3 string and the sorted JA4 lists for each one was most of what a handshake cost. The fields
 * both fingerprints read (versions, ciphers, extensions, groups, point formats, signature
 * algorithms, the first ALPN value) are hashed as numbers, without building anything, and compared
 * in full on a hit, so a remembered fingerprint is exactly the one that would be computed. Bounded:
 * when full, it starts over.
 *
 * A hit also hands back the remembered lists, equal to the hello's: a connection keeps those (they are
 * part of its record) rather than its own copies, which would otherwise outlive the young generation
 * with every connection still open and be copied by each garbage collection until it ends.
 */
import type { ClientHello } from './hello-parser';
import { ja3 } from './ja3';
import { ja4 } from './ja4';
import { mix, mixList, sameList } from '../../src/number-hash';

export interface ClientFingerprints {
  ja3: string;
  ja3Full: string;
  ja4: string;
  /**
   * The hello's lists, equal to its own; shared by every hello with the same fields, so never to be
   * changed.
   */
  ciphers: number[];
  extensions: number[];
  groups: number[];
  pointFormats: number[];
  sigAlgs: number[];
  versions: number[];
}

interface Entry extends ClientFingerprints {
  legacyVersion: number;
  alpn0: string | undefined;
}

const MAX_ENTRIES = 4096;

/**
 * A remembering fingerprint function. `hash` is the bucket key (tests pass one under which every
 * hello collides, to exercise the full comparison).
 */
export function fingerprintMemo(hash: (ch: ClientHello) => number = helloHash): (ch: ClientHello) => ClientFingerprints {
  const memo = new Map<number, Entry[]>();
  let entries = 0;
  return (ch: ClientHello): ClientFingerprints => {
    const h = hash(ch);
    const bucket = memo.get(h);
    if (bucket !== undefined) for (const e of bucket) if (sameFields(e, ch)) return e;
    const j3 = ja3(ch);
    const e: Entry = {
      ja3: j3.hash,
      ja3Full: j3.full,
      ja4: ja4(ch).ja4,
      legacyVersion: ch.legacyVersion,
      ciphers: ch.ciphers,
      extensions: ch.extensions,
      groups: ch.groups,
      pointFormats: ch.pointFormats,
      sigAlgs: ch.sigAlgs,
      versions: ch.versions,
      alpn0: ch.alpn[0],
    };
    if (entries >= MAX_ENTRIES) {
      memo.clear();
      entries = 0;
    }
    if (bucket !== undefined && memo.has(h)) bucket.push(e);
    else memo.set(h, [e]);
    entries++;
    return e;
  };
}

/** JA3 and JA4 of a ClientHello (shared by every connection of the process). */
export const clientFingerprints = fingerprintMemo();

function helloHash(ch: ClientHello): number {
  let h = mix(0x811c9dc5, ch.legacyVersion);
  h = mixList(h, ch.ciphers);
  h = mixList(h, ch.extensions);
  h = mixList(h, ch.groups);
  h = mixList(h, ch.pointFormats);
  h = mixList(h, ch.sigAlgs);
  h = mixList(h, ch.versions);
  const alpn = ch.alpn[0];
  if (alpn !== undefined) for (let i = 0; i < alpn.length; i++) h = mix(h, alpn.charCodeAt(i));
  return h;
}


function sameFields(e: Entry, ch: ClientHello): boolean {
  return (
    e.legacyVersion === ch.legacyVersion &&
    e.alpn0 === ch.alpn[0] &&
    sameList(e.ciphers, ch.ciphers) &&
    sameList(e.extensions, ch.extensions) &&
    sameList(e.groups, ch.groups) &&
    sameList(e.pointFormats, ch.pointFormats) &&
    sameList(e.sigAlgs, ch.sigAlgs) &&
    sameList(e.versions, ch.versions)
  );
}
