/** Debian's Chromium, headless, driven through playwright-core: the browser the dashboard tests use. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startServer, type RunningServer, type ServerOptions } from '../../src/web/server';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A new page whose dialogs (dismissed) and uncaught script errors are written to `problems`: a wire
 * string that ran as script, or a view that threw, shows there.
 */
export async function watchedPage(browser: Browser, problems: string[], viewport = { width: 1280, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return page;
}

/** A dashboard served on a free port and one watched page of a headless Chromium on it. */
export interface DashboardPage {
  srv: RunningServer;
  browser: Browser;
  page: Page;
  /** Closes the browser, then the server. */
  close(): Promise<void>;
}

export async function openDashboardPage(opts: Omit<ServerOptions, 'port'>, problems: string[]): Promise<DashboardPage> {
  const srv = await startServer({ ...opts, port: 0 });
  const browser = await launchChromium();
  const page = await watchedPage(browser, problems);
  return {
    srv,
    browser,
    page,
    close: async () => {
      await browser.close();
      await srv.close();
    },
  };
}

/** What dashboardOnDatabase gives a describe block; `srv` and `page` are there once its setup ran. */
export interface DashboardSuite {
  /** A scratch directory, removed after the block. */
  readonly dir: string;
  /** Dialogs and script errors of the page (see watchedPage). */
  readonly problems: string[];
  readonly srv: RunningServer;
  readonly page: Page;
}

/**
 * For a describe block: a scratch directory, a database that `prepare` makes in it (it returns the
 * server's options), and the dashboard served on it with a watched Chromium page; the browser, the
 * server and the directory are closed and removed after the block.
 */
export function dashboardOnDatabase(prefix: string, prepare: (dir: string) => Omit<ServerOptions, 'port'> | Promise<Omit<ServerOptions, 'port'>>): DashboardSuite {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const problems: string[] = [];
  let dash: DashboardPage | undefined;
  beforeAll(async () => {
    dash = await openDashboardPage(await prepare(dir), problems);
  }, 60_000);
  afterAll(async () => {
    await dash?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    problems,
    get srv() {
      return dash!.srv;
    },
    get page() {
      return dash!.page;
    },
  };
}
