/**
 * `eventemitter3` in the browser build (scripts/browserVariants.mjs swaps the package for this
 * file): the same class, methods and order of calls, in modern syntax. The package is ES5 and
 * CommonJS, which costs a web app 2.8 KB minified plus the bundler's CommonJS wrapper; this is a
 * third of that. The Node build keeps the package; `test/EventEmitter.browser.test.ts` holds the
 * two to the same behaviour, operation for operation.
 *
 * What callers can tell, and this keeps: listeners run in the order they were added, with their
 * `context` (the emitter when none); a listener added during an `emit` is not called by it, one
 * removed during it still is (each change makes a new list); a `once` listener is removed just
 * before it runs; `eventNames()` lists strings (in the engine's key order) before symbols.
 */

type Listener = (...args: any[]) => void;

interface Entry {
  readonly fn: Listener;
  readonly context: unknown;
  readonly once: boolean;
}

type Name = string | symbol;

export class EventEmitter {
  /** eventemitter3 prefixes names only where `Object.create(null)` is missing: never here. */
  static prefixed: string | boolean = false;
  static EventEmitter = EventEmitter;

  #events: Record<Name, Entry[]> = Object.create(null);

  eventNames(): Name[] {
    return [...Object.keys(this.#events), ...Object.getOwnPropertySymbols(this.#events)];
  }

  listeners(event: Name): Listener[] {
    return (this.#events[event] ?? []).map((entry) => entry.fn);
  }

  listenerCount(event: Name): number {
    return this.#events[event]?.length ?? 0;
  }

  emit(event: Name, ...args: unknown[]): boolean {
    const entries = this.#events[event];
    if (!entries) return false;
    // Adding pushes onto this list, removing replaces it: the length read here fixes who is called.
    for (let i = 0, length = entries.length; i < length; i++) {
      const { fn, context, once } = entries[i]!;
      if (once) this.removeListener(event, fn, undefined, true);
      fn.apply(context, args);
    }
    return true;
  }

  on(event: Name, fn: Listener, context?: unknown): this {
    return this.#add(event, fn, context, false);
  }

  once(event: Name, fn: Listener, context?: unknown): this {
    return this.#add(event, fn, context, true);
  }

  /** Without `fn`, every listener of `event`; else those of `fn` (and `context`, and only `once` ones, when given). */
  removeListener(event: Name, fn?: Listener, context?: unknown, once?: boolean): this {
    const entries = this.#events[event];
    if (!entries) return this;
    const kept = fn ? entries.filter((e) => e.fn !== fn || (once && !e.once) || (context && e.context !== context)) : [];
    if (kept.length > 0) this.#events[event] = kept;
    else delete this.#events[event];
    return this;
  }

  /** Every listener of `event`, or of every event when `event` is left out (or falsy, as in eventemitter3). */
  removeAllListeners(event?: Name): this {
    if (!event) this.#events = Object.create(null);
    else delete this.#events[event];
    return this;
  }

  #add(event: Name, fn: Listener, context: unknown, once: boolean): this {
    if (typeof fn !== 'function') throw new TypeError('The listener must be a function');
    const entry = { fn, context: context || this, once };
    const entries = this.#events[event];
    if (entries) entries.push(entry);
    else this.#events[event] = [entry];
    return this;
  }
}

export interface EventEmitter {
  addListener: EventEmitter['on'];
  off: EventEmitter['removeListener'];
}
EventEmitter.prototype.addListener = EventEmitter.prototype.on;
EventEmitter.prototype.off = EventEmitter.prototype.removeListener;

export default EventEmitter;
