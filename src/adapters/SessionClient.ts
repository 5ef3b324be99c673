import { describeError, isSteadyRpcError } from '../errors.js';
import type { JsonRpcErrorObject } from '../jsonrpc.js';
import type { UpstreamSession } from '../session/UpstreamSession.js';
import { utf8ByteLength } from '../utf8Length.js';
import { callListener } from './callListener.js';
import type { FrameLimits } from './frameLimits.js';
import { frameLimits, frameTooLarge, isFrameRefusal } from './frameLimits.js';
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

export interface SessionClientOptions {
  /** Hears every subscription notification, after the listener of its id. */
  onNotification?: (notification: SubscriptionNotification) => void;
  /** The session's frame limits. @default the session defaults (5 MiB, 1,000 calls) */
  limits?: FrameLimits;
}

/** One call written out, waiting for a frame. */
interface Outgoing {
  id: number;
  text: string;
  bytes: number;
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
 * session answers every call of a frame it reads exactly once, by id, so nothing here needs a
 * timer; `close()` rejects what is still owed. A frame it cannot read at all (over `maxFrameBytes`,
 * a batch over `maxBatchSize`) gets one answer with no id instead, so none is ever built here: a
 * batch is split into frames within both limits, and a call too large for a frame of its own is
 * rejected at once with `FRAME_TOO_LARGE` (-32054). Should such an answer come all the same, while
 * a frame is handed to the session (which answers it then), every call of that frame is rejected
 * with it. The session itself belongs to the caller.
 */
export class SessionClient {
  readonly #session: UpstreamSession;
  readonly #waiters = new Map<number, Waiter>();
  readonly #listeners = new Map<string, (notification: SubscriptionNotification) => void>();
  readonly #onNotification: ((notification: SubscriptionNotification) => void) | undefined;
  readonly #onMessage = (text: string) => this.#receive(text);
  readonly #limits: FrameLimits;
  /** The ids of the frame being handed to the session, while it is. */
  #sending: readonly Outgoing[] | undefined;
  #nextId = 1;
  #closed = false;

  constructor(session: UpstreamSession, options: SessionClientOptions = {}) {
    this.#session = session;
    this.#onNotification = options.onNotification;
    this.#limits = options.limits ?? frameLimits();
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

  /**
   * Sends the calls as one JSON-RPC batch (as few frames as the session's limits allow, in order);
   * one promise per call, in order.
   */
  batch(calls: readonly RpcCall[], onResult?: (index: number, result: unknown) => void): Promise<unknown>[] {
    const promises: Promise<unknown>[] = [];
    const outgoing: Outgoing[] = [];
    const { maxFrameBytes } = this.#limits;
    for (const [index, { method, params }] of calls.entries()) {
      const id = this.#nextId++;
      promises.push(
        new Promise((resolve, reject) => {
          if (this.#closed) return reject(closedError());
          this.#waiters.set(id, { resolve, reject, onResult: onResult && ((result) => onResult(index, result)) });
        }),
      );
      if (this.#closed) continue;
      let text: string;
      try {
        text = JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
      } catch (error) {
        this.#settle(id, (waiter) => waiter.reject(new ProviderRpcError(-32603, describeError(error))));
        continue;
      }
      const bytes = utf8ByteLength(text);
      if (bytes > maxFrameBytes) {
        const { code, message, data } = frameTooLarge(method, bytes, maxFrameBytes);
        this.#settle(id, (waiter) => waiter.reject(new ProviderRpcError(code, message, data)));
        continue;
      }
      outgoing.push({ id, text, bytes });
    }
    for (const frame of this.#frames(outgoing)) this.#send(frame);
    return promises;
  }

  /** Splits the calls, in order, into frames within the session's `maxBatchSize` and `maxFrameBytes`. */
  #frames(outgoing: readonly Outgoing[]): Outgoing[][] {
    const { maxFrameBytes, maxBatchSize } = this.#limits;
    const frames: Outgoing[][] = [];
    let frame: Outgoing[] = [];
    let bytes = 0; // of `frame` written as a batch: `[`, the calls, a comma between each, `]`
    for (const call of outgoing) {
      if (frame.length > 0 && (frame.length >= maxBatchSize || bytes + 1 + call.bytes > maxFrameBytes)) {
        frames.push(frame);
        frame = [];
      }
      bytes = frame.length === 0 ? call.bytes + 2 : bytes + 1 + call.bytes;
      frame.push(call);
    }
    if (frame.length > 0) frames.push(frame);
    return frames;
  }

  /** Hands one frame to the session (a lone call as a plain request, else a batch). */
  #send(frame: readonly Outgoing[]): void {
    if (this.#closed) return; // closed by a listener meanwhile: close() rejected the rest
    const text = frame.length === 1 ? frame[0]!.text : `[${frame.map((call) => call.text).join(',')}]`;
    const outer = this.#sending; // a frame sent from a listener called while another was sent
    this.#sending = frame;
    try {
      this.#session.send(text);
    } catch (error) {
      const failure = isSteadyRpcError(error, 'ERR_CLOSED') ? closedError() : new ProviderRpcError(-32603, describeError(error));
      for (const { id } of frame) this.#settle(id, (waiter) => waiter.reject(failure));
    } finally {
      this.#sending = outer;
    }
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
    if (this.#sending !== undefined && isFrameRefusal(frame)) {
      // The session refused the frame being handed to it as a whole: that is every call's answer.
      const { code, message, data } = frame.error;
      const error = new ProviderRpcError(typeof code === 'number' ? code : -32603, String(message), data);
      for (const { id } of this.#sending) this.#settle(id, (waiter) => waiter.reject(error));
      return;
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

/** What a call gets once the client is closed: 4900, "Provider closed". */
export function closedError(): ProviderRpcError {
  return new ProviderRpcError(ProviderErrorCode.DISCONNECTED, 'Provider closed');
}

