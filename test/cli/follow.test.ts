import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asciiText, hexLines } from '../../src/report/follow-text';
import { readCapture } from '../../src/ingest/read-capture';
import { captureFileWriter } from '../../src/export/frame-writers';
import { FdSink } from '../../src/export/byte-sink';
import { copyFrames, LATE_SECRETS_SECONDS } from '../../src/export/flow-packets';
import { PcapngWriter } from '../../src/export/pcapng-writer';
import { buildPcap, TCP, type PacketSpec } from '../pipeline/pcap-builder';

/**
 * `planewatch follow`: a stored connection's conversation printed from its capture. The bytes
 * themselves are checked against tshark in test/crosscheck/follow-tshark.test.ts; here, what a user
 * meets: the formats, decryption with the capture's own secrets or a key log, one side, gaps, and
 * the errors.
 */
const ROOT = join(__dirname, '../..');
const SAMPLES = join(ROOT, 'captures/samples');
const KEYS = join(ROOT, 'captures/keylogs');
const dir = mkdtempSync(join(tmpdir(), 'planewatch-follow-'));
const db = join(dir, 'f.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { cwd: dir, encoding: 'buffer', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, out: r.stdout, text: r.stdout.toString('utf8'), err: r.stderr.toString('utf8') };
}

/** Flow id of the connection to `server:port` of the capture stored from `file` (by name). */
function flowOf(file: string, serverPort: number): string {
  const d = new Database(db, { readonly: true });
  try {
    const row = d
      .prepare(`SELECT f.flow_key AS k FROM flows f JOIN captures c ON c.id = f.capture_id WHERE (c.file = ? OR c.file LIKE ?) AND f.server_port = ? ORDER BY f.id LIMIT 1`)
      .get(file, `%/${file}`, serverPort) as { k: string } | undefined;
    if (row === undefined) throw new Error(`no flow to port ${serverPort} in ${file}`);
    return row.k;
  } finally {
    d.close();
  }
}

/** A connection whose client's second segment (bytes 6..11) was not captured. */
function gapCapture(): Buffer {
  const c = { src: '10.1.0.5', dst: '10.1.0.9', sport: 40001, dport: 8080 };
  const s = { src: '10.1.0.9', dst: '10.1.0.5', sport: 8080, dport: 40001 };
  const pkts: PacketSpec[] = [
    { ...c, flags: TCP.SYN, seq: 100 },
    { ...s, flags: TCP.SYN | TCP.ACK, seq: 900, ack: 101 },
    { ...c, flags: TCP.ACK, seq: 101, ack: 901 },
    { ...c, flags: TCP.ACK | TCP.PSH, seq: 101, ack: 901, payload: 'hello ' },
    // seq 107..112 ('world ') missing
    { ...c, flags: TCP.ACK | TCP.PSH, seq: 113, ack: 901, payload: 'again\n' },
    { ...s, flags: TCP.ACK | TCP.PSH, seq: 901, ack: 119, payload: 'ok\r\n\x1b[2J\x00' },
    { ...c, flags: TCP.FIN | TCP.ACK, seq: 119, ack: 910 },
    { ...s, flags: TCP.FIN | TCP.ACK, seq: 910, ack: 120 },
  ];
  return buildPcap(pkts);
}

/**
 * The keyless TLS 1.3 sample written as pcapng with its key log in a Decryption Secrets Block after
 * frame `after` (as a live capture writes secrets it learns while the connection runs); with
 * `strayAfter`, a packet of another connection (the frame with its source port plus one) that many
 * seconds after that frame comes before the secrets. Returns the file's name.
 */
async function secretsAfterFrame(name: string, after: number, strayAfter: number | null = null): Promise<string> {
  const keys = readFileSync(join(KEYS, 'kubelet-logs-tls13.keys'), 'latin1');
  const w = new PcapngWriter(FdSink.open(join(dir, name)));
  const ifc = w.addInterface(1, { tsresolDigits: 9 });
  let n = 0;
  await readCapture(join(dir, 'kubelet-logs-tls13.pcap'), (f) => {
    const bytes = f.buf.subarray(f.start, f.end);
    w.writePacket(ifc, f.tsSec, f.tsNsec, bytes, f.origLen);
    if (++n !== after) return;
    if (strayAfter !== null) {
      const stray = Buffer.from(bytes);
      stray.writeUInt16BE(stray.readUInt16BE(34) + 1, 34); // Ethernet + IPv4: the TCP source port
      w.writePacket(ifc, f.tsSec + strayAfter, f.tsNsec, stray);
    }
    w.writeTlsKeyLog(keys);
  });
  w.close();
  return name;
}

/** Analyses `capture` into a database of its own; the database and its connection to the kubelet (10250). */
function analyzedKubeletFlow(capture: string, dbName: string): { db: string; key: string } {
  const file = join(dir, dbName);
  expect(cli(['analyze', capture, '--db', file, '--quiet']).code).toBe(0);
  const d = new Database(file, { readonly: true });
  try {
    return { db: file, key: (d.prepare('SELECT flow_key FROM flows WHERE server_port = 10250 ORDER BY id LIMIT 1').get() as { flow_key: string }).flow_key };
  } finally {
    d.close();
  }
}

beforeAll(() => {
  for (const f of ['kubelet-logs-tls13.dsb.pcapng', 'kubelet-logs-tls13.pcap', 'kubelet-readonly-port.pcap', 'other-traffic.pcap', 'node-to-apiserver.pcap']) copyFileSync(join(SAMPLES, f), join(dir, f));
  writeFileSync(join(dir, 'gap.pcap'), gapCapture());
  const r = cli(['analyze', 'kubelet-logs-tls13.dsb.pcapng', 'kubelet-logs-tls13.pcap', 'kubelet-readonly-port.pcap', 'other-traffic.pcap', 'gap.pcap', 'node-to-apiserver.pcap', '--db', db, '--quiet']);
  expect(r.err).toBe('');
}, 60_000);

describe('planewatch follow', () => {
  it('prints a TLS connection decrypted with the key log its capture carries, side by side in order', () => {
    const r = cli(['follow', flowOf('kubelet-logs-tls13.dsb.pcapng', 10250), '--db', db]);
    expect(r.code).toBe(0);
    const lines = r.text.split('\n');
    expect(lines[0]).toMatch(/^Follow flow c\d+f\d+: 10\.0\.0\.10:\d+ → 10\.0\.0\.23:10250/);
    const client = lines.findIndex((l) => /^──── client → server {2}frame \d+ {2}2026-03-02T10:05:00\.\d{6}Z {2}\d+ bytes$/.test(l));
    const server = lines.findIndex((l) => l.startsWith('──── server → client'));
    expect(client).toBeGreaterThan(0);
    expect(server).toBeGreaterThan(client);
    expect(lines[client + 1]).toMatch(/^GET \/containerLogs\/default\/db-0\/web\?follow=true HTTP\/1\.1$/);
    expect(lines[server + 1]).toBe('HTTP/1.1 200 OK');
    expect(r.text).toMatch(/==== decrypted TLS application data: \d+ bytes from the client, \d+ from the server\n$/);
  });

  it('shows the encrypted records without keys, says why, and decrypts with --keylog', () => {
    const key = flowOf('kubelet-logs-tls13.pcap', 10250);
    const plain = cli(['follow', key, '--db', db]);
    expect(plain.code).toBe(0);
    expect(plain.text).not.toContain('GET /containerLogs');
    expect(plain.text).toContain('==== TCP payload');
    expect(plain.text).toContain('note: TLS without its secrets (give the key log with --keylog)');
    const keyed = cli(['follow', key, '--db', db, '--keylog', join(KEYS, 'kubelet-logs-tls13.keys')]);
    expect(keyed.code).toBe(0);
    expect(keyed.text).toContain('GET /containerLogs/default/db-0/web?follow=true HTTP/1.1');
    // --layer tcp shows the records even when the keys are known.
    const tcp = cli(['follow', key, '--db', db, '--keylog', join(KEYS, 'kubelet-logs-tls13.keys'), '--layer', 'tcp']);
    expect(tcp.text).not.toContain('GET /containerLogs');
    expect(tcp.text).toContain('==== TCP payload');
  });

  it('--json carries every chunk, and its bytes are what --format raw writes for each side', () => {
    const key = flowOf('kubelet-readonly-port.pcap', 10255);
    const j = cli(['follow', key, '--db', db, '--json']);
    expect(j.code).toBe(0);
    const doc = JSON.parse(j.text) as {
      flow: { flowKey: string; server: string };
      chunks: { side: 'client' | 'server'; frame: number; bytes: number; data: string }[];
      layer: string; app: string; clientBytes: number; serverBytes: number; note: string | null;
    };
    expect(doc.flow).toMatchObject({ flowKey: key, server: '10.0.0.21:10255' });
    expect(doc).toMatchObject({ layer: 'tcp', app: 'http', note: null });
    const side = (s: string) => Buffer.concat(doc.chunks.filter((c) => c.side === s).map((c) => Buffer.from(c.data, 'base64')));
    expect(side('client').toString('latin1')).toMatch(/^GET \/pods HTTP\/1\.1\r\n[^]*GET \/stats\/summary HTTP\/1\.1\r\n/);
    expect(side('client').length).toBe(doc.clientBytes);
    expect(side('server').length).toBe(doc.serverBytes);
    for (const c of doc.chunks) expect(Buffer.from(c.data, 'base64').length).toBe(c.bytes);
    for (const s of ['client', 'server'] as const) {
      const raw = cli(['follow', key, '--db', db, '--format', 'raw', '--side', s]);
      expect(raw.code).toBe(0);
      expect(raw.out.equals(side(s))).toBe(true);
    }
    // Text output for one side has no block of the other.
    const server = cli(['follow', key, '--db', db, '--side', 'server']);
    expect(server.text).toContain('──── server → client');
    expect(server.text).not.toContain('──── client → server');
  });

  it('prints a hex dump whose offsets run on per side', () => {
    const r = cli(['follow', flowOf('kubelet-readonly-port.pcap', 10255), '--db', db, '--format', 'hex', '--side', 'client']);
    expect(r.code).toBe(0);
    const rows = r.text.split('\n').filter((l) => /^[0-9a-f]{8} {2}/.test(l));
    expect(rows[0]).toBe('00000000  47 45 54 20 2f 70 6f 64  73 20 48 54 54 50 2f 31  GET /pods HTTP/1');
    // The second request's block starts where the first one's bytes end, not at zero.
    const offsets = rows.map((l) => parseInt(l.slice(0, 8), 16));
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]).toBeGreaterThan(offsets[i - 1]!);
    expect(offsets.filter((o) => o === 0)).toHaveLength(1);
  });

  it('marks missing bytes as missing, and never lets the capture drive the terminal', () => {
    const key = flowOf('gap.pcap', 8080);
    const r = cli(['follow', key, '--db', db]);
    expect(r.code).toBe(0);
    // The bytes after the hole wait in the reassembler until the hole is given up on (at the FIN),
    // so they come after the server's answer, behind the marker.
    const hello = r.text.indexOf('\nhello \n');
    const missing = r.text.indexOf('\n[6 bytes from the client missing]\n');
    expect(hello).toBeGreaterThan(0);
    expect(missing).toBeGreaterThan(hello);
    expect(r.text.slice(missing)).toMatch(/^\n\[6 bytes from the client missing\]\n──── client → server {2}frame 5 .*\nagain\n/);
    // CRLF as a newline, ESC and NUL as dots.
    expect(r.text).toContain('ok\n.[2J.\n');
    expect(r.text).not.toContain('\x1b');
    const raw = cli(['follow', key, '--db', db, '--format', 'raw', '--side', 'client']);
    expect(raw.out.toString('latin1')).toBe('hello again\n');
    expect(raw.err).toContain('6 bytes missing from the client after byte 6');
    const j = JSON.parse(cli(['follow', key, '--db', db, '--json']).text) as { chunks: { side: string; gap?: number }[] };
    expect(j.chunks.filter((c) => c.gap !== undefined)).toEqual([{ side: 'client', gap: 6 }]);
  });

  it('reads the capture from --capture when it has moved, and says what to do when it is gone', () => {
    const key = flowOf('kubelet-readonly-port.pcap', 10255);
    const moved = join(dir, 'moved.pcap');
    copyFileSync(join(dir, 'kubelet-readonly-port.pcap'), moved);
    rmSync(join(dir, 'kubelet-readonly-port.pcap'));
    const gone = cli(['follow', key, '--db', db]);
    expect(gone.code).toBe(4);
    expect(gone.err).toMatch(/^planewatch follow: .*kubelet-readonly-port\.pcap.*: give it with --capture FILE\n$/);
    const r = cli(['follow', key, '--db', db, '--capture', moved]);
    expect(r.code).toBe(0);
    expect(r.text).toContain('GET /pods HTTP/1.1');
  });

  it('--format http2 shows an HTTP/2 connection frame by frame with its header blocks decoded; anything else as text', () => {
    const key = flowOf('node-to-apiserver.pcap', 6443);
    const r = cli(['follow', key, '--db', db, '--keylog', join(KEYS, 'node-to-apiserver.keys'), '--format', 'http2']);
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/\n──── client → server {2}frame \d+ {2}\S+ {2}connection preface\n/);
    expect(r.text).toMatch(/\n──── client → server {2}frame \d+ {2}\S+ {2}HEADERS stream 1 \(END_STREAM\)\n:method: GET\n:path: \/api\/v1\/nodes\/worker-\d\?timeout=10s\n/);
    expect(r.text).toMatch(/\n──── server → client {2}frame \d+ {2}\S+ {2}HEADERS stream 1\n:status: 200\n/);
    expect(r.text).toMatch(/\n──── server → client {2}frame \d+ {2}\S+ {2}DATA stream 1, \d+ bytes \(END_STREAM\)\n\{"kind":"Node"/);
    expect(r.text).toMatch(/\n──── server → client {2}frame \d+ {2}\S+ {2}SETTINGS \(ACK\)\n/);
    expect(r.text).toMatch(/\n==== HTTP\/2 in the decrypted TLS application data: \d+ frames; \d+ bytes from the client, \d+ from the server\n$/);
    const other = cli(['follow', flowOf('gap.pcap', 8080), '--db', db, '--format', 'http2']);
    expect(other.text).toContain('not HTTP/2 (neither the connection preface nor an upgrade to h2c from the client): shown as text\n');
    expect(other.text).toMatch(/──── client → server {2}frame 4 .*\nhello \n/);
  });

  it("follows a UDP flow datagram by datagram (Follow UDP Stream), each under a line of its own", () => {
    const d = new Database(db, { readonly: true });
    const dns = d.prepare(`SELECT flow_key AS k, packets_client AS c, packets_server AS s FROM flows WHERE transport = 'udp' AND app = 'dns' AND packets_client > 0 AND packets_server > 0 LIMIT 1`).get() as { k: string; c: number; s: number };
    d.close();
    const r = cli(['follow', dns.k, '--db', db, '--format', 'hex']);
    expect(r.code).toBe(0);
    expect(r.text.match(/^──── client → server /gm)).toHaveLength(dns.c);
    expect(r.text.match(/^──── server → client /gm)).toHaveLength(dns.s);
    expect(r.text).toMatch(/\n==== UDP payload: \d+ bytes from the client, \d+ from the server\n$/);
    const j = JSON.parse(cli(['follow', dns.k, '--db', db, '--json']).text) as { layer: string; chunks: unknown[] };
    expect(j.layer).toBe('udp');
    expect(j.chunks).toHaveLength(dns.c + dns.s);
  });

  it('--format http shows HTTP/1 messages with their bodies de-chunked, in the decrypted view', () => {
    const r = cli(['follow', flowOf('kubelet-logs-tls13.dsb.pcapng', 10250), '--db', db, '--format', 'http']);
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/\n──── client → server {2}frame \d+ {2}\S+ {2}GET \/containerLogs\/default\/db-0\/web\?follow=true HTTP\/1\.1\nHost: 10\.0\.0\.23:10250\n/);
    // The chunk sizes are gone: the body is the log lines themselves.
    expect(r.text).toMatch(/\n──── server → client {2}frame \d+ {2}\S+ {2}HTTP\/1\.1 200 OK\n[^]*Transfer-Encoding: chunked\n\[body: 77 bytes, chunked\]\n2026-03-02T09:59:58\.123Z GET \/healthz 200\n2026-03-02T09:59:59\.456Z GET \/ 200\n==== HTTP\/1 in the decrypted TLS application data: 2 messages; 199 bytes from the client, 245 from the server\n$/);
    const h2 = cli(['follow', flowOf('gap.pcap', 8080), '--db', db, '--format', 'http']);
    expect(h2.text).toContain('not HTTP/1 (the client did not start with a request line): shown as text\n');
  });

  it('says where bytes are missing in the decrypted view too: decryption stops there', async () => {
    // The TLS 1.3 sample with the server's response record left out (its key log embedded as before).
    const src = join(dir, 'kubelet-logs-tls13.dsb.pcapng');
    const info = await readCapture(src, () => undefined);
    const frames: number[] = [];
    await readCapture(src, (f) => void frames.push(f.number));
    const out = join(dir, 'lost-response.pcapng');
    const writer = captureFileWriter('pcapng', FdSink.open(out), [info.keyLog]);
    writer.source(0, src);
    await copyFrames(src, frames.filter((n) => n !== 16), writer);
    writer.close();
    const { db: lostDb, key } = analyzedKubeletFlow(out, 'lost.db');
    const r = cli(['follow', key, '--db', lostDb]);
    expect(r.code).toBe(0);
    expect(r.text).toContain('GET /containerLogs/default/db-0/web?follow=true HTTP/1.1');
    expect(r.text).not.toContain('HTTP/1.1 200 OK');
    expect(r.text).toMatch(/\n\[\d+ bytes from the server missing\]\n/);
    expect(r.text).toMatch(/==== decrypted TLS application data: 199 bytes from the client, 0 from the server\n$/);
  });

  it("decrypts with secrets the capture holds after the handshake, or after the connection's last packet", async () => {
    // After the ServerHello (frame 5): the handshake looked its secrets up and missed them.
    // After frame 22 (the last): the connection had ended before its secrets were written.
    for (const [name, after] of [['secrets-mid.pcapng', 5], ['secrets-end.pcapng', 22]] as const) {
      const { db: lateDb, key } = analyzedKubeletFlow(await secretsAfterFrame(name, after), `${name}.db`);
      for (const layer of [[], ['--layer', 'tls']]) {
        const r = cli(['follow', key, '--db', lateDb, ...layer]);
        expect(r.code, `${name} ${layer.join(' ')}`).toBe(0);
        expect(r.text).toContain('GET /containerLogs/default/db-0/web?follow=true HTTP/1.1');
        expect(r.text).toContain('HTTP/1.1 200 OK');
        expect(r.text).toMatch(/==== decrypted TLS application data: 199 bytes from the client, \d+ from the server\n$/);
      }
    }
  });

  it('does not look for secrets further than a minute of capture time after the connection', async () => {
    // The sample, then a packet of another connection more than the window after its last one, then
    // the secrets.
    const { db: lateDb, key } = analyzedKubeletFlow(await secretsAfterFrame('secrets-late.pcapng', 22, LATE_SECRETS_SECONDS + 5), 'secrets-late.db');
    const r = cli(['follow', key, '--db', lateDb]);
    expect(r.code).toBe(0);
    expect(r.text).not.toContain('GET /containerLogs');
    expect(r.text).toContain('note: TLS without its secrets');
    // Given on the command line, the same secrets decrypt it.
    expect(cli(['follow', key, '--db', lateDb, '--keylog', join(KEYS, 'kubelet-logs-tls13.keys')]).text).toContain('GET /containerLogs');
  });

  it('refuses what it cannot do with a usage error', () => {
    const udp = (() => {
      const d = new Database(db, { readonly: true });
      try {
        return (d.prepare(`SELECT flow_key AS k FROM flows WHERE transport = 'udp' LIMIT 1`).get() as { k: string }).k;
      } finally {
        d.close();
      }
    })();
    const cases: [string[], RegExp][] = [
      [['follow', 'c99f99', '--db', db], /no flow c99f99 in the database/],
      [['follow', udp, '--db', db, '--format', 'raw'], /give --side client or --side server/],
      [['follow', udp, '--db', db, '--format', 'pdf'], /unknown format pdf/],
      [['follow', udp, '--db', db, '--side', 'both'], /--side is client or server/],
      [['follow', udp, '--db', db, '--layer', 'http'], /unknown layer http/],
    ];
    for (const [args, message] of cases) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.out.length).toBe(0);
    }
  });
});

describe('follow rendering', () => {
  it('asciiText keeps printable ASCII, newlines and tabs, and makes every other byte a dot', () => {
    expect(asciiText(Buffer.from('a\tb\r\nc\rd\u00e9\x07\n', 'latin1'))).toBe('a\tb\nc.d..\n');
  });

  it('hexLines writes 16 bytes a row with the offset, a gap after 8, and the printable text', () => {
    const b = Buffer.from('0123456789abcdefXY', 'latin1');
    expect(hexLines(b, 0x20)).toBe(
      '00000020  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66  0123456789abcdef\n' +
        '00000030  58 59                                             XY\n',
    );
  });
});
