/**
 * In a real headless Chromium: the overview links the whole database's Zeek logs, and a click
 * downloads the log `planewatch export` writes.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dashboardOnDatabase, hasChromium } from './headless-chromium';

const ROOT = join(__dirname, '../..');
const SAMPLES = join(ROOT, 'captures/samples');

/** A log without its #open/#close lines, which carry the time it was written. */
const stable = (log: string) => log.split('\n').filter((l) => !/^#(open|close)\t/.test(l)).join('\n');

describe.skipIf(!hasChromium)("the dashboard's Zeek logs", () => {
  const cli = (dir: string, args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/planewatch.js'), ...args], { cwd: dir, encoding: 'utf8' });
  const suite = dashboardOnDatabase('planewatch-web-zeek-', (dir) => {
    const r = cli(dir, ['analyze', join(SAMPLES, 'kubelet-readonly-port.pcap'), join(SAMPLES, 'ssh-tunnel.pcap'), '--db', 'z.db', '--quiet']);
    expect([0, 1], r.stderr).toContain(r.status);
    return { dbFile: join(dir, 'z.db') };
  });

  it('links the seven logs on the overview; a click downloads what planewatch export writes', async () => {
    const { dir, page, srv, problems } = suite;
    await page.goto(`${srv.url}#/`);
    await page.waitForSelector('body[data-ready="overview"]');
    const links = page.locator('.zeek-logs a');
    expect(await links.evaluateAll((as) => as.map((a) => a.getAttribute('data-zeek-log')))).toEqual(['conn', 'tunnel', 'dns', 'http', 'ssl', 'x509', 'ssh', 'notice']);
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-zeek-log="http"]').click()]);
    expect(download.suggestedFilename()).toBe('http.log');
    const file = join(dir, 'downloaded-http.log');
    await download.saveAs(file);
    expect(cli(dir, ['export', join(dir, 'export'), '--db', 'z.db']).status).toBe(0);
    const exported = readFileSync(join(dir, 'export/http.log'), 'utf8');
    expect(exported.split('\n').filter((l) => !l.startsWith('#') && l !== '')).toHaveLength(2);
    expect(stable(readFileSync(file, 'utf8'))).toBe(stable(exported));
    expect(problems).toEqual([]);
  });

  it('serves the JSON form, and refuses a log it does not write', async () => {
    const { srv } = suite;
    const json = await fetch(`${srv.url}api/zeek/ssh?format=zeek-json`);
    expect(json.headers.get('content-type')).toBe('application/x-ndjson');
    expect(json.headers.get('content-disposition')).toBe('attachment; filename="ssh.json.log"');
    const ssh = JSON.parse((await json.text()).trim()) as Record<string, unknown>;
    expect(ssh).toMatchObject({ 'id.resp_p': 22, version: 2, client: expect.stringMatching(/^SSH-2\.0-/) });
    expect((await fetch(`${srv.url}api/zeek/smtp`)).status).toBe(400);
  });
});
