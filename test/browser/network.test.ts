/**
 * Network awareness in a real browser: the viem page's session (headless Chromium, two anvil nodes
 * behind fault proxies) while DevTools emulates going offline and back online.
 *
 * What Chromium 153 does under `Network.emulateNetworkConditions({ offline: true })` (checked
 * here, and what the assertions rely on): it fires `offline` on window and `navigator.onLine`
 * turns false; new WebSockets fail at once (close 1006) and fetch rejects, without reaching the
 * network; a WebSocket already open is frozen, not closed: nothing it sends leaves, nothing sent to
 * it arrives, and even its peer's close is held until the network is back, when it all comes at
 * once. `online` fires when the emulation ends. So the fault proxies see nothing while offline,
 * whatever the page does: the page's own count of `new WebSocket(…)` shows what the session tried.
 *
 * The same spell with `staticEnvironment` (no hooks) is the contrast: it shows what the hooks save.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeOffline, offlineSpell } from './helpers/offlineSpell.js';
import { startRig, type Rig } from './helpers/rig.js';

const OFFLINE_MS = 6_000;
/** Keepalive 1 s + 1 s: the frozen socket is given up 2 s into the offline spell, not 6 s. */
const SESSION = { keepaliveIntervalMs: 1_000, keepaliveTimeoutMs: 1_000 };

describe('network awareness in headless Chromium (DevTools offline emulation)', { timeout: 60_000 }, () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig('viem');
  }, 60_000);

  afterAll(async () => {
    await rig?.stop();
  });

  it('offline: no connect attempt and no backoff round; online: reconnects at once; calls made offline are answered', async () => {
    const page = await rig.open(SESSION);
    const report = await offlineSpell(page, rig.cluster, OFFLINE_MS);
    console.log(describeOffline('browserEnvironment (default)', report));

    expect(report.onLineAtOffline).toBe(false);
    expect(report.offline.acceptedByProxies).toBe(0);
    expect(report.sessionNetwork).toEqual([false, true]);
    // No attempt of the session's own while offline, and so no backoff growth.
    expect.soft(report.offline.sockets, 'sockets opened while offline (ms after the offline event)').toEqual([]);
    expect.soft(report.offline.rounds, 'backoff rounds while offline').toEqual([]);
    // Online: a socket at once (the backoff's first delay would be 200-300 ms), traffic within a block time.
    expect.soft(report.online.firstSocketMs).toBeLessThan(150);
    expect.soft(report.online.firstSwitchMs).toBeLessThan(1_000);
    expect.soft(report.online.firstBlockMs).toBeLessThan(2_000);
    expect.soft(report.online.rounds).toBe(0);
    expect.soft(report.callsOffline.length).toBeGreaterThan(5);
    expect.soft(report.calls.filter((c) => c.error !== undefined)).toEqual([]);
    expect.soft(report.snapshot.errors).toEqual([]);
    expect.soft(page.errors()).toEqual([]);
    await page.close();
  });

  it('contrast: the same spell with staticEnvironment (no hooks) keeps trying and backs off', async () => {
    const page = await rig.open(SESSION, { environment: 'static' });
    const report = await offlineSpell(page, rig.cluster, OFFLINE_MS);
    console.log(describeOffline('staticEnvironment (no hooks)', report));

    expect(report.sessionNetwork).toEqual([]);
    // Every attempt fails at once in the browser, so rounds follow the backoff: 250 ms doubling.
    expect(report.offline.sockets.length).toBeGreaterThanOrEqual(3);
    expect(report.offline.rounds.length).toBeGreaterThanOrEqual(2);
    expect(report.calls.filter((c) => c.error !== undefined)).toEqual([]);
    expect(page.errors()).toEqual([]);
    await page.close();
  });
});
