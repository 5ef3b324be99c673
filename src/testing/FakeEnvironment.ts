import { SteadyRpcError } from '../errors.js';
import type { Environment, Unsubscribe } from '../environment/Environment.js';

type Kind = 'online' | 'offline' | 'visible';

export interface FakeEnvironmentOptions {
  /** Whether the device starts online. @default true */
  online?: boolean;
  /** Whether the page starts visible. @default true */
  visible?: boolean;
}

/**
 * An {@link Environment} a test drives: `goOffline()`, `goOnline()`, `hide()`, `show()` fire the
 * listeners at once (synchronously), as the page's events would, and only on a change.
 * `listenerCount` is 0 once everything subscribed has let go (after a session's `close()`).
 */
export class FakeEnvironment implements Environment {
  #online: boolean;
  #visible: boolean;
  readonly #listeners: Record<Kind, Set<() => void>> = { online: new Set(), offline: new Set(), visible: new Set() };

  constructor(options: FakeEnvironmentOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected FakeEnvironment options to be an object, got ${String(options)}`);
    }
    const { online = true, visible = true } = options;
    for (const [name, value] of Object.entries({ online, visible })) {
      if (typeof value !== 'boolean') throw new SteadyRpcError('ERR_CONFIG', `Expected ${name} to be a boolean, got ${String(value)}`);
    }
    this.#online = online;
    this.#visible = visible;
  }

  online(): boolean {
    return this.#online;
  }

  /** Whether the page is visible now. */
  get visible(): boolean {
    return this.#visible;
  }

  /** Listeners subscribed now, of one kind or of all. */
  listenerCount(kind?: Kind): number {
    if (kind !== undefined) return this.#listeners[kind].size;
    return this.#listeners.online.size + this.#listeners.offline.size + this.#listeners.visible.size;
  }

  onOnline(listener: () => void): Unsubscribe {
    return this.#add('online', listener);
  }

  onOffline(listener: () => void): Unsubscribe {
    return this.#add('offline', listener);
  }

  onVisible(listener: () => void): Unsubscribe {
    return this.#add('visible', listener);
  }

  /** The device loses its network: `offline` listeners, if it was online. */
  goOffline(): void {
    if (!this.#online) return;
    this.#online = false;
    this.#fire('offline');
  }

  /** The network is back: `online` listeners, if it was offline. */
  goOnline(): void {
    if (this.#online) return;
    this.#online = true;
    this.#fire('online');
  }

  /** The page goes to the background (no listener: sessions only react to coming back). */
  hide(): void {
    this.#visible = false;
  }

  /** The page is visible again: `visible` listeners, if it was hidden. */
  show(): void {
    if (this.#visible) return;
    this.#visible = true;
    this.#fire('visible');
  }

  #add(kind: Kind, listener: () => void): Unsubscribe {
    // A wrapper per subscription: the same function subscribed twice is two subscriptions.
    const entry = () => listener();
    this.#listeners[kind].add(entry);
    return () => void this.#listeners[kind].delete(entry);
  }

  #fire(kind: Kind): void {
    for (const listener of [...this.#listeners[kind]]) listener();
  }
}
