/**
 * Background tabs and late timers in a real browser (the viem page in headless Chromium, two anvil
 * nodes behind fault proxies).
 *
 * What Chromium 153 headless does (checked here): `Page.setWebLifecycleState({ state: 'frozen' })`,
 * as Chromium freezes background tabs, hides the page (`visibilitychange` to `hidden`) and runs
 * none of its timers or socket events; at the thaw (`active`) it closes the page's open
 * WebSockets (the server sees 1001, the page an error and close 1006), whether or not anything
 * came for them meanwhile, then runs the timers that came due. The page stays `hidden` until focus
 * emulation is turned on (`Emulation.setFocusEmulationEnabled`), which shows it. Bringing another
 * tab to the front does not hide a headless page.
 *
 * So a freeze costs the socket, and the test shows the session coming back at once. Late timers on
 * a socket that is still open are shown as a machine waking from sleep sees them: the page's main
 * thread is held for 8 s right after the session sent a keepalive call (its 1 s deadline armed)
 * while the node's proxy holds every byte, and the bytes flow again only once the thread is
 * released. The deadline timer, 7 s late, then runs before the answer can arrive. (Held alone, the
 * thread is no test: the answer that came during the hold is handled before the late timer.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../adapters/realNodes.js';
import type { PageSnapshot, Timed } from './pages/pageKit.js';
import type { TestPage } from './helpers/chromium.js';
import { describePage, waitForPage } from './helpers/faultScenario.js';
import { startRig, type Rig } from './helpers/rig.js';

const HELD_MS = 8_000;
/** A keepalive call after 500 ms of silence, answered within 1 s; `net_version`: nothing else sends it. */
const SESSION = { keepaliveIntervalMs: 500, keepaliveTimeoutMs: 1_000, keepaliveMethod: 'net_version' };

describe('background tabs and late timers in headless Chromium', { timeout: 60_000 }, () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig('viem');
  }, 60_000);

  afterEach(async () => {
    await rig?.cluster.a.proxy.restore();
  });

  afterAll(async () => {
    await rig?.stop();
  });

  /** Opens the page, waits for it on `a` with blocks, and starts a call every 500 ms. */
  const onPrimary = async (options: Parameters<Rig['open']>[1] = {}): Promise<TestPage> => {
    const page = await rig.open(SESSION, options);
    const openedAt = Date.now();
    await waitForPage(page, openedAt, 'both nodes healthy, the page on a with blocks', async () => {
      const s = await page.snapshot();
      return s.blocks.length >= 2 && s.node === 'a' && s.pool.preferred === 'a' && s.pool.nodes.every((n) => n.status === 'healthy');
    }, 10_000);
    await page.page.evaluate(() => window.steadyPage!.startCalls(500));
    await sleep(1_500);
    return page;
  };

  /** Stops the calls and waits until every one is answered. */
  const settle = async (page: TestPage, since: number): Promise<PageSnapshot> => {
    await page.page.evaluate(() => window.steadyPage!.stopCalls());
    return waitForPage(page, since, 'every call answered', async () => {
      const s = await page.snapshot();
      return s.calls.every((c) => c.settledAt !== undefined) && s;
    }, 10_000);
  };

  it('frozen for 8 s then shown: Chromium closes the socket at the thaw, the session reconnects at once and is back on the primary', async () => {
    const page = await onPrimary();
    const frozenAt = Date.now();
    await page.cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
    await sleep(HELD_MS);
    const thawedAt = Date.now();
    await page.cdp.send('Page.setWebLifecycleState', { state: 'active' });
    await page.cdp.send('Emulation.setFocusEmulationEnabled', { enabled: true });
    await waitForPage(page, frozenAt, 'back on a, visible, with blocks', async () => {
      const s = await page.snapshot();
      return s.node === 'a' && s.visibility.some((e) => e.state === 'visible') && s.blocks.filter((b) => b.at > thawedAt).length >= 2;
    }, 5_000);
    const s = await settle(page, frozenAt);

    const after = <T extends Timed>(list: T[]) => list.filter((e) => e.at >= frozenAt);
    const closes = after(s.upstreamCloses);
    const reconnectMs = after(s.sockets)[0]!.at - closes[0]!.at;
    const backOnA = after(s.switches).find((e) => e.to === 'a')!;
    console.log(
      `frozen ${HELD_MS} ms: visibility ${JSON.stringify(after(s.visibility).map((e) => `${e.state} +${e.at - frozenAt} ms`))}; ` +
        `upstream closes ${JSON.stringify(closes.map((e) => `${e.node} ${e.code} +${e.at - frozenAt} ms`))}; next socket ${reconnectMs} ms after the close; ` +
        `switches ${JSON.stringify(after(s.switches).map((e) => `${e.from}→${e.to} (${e.reason}) +${e.at - frozenAt} ms`))}; ` +
        `${after(s.calls).length} calls since the freeze, errors ${s.calls.filter((c) => c.error !== undefined).length}`,
    );

    expect(after(s.visibility).map((e) => e.state)).toEqual(['hidden', 'visible']);
    expect(closes.map((e) => e.node)).toEqual(['a']);
    expect(closes[0]!.at).toBeGreaterThanOrEqual(thawedAt);
    expect(reconnectMs).toBeLessThan(100);
    expect(backOnA.at - thawedAt).toBeLessThan(3_000);
    expect(after(s.reconnecting)).toEqual([]);
    expect(s.calls.filter((c) => c.error !== undefined)).toEqual([]);
    expect(s.errors).toEqual([]);
    expect(page.errors()).toEqual([]);
    await page.close();
  });

  it('woken from sleep with a keepalive deadline armed: the deadline that runs 7 s late does not tear down the healthy socket', async () => {
    // Probe deadlines longer than the hold and the blackhole: this is about the session. (The
    // health checker's own late-timer allowance is shown in test/health/lateTimers.test.ts; here
    // `a`'s probes get no answer while it is blackholed, so with a short deadline they would rightly
    // fail once their extra deadline ran out.)
    const page = await onPrimary({ health: { intervalMs: 1_000, timeoutMs: 20_000 } });
    // The keepalive must be sent once the bytes are held: one in flight as the blackhole begins
    // misses its deadline before the hold (and the session rightly leaves a). Then a is restored
    // and the setup tried again, at most three times.
    let held: number | undefined;
    let blackholedAt = 0;
    for (let attempt = 1; held === undefined && attempt <= 3; attempt++) {
      await waitForPage(page, Date.now(), 'the page on a', async () => (await page.snapshot()).node === 'a', 10_000);
      blackholedAt = Date.now();
      await rig.cluster.a.proxy.blackhole();
      held = await page.page.evaluate((options) => window.steadyPage!.holdAfterSend(options), {
        method: 'net_version',
        url: rig.cluster.a.proxy.wsUrl,
        ms: HELD_MS,
        waitMs: 700,
      });
      const left = (await page.snapshot()).switches.some((e) => e.at >= blackholedAt && e.from === 'a');
      if (held === undefined || left) {
        console.log(`attempt ${attempt}: the keepalive went before the blackhole; again`);
        held = undefined;
        await rig.cluster.a.proxy.restore();
      }
    }
    if (held === undefined) throw new Error('no keepalive call went to a after its bytes were held, in three attempts');
    const heldAt = held;
    const releasedAt = Date.now();
    await rig.cluster.a.proxy.restore();
    await waitForPage(page, heldAt, 'two blocks after the release', async () => (await page.snapshot()).blocks.filter((b) => b.at > releasedAt + 100).length >= 2, 5_000);
    const s = await settle(page, heldAt);

    const after = <T extends Timed>(list: T[]) => list.filter((e) => e.at >= heldAt);
    console.log(
      `main thread held ${releasedAt - heldAt} ms after a keepalive call, the node's bytes until the release: after it, ${after(s.sockets).length} sockets opened, ${after(s.switches).length} switches, ` +
        `${after(s.upstreamCloses).length} upstream closes, session errors ${JSON.stringify(after(s.sessionErrors).map((e) => `${e.code}: ${e.message}`))}; ` +
        `${after(s.calls).length} calls since, errors ${s.calls.filter((c) => c.error !== undefined).length}`,
    );
    if (after(s.switches).length > 0) {
      console.log(await describePage(page, heldAt));
      console.log(`all switches: ${s.switches.map((e) => `${e.from}→${e.to} (${e.reason}) ${e.at - heldAt} ms`).join('; ')}; pool: ${s.poolSwitches.map((e) => `${e.from}→${e.to} (${e.reason}) ${e.at - heldAt} ms`).join('; ')}; errors: ${s.sessionErrors.map((e) => `${e.code} ${e.message} ${e.at - heldAt} ms`).join('; ')}; sockets ${s.sockets.map((e) => `${e.url} ${e.at - heldAt} ms`).join('; ')}; blackholed at ${blackholedAt - heldAt} ms`);
    }

    // The socket in use before is still the one in use: no close, no switch, no new socket.
    expect.soft(after(s.upstreamCloses)).toEqual([]);
    expect.soft(after(s.switches)).toEqual([]);
    expect.soft(after(s.sockets)).toEqual([]);
    expect.soft(s.node).toBe('a');
    expect.soft(after(s.sessionErrors).filter((e) => e.code === 'ERR_TIMEOUT')).toEqual([]);
    expect.soft(s.calls.filter((c) => c.error !== undefined)).toEqual([]);
    expect.soft(s.errors).toEqual([]);
    expect.soft(page.errors()).toEqual([]);
    await page.close();
  });
});
