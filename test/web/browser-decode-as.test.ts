/**
 * In a real headless Chromium: the page of a flow read from tunnelled mirror traffic says the tunnel in
 * words and the --decode-as rule its capture was decoded with.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ethernet, ipv4, PROTO, udp, vxlan } from '../decode/builders';
import { rewrapCapture } from '../rewrap-capture';
import { dashboardOnDatabase, hasChromium } from './headless-chromium';

const ROOT = join(__dirname, '../..');

describe.skipIf(!hasChromium)('a flow page of tunnelled traffic', () => {
  let flowId = 0;
  const suite = dashboardOnDatabase('planewatch-web-decode-as-', (dir) => {
    // A sample as a mirror delivers it: VXLAN (VNI 9) to a collector's port 48879.
    rewrapCapture(join(ROOT, 'captures/samples/apiserver-proxy-http.pcap'), join(dir, 'mirror.pcap'), (f) =>
      ethernet(0x0800, ipv4({ protocol: PROTO.UDP, src: '198.51.100.1', dst: '198.51.100.2' }, udp(40000, 48879, vxlan(9, f)))));
    const db = join(dir, 't.db');
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), 'analyze', 'mirror.pcap', '-d', 'udp.port==48879,vxlan', '--db', db, '--quiet'],
      { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const d = new Database(db, { readonly: true });
    flowId = d.prepare('SELECT id FROM flows WHERE server_port = 8080').pluck().get() as number;
    d.close();
    return { dbFile: db };
  });

  it('shows the tunnel and the rule, not stored JSON', async () => {
    const { page, srv, problems } = suite;
    await page.goto(`${srv.url}#/flow/${flowId}`);
    await page.waitForSelector('body[data-ready="flow"]');
    const text = (await page.locator('.detail-grid').first().textContent()) ?? '';
    expect(text).toContain('tunnel VXLAN 198.51.100.1:40000 → 198.51.100.2:48879, VNI 9');
    expect(text).toContain('mirror.pcap · decoded with -d udp.port==48879,vxlan');
    expect(text).not.toContain('"type"');
    expect(problems).toEqual([]);
  });
});
