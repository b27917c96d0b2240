import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/web/app';
import { readCapture } from '../../src/ingest/read-capture';
import { KeyLog } from '../../dissectors/tls/decrypt/key-log';

/**
 * The dashboard's packet download: GET /api/flows/:id/packets answers with the flow's packets as a
 * pcapng read again from its capture — the same frames `planewatch extract` writes — and with 404 and
 * the reason when the capture cannot be read any more.
 */
const ROOT = join(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'planewatch-web-packets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { cwd: dir, encoding: 'buffer' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

describe('GET /api/flows/:id/packets', () => {
  it("sends the flow's packets as pcapng, as extract writes them; 404 with the reason once the capture is gone", async () => {
    copyFileSync(join(ROOT, 'captures/samples/kubelet-logs-exec-self-signed.vxlan.pcap'), join(dir, 'c.pcap'));
    const db = join(dir, 'p.db');
    expect(cli(['analyze', 'c.pcap', '--db', db, '--quiet']).code).toBe(0);
    const d = new Database(db, { readonly: true });
    const flows = d.prepare(`SELECT id, flow_key AS key, packets_client + packets_server AS packets FROM flows ORDER BY id`).all() as { id: number; key: string; packets: number }[];
    d.close();
    const app = await buildApp({ dbFile: db });
    try {
      for (const f of flows) {
        expect((await app.inject({ method: 'GET', url: `/api/flows/${f.id}` })).json().flow.packets).toEqual({ available: true, problem: null });
        const r = await app.inject({ method: 'GET', url: `/api/flows/${f.id}/packets` });
        expect(r.statusCode).toBe(200);
        expect(r.headers['content-type']).toBe('application/x-pcapng');
        expect(r.headers['content-disposition']).toBe(`attachment; filename="planewatch-${f.key}.pcapng"`);
        const file = join(dir, `${f.key}.pcapng`);
        writeFileSync(file, r.rawPayload);
        let frames = 0;
        const info = await readCapture(file, () => frames++);
        expect(info.error).toBeNull();
        expect(frames).toBe(f.packets);
        // Byte for byte what the CLI writes for the flow.
        const viaCli = cli(["extract", f.key, "--db", db]);
        expect(viaCli.stderr).toBe("");
        expect(viaCli.stdout.length).toBe(r.rawPayload.length);
        expect(viaCli.stdout.equals(r.rawPayload)).toBe(true);
      }
      expect((await app.inject({ method: 'GET', url: '/api/flows/999999/packets' })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: '/api/flows/x/packets' })).statusCode).toBe(400);
      rmSync(join(dir, 'c.pcap'));
      const gone = await app.inject({ method: 'GET', url: `/api/flows/${flows[0]!.id}/packets` });
      expect(gone.statusCode).toBe(404);
      expect(gone.json().message).toMatch(/the capture c\.pcap is not there .*: its packets cannot be read again/);
      const detail = (await app.inject({ method: 'GET', url: `/api/flows/${flows[0]!.id}` })).json().flow.packets;
      expect(detail.available).toBe(false);
      expect(detail.problem).toMatch(/the capture c\.pcap is not there/);
      const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
      expect(Object.keys(doc.paths['/api/flows/{id}/packets'].get.responses['200'].content)).toEqual(['application/x-pcapng']);
      expect(Object.keys(doc.paths['/api/events'].get.responses['200'].content)).toEqual(['text/event-stream', 'application/json']);
    } finally {
      await app.close();
    }
  });

  it("carries the connection's TLS secrets from its capture on a dashboard that decrypts (serve --decrypt), and only there", async () => {
    copyFileSync(join(ROOT, 'captures/samples/kubelet-logs-tls13.dsb.pcapng'), join(dir, 'k.pcapng'));
    const db = join(dir, 'k.db');
    expect(cli(['analyze', 'k.pcapng', '--db', db, '--quiet']).code).toBe(0);
    const d = new Database(db, { readonly: true });
    const f = d.prepare(`SELECT id, flow_key AS key FROM flows WHERE server_port = 10250`).get() as { id: number; key: string };
    d.close();
    // Without --decrypt the download is the packets alone: the secrets would give what the dashboard does not show.
    const plain = await buildApp({ dbFile: db });
    try {
      const r = await plain.inject({ method: 'GET', url: `/api/flows/${f.id}/packets` });
      expect(r.statusCode).toBe(200);
      writeFileSync(join(dir, 'k-plain.pcapng'), r.rawPayload);
      expect((await readCapture(join(dir, 'k-plain.pcapng'), () => undefined)).keyLog).toBe('');
    } finally {
      await plain.close();
    }
    const app = await buildApp({ dbFile: db, decryption: new KeyLog() });
    try {
      const r = await app.inject({ method: 'GET', url: `/api/flows/${f.id}/packets` });
      expect(r.statusCode).toBe(200);
      const file = join(dir, 'k-download.pcapng');
      writeFileSync(file, r.rawPayload);
      const captured = await readCapture(join(dir, 'k.pcapng'), () => undefined);
      const downloaded = await readCapture(file, () => undefined);
      const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter((l) => l !== '').sort();
      expect(lines(captured.keyLog).length).toBeGreaterThan(0);
      expect(lines(downloaded.keyLog)).toEqual(lines(captured.keyLog));
      expect(cli(['extract', f.key, '--db', db]).stdout.equals(r.rawPayload)).toBe(true);
    } finally {
      await app.close();
    }
  });
});
