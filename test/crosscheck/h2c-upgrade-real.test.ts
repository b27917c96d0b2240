/**
 * HTTP/1.1 upgraded to cleartext HTTP/2 (`Upgrade: h2c`, RFC 7540 §3.2) as a real client does it:
 * curl --http2 against a small server on loopback that answers the upgrade with 101 and serves the
 * request as stream 1, recorded by tcpdump; a second request the server answers in HTTP/1.1 (the
 * upgrade refused). The analysis reads the request and its answer, `follow --format http2` shows the
 * upgrade then the frames, and tshark agrees that stream 1 carried the answer.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, hasTool, run, startCapture } from './loopback-capture';
import { h2Frame } from '../export/http2-frame-bytes';

const CLI = join(import.meta.dirname, '../../bin/planewatch.js');
const dir = mkdtempSync(join(tmpdir(), 'pw-h2c-real-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOST = `127.0.78.${10 + (process.pid % 200)}`;
const PCAP = join(dir, 'h2c.pcap');
const DB = join(dir, 'h2c.db');
const BODY = '{"kind":"PodList","apiVersion":"v1","items":[]}';
const UPGRADED_PATH = '/api/v1/namespaces/default/pods';
const REFUSED_PATH = '/healthz';

const frame = h2Frame;

/**
 * Answers `Upgrade: h2c` with 101, the server's SETTINGS, and the response on stream 1 (HPACK:
 * `:status 200` from the static table, content-type as a literal); acknowledges the client's
 * SETTINGS. A request to REFUSED_PATH is answered in HTTP/1.1 instead.
 */
function h2cServer(): net.Server {
  return net.createServer((sock) => {
    let head = Buffer.alloc(0);
    let upgraded = false;
    let settingsAcked = false;
    sock.on('data', (b: Buffer) => {
      if (upgraded) {
        // The client's preface, then its SETTINGS (type 4, no ACK): acknowledge it once.
        if (!settingsAcked && b.includes(Buffer.from([0x04, 0x00, 0x00, 0x00, 0x00, 0x00]))) {
          settingsAcked = true;
          sock.write(frame(4, 0x01, 0, Buffer.alloc(0)));
        }
        return;
      }
      head = Buffer.concat([head, b]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const text = head.toString('latin1', 0, end);
      if (!/^upgrade: h2c$/im.test(text) || text.startsWith(`GET ${REFUSED_PATH} `)) {
        sock.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok`);
        return;
      }
      upgraded = true;
      const contentType = Buffer.concat([Buffer.from([0x0f, 0x10, 16]), Buffer.from('application/json')]);
      sock.write(Buffer.concat([
        Buffer.from('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n', 'latin1'),
        frame(4, 0, 0, Buffer.alloc(0)),
        frame(1, 0x04, 1, Buffer.concat([Buffer.from([0x88]), contentType])),
        frame(0, 0x01, 1, Buffer.from(BODY)),
      ]));
    });
    sock.on('error', () => {});
  });
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, text: r.stdout, err: r.stderr };
}

describe.skipIf(!hasTool('tcpdump') || !hasTool('curl'))('an HTTP/1.1 connection upgraded to h2c, from curl, recorded on loopback', () => {
  let port = 0;
  const fetched: string[] = [];

  beforeAll(async () => {
    const server = h2cServer();
    port = await freePort(HOST);
    await new Promise<void>((r) => server.listen(port, HOST, r));
    const capture = await startCapture(PCAP, ['host', HOST]);
    try {
      for (const path of [UPGRADED_PATH, REFUSED_PATH]) {
        // Not spawnSync: the server answers on this process's event loop.
        const r = await run('curl', ['-sS', '--http2', '-m', '10', '-A', 'kubectl/v1.31.0 (linux/amd64) kubernetes/abc1234', `http://${HOST}:${port}${path}`], '', 15_000);
        expect(r.code, r.stderr).toBe(0);
        fetched.push(r.stdout);
      }
    } finally {
      await capture.stop();
      server.close();
    }
    const r = cli(['analyze', PCAP, '--db', DB, '--quiet']);
    expect(r.code, r.err).toBe(0);
  }, 40_000);

  const flowTo = (path: string): string => {
    const db = new Database(DB, { readonly: true });
    try {
      return db.prepare(`SELECT f.flow_key FROM flows f JOIN http_requests h ON h.flow_id = f.id WHERE h.path = ?`).pluck().get(path) as string;
    } finally {
      db.close();
    }
  };

  it('curl got each answer: the server speaks h2c as a real client expects', () => {
    expect(fetched).toEqual([BODY, 'ok']);
  });

  it('reads the upgrade (answered 101) and then the same request as HTTP/2 stream 1 with its answer', () => {
    const db = new Database(DB, { readonly: true });
    try {
      const rows = db.prepare(`SELECT h.path, h.method, h.status, h.version, h.upgrade, h.user_agent AS ua FROM http_requests h ORDER BY h.flow_id, h.seq`).all() as
        { path: string; method: string; status: number; version: string; upgrade: string | null; ua: string }[];
      expect(rows.map((r) => [r.path, r.method, r.version, r.status])).toEqual([
        [UPGRADED_PATH, 'GET', '1.1', 101], [UPGRADED_PATH, 'GET', '2', 200], [REFUSED_PATH, 'GET', '1.1', 200],
      ]);
      expect(rows[0]!.upgrade).toBe('h2c');
      expect(rows[0]!.ua).toMatch(/^kubectl\//);
    } finally {
      db.close();
    }
  });

  it('follow --format http2 shows the upgrade request as stream 1, the 101, then the frames', () => {
    const r = cli(['follow', flowTo(UPGRADED_PATH), '--db', DB, '--format', 'http2']);
    expect(r.code, r.err).toBe(0);
    const heads = r.text.split('\n').filter((l) => l.startsWith('──── ')).map((l) => l.replace(/ {2}frame \d+ {2}\S+ {2}/, ' | '));
    expect(heads.slice(0, 2)).toEqual([
      `──── client → server | HTTP/1.1 upgrade request, stream 1: GET ${UPGRADED_PATH} HTTP/1.1`,
      '──── server → client | HTTP/1.1 upgrade answer: HTTP/1.1 101 Switching Protocols',
    ]);
    expect(r.text).toMatch(/\nUpgrade: h2c\n/);
    expect(r.text).toMatch(/\nHTTP2-Settings: \S+\n/);
    expect(heads).toContain('──── client → server | connection preface');
    expect(r.text).toMatch(/──── server → client .*HEADERS stream 1\n:status: 200\ncontent-type: application\/json\n/);
    expect(r.text).toContain(`DATA stream 1, ${BODY.length} bytes (END_STREAM)\n${BODY}\n`);
    expect(r.text).toMatch(/\n==== HTTP\/2 in the TCP payload: [4-9] frames;/);
  });

  it('follow --format http2 on the refused upgrade falls back to text from the first byte', () => {
    const r = cli(['follow', flowTo(REFUSED_PATH), '--db', DB, '--format', 'http2']);
    expect(r.code, r.err).toBe(0);
    expect(r.text).toContain('not HTTP/2 (neither the connection preface nor an upgrade to h2c from the client): shown as text\n');
    expect(r.text).toContain(`GET ${REFUSED_PATH} HTTP/1.1\n`);
    expect(r.text).toContain('HTTP/1.1 200 OK\n');
  });

  it.skipIf(!hasTool('tshark'))("tshark reads the same connection as HTTP/2 after the upgrade, the answer on stream 1", () => {
    const t = spawnSync('tshark', ['-r', PCAP, '-d', `tcp.port==${port},http`, '-Y', 'http2.type == 1', '-T', 'fields', '-e', 'http2.type', '-e', 'http2.streamid', '-e', 'http2.header.value'],
      { encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    const lines = t.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    // One packet with several frames: the HEADERS frame (type 1) is on stream 1.
    const [types, streams, values] = lines[0]!.split('\t').map((f) => f.split(','));
    expect(streams![types!.indexOf('1')]).toBe('1');
    expect(values).toContain('200');
  });
});
