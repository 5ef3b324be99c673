import { describeError, isSteadyRpcError } from '../errors.js';
import type { JsonRpcErrorObject } from '../jsonrpc.js';
import type { UpstreamSession } from '../session/UpstreamSession.js';
import { callListener } from './callListener.js';
import { ProviderErrorCode, ProviderRpcError } from './ProviderRpcError.js';

/** The `params` of an `eth_subscription` notification. */
export interface SubscriptionNotification {
  subscription: string;
  result: unknown;
}

export interface RpcCall {
  method: string;
  params?: unknown;
}

interface Waiter {
  resolve(result: unknown): void;
  reject(error: ProviderRpcError): void;
  /** Runs before `resolve`, in the same turn as the answer (before any later frame is seen). */
  onResult?: (result: unknown) => void;
}

/**
 * A JSON-RPC client over an {@link UpstreamSession}: calls resolve with the result or reject with a
 * {@link ProviderRpcError}, and subscription notifications go to the listener of their id. The
 * session answers every call exactly once, so nothing here needs a timer; `close()` rejects what
 * is still owed. The session itself belongs to the caller.
 */
export class SessionClient {
  readonly #session: UpstreamSession;
  readonly #waiters = new Map<number, Waiter>();
  readonly #listeners = new Map<string, (notification: SubscriptionNotification) => void>();
  readonly #onNotification: ((notification: SubscriptionNotification) => void) | undefined;
  readonly #onMessage = (text: string) => this.#receive(text);
  #nextId = 1;
  #closed = false;

  constructor(session: UpstreamSession, options: { onNotification?: (notification: SubscriptionNotification) => void } = {}) {
    this.#session = session;
    this.#onNotification = options.onNotification;
    session.on('message', this.#onMessage);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Calls owed an answer right now. */
  get pending(): number {
    return this.#waiters.size;
  }

  request(method: string, params?: unknown): Promise<unknown> {
    return this.batch([{ method, params }])[0]!;
  }

  /** Sends the calls as one JSON-RPC batch; one promise per call, in order. */
  batch(calls: readonly RpcCall[], onResult?: (index: number, result: unknown) => void): Promise<unknown>[] {
    const promises: Promise<unknown>[] = [];
    const frames: object[] = [];
    const ids: number[] = [];
    for (const [index, { method, params }] of calls.entries()) {
      const id = this.#nextId++;
      ids.push(id);
      frames.push(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
      promises.push(
        new Promise((resolve, reject) => {
          if (this.#closed) return reject(closedError());
          this.#waiters.set(id, { resolve, reject, onResult: onResult && ((result) => onResult(index, result)) });
        }),
      );
    }
    if (this.#closed || frames.length === 0) return promises;
    try {
      this.#session.send(JSON.stringify(frames.length === 1 ? frames[0] : frames));
    } catch (error) {
      const failure = isSteadyRpcError(error, 'ERR_CLOSED') ? closedError() : new ProviderRpcError(-32603, describeError(error));
      for (const id of ids) this.#settle(id, (waiter) => waiter.reject(failure));
    }
    return promises;
  }

  /**
   * Subscribes; `onData` hears every notification for the returned id, from the first one on
   * (it is registered in the same turn as the answer).
   */
  subscribe(params: unknown, onData: (notification: SubscriptionNotification) => void): Promise<string> {
    const [promise] = this.batch([{ method: 'eth_subscribe', params }], (_, result) => {
      if (typeof result === 'string') this.#listeners.set(result, onData);
    });
    return promise!.then((id) => {
      if (typeof id !== 'string') throw new ProviderRpcError(-32603, `eth_subscribe answered ${JSON.stringify(id)} instead of a subscription id`);
      return id;
    });
  }

  /** Stops delivery at once, then tells the node. Resolves with its answer (`false` for an unknown id). */
  unsubscribe(id: string): Promise<unknown> {
    this.#listeners.delete(id);
    return this.request('eth_unsubscribe', [id]);
  }

  /** Rejects every call still owed with 4900 and stops listening to the session. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#session.off('message', this.#onMessage);
    const error = closedError();
    for (const id of [...this.#waiters.keys()]) this.#settle(id, (waiter) => waiter.reject(error));
    this.#listeners.clear();
  }

  #receive(text: string): void {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // the session only emits JSON; nothing to answer here
    }
    for (const item of Array.isArray(frame) ? frame : [frame]) this.#item(item);
  }

  #item(item: unknown): void {
    if (typeof item !== 'object' || item === null) return;
    const message = item as { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: JsonRpcErrorObject };
    if (message.method === 'eth_subscription') {
      const notification = message.params as SubscriptionNotification | undefined;
      if (typeof notification?.subscription !== 'string') return;
      const listener = this.#listeners.get(notification.subscription);
      if (listener) callListener(listener, notification);
      if (this.#onNotification) callListener(this.#onNotification, notification);
      return;
    }
    if (typeof message.id !== 'number') return;
    this.#settle(message.id, (waiter) => {
      if (message.error !== undefined) {
        const { code, message: text, data } = message.error;
        waiter.reject(new ProviderRpcError(typeof code === 'number' ? code : -32603, String(text), data));
      } else {
        waiter.onResult?.(message.result);
        waiter.resolve(message.result);
      }
    });
  }

  #settle(id: number, fn: (waiter: Waiter) => void): void {
    const waiter = this.#waiters.get(id);
    if (!waiter) return;
    this.#waiters.delete(id);
    fn(waiter);
  }
}

function closedError(): ProviderRpcError {
  return new ProviderRpcError(ProviderErrorCode.DISCONNECTED, 'Provider closed');
}

