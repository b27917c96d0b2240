/**
 * Micro-benchmark: an established TLS session's application data fed in 64 KiB chunks.
 * The dissector should only walk record headers, so it is compared with a bare header walk over
 * the same bytes (the ceiling). Not a test: prints records/s and MB/s.
 *
 *   npx tsx bench/dissectors/tls-bench.ts [MiB] [record body bytes]
 */
import { TlsDissector } from '../../dissectors/tls/tls-dissector';
import { stampOf } from '../../src/flow/packet-stamp';

const CHUNK = 64 * 1024;
/** Record body size: small records (API watch events, h2 frames) are the costly case per byte. */
const RECORD_BODY = Number(process.argv[3] ?? 1024 + 24);
const mib = Number(process.argv[2] ?? 64);
const MIN_SECONDS = 1;

function buildStream(bytes: number): Uint8Array {
  const recLen = 5 + RECORD_BODY;
  const n = Math.ceil(bytes / recLen);
  const buf = new Uint8Array(n * recLen);
  for (let i = 0; i < n; i++) {
    const o = i * recLen;
    buf[o] = 23;
    buf[o + 1] = 3;
    buf[o + 2] = 3;
    buf[o + 3] = RECORD_BODY >> 8;
    buf[o + 4] = RECORD_BODY & 0xff;
    buf[o + 5] = i & 0xff; // body content is irrelevant: it is never read
  }
  return buf;
}

function headerWalk(buf: Uint8Array): number {
  let records = 0;
  let left = 0;
  let p = 0;
  // A header split across chunks is read in one go here (same buffer): the ceiling may cheat.
  for (let c = 0; c < buf.length; c += CHUNK) {
    const end = Math.min(buf.length, c + CHUNK);
    while (p < end) {
      if (left > 0) {
        const n = Math.min(left, end - p);
        left -= n;
        p += n;
        continue;
      }
      left = (buf[p + 3] << 8) | buf[p + 4];
      p += 5;
      records++;
    }
  }
  return records;
}

function time(label: string, bytes: number, fn: () => number): void {
  fn(); // warm up
  let runs = 0;
  let records = 0;
  const t0 = process.hrtime.bigint();
  let s = 0;
  do {
    records += fn();
    runs++;
    s = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (s < MIN_SECONDS);
  console.log(`${label.padEnd(22)} ${(records / s / 1e6).toFixed(2)} M records/s  ${((bytes * runs) / s / 1048576).toFixed(0)} MB/s`);
}

const stream = buildStream(mib * 1048576);
console.log(`${(stream.length / 1048576).toFixed(0)} MiB of application data in ${RECORD_BODY}-byte records, ${CHUNK / 1024} KiB chunks`);
time('header walk (ceiling)', stream.length, () => headerWalk(stream));
time('TlsDissector', stream.length, () => {
  const d = new TlsDissector(() => {});
  for (let c = 0; c < stream.length; c += CHUNK) d.feed(0, stream, c, Math.min(stream.length, c + CHUNK), stampOf(0, 1));
  return d.result().appDataRecords[0];
});
