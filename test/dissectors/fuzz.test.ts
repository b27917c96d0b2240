/**
 * Property tests over every registered dissector: random bytes and mutated real conversations, fed
 * in random pieces with gaps and ends, through `probe`, `feed` and the app session. Nothing may
 * throw, results must be JSON and their strings bounded, anomaly codes must be in the catalogue,
 * and an unmutated conversation must give the same result however it is split.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAppSession } from '../../dissectors/app-session';
import { FACTORIES } from '../../dissectors/registry';
import { ProbeResult, type DissectorFactory, type DissectorId } from '../../dissectors/types';
import { ANOMALIES } from '../../src/anomalies';
import { APP_PROTOCOLS } from '../../src/model/records';
import type { Direction } from '../../src/flow/direction';
import { loadSeeds, type Conversation } from './fuzz-seeds';
import { stampOf } from '../../src/flow/packet-stamp';

/**
 * The longest string a result may hold: a certificate's DER in base64 under the TLS
 * certificate-message cap (256 KiB → about 350 000 characters). Everything else is far smaller.
 */
const MAX_RESULT_STRING = 400_000;

/** Where each dissector is expected to live; ones not written yet are skipped, the registry's are added. */
const CANDIDATES: ReadonlyArray<readonly [DissectorId, string, string]> = [
  ['tls', '../../dissectors/tls/tls-dissector', 'tlsFactory'],
  ['http', '../../dissectors/http/http1-dissector', 'http1Factory'],
  ['http2', '../../dissectors/http2/http2-dissector', 'http2Factory'],
  ['ssh', '../../dissectors/ssh/ssh-dissector', 'sshFactory'],
  ['dns', '../../dissectors/dns/dns-tcp-dissector', 'dnsTcpFactory'],
];

async function loadFactories(): Promise<DissectorFactory[]> {
  const out = new Map<DissectorId, DissectorFactory>();
  for (const f of FACTORIES) out.set(f.id, f);
  for (const [id, path, name] of CANDIDATES) {
    if (out.has(id)) continue;
    try {
      const m = (await import(/* @vite-ignore */ path)) as Record<string, DissectorFactory | undefined>;
      if (m[name]) out.set(id, m[name]!);
    } catch {
      // not written yet
    }
  }
  return [...out.values()];
}

const factories = await loadFactories();

type Ev = { k: 'data'; dir: Direction; bytes: Uint8Array } | { k: 'gap'; dir: Direction; n: number } | { k: 'end'; dir: Direction };

const dirArb = fc.constantFrom<Direction>(0, 1);
const eventArb: fc.Arbitrary<Ev> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ k: fc.constant('data' as const), dir: dirArb, bytes: fc.uint8Array({ maxLength: 700 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('gap' as const), dir: dirArb, n: fc.integer({ min: 1, max: 100_000 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('end' as const), dir: dirArb }) },
);

/** A mutation of a conversation; indices are taken modulo the sizes they apply to. */
const mutationArb = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), pos: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat(), pos: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), pos: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ op: fc.constant('run' as const), at: fc.nat(), pos: fc.nat(), n: fc.integer({ min: 1000, max: 70_000 }), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), pos: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('dup' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('swap' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('gap' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 5000 }) }),
);
type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

function toEvents(c: Conversation): Ev[] {
  return c.map((ch) => ({ k: 'data', dir: ch.dir, bytes: ch.bytes }));
}

function mutate(events: Ev[], muts: Mutation[]): Ev[] {
  const ev = events.slice();
  for (const m of muts) {
    if (ev.length === 0) break;
    const i = m.at % ev.length;
    const e = ev[i]!;
    switch (m.op) {
      case 'dup':
        ev.splice(i, 0, e);
        continue;
      case 'drop':
        ev.splice(i, 1);
        continue;
      case 'swap':
        ev[i] = { ...e, dir: (1 - e.dir) as Direction };
        continue;
      case 'gap':
        ev.splice(i, 0, { k: 'gap', dir: e.dir, n: m.n });
        continue;
    }
    if (e.k !== 'data') continue;
    const b = e.bytes;
    const pos = b.length === 0 ? 0 : m.pos % b.length;
    let nb: Uint8Array;
    switch (m.op) {
      case 'flip':
        nb = b.slice();
        if (nb.length > 0) nb[pos] = m.v;
        break;
      case 'truncate':
        nb = b.slice(0, pos);
        break;
      case 'insert':
        nb = new Uint8Array(Buffer.concat([b.subarray(0, pos), m.bytes, b.subarray(pos)]));
        break;
      case 'run':
        nb = new Uint8Array(Buffer.concat([b.subarray(0, pos), Buffer.alloc(m.n, m.v), b.subarray(pos)]));
        break;
      case 'delete':
        nb = new Uint8Array(Buffer.concat([b.subarray(0, pos), b.subarray(Math.min(b.length, pos + m.n))]));
        break;
    }
    ev[i] = { k: 'data', dir: e.dir, bytes: nb };
  }
  return ev;
}

/** Feeds events to a fresh dissector in pieces whose sizes cycle through `pieces` (0 = whole chunk). */
function run(f: DissectorFactory, events: Ev[], pieces: number[]): { result: unknown; codes: string[] } {
  const codes: string[] = [];
  const d = f.create((c) => codes.push(c));
  let p = 0;
  let frame = 1;
  for (const e of events) {
    if (e.k === 'gap') d.gap(e.dir, e.n);
    else if (e.k === 'end') d.end(e.dir);
    else {
      // each piece in a buffer of its own with junk around it: dissectors must honour start/end
      let off = 0;
      while (off < e.bytes.length) {
        const size = pieces.length === 0 || pieces[p % pieces.length] === 0 ? e.bytes.length : pieces[p % pieces.length]!;
        p++;
        const n = Math.min(size, e.bytes.length - off);
        const buf = new Uint8Array(n + 4).fill(0xee);
        buf.set(e.bytes.subarray(off, off + n), 2);
        d.feed(e.dir, buf, 2, 2 + n, stampOf(1700000000 + frame / 1000, frame));
        buf.fill(0x5a); // the view is only valid during the call
        off += n;
      }
      frame++;
    }
  }
  return { result: d.result(), codes };
}

function longestString(v: unknown, depth = 0): number {
  if (typeof v === 'string') return v.length;
  if (v === null || typeof v !== 'object' || depth > 20) return 0;
  let max = 0;
  for (const x of Array.isArray(v) ? v : Object.values(v)) max = Math.max(max, longestString(x, depth + 1));
  return max;
}

function checkResult(r: { result: unknown; codes: string[] }): void {
  const json = JSON.stringify(r.result);
  expect(typeof json).toBe('string');
  expect(longestString(JSON.parse(json))).toBeLessThanOrEqual(MAX_RESULT_STRING);
  for (const c of r.codes) expect(ANOMALIES).toHaveProperty([c]);
}

let seeds: Record<DissectorId, Conversation[]>;
beforeAll(async () => {
  seeds = await loadSeeds();
}, 20_000);

it('finds every dissector the project has', () => {
  expect(factories.map((f) => f.id)).toContain('ssh');
});

describe.each(factories.map((f) => [f.id, f] as const))('fuzz %s', (id, f) => {
  it('has valid conversations to mutate', () => {
    expect(seeds[id].length).toBeGreaterThan(0);
    for (const conv of seeds[id]) expect(conv.some((c) => c.dir === 0) && conv.some((c) => c.dir === 1)).toBe(true);
  });

  it('probe: random bytes, any range, either direction → a ProbeResult, never a throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), dirArb, fc.nat(), fc.nat(), (b, dir, a, z) => {
        const start = b.length === 0 ? 0 : a % (b.length + 1);
        const end = start + (b.length - start === 0 ? 0 : z % (b.length - start + 1));
        const r = f.probe(dir, b, start, end);
        expect([ProbeResult.NO_MATCH, ProbeResult.MATCH, ProbeResult.NEED_MORE]).toContain(r);
      }),
      { numRuns: 600 },
    );
  });

  it('probe: prefixes of valid conversations never throw', () => {
    for (const conv of seeds[id]) {
      for (const ch of conv.slice(0, 2)) {
        for (let n = 0; n <= Math.min(ch.bytes.length, 400); n++) f.probe(ch.dir, ch.bytes, 0, n);
      }
    }
  });

  it('feed: random conversations with gaps and ends', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 16 }), fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 5 }), (events, pieces) => {
        checkResult(run(f, events, pieces));
      }),
      { numRuns: 400 },
    );
  });

  it('feed: random bytes after a valid opening', () => {
    fc.assert(
      fc.property(fc.nat(), fc.array(eventArb, { maxLength: 8 }), (which, tail) => {
        const convs = seeds[id];
        if (convs.length === 0) return;
        const conv = convs[which % convs.length]!;
        checkResult(run(f, [...toEvents(conv.slice(0, 2)), ...tail], []));
      }),
      { numRuns: 100 },
    );
  });

  it('feed: mutated valid conversations in random pieces', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(mutationArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 6 }),
        (which, muts, pieces) => {
          const convs = seeds[id];
          if (convs.length === 0) return;
          const conv = convs[which % convs.length]!;
          checkResult(run(f, mutate(toEvents(conv), muts), pieces));
        },
      ),
      { numRuns: 600 },
    );
  });

  it('split invariance: a valid conversation gives the same result in any pieces', () => {
    for (const conv of seeds[id]) {
      const whole = JSON.stringify(run(f, toEvents(conv), []));
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 6 }), (pieces) => {
          expect(JSON.stringify(run(f, toEvents(conv), pieces))).toBe(whole);
        }),
        { numRuns: 30 },
      );
      expect(JSON.stringify(run(f, toEvents(conv), [1]))).toBe(whole);
    }
  });
});

describe('fuzz: the app session over all registered dissectors', () => {
  it('random and mutated conversations on random ports never throw out of the session', () => {
    const all = (): Conversation[] => Object.values(seeds).flat();
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 65535 }),
        fc.nat(),
        fc.array(mutationArb, { maxLength: 4 }),
        fc.array(eventArb, { maxLength: 6 }),
        (port, which, muts, tail) => {
          const convs = all();
          const events = [...mutate(toEvents(convs[which % convs.length]!), muts), ...tail];
          const s = createAppSession({
            client: { ip: '10.0.0.1', port: 40000 },
            server: { ip: '10.0.0.2', port },
            transport: 'tcp',
          });
          let frame = 1;
          for (const e of events) {
            if (e.k === 'gap') s.onGap(e.dir, e.n);
            else if (e.k === 'end') s.onEnd(e.dir);
            else s.onData(e.dir, e.bytes, 0, e.bytes.length, stampOf(0, frame++));
          }
          s.onEnd(0);
          s.onEnd(1);
          const ev = s.describe();
          expect(APP_PROTOCOLS).toContain(ev.app);
          expect(longestString(JSON.parse(JSON.stringify(ev)))).toBeLessThanOrEqual(MAX_RESULT_STRING);
          // real dissectors must not throw: the boundary's catch is a last resort, not a code path
          expect(s.anomalies.get('dissector.exception')).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
