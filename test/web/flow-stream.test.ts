import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/web/app';
import { KeyLog, loadKeyLogFiles } from '../../dissectors/tls/decrypt/key-log';

/**
 * The dashboard's Follow Stream: GET /api/flows/:id/stream answers with a TCP flow's conversation,
 * the same bytes `planewatch follow --json` prints, decrypted only when the dashboard was started to
 * decrypt.
 */
const ROOT = join(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'planewatch-web-stream-'));
const db = join(dir, 's.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function flowId(where: string): { id: number; key: string } {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(`SELECT f.id, f.flow_key AS key FROM flows f JOIN captures c ON c.id = f.capture_id WHERE ${where} ORDER BY f.id LIMIT 1`).get() as { id: number; key: string };
  } finally {
    d.close();
  }
}

interface Stream {
  layer: string; decrypted: boolean; decryption: boolean; note: string | null; truncated: boolean;
  clientBytes: number; serverBytes: number; chunks: { kind: string; side: string; frame: number | null; bytes: number; data: string }[];
}
const text = (s: Stream, side: string) => Buffer.concat(s.chunks.filter((c) => c.side === side && c.kind === 'data').map((c) => Buffer.from(c.data, 'base64'))).toString('latin1');

beforeAll(() => {
  for (const f of ['kubelet-logs-tls13.dsb.pcapng', 'kubelet-readonly-port.pcap', 'other-traffic.pcap', 'node-to-apiserver.pcap']) copyFileSync(join(ROOT, 'captures/samples', f), join(dir, f));
  expect(cli(['analyze', 'kubelet-logs-tls13.dsb.pcapng', 'kubelet-readonly-port.pcap', 'other-traffic.pcap', 'node-to-apiserver.pcap', '--db', db, '--quiet']).code).toBe(0);
}, 60_000);

describe('GET /api/flows/:id/stream', () => {
  it('decrypts only when the dashboard was started to, with the key logs of the captures', async () => {
    const tls = flowId(`c.file LIKE '%tls13.dsb.pcapng' AND f.server_port = 10250`);
    const plain = await buildApp({ dbFile: db });
    const decrypting = await buildApp({ dbFile: db, decryption: new KeyLog() });
    try {
      const off = (await plain.inject({ method: 'GET', url: `/api/flows/${tls.id}/stream` })).json() as Stream;
      expect(off).toMatchObject({ layer: 'tcp', decrypted: false, decryption: false, truncated: false });
      expect(off.note).toMatch(/does not decrypt \(start it with --decrypt, or --keylog FILE\)/);
      expect(text(off, 'client')).not.toContain('GET /containerLogs');
      // TLS records: 0x16 0x03 … (a ClientHello) from the client first.
      expect(Buffer.from(off.chunks[0]!.data, 'base64').subarray(0, 2).toString('hex')).toBe('1603');

      const on = (await decrypting.inject({ method: 'GET', url: `/api/flows/${tls.id}/stream` })).json() as Stream;
      expect(on).toMatchObject({ layer: 'tls', decrypted: true, decryption: true, note: null });
      expect(text(on, 'client')).toMatch(/^GET \/containerLogs\/default\/db-0\/web\?follow=true HTTP\/1\.1\r\n/);
      expect(text(on, 'server')).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      // The same bytes as the command line's follow.
      const viaCli = JSON.parse(cli(['follow', tls.key, '--db', db, '--json']).stdout) as { chunks: { side: string; data: string }[] };
      for (const side of ['client', 'server']) {
        expect(text(on, side)).toBe(Buffer.concat(viaCli.chunks.filter((c) => c.side === side).map((c) => Buffer.from(c.data, 'base64'))).toString('latin1'));
      }
      // ?layer=tcp shows the records even on a decrypting dashboard.
      const records = (await decrypting.inject({ method: 'GET', url: `/api/flows/${tls.id}/stream?layer=tcp` })).json() as Stream;
      expect(records.layer).toBe('tcp');
      expect(records.clientBytes).toBe(off.clientBytes);
    } finally {
      await plain.close();
      await decrypting.close();
    }
  });

  it('?view=http2 gives the HTTP/2 frames with their header blocks decoded, as follow --format http2 prints them', async () => {
    const h2 = flowId(`c.file = 'node-to-apiserver.pcap' AND f.server_port = 6443`);
    const app = await buildApp({ dbFile: db, decryption: loadKeyLogFiles([join(ROOT, 'captures/keylogs/node-to-apiserver.keys')]) });
    try {
      const r = (await app.inject({ method: 'GET', url: `/api/flows/${h2.id}/stream?view=http2` })).json() as Stream & {
        http2: { isHttp2: boolean; frames: { side: string; frame: number; type: string; stream: number; flags: string[]; headers: [string, string][] | null; data: string | null; dataBytes: number; info: string }[] };
      };
      expect(r).toMatchObject({ layer: 'tls', decrypted: true, chunks: [] });
      expect(r.http2.isHttp2).toBe(true);
      const f = r.http2.frames;
      expect(f[0]).toMatchObject({ side: 'server', type: 'SETTINGS', stream: 0 });
      expect(f.find((x) => x.type === 'preface')).toMatchObject({ side: 'client', info: 'connection preface' });
      const get = f.find((x) => x.type === 'HEADERS' && x.side === 'client' && x.stream === 1)!;
      expect(get.flags).toEqual(['END_STREAM']);
      expect(get.headers!.slice(0, 2)).toEqual([[':method', 'GET'], [':path', expect.stringMatching(/^\/api\/v1\/nodes\/worker-\d\?timeout=10s$/)]]);
      const body = f.find((x) => x.type === 'DATA' && x.side === 'server' && x.stream === 1)!;
      expect(Buffer.from(body.data!, 'base64').toString()).toMatch(/^\{"kind":"Node"/);
      expect(body.dataBytes).toBe(Buffer.from(body.data!, 'base64').length);
      // The same frames, line for line, as the command line prints them.
      const text = cli(['follow', h2.key, '--db', db, '--keylog', join(ROOT, 'captures/keylogs/node-to-apiserver.keys'), '--format', 'http2']).stdout;
      expect(text.split('\n').filter((l) => l.startsWith('──── ')).length).toBe(f.length);
      // Not HTTP/2: said, no frames.
      const http1 = flowId(`c.file = 'kubelet-readonly-port.pcap'`);
      const no = (await app.inject({ method: 'GET', url: `/api/flows/${http1.id}/stream?view=http2` })).json() as { http2: { isHttp2: boolean; frames: unknown[] } };
      expect(no.http2).toEqual({ isHttp2: false, frames: [] });
      expect((await app.inject({ method: 'GET', url: `/api/flows/${h2.id}/stream?view=frames` })).statusCode).toBe(400);
    } finally {
      await app.close();
    }
  });

  it('?view=http gives the HTTP/1 messages with their bodies de-chunked, as follow --format http prints them', async () => {
    const tls = flowId(`c.file LIKE '%tls13.dsb.pcapng' AND f.server_port = 10250`);
    const h2 = flowId(`c.file = 'node-to-apiserver.pcap' AND f.server_port = 6443`);
    const app = await buildApp({ dbFile: db, decryption: new KeyLog() });
    try {
      const r = (await app.inject({ method: 'GET', url: `/api/flows/${tls.id}/stream?view=http` })).json() as Stream & {
        http1: { isHttp1: boolean; messages: { side: string; head: string[]; body: string | null; bodyBytes: number; info: string; notice: boolean }[] };
      };
      expect(r).toMatchObject({ layer: 'tls', chunks: [], http2: null });
      expect(r.http1.isHttp1).toBe(true);
      expect(r.http1.messages.map((m) => [m.side, m.head[0], m.notice])).toEqual([
        ['client', 'GET /containerLogs/default/db-0/web?follow=true HTTP/1.1', false],
        ['server', 'HTTP/1.1 200 OK', false],
      ]);
      const response = r.http1.messages[1]!;
      expect(response.info).toBe('77 bytes, chunked');
      expect(Buffer.from(response.body!, 'base64').toString()).toBe('2026-03-02T09:59:58.123Z GET /healthz 200\n2026-03-02T09:59:59.456Z GET / 200\n');
      expect(response.bodyBytes).toBe(77);
      // HTTP/2 is not HTTP/1: said, no messages.
      const no = (await app.inject({ method: 'GET', url: `/api/flows/${h2.id}/stream?view=http` })).json() as { http1: unknown };
      expect(no.http1).toEqual({ isHttp1: false, messages: [] });
    } finally {
      await app.close();
    }
  });

  it('merges consecutive bytes of one side, cuts at maxBytes, and refuses what it cannot follow', async () => {
    const http = flowId(`c.file LIKE '%readonly-port.pcap' AND f.server_port = 10255`);
    const app = await buildApp({ dbFile: db, decryption: loadKeyLogFiles([]) });
    try {
      const all = (await app.inject({ method: 'GET', url: `/api/flows/${http.id}/stream` })).json() as Stream;
      expect(all.layer).toBe('tcp');
      for (let i = 1; i < all.chunks.length; i++) expect(all.chunks[i]!.side).not.toBe(all.chunks[i - 1]!.side);
      expect(text(all, 'client')).toMatch(/^GET \/pods HTTP\/1\.1\r\n[^]*GET \/stats\/summary/);
      expect(text(all, 'client').length).toBe(all.clientBytes);
      const cut = (await app.inject({ method: 'GET', url: `/api/flows/${http.id}/stream?maxBytes=100` })).json() as Stream;
      expect(cut.truncated).toBe(true);
      expect(cut.chunks.reduce((n, c) => n + Buffer.from(c.data, 'base64').length, 0)).toBe(100);
      expect(text(cut, 'client')).toBe(text(all, 'client').slice(0, 100));
      expect((await app.inject({ method: 'GET', url: `/api/flows/${http.id}/stream?maxBytes=0` })).statusCode).toBe(400);
      expect((await app.inject({ method: 'GET', url: `/api/flows/${http.id}/stream?layer=http` })).statusCode).toBe(400);
      expect((await app.inject({ method: 'GET', url: '/api/flows/999999/stream' })).statusCode).toBe(404);
      // A UDP flow: each datagram a chunk of its own, even several in a row from one side.
      const udp = flowId(`f.transport = 'udp' AND f.app = 'dns'`);
      const dns = (await app.inject({ method: 'GET', url: `/api/flows/${udp.id}/stream` })).json() as Stream;
      expect(dns.layer).toBe('udp');
      expect(dns.chunks.length).toBeGreaterThan(1);
      const d = new Database(db, { readonly: true });
      const datagrams = d.prepare('SELECT packets_client + packets_server AS n FROM flows WHERE id = ?').pluck().get(udp.id) as number;
      d.close();
      expect(dns.chunks).toHaveLength(datagrams);
      rmSync(join(dir, 'kubelet-readonly-port.pcap'));
      const gone = await app.inject({ method: 'GET', url: `/api/flows/${http.id}/stream` });
      expect(gone.statusCode).toBe(404);
      expect(gone.json().message).toMatch(/kubelet-readonly-port\.pcap is not there .*: its conversation cannot be read again/);
    } finally {
      await app.close();
    }
  });
});
