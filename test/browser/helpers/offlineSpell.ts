/**
 * One spell offline, as DevTools emulates it, measured from the page's own report: the page is on
 * `a` and calling `getBalance` every 500 ms; the network goes for `offlineMs`, then comes back.
 */
import type { Cluster } from '../../integration/helpers/cluster.js';
import { sleep } from '../../adapters/realNodes.js';
import type { CallRecord, PageSnapshot, Timed } from '../pages/pageKit.js';
import type { TestPage } from './chromium.js';
import { waitForPage } from './faultScenario.js';

export interface OfflineReport {
  /** Page time of the `offline` and `online` events. */
  offlineAt: number;
  onlineAt: number;
  /** `navigator.onLine` as the `offline` event fired. */
  onLineAtOffline: boolean;
  /** The session's `network` events, in order (`false`: offline). */
  sessionNetwork: boolean[];
  /** What happened between the two events. */
  offline: { sockets: number[]; poolSwitches: string[]; rounds: Array<{ attempt: number; delayMs: number }>; closes: string[]; state: string; acceptedByProxies: number };
  /** From `online` to the first socket, switch and block, in ms. */
  online: { firstSocketMs: number | undefined; firstSwitchMs: number | undefined; switchReason: string | undefined; firstBlockMs: number | undefined; rounds: number };
  /** Calls made while offline, and every call, all settled. */
  callsOffline: CallRecord[];
  calls: CallRecord[];
  snapshot: PageSnapshot;
}

export async function offlineSpell(page: TestPage, cluster: Cluster, offlineMs: number): Promise<OfflineReport> {
  const openedAt = Date.now();
  await waitForPage(page, openedAt, 'the page on a with a first block', async () => {
    const s = await page.snapshot();
    return s.ready && s.node === 'a';
  }, 10_000);
  await page.page.evaluate(() => window.steadyPage!.startCalls(500));
  await sleep(1_000);
  const accepted = () => cluster.a.proxy.stats().accepted + cluster.b.proxy.stats().accepted;
  const acceptedBefore = accepted();

  await page.setOffline(true);
  const offlineEvent = await waitForPage(page, openedAt, 'the offline event', async () => (await page.snapshot()).network.find((e) => e.event === 'offline'), 2_000);
  await sleep(offlineMs);
  const acceptedByProxies = accepted() - acceptedBefore;
  await page.setOffline(false);
  const onlineEvent = await waitForPage(page, openedAt, 'the online event', async () => (await page.snapshot()).network.find((e) => e.event === 'online'), 2_000);
  await waitForPage(page, offlineEvent.at, 'blocks again after online', async () => (await page.snapshot()).blocks.some((b) => b.at > onlineEvent.at), 10_000);
  await page.page.evaluate(() => window.steadyPage!.stopCalls());
  const s = await waitForPage(page, offlineEvent.at, 'every call answered', async () => {
    const snapshot = await page.snapshot();
    return snapshot.calls.every((c) => c.settledAt !== undefined) && snapshot;
  }, 15_000);

  const during = <T extends Timed>(list: T[]) => list.filter((e) => e.at >= offlineEvent.at && e.at < onlineEvent.at);
  const after = <T extends Timed>(list: T[]) => list.filter((e) => e.at >= onlineEvent.at);
  const since = (event: Timed | undefined) => event && event.at - onlineEvent.at;
  const rel = (at: number) => at - offlineEvent.at;
  return {
    offlineAt: offlineEvent.at,
    onlineAt: onlineEvent.at,
    onLineAtOffline: offlineEvent.onLine,
    sessionNetwork: s.sessionNetwork.map((e) => e.online),
    offline: {
      sockets: during(s.sockets).map((e) => rel(e.at)),
      poolSwitches: during(s.poolSwitches).map((e) => `${e.from}→${e.to} (${e.reason}) at +${rel(e.at)} ms`),
      rounds: during(s.reconnecting).map(({ attempt, delayMs }) => ({ attempt, delayMs })),
      closes: during(s.upstreamCloses).map((e) => `${e.node} ${e.code} at +${rel(e.at)} ms`),
      state: s.switches.length > 0 ? stateAt(s, onlineEvent.at) : s.state,
      acceptedByProxies,
    },
    online: {
      firstSocketMs: since(after(s.sockets)[0]),
      firstSwitchMs: since(after(s.switches)[0]),
      switchReason: after(s.switches)[0]?.reason,
      firstBlockMs: since(after(s.blocks)[0]),
      rounds: after(s.reconnecting).length,
    },
    callsOffline: during(s.calls),
    calls: s.calls,
    snapshot: s,
  };
}

/** Whether the session had an upstream just before `at`: the last switch or close before it. */
function stateAt(s: PageSnapshot, at: number): string {
  const lastClose = s.upstreamCloses.filter((e) => e.at < at).at(-1);
  const lastSwitch = s.switches.filter((e) => e.at < at).at(-1);
  if (lastClose && (!lastSwitch || lastClose.at > lastSwitch.at)) return `without an upstream since ${lastClose.node} closed`;
  return lastSwitch ? `on ${lastSwitch.to}` : 'unknown';
}

/** One line per measurement, for the test log. */
export function describeOffline(label: string, r: OfflineReport): string {
  const slowest = Math.max(0, ...r.callsOffline.map((c) => c.settledAt! - c.at));
  return [
    `${label}: offline ${r.onlineAt - r.offlineAt} ms (navigator.onLine ${r.onLineAtOffline} at the event; session network events ${JSON.stringify(r.sessionNetwork)})`,
    `  while offline: ${r.offline.sockets.length} sockets opened [${r.offline.sockets.map((t) => `+${t} ms`).join(', ')}], pool switches [${r.offline.poolSwitches.join(', ')}], ${r.offline.rounds.length} backoff rounds [${r.offline.rounds.map((x) => `#${x.attempt} ${x.delayMs} ms`).join(', ')}], upstream closes [${r.offline.closes.join(', ')}], ${r.offline.acceptedByProxies} connections reached the proxies`,
    `  after online: first socket +${r.online.firstSocketMs} ms, first switch +${r.online.firstSwitchMs} ms (${r.online.switchReason}), first block +${r.online.firstBlockMs} ms, ${r.online.rounds} backoff rounds`,
    `  calls made offline: ${r.callsOffline.length}, answered ${r.callsOffline.filter((c) => c.value !== undefined).length} (slowest ${slowest} ms); all calls: ${r.calls.length}, errors ${r.calls.filter((c) => c.error !== undefined).length}`,
  ].join('\n');
}
