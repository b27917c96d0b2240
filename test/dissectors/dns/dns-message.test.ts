import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DnsLog, MAX_DNS_TRANSACTIONS } from '../../../dissectors/dns/dns-log';
import { DnsStatus, MAX_ANSWERS, parseDnsMessage } from '../../../dissectors/dns/dns-message';

/** Wire form of a name: length-prefixed labels and the root (RFC 1035 §3.1). */
function name(text: string): number[] {
  const out: number[] = [];
  for (const label of text.split('.').filter((l) => l !== '')) out.push(label.length, ...Buffer.from(label, 'latin1'));
  out.push(0);
  return out;
}

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function header(id: number, flags: number, qd: number, an: number): number[] {
  return [...u16(id), ...u16(flags), ...u16(qd), ...u16(an), 0, 0, 0, 0];
}

function rr(owner: number[], type: number, ttl: number, rdata: number[]): number[] {
  return [...owner, ...u16(type), 0, 1, (ttl >>> 24) & 0xff, (ttl >> 16) & 0xff, (ttl >> 8) & 0xff, ttl & 0xff, ...u16(rdata.length), ...rdata];
}

const POINTER_TO_QUESTION = [0xc0, 12]; // the question's name starts right after the 12-byte header

function parse(bytes: number[]) {
  const b = Uint8Array.from(bytes);
  return parseDnsMessage(b, 0, b.length);
}

describe('DNS messages', () => {
  it('reads a query and its response with compressed names, A, AAAA, CNAME and the TTLs', () => {
    // 1234 0100 0001 0000 … 0a 6b75626572 … : query for KUBERNETES.default.svc.cluster.local, type A
    const query = parse([...header(0x1234, 0x0100, 1, 0), ...name('KUBERNETES.default.svc.cluster.local'), ...u16(1), 0, 1]);
    expect(query.status).toBe(DnsStatus.OK);
    expect(query.message).toMatchObject({ id: 0x1234, response: false, query: 'kubernetes.default.svc.cluster.local', qtype: 'A', answers: [] });

    const response = parse([
      ...header(0x1234, 0x8180, 1, 3), ...name('api.example.com'), ...u16(28), 0, 1,
      ...rr(POINTER_TO_QUESTION, 5, 300, name('lb.example.net')),
      ...rr(name('lb.example.net'), 28, 60, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
      ...rr(POINTER_TO_QUESTION, 1, 0xffffffff, [10, 96, 0, 1]),
    ]);
    expect(response.status).toBe(DnsStatus.OK);
    expect(response.message).toMatchObject({ response: true, rcode: 'NOERROR', query: 'api.example.com', qtype: 'AAAA', truncated: false });
    expect(response.message!.answers).toEqual([
      { name: 'api.example.com', type: 'CNAME', data: 'lb.example.net', ttl: 300 },
      { name: 'lb.example.net', type: 'AAAA', data: '2001:db8::1', ttl: 60 },
      { name: 'api.example.com', type: 'A', data: '10.96.0.1', ttl: 4294967295 },
    ]);
  });

  it('names response codes and types it does not read, and keeps PTR names', () => {
    const nx = parse([...header(7, 0x8183, 1, 0), ...name('nope.example'), ...u16(1), 0, 1]);
    expect(nx.message).toMatchObject({ rcode: 'NXDOMAIN', answers: [] });
    const ptr = parse([...header(8, 0x8580, 1, 2), ...name('21.0.0.10.in-addr.arpa'), ...u16(12), 0, 1,
      ...rr(POINTER_TO_QUESTION, 12, 30, name('worker-1.example.internal')),
      ...rr(POINTER_TO_QUESTION, 16, 30, [3, 0x61, 0x62, 0x63])]);
    expect(ptr.message!.answers).toEqual([
      { name: '21.0.0.10.in-addr.arpa', type: 'PTR', data: 'worker-1.example.internal', ttl: 30 },
      { name: '21.0.0.10.in-addr.arpa', type: 'TXT', data: '', ttl: 30 },
    ]);
    expect(parse([...header(9, 0x8202, 1, 0), ...name('x'), ...u16(999), 0, 1]).message).toMatchObject({ rcode: 'SERVFAIL', qtype: 'TYPE999', truncated: true });
  });

  it('writes a label\'s dots and control bytes as \\DDD, so a wire name cannot pass for another or reach a terminal raw', () => {
    // One label "a.b" (a dot inside it) and one with ESC: not the two-label name a.b, not a raw escape.
    const r = parse([...header(1, 0x0100, 1, 0), 3, 0x61, 0x2e, 0x62, 2, 0x1b, 0x5b, 0, ...u16(1), 0, 1]);
    expect(r.message!.query).toBe('a\\046b.\\027\\091');
  });

  it('ends a pointer loop, a name beyond the datagram and a record beyond it as malformed, keeping the question', () => {
    // The answer's owner name (offset 27) points at itself.
    const loop = parse([...header(1, 0x8180, 1, 1), ...name('a.example'), ...u16(1), 0, 1, 0xc0, 27, ...u16(1), 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
    expect(loop.status).toBe(DnsStatus.BAD_NAME);
    expect(loop.message!.query).toBe('a.example');
    const selfPointer = parse([...header(1, 0x0100, 1, 0), 0xc0, 12, ...u16(1), 0, 1]);
    expect(selfPointer.status).toBe(DnsStatus.BAD_NAME);
    expect(parse([...header(1, 0x0100, 1, 0), 10, 0x61]).status).toBe(DnsStatus.BAD_NAME);
    const cutRdata = parse([...header(1, 0x8180, 1, 1), ...name('a'), ...u16(1), 0, 1, ...POINTER_TO_QUESTION, ...u16(1), 0, 1, 0, 0, 0, 0, 0, 4, 1, 2]);
    expect(cutRdata.status).toBe(DnsStatus.MALFORMED);
    expect(parse([1, 2, 3]).status).toBe(DnsStatus.MALFORMED);
    // Longer than 255 bytes on the wire.
    expect(parse([...header(1, 0x0100, 1, 0), ...name(Array(9).fill('x'.repeat(30)).join('.')), ...u16(1), 0, 1]).status).toBe(DnsStatus.BAD_NAME);
  });

  it('reads at most MAX_ANSWERS answers and counts the rest', () => {
    const answers: number[] = [];
    for (let i = 0; i < MAX_ANSWERS + 5; i++) answers.push(...rr(POINTER_TO_QUESTION, 1, 1, [10, 0, 0, i]));
    const r = parse([...header(1, 0x8180, 1, MAX_ANSWERS + 5), ...name('many'), ...u16(1), 0, 1, ...answers]);
    expect(r.message!.answers).toHaveLength(MAX_ANSWERS);
    expect(r.message!.answersDropped).toBe(5);
  });

  it('never throws on random or mutated bytes', () => {
    const seed = [...header(0x1234, 0x8180, 1, 2), ...name('a.b.example'), ...u16(1), 0, 1,
      ...rr(POINTER_TO_QUESTION, 5, 1, name('c.example')), ...rr([0xc0, 41], 1, 1, [1, 2, 3, 4])];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        (random, edits) => {
          const mutated = Uint8Array.from(seed);
          for (const [at, v] of edits) mutated[at] = v;
          for (const b of [random, mutated]) {
            const r = parseDnsMessage(b, 0, b.length);
            for (const a of r.message?.answers ?? []) expect(a.name.length).toBeLessThan(255 * 4);
          }
        }),
      { numRuns: 2000 },
    );
  });
});

describe('DNS transactions of a flow', () => {
  const q = (id: number, n: string) => Uint8Array.from([...header(id, 0x0100, 1, 0), ...name(n), ...u16(1), 0, 1]);
  const a = (id: number, n: string, ip: number[]) => Uint8Array.from([...header(id, 0x8180, 1, 1), ...name(n), ...u16(1), 0, 1, ...rr(POINTER_TO_QUESTION, 1, 5, ip)]);

  it('matches responses to queries by id and question; a retry is the same transaction; an answer alone is one', () => {
    const log = new DnsLog();
    for (const [m, ts] of [[q(1, 'a.example'), 1], [q(1, 'a.example'), 2], [q(2, 'b.example'), 3], [a(2, 'b.example', [10, 0, 0, 2]), 4], [a(1, 'a.example', [10, 0, 0, 1]), 5], [a(9, 'c.example', [10, 0, 0, 9]), 6]] as const) {
      expect(log.add(m, 0, m.length, ts, ts, false)).toBeNull();
    }
    expect(log.transactions.map((t) => [t.query, t.ts, t.responseTs, t.answers.map((x) => x.data)])).toEqual([
      ['a.example', 1, 5, ['10.0.0.1']],
      ['b.example', 3, 4, ['10.0.0.2']],
      ['c.example', 6, 6, ['10.0.0.9']],
    ]);
  });

  it('counts a malformed message, forgives one the snapshot length cut, and keeps at most MAX_DNS_TRANSACTIONS', () => {
    const log = new DnsLog();
    const bad = Uint8Array.from([1, 2, 3, 4, 5]);
    expect(log.add(bad, 0, bad.length, 1, 1, false)).toBe('dns.malformed');
    expect(log.add(bad, 0, bad.length, 1, 1, true)).toBeNull();
    for (let i = 0; i < MAX_DNS_TRANSACTIONS; i++) expect(log.add(q(i, `n${i}.example`), 0, 30, i, i, false)).toBeNull();
    const more = q(999, 'more.example');
    expect(log.add(more, 0, more.length, 99, 99, false)).toBe('dns.too_many_transactions');
    expect(log.transactions).toHaveLength(MAX_DNS_TRANSACTIONS);
    expect(log.dropped).toBe(1);
  });
});
