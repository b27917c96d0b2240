/**
 * In a real headless Chromium: a flow's page leads to the flows with its Community ID — the same
 * connection recorded in another capture — and back.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { conversationFrames, pcapOf, readOnlyPortRequest } from '../live/packets';
import { dashboardOnDatabase, hasChromium } from './headless-chromium';

const ROOT = join(__dirname, '../..');

describe.skipIf(!hasChromium)('a flow page and the flows with its Community ID', () => {
  let flows: { id: number; key: string; file: string }[] = [];
  const suite = dashboardOnDatabase('planewatch-web-cid-', (dir) => {
    // The same connection recorded at two places (two files, an hour apart in this stand-in).
    const frames = conversationFrames(readOnlyPortRequest('10.0.0.10', '10.0.0.21', 40000));
    writeFileSync(join(dir, 'node.pcap'), pcapOf(frames, 1_700_000_000));
    writeFileSync(join(dir, 'apiserver-host.pcap'), pcapOf(frames, 1_700_003_600));
    const db = join(dir, 'c.db');
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), 'analyze', 'node.pcap', 'apiserver-host.pcap', '--db', db, '--quiet'], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const d = new Database(db, { readonly: true });
    flows = d.prepare('SELECT f.id, f.flow_key AS key, c.file FROM flows f JOIN captures c ON c.id = f.capture_id ORDER BY f.id').all() as typeof flows;
    d.close();
    return { dbFile: db };
  });

  it('links each view of the connection to the other', async () => {
    const { page, srv, problems } = suite;
    expect(flows).toHaveLength(2);
    const [first, second] = flows as [(typeof flows)[0], (typeof flows)[0]];
    await page.goto(`${srv.url}#/flow/${first.id}`);
    await page.waitForSelector('body[data-ready="flow"]');
    const link = page.locator('a.same-community-id');
    await expect(link.count()).resolves.toBe(1);
    await expect(link.textContent()).resolves.toMatch(new RegExp(`^${second.key} · ${second.file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} · `));
    await page.evaluate(() => delete document.body.dataset.ready);
    await link.click();
    await page.waitForSelector('body[data-ready="flow"]');
    expect(new URL(page.url()).hash).toBe(`#/flow/${second.id}`);
    await expect(page.locator('a.same-community-id').textContent()).resolves.toMatch(new RegExp(`^${first.key} · `));
    expect(problems).toEqual([]);
  });
});
