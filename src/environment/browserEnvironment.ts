import type { Environment, Unsubscribe } from './Environment.js';
import { staticEnvironment } from './Environment.js';

type Listener = () => void;

interface EventSource {
  addEventListener(type: string, listener: Listener): void;
  removeEventListener(type: string, listener: Listener): void;
}

/** What {@link browserEnvironment} reads: `globalThis` unless given (a window or a worker's `self`). */
export interface BrowserGlobals {
  addEventListener?: EventSource['addEventListener'];
  removeEventListener?: EventSource['removeEventListener'];
  navigator?: { onLine?: unknown };
  document?: Partial<EventSource> & { visibilityState?: unknown };
}

/**
 * The page's own events, where there is a page: `online`/`offline` on the global object (windows
 * and workers) with `navigator.onLine`, and `visibilitychange` on `document`. Each part is used
 * only where the platform has it; elsewhere (Node, Bun, Deno) this is {@link staticEnvironment}.
 * Globals are read when it is called, so a session built in a page gets the page's.
 */
export function browserEnvironment(scope: BrowserGlobals = globalThis as BrowserGlobals): Environment {
  const network = typeof scope.addEventListener === 'function' && typeof scope.removeEventListener === 'function' && typeof scope.navigator?.onLine === 'boolean';
  const { document } = scope;
  const visibility = typeof document?.addEventListener === 'function' && typeof document.removeEventListener === 'function' && typeof document.visibilityState === 'string';
  if (!network && !visibility) return staticEnvironment;
  return Object.freeze({
    online: network ? () => scope.navigator!.onLine !== false : staticEnvironment.online,
    onOnline: network ? (listener: Listener) => listen(scope as EventSource, 'online', listener) : staticEnvironment.onOnline,
    onOffline: network ? (listener: Listener) => listen(scope as EventSource, 'offline', listener) : staticEnvironment.onOffline,
    onVisible: visibility
      ? (listener: Listener) => listen(document as EventSource, 'visibilitychange', () => {
          if (document!.visibilityState === 'visible') listener();
        })
      : staticEnvironment.onVisible,
  });
}

/** Adds a listener (called as a method of `target`: detached DOM methods throw) and returns its removal. */
function listen(target: EventSource, type: string, listener: Listener): Unsubscribe {
  // A wrapper of our own, so the same function subscribed twice is removed once per subscription.
  const handler = () => listener();
  target.addEventListener(type, handler);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    target.removeEventListener(type, handler);
  };
}
