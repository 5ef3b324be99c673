import { describe, expect, it } from 'vitest';
import type { BrowserGlobals } from '../../src/index.js';
import { StandardWebSocketTransport, browserEnvironment, isSteadyRpcError, staticEnvironment } from '../../src/index.js';
import { FakeEnvironment } from '../../src/testing/index.js';
import { fakeWebSocketClass } from '../helpers/fakeWebSocket.js';
import { sessionHarness } from '../helpers/session.js';

/** A window and its document as far as the environment reads them (real EventTargets: detached calls throw). */
function fakeWindow(online = true, visibilityState = 'visible') {
  const document = Object.assign(new EventTarget(), { visibilityState });
  const navigator = { onLine: online };
  const window = Object.assign(new EventTarget(), { navigator, document });
  const fire = (target: EventTarget, type: string) => target.dispatchEvent(new Event(type));
  return {
    window: window as BrowserGlobals,
    goOffline: () => ((navigator.onLine = false), fire(window, 'offline')),
    goOnline: () => ((navigator.onLine = true), fire(window, 'online')),
    setVisibility: (state: string) => ((document.visibilityState = state), fire(document, 'visibilitychange')),
  };
}

describe('browserEnvironment', () => {
  it("reads navigator.onLine live and passes on the window's online and offline events", () => {
    const page = fakeWindow();
    const env = browserEnvironment(page.window);
    const heard: string[] = [];
    env.onOnline(() => heard.push('online'));
    env.onOffline(() => heard.push('offline'));
    expect(env.online()).toBe(true);
    page.goOffline();
    expect(env.online()).toBe(false);
    page.goOnline();
    expect(heard).toEqual(['offline', 'online']);
  });

  it('calls onVisible only when the page becomes visible, not when it is hidden', () => {
    const page = fakeWindow();
    const env = browserEnvironment(page.window);
    let visible = 0;
    env.onVisible(() => visible++);
    page.setVisibility('hidden');
    expect(visible).toBe(0);
    page.setVisibility('visible');
    expect(visible).toBe(1);
  });

  it('unsubscribing removes the listener from the page (idempotent, one subscription at a time)', () => {
    const page = fakeWindow();
    const env = browserEnvironment(page.window);
    let calls = 0;
    const listener = () => calls++;
    const first = env.onOffline(listener);
    const second = env.onOffline(listener);
    page.goOffline();
    expect(calls).toBe(2);
    first();
    first();
    page.goOnline();
    page.goOffline();
    expect(calls).toBe(3);
    second();
    page.goOnline();
    page.goOffline();
    expect(calls).toBe(3);
  });

  it('is the static environment where there is no page (Node, Bun, Deno): always online, no events', () => {
    expect(browserEnvironment()).toBe(staticEnvironment); // this test runs on Node
    expect(browserEnvironment({})).toBe(staticEnvironment);
    expect(staticEnvironment.online()).toBe(true);
    const unsubscribe = staticEnvironment.onOffline(() => {});
    unsubscribe();
  });

  it('uses each part only where the platform has it: a worker has network events and no document', () => {
    const worker = Object.assign(new EventTarget(), { navigator: { onLine: true } }) as BrowserGlobals;
    const env = browserEnvironment(worker);
    let offline = 0;
    env.onOffline(() => offline++);
    (worker as unknown as EventTarget).dispatchEvent(new Event('offline'));
    expect(offline).toBe(1);
    expect(env.onVisible).toBe(staticEnvironment.onVisible);
    const documentOnly = browserEnvironment({ document: Object.assign(new EventTarget(), { visibilityState: 'visible' }) });
    expect(documentOnly.online()).toBe(true);
    expect(documentOnly.onOnline).toBe(staticEnvironment.onOnline);
  });
});

describe('FakeEnvironment', () => {
  it('fires listeners synchronously and only on a change, and counts them', () => {
    const env = new FakeEnvironment();
    const heard: string[] = [];
    const offs = [env.onOnline(() => heard.push('online')), env.onOffline(() => heard.push('offline')), env.onVisible(() => heard.push('visible'))];
    expect(env.listenerCount()).toBe(3);
    env.goOnline(); // already online
    env.goOffline();
    env.goOffline();
    expect(env.online()).toBe(false);
    env.show(); // already visible
    env.hide();
    expect(env.visible).toBe(false);
    env.show();
    env.goOnline();
    expect(heard).toEqual(['offline', 'visible', 'online']);
    for (const off of offs) off();
    expect(env.listenerCount()).toBe(0);
    expect(env.listenerCount('online')).toBe(0);
  });

  it('starts as told, and validates its options', () => {
    const env = new FakeEnvironment({ online: false, visible: false });
    expect([env.online(), env.visible]).toEqual([false, false]);
    let error: unknown;
    try {
      new FakeEnvironment({ online: 'yes' as never });
    } catch (e) {
      error = e;
    }
    expect(isSteadyRpcError(error, 'ERR_CONFIG')).toBe(true);
    expect((error as Error).message).toMatch(/Expected online to be a boolean/);
  });
});

/** A window whose listeners are counted (real EventTargets underneath). */
function countingWindow() {
  const live = new Map<string, number>();
  const counted = <T extends EventTarget>(target: T): T => {
    const add = target.addEventListener.bind(target);
    const remove = target.removeEventListener.bind(target);
    return Object.assign(target, {
      addEventListener: (type: string, listener: EventListener) => (live.set(type, (live.get(type) ?? 0) + 1), add(type, listener)),
      removeEventListener: (type: string, listener: EventListener) => (live.set(type, (live.get(type) ?? 0) - 1), remove(type, listener)),
    });
  };
  const navigator = { onLine: true };
  const document = counted(Object.assign(new EventTarget(), { visibilityState: 'visible' }));
  const window = counted(Object.assign(new EventTarget(), { navigator, document }));
  return {
    window: window as unknown as BrowserGlobals,
    live: () => [...live.values()].reduce((a, b) => a + b, 0),
    offline: () => ((navigator.onLine = false), window.dispatchEvent(new Event('offline'))),
    online: () => ((navigator.onLine = true), window.dispatchEvent(new Event('online'))),
    visibility: (state: string) => ((document.visibilityState = state), document.dispatchEvent(new Event('visibilitychange'))),
  };
}

describe('browserEnvironment in a session', () => {
  it('subscribes to online, offline and visibilitychange once each, and removes all three on close()', async () => {
    const page = countingWindow();
    const h = await sessionHarness({ environment: browserEnvironment(page.window), transportOver: (server) => new StandardWebSocketTransport({ WebSocket: fakeWebSocketClass({ server }) }) });
    expect(page.live()).toBe(3);
    const network: boolean[] = [];
    h.session.on('network', ({ online }) => network.push(online));
    page.offline();
    page.online();
    page.visibility('hidden');
    page.visibility('visible');
    await h.settle();
    expect(network).toEqual([false, true]);
    h.session.close();
    expect(page.live()).toBe(0);
    page.offline();
    page.online();
    page.visibility('visible');
    expect(h.session.state).toBe('closed');
  });

  it('navigator.onLine is read live: a session built while offline waits, and connects on online', async () => {
    const page = countingWindow();
    page.offline();
    let WebSocket!: ReturnType<typeof fakeWebSocketClass>;
    const h = await sessionHarness({ environment: browserEnvironment(page.window), transportOver: (server) => new StandardWebSocketTransport({ WebSocket: (WebSocket = fakeWebSocketClass({ server })) }) });
    await h.clock.advance(10_000);
    expect(WebSocket.instances).toHaveLength(0);
    page.online();
    await h.settle();
    expect(h.session.node).toBe('a');
  });
});
