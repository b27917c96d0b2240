/**
 * End to end in a real headless Chromium: map → flows → flow → certificate, finding → flow,
 * table filtering, deep links, and hostile wire strings that must stay text.
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/web/server';
import { ACCEPTED, buildFixtureDb, HOSTILE, T0, type FixtureInfo } from './fixture-db';
import { hasChromium, launchChromium } from './headless-chromium';

const ARTIFACTS = 'test-artifacts';

describe.skipIf(!hasChromium)('dashboard in Chromium', () => {
  let fx: FixtureInfo;
  let srv: RunningServer;
  let browser: Browser;
  let page: Page;
  const dialogs: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    fx = buildFixtureDb({ extraFlows: 150, accepted: true });
    srv = await startServer({ dbFile: fx.file, port: 0 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await srv?.close();
  });

  async function open(hash: string, view: string) {
    await page.evaluate(() => delete document.body.dataset.ready).catch(() => undefined);
    await page.goto(`${srv.url}${hash}`);
    await page.waitForSelector(`body[data-ready="${view}"]`);
  }

  async function waitView(view: string) {
    await page.waitForSelector(`body[data-ready="${view}"]`);
  }

  it('overview map edge → its flows → flow detail with the certificate chain', async () => {
    await open('#/', 'overview');
    await expect(page.locator('svg.map .node').count()).resolves.toBeGreaterThan(8);
    await expect(page.locator('.legend-item', { hasText: 'people' }).locator('.dot-user').count()).resolves.toBe(1);
    await expect(page.locator('.dot-user').evaluate((e) => getComputedStyle(e).backgroundColor)).resolves.toBe('rgb(190, 24, 93)');
    await page.screenshot({ path: `${ARTIFACTS}/web-overview.png`, fullPage: true });
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.locator('.edge-handle[data-edge-id="apiserver-to-kubelet|ip:10.0.0.10|ip:10.0.0.21"]').click();
    await waitView('flows');
    expect(decodeURIComponent(new URL(page.url()).hash)).toBe('#/flows?path=apiserver-to-kubelet&client=10.0.0.10&server=10.0.0.21');
    const rows = page.locator('.flows-table tbody tr');
    await expect(rows.count()).resolves.toBe(1);
    await page.evaluate(() => delete document.body.dataset.ready);
    await rows.first().locator('a.flow-link').click();
    await waitView('flow');
    await expect(page.locator('[data-verdict]').getAttribute('data-verdict')).resolves.toBe('unverified');
    await expect(page.locator('.cert-subject').first().textContent()).resolves.toBe('CN=worker-1@1700000000');
    await expect(page.getByText('self-signed', { exact: true }).first().isVisible()).resolves.toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/web-flow-detail.png`, fullPage: true });
    // The fixture's capture file does not exist: no download link, the reason instead (and the API agrees).
    await expect(page.locator('a.packets-link').count()).resolves.toBe(0);
    await expect(page.locator('.packets-unavailable').textContent()).resolves.toMatch(/^packets not available: the capture .* is not there/);
    const flowId = /#\/flow\/(\d+)/.exec(page.url())![1];
    const answer = await fetch(new URL(`/api/flows/${flowId}/packets`, page.url()));
    expect(answer.status).toBe(404);
    expect(((await answer.json()) as { message: string }).message).toMatch(/is not there .*: its packets cannot be read again/);
    // The certificate page, one click on.
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.locator('.cert-subject').first().click();
    await waitView('certificate');
    await expect(page.locator('h1').textContent()).resolves.toBe('Certificate');
  });

  it("a DNS flow's page lists its questions, response codes and answers", async () => {
    await open(`#/flow/${fx.ids.get(fx.keys.dns!)}`, 'flow');
    const rows = page.locator('table.dns-table tbody tr');
    await expect(rows.count()).resolves.toBe(2);
    await expect(rows.nth(0).locator('td').nth(2).textContent()).resolves.toBe('kubernetes.default.svc.cluster.local');
    await expect(rows.nth(0).locator('td').nth(4).textContent()).resolves.toBe('NOERROR');
    await expect(rows.nth(0).locator('[data-answer="A"]').textContent()).resolves.toBe('A 10.96.0.1');
    await expect(rows.nth(1).locator('td').nth(4).textContent()).resolves.toBe('no response');
    await expect(page.locator('h2', { hasText: 'DNS (2)' }).count()).resolves.toBe(1);
  });

  it("a flow leads to the same connection on the other side of kube-proxy's DNAT", async () => {
    await open(`#/flow/${fx.ids.get(fx.keys.pod!)}`, 'flow');
    const peer = page.locator('a.nat-peer');
    await expect(peer.textContent()).resolves.toBe('10.244.1.5:51000 → 10.0.0.10:6443');
    await page.evaluate(() => delete document.body.dataset.ready);
    await peer.click();
    await waitView('flow');
    expect(new URL(page.url()).hash).toBe(`#/flow/${fx.ids.get(fx.keys.podAfterDnat!)}`);
    await expect(page.locator('a.nat-peer').textContent()).resolves.toBe('10.244.1.5:51000 → 10.96.0.1:443');
  });

  it('a finding leads to its flow', async () => {
    await open('#/', 'overview');
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.locator('.rules a[data-rule="kubelet-tls-unverified"]').click();
    await waitView('findings');
    const cards = page.locator('article.finding');
    await expect(cards.count()).resolves.toBe(1);
    await page.screenshot({ path: `${ARTIFACTS}/web-findings-filtered.png`, fullPage: true });
    await page.evaluate(() => delete document.body.dataset.ready);
    await cards.first().locator('a.flow-link').click();
    await waitView('flow');
    expect(new URL(page.url()).hash).toBe(`#/flow/${fx.ids.get(fx.keys.kubelet!)}`);
    await expect(page.locator('.cert-subject').first().textContent()).resolves.toBe('CN=worker-1@1700000000');
  });

  it('findings accepted as risks: their own tab with the reason and an accepted badge, and a card on their flow', async () => {
    // The overview counts them apart from the findings by severity, and leads to them.
    await open('#/', 'overview');
    const link = page.locator('.accepted-count a');
    await expect(link.textContent()).resolves.toBe('2 accepted as risks');
    await page.evaluate(() => delete document.body.dataset.ready);
    await link.click();
    await waitView('findings');
    expect(new URL(page.url()).hash).toBe('#/findings?accepted=1');
    // The open findings: their tab is on, no card is an accepted one.
    await open('#/findings', 'findings');
    const tabs = page.locator('nav.tabs a.tab');
    await expect(tabs.allTextContents()).resolves.toEqual(['Open (17)', 'Accepted (2)']);
    await expect(page.locator('a.tab.on').getAttribute('data-tab')).resolves.toBe('open');
    await expect(page.locator('article.finding').count()).resolves.toBe(17);
    await expect(page.locator('.accepted-badge').count()).resolves.toBe(0);
    await expect(page.locator(`article.finding[data-rule="${ACCEPTED.person.rule}"]`).count()).resolves.toBe(0);
    // The accepted tab lists them, most severe first, each with its badge, reason, end and entry.
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.locator('a.tab[data-tab="accepted"]').click();
    await waitView('findings');
    expect(new URL(page.url()).hash).toContain('accepted=1');
    await expect(page.locator('h1').textContent()).resolves.toBe('Accepted findings');
    await expect(page.locator('a.tab.on').getAttribute('data-tab')).resolves.toBe('accepted');
    const cards = page.locator('article.finding');
    await expect(cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-rule')))).resolves.toEqual([ACCEPTED.kubelet13.rule, ACCEPTED.person.rule]);
    await expect(cards.locator('.accepted-badge').allTextContents()).resolves.toEqual(['accepted', 'accepted']);
    const person = page.locator(`article.finding[data-rule="${ACCEPTED.person.rule}"]`);
    await expect(person.locator('dd.acceptance').textContent()).resolves.toBe(`${ACCEPTED.person.acceptance.reason} — until 2030-06-30 · accept.yaml#1`);
    await expect(person.getByText(ACCEPTED.person.acceptance.reason, { exact: false }).isVisible()).resolves.toBe(true);
    await expect(page.locator(`article.finding[data-rule="${ACCEPTED.kubelet13.rule}"] dd.acceptance`).textContent())
      .resolves.toBe(`${ACCEPTED.kubelet13.acceptance.reason} — no end date · accept.yaml#2`);
    await page.screenshot({ path: `${ARTIFACTS}/web-findings-accepted.png`, fullPage: true });
    // A filter keeps the tab.
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.locator('a.chip[data-severity="medium"]').click();
    await waitView('findings');
    expect(new URL(page.url()).hash).toContain('accepted=1');
    await expect(cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-rule')))).resolves.toEqual([ACCEPTED.person.rule]);
    // Its flow shows it in a card of its own, apart from the open findings (it has none).
    await page.evaluate(() => delete document.body.dataset.ready);
    await person.locator('a.flow-link').click();
    await waitView('flow');
    expect(new URL(page.url()).hash).toBe(`#/flow/${fx.ids.get(fx.keys.person!)}`);
    const card = page.locator('section.card', { has: page.locator('h2', { hasText: 'Accepted as risks' }) });
    await expect(card.locator('h2').textContent()).resolves.toBe('Accepted as risks (1)');
    await expect(card.locator('article.finding').getAttribute('data-rule')).resolves.toBe(ACCEPTED.person.rule);
    await expect(card.locator('.accepted-badge').isVisible()).resolves.toBe(true);
    await expect(card.locator('dd.acceptance').textContent()).resolves.toContain(ACCEPTED.person.acceptance.reason);
    await expect(page.locator('section.card h2', { hasText: /^Findings \(/ }).count()).resolves.toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}/web-flow-accepted.png`, fullPage: true });
  });

  it('filters and sorts the flows table, and the address keeps the state', async () => {
    await open('#/flows', 'flows');
    await expect(page.locator('.flows-table tbody tr').count()).resolves.toBe(100);
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.selectOption('select[name="path"]', 'apiserver-proxy');
    await waitView('flows');
    await expect(page.locator('.flows-table tbody tr').count()).resolves.toBe(2);
    expect(page.url()).toContain('path=apiserver-proxy');
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.locator('a[data-sort="bytes"]').click();
    await waitView('flows');
    expect(page.url()).toContain('sort=bytes');
    // Deep link: a fresh load of the same address shows the same table.
    const url = page.url();
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.goto('about:blank');
    await page.goto(url);
    await waitView('flows');
    await expect(page.locator('.flows-table tbody tr').count()).resolves.toBe(2);
    await expect(page.locator('select[name="path"]').inputValue()).resolves.toBe('apiserver-proxy');
    // Free-text search for the hostile SNI finds it and shows it as text.
    await open('#/flows', 'flows');
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.fill('input[name="q"]', '<script>');
    await page.press('input[name="q"]', 'Enter');
    await waitView('flows');
    await expect(page.locator('.flows-table tbody tr').count()).resolves.toBe(1);
    await expect(page.locator('.flows-table .sni').textContent()).resolves.toBe(HOSTILE.sni);
    await page.screenshot({ path: `${ARTIFACTS}/web-flows-filtered.png` });
    // A time range typed as the table shows times (UTC); the address carries it as epoch seconds.
    await open('#/flows', 'flows');
    const utc = (t: number) => new Date(t * 1000).toISOString().replace('T', ' ').replace(/\.000Z$/, '');
    const expected = (await (await fetch(`${srv.url}api/flows?from=${T0 + 3}&to=${T0 + 6}&limit=100`)).json()) as { total: number };
    expect(expected.total).toBeGreaterThan(0);
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.fill('input[name="from"]', utc(T0 + 3));
    await page.press('input[name="from"]', 'Enter');
    await waitView('flows');
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.fill('input[name="to"]', `${T0 + 6}`);
    await page.press('input[name="to"]', 'Enter');
    await waitView('flows');
    expect(page.url()).toContain(`from=${T0 + 3}`);
    expect(page.url()).toContain(`to=${T0 + 6}`);
    await expect(page.locator('.flows-table tbody tr').count()).resolves.toBe(expected.total);
    await expect(page.locator('input[name="from"]').inputValue()).resolves.toBe(`${utc(T0 + 3)}Z`);
    // Text that is not a time is marked, and the table stays as it was.
    await page.fill('input[name="from"]', 'yesterday-ish');
    await page.press('input[name="from"]', 'Enter');
    await expect(page.locator('input[name="from"]').getAttribute('aria-invalid')).resolves.toBe('true');
    expect(page.url()).toContain(`from=${T0 + 3}`);
    // Keyset paging.
    await open('#/flows', 'flows');
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.locator('a[data-next]').click();
    await waitView('flows');
    await expect(page.locator('.flows-table tbody tr').count()).resolves.toBe(fx.flowCount - 100);
  });

  it('hostile strings from the wire stay inert text everywhere', async () => {
    await open(`#/flow/${fx.ids.get(fx.keys.proxy!)}`, 'flow');
    await expect(page.getByText(HOSTILE.userAgent, { exact: true }).isVisible()).resolves.toBe(true);
    await expect(page.getByText(HOSTILE.path, { exact: true }).first().isVisible()).resolves.toBe(true);
    // whose the request's token is, its pod name from the wire shown as text
    await expect(page.locator('[data-auth-holder]').first().textContent()).resolves.toBe(`service account default/web, bound to pod default/${HOSTILE.pod} on node worker-2`);
    await page.screenshot({ path: `${ARTIFACTS}/web-hostile-http.png`, fullPage: true });
    await open(`#/flow/${fx.ids.get(fx.keys.proxyTls!)}`, 'flow');
    await expect(page.locator('.cert-subject').first().textContent()).resolves.toBe(HOSTILE.subject);
    await open(`#/flow/${fx.ids.get(fx.keys.hostileSni!)}`, 'flow');
    await expect(page.getByText(HOSTILE.sni, { exact: true }).isVisible()).resolves.toBe(true);
    await open('#/findings', 'findings');
    await expect(page.getByText(HOSTILE.reference, { exact: true }).isVisible()).resolves.toBe(true);
    await open('#/certificates', 'certificates');
    await open('#/endpoints', 'endpoints');
    await expect(page.locator('main').textContent()).resolves.not.toContain('[object Object]');
    // Credentials: the token's holder shown as text, and its flows one click away.
    await open('#/credentials', 'credentials');
    await expect(page.locator('.credentials-table tbody tr').count()).resolves.toBe(1);
    await expect(page.locator('[data-subject]').textContent()).resolves.toBe('system:serviceaccount:default:web');
    await expect(page.getByText(`bound to pod default/${HOSTILE.pod}`, { exact: false }).isVisible()).resolves.toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/web-credentials.png` });
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.locator('a[data-flows]').click();
    await waitView('flows');
    await expect(page.locator('.flows-table tbody tr').count()).resolves.toBe(1);
    await expect(page.locator('a.chip').textContent()).resolves.toBe('credential: sha256:0f1e2d3c4b5a6978 ✕');
    // Requests: every one read, newest first, the hostile target and user agent as text; a filter on
    // the operation, and the connection one click away.
    await open('#/requests', 'requests');
    const total = (await (await fetch(new URL('/api/requests?limit=1', page.url()))).json()) as { total: number };
    expect(total.total).toBeGreaterThan(2);
    await expect(page.locator('.requests-table tbody tr').count()).resolves.toBe(total.total);
    await expect(page.getByText(HOSTILE.userAgent, { exact: true }).isVisible()).resolves.toBe(true);
    await page.screenshot({ path: `${ARTIFACTS}/web-requests.png`, fullPage: true });
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.locator('select[name=operation]').selectOption('proxy');
    await waitView('requests');
    await expect(page.locator('.requests-table tbody tr').count()).resolves.toBe(1);
    await expect(page.locator('[data-operation]').textContent()).resolves.toBe('proxy');
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.locator('.requests-table a[data-flow]').click();
    await waitView('flow');
    expect(page.url()).toContain(`#/flow/${fx.ids.get(fx.keys.proxy!)}`);
    // An endpoint's requests, one click from its page, under a chip that removes the filter.
    await open('#/endpoint/10.244.2.7', 'endpoint');
    await page.evaluate(() => delete document.body.dataset.ready);
    await page.locator('a[data-requests]').click();
    await waitView('requests');
    await expect(page.locator('.requests-table tbody tr').count()).resolves.toBe(2);
    await expect(page.locator('a.chip').textContent()).resolves.toBe('address: 10.244.2.7 ✕');
    for (const hash of ['#/findings', '#/certificates', '#/credentials', '#/requests', `#/flow/${fx.ids.get(fx.keys.proxy!)}`, `#/flow/${fx.ids.get(fx.keys.proxyTls!)}`]) {
      await open(hash, hash.startsWith('#/flow/') ? 'flow' : hash.slice(2));
      const injected = await page.evaluate(() => ({
        xss: (window as unknown as { __xss?: unknown }).__xss,
        imgs: document.querySelectorAll('img').length,
        svgOnload: document.querySelectorAll('[onload],[onerror]').length,
        scripts: document.querySelectorAll('main script').length,
        jsLinks: document.querySelectorAll('a[href^="javascript"]').length,
      }));
      expect(injected, hash).toEqual({ xss: undefined, imgs: 0, svgOnload: 0, scripts: 0, jsLinks: 0 });
    }
    expect(dialogs).toEqual([]);
  });

  it('paints the overview quickly and logs no errors or CSP violations', async () => {
    await open('#/', 'overview');
    const paint = await page.evaluate(() => performance.getEntriesByType('paint').map((p) => [p.name, p.startTime] as const));
    const fcp = paint.find(([n]) => n === 'first-contentful-paint');
    expect(fcp).toBeDefined();
    expect(fcp![1]).toBeLessThan(1000);
    expect(problems).toEqual([]);
  });
});
