/**
 * The flow page's Conversation card in a real headless Chromium: a decrypting dashboard shows a TLS
 * connection's requests and responses, side by side in Wireshark's colours; bytes from the wire that
 * look like markup stay text.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { loadKeyLogFiles } from '../../dissectors/tls/decrypt/key-log';
import { buildPcap, tcpConversation } from '../pipeline/pcap-builder';
import { dashboardOnDatabase, hasChromium } from './headless-chromium';

const ROOT = join(__dirname, '../..');
const HOSTILE_REQUEST = 'GET /<img src=x onerror=alert(1)> HTTP/1.1\r\nHost: x\r\n\r\n';

describe.skipIf(!hasChromium)('conversation card in Chromium', () => {
  const suite = dashboardOnDatabase('planewatch-web-conv-', (dir) => {
    copyFileSync(join(ROOT, 'captures/samples/kubelet-logs-tls13.dsb.pcapng'), join(dir, 'k.pcapng'));
    copyFileSync(join(ROOT, 'captures/samples/node-to-apiserver.pcap'), join(dir, 'n.pcap'));
    writeFileSync(join(dir, 'h.pcap'), buildPcap(tcpConversation('10.9.0.1', 41000, '10.9.0.2', 8080, HOSTILE_REQUEST, 'HTTP/1.1 204 No Content\r\n\r\n')));
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), 'analyze', 'k.pcapng', 'h.pcap', 'n.pcap', '--db', 'c.db', '--quiet'], { cwd: dir, encoding: 'utf8' });
    expect(r.status).toBe(0);
    return { dbFile: join(dir, 'c.db'), decryption: loadKeyLogFiles([join(ROOT, 'captures/keylogs/node-to-apiserver.keys')]) };
  });

  const idOf = (where: string) => {
    const d = new Database(join(suite.dir, 'c.db'), { readonly: true });
    try {
      return (d.prepare(`SELECT f.id FROM flows f JOIN captures c ON c.id = f.capture_id WHERE ${where} LIMIT 1`).get() as { id: number }).id;
    } finally {
      d.close();
    }
  };

  async function showConversation(id: number) {
    await suite.page.goto(`${suite.srv.url}#/flow/${id}`);
    await suite.page.waitForSelector('body[data-ready="flow"]');
    await suite.page.locator('button.follow-button').click();
    await suite.page.waitForSelector('.conversation .conversation-summary');
  }

  it('shows a TLS connection decrypted, client turns red and server turns blue', async () => {
    await showConversation(idOf(`c.file = 'k.pcapng' AND f.server_port = 10250`));
    await expect(suite.page.locator('.conversation-summary').textContent()).resolves.toMatch(/^decrypted TLS application data \(TLS 1\.3\): .* from the client, .* from the server$/);
    const turns = suite.page.locator('.conversation .turn[data-side]');
    await expect(turns.evaluateAll((els) => els.map((e) => e.getAttribute('data-side')))).resolves.toEqual(['client', 'server']);
    await expect(turns.nth(0).locator('.turn-text').textContent()).resolves.toMatch(/^GET \/containerLogs\/default\/db-0\/web\?follow=true HTTP\/1\.1\nHost: 10\.0\.0\.23:10250\n/);
    await expect(turns.nth(0).locator('.turn-head').textContent()).resolves.toMatch(/^client → server · frame \d+ · /);
    await expect(turns.nth(1).locator('.turn-text').textContent()).resolves.toMatch(/^HTTP\/1\.1 200 OK\n/);
    await expect(turns.nth(0).locator('.turn-text').evaluate((e) => getComputedStyle(e).color)).resolves.toBe('rgb(145, 32, 24)');
    await expect(turns.nth(1).locator('.turn-text').evaluate((e) => getComputedStyle(e).color)).resolves.toBe('rgb(24, 73, 169)');
    await suite.page.screenshot({ path: 'test-artifacts/web-conversation.png', fullPage: true });
  });

  it("shows an HTTP/1 connection's messages with the response body de-chunked", async () => {
    await suite.page.goto(`${suite.srv.url}#/flow/${idOf(`c.file = 'k.pcapng' AND f.server_port = 10250`)}`);
    await suite.page.waitForSelector('body[data-ready="flow"]');
    await suite.page.locator('button.follow-http-button').click();
    await suite.page.waitForSelector('.conversation [data-message="message"]');
    const messages = suite.page.locator('.conversation [data-message="message"]');
    await expect(messages.locator('.turn-head').allTextContents()).resolves.toEqual([
      expect.stringMatching(/^client → server · frame \d+ · .* · GET \/containerLogs\/default\/db-0\/web\?follow=true HTTP\/1\.1$/),
      expect.stringMatching(/^server → client · frame \d+ · .* · HTTP\/1\.1 200 OK$/),
    ]);
    await expect(messages.nth(1).locator('.h1-headers').textContent()).resolves.toMatch(/\nTransfer-Encoding: chunked\n\[body: 77 bytes, chunked\]$/);
    await expect(messages.nth(1).locator('.h1-body').textContent()).resolves.toBe('2026-03-02T09:59:58.123Z GET /healthz 200\n2026-03-02T09:59:59.456Z GET / 200\n');
  });

  it("shows an HTTP/2 connection's frames with their header blocks decoded", async () => {
    await suite.page.goto(`${suite.srv.url}#/flow/${idOf(`c.file = 'n.pcap' AND f.server_port = 6443`)}`);
    await suite.page.waitForSelector('body[data-ready="flow"]');
    await suite.page.locator('button.follow-http2-button').click();
    await suite.page.waitForSelector('.conversation [data-frame-type="HEADERS"]');
    const get = suite.page.locator('.conversation .turn-client[data-frame-type="HEADERS"]').first();
    await expect(get.locator('.turn-head').textContent()).resolves.toMatch(/^client → server · frame \d+ · .* · HEADERS stream 1 \(END_STREAM\)$/);
    await expect(get.locator('.h2-headers').textContent()).resolves.toMatch(/^:method: GET\n:path: \/api\/v1\/nodes\/worker-\d\?timeout=10s\n/);
    await expect(suite.page.locator('.conversation .turn-server[data-frame-type="DATA"] .turn-text').first().textContent()).resolves.toMatch(/^\{"kind":"Node"/);
    // The other view is a click away; the one shown is disabled.
    await expect(suite.page.locator('button.follow-http2-button').isDisabled()).resolves.toBe(true);
    await suite.page.locator('button.follow-button').click();
    await suite.page.waitForSelector('.conversation .turn[data-side]:not([data-frame-type])');
    await suite.page.screenshot({ path: 'test-artifacts/web-conversation-http2.png', fullPage: true });
  });

  it('keeps bytes that look like markup as text', async () => {
    await showConversation(idOf(`c.file = 'h.pcap'`));
    await expect(suite.page.locator('.conversation .turn-client .turn-text').textContent()).resolves.toBe('GET /<img src=x onerror=alert(1)> HTTP/1.1\nHost: x\n\n');
    await expect(suite.page.locator('.conversation img').count()).resolves.toBe(0);
    expect(suite.problems).toEqual([]);
  });
});
