/**
 * Everything one browser test file needs, started together: two anvil nodes behind fault proxies
 * (test/integration/helpers/cluster.ts, 1 s blocks), the page bundled for the browser, the page
 * server and headless Chromium. `stop()` releases all of it, whatever failed.
 */
import { fileURLToPath } from 'node:url';
import type { Browser } from 'puppeteer-core';
import { clusterNodes, DEV_ACCOUNT, FAST_HEALTH } from '../../adapters/realNodes.js';
import { startCluster, type Cluster } from '../../integration/helpers/cluster.js';
import type { PageConfig } from '../pages/pageKit.js';
import { bundlePage, type PageBundle } from './bundlePage.js';
import { launchChromium, openPage, type TestPage } from './chromium.js';
import { startPageServer, type PageServer } from './pageServer.js';

export type PageName = 'viem' | 'ethers';

export interface Rig {
  cluster: Cluster;
  bundle: PageBundle;
  browser: Browser;
  server: PageServer;
  launchMs: number;
  /** Opens the page on the two nodes (`a` preferred), with fast health rounds. */
  open(session?: Record<string, unknown>, options?: Partial<Pick<PageConfig, 'environment' | 'health'>>): Promise<TestPage>;
  stop(): Promise<void>;
}

export async function startRig(name: PageName): Promise<Rig> {
  const entry = fileURLToPath(new URL(`../pages/${name}.page.ts`, import.meta.url));
  const [cluster, bundle, chromium, server] = await Promise.allSettled([startCluster({ blockTimeSec: 1 }), bundlePage(entry), launchChromium(), startPageServer()]);
  const stop = async () => {
    await Promise.allSettled([
      cluster.status === 'fulfilled' ? cluster.value.stop() : undefined,
      chromium.status === 'fulfilled' ? chromium.value.browser.close() : undefined,
      server.status === 'fulfilled' ? server.value.close() : undefined,
    ]);
  };
  for (const started of [cluster, bundle, chromium, server]) {
    if (started.status === 'rejected') {
      await stop();
      throw started.reason;
    }
  }
  const ok = <T>(settled: PromiseSettledResult<T>) => (settled as PromiseFulfilledResult<T>).value;
  ok(server).add(name, ok(bundle).code);
  const pages: TestPage[] = [];
  return {
    cluster: ok(cluster),
    bundle: ok(bundle),
    browser: ok(chromium).browser,
    server: ok(server),
    launchMs: ok(chromium).launchMs,
    async open(session, options = {}) {
      const health = options.health ?? { intervalMs: FAST_HEALTH.intervalMs, timeoutMs: FAST_HEALTH.timeoutMs };
      const config: PageConfig = { ...options, nodes: clusterNodes(ok(cluster)), health, session, account: DEV_ACCOUNT };
      const page = await openPage(ok(chromium).browser, ok(server).url(name, config), config);
      pages.push(page);
      return page;
    },
    async stop() {
      await Promise.allSettled(pages.map((page) => page.close()));
      await stop();
    },
  };
}
