/**
 * Headless Chromium for the browser tests: the binary from the `@sparticuz/chromium` npm package
 * (no browser download is needed), driven by `puppeteer-core`.
 *
 * Two of the package's default flags are dropped so the page runs under a browser's normal
 * rules: `--disable-web-security` (it would switch off CORS, which the page's cross-origin calls
 * to the nodes must pass) and `--allow-running-insecure-content`.
 */
import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser, type CDPSession, type Page } from 'puppeteer-core';
import type { PageConfig, PageSnapshot } from '../pages/pageKit.js';

const DROPPED_FLAGS = new Set(['--disable-web-security', '--allow-running-insecure-content']);

export async function launchChromium(): Promise<{ browser: Browser; launchMs: number }> {
  const started = performance.now();
  const browser = await puppeteer.launch({
    executablePath: await chromium.executablePath(),
    args: chromium.args.filter((flag) => !DROPPED_FLAGS.has(flag)),
    headless: true,
  });
  return { browser, launchMs: Math.round(performance.now() - started) };
}

/** Everything the browser said about a page that is not the page's own report. */
export interface BrowserLog {
  /** Uncaught exceptions (puppeteer's `pageerror`). */
  pageErrors: string[];
  /** `console.error` / `console.assert` calls made by the page's code. */
  consoleErrors: string[];
  /**
   * The browser's own error-level log entries (DevTools `Log.entryAdded`), by source:
   * `network` ones ("WebSocket connection to … failed", a refused fetch) are what a node that is
   * cut looks like, and are expected in a fault test; any other source (security/CSP, javascript,
   * …) is an error.
   */
  browserErrors: Array<{ source: string; text: string }>;
}

export interface TestPage {
  page: Page;
  /** What the page was opened with. */
  config: PageConfig;
  cdp: CDPSession;
  log: BrowserLog;
  /** The page's report. */
  snapshot(): Promise<PageSnapshot>;
  /** Errors of every kind except the expected network log entries. */
  errors(): string[];
  /** Emulates losing (true) or regaining (false) the network, through the DevTools protocol. */
  setOffline(offline: boolean): Promise<void>;
  close(): Promise<void>;
}

/** Opens `url` (a page given `config`) and waits until it has published `window.steadyPage`. */
export async function openPage(browser: Browser, url: string, config: PageConfig): Promise<TestPage> {
  const page = await browser.newPage();
  const log: BrowserLog = { pageErrors: [], consoleErrors: [], browserErrors: [] };
  page.on('pageerror', (error) => log.pageErrors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error)));
  // A session of our own, to see each log entry's source and each console call's type.
  const cdp = await page.createCDPSession();
  cdp.on('Runtime.consoleAPICalled', ({ type, args }) => {
    if (type !== 'error' && type !== 'assert') return;
    log.consoleErrors.push(args.map((arg) => (arg.value !== undefined ? String(arg.value) : (arg.description ?? arg.type))).join(' '));
  });
  cdp.on('Log.entryAdded', ({ entry }) => {
    if (entry.level === 'error') log.browserErrors.push({ source: entry.source, text: entry.text });
  });
  await cdp.send('Runtime.enable');
  await cdp.send('Log.enable');
  await cdp.send('Network.enable');

  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.steadyPage !== undefined || window.steadyPageError !== undefined, { timeout: 10_000 });
  const failed = await page.evaluate(() => window.steadyPageError);
  if (failed !== undefined) throw new Error(`the page failed to start: ${failed}`);

  return {
    page,
    config,
    cdp,
    log,
    snapshot: () => page.evaluate(() => window.steadyPage!.snapshot()),
    errors: () => [
      ...log.pageErrors.map((text) => `pageerror: ${text}`),
      ...log.consoleErrors.map((text) => `console.error: ${text}`),
      ...log.browserErrors.filter(({ source }) => source !== 'network').map(({ source, text }) => `browser (${source}): ${text}`),
    ],
    async setOffline(offline) {
      // What DevTools' "Offline" throttling preset sends.
      await cdp.send('Network.emulateNetworkConditions', { offline, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    },
    async close() {
      await page.evaluate(() => window.steadyPage?.close()).catch(() => {});
      await page.close();
    },
  };
}
