import { createTransport, RpcRequestError } from 'viem';
import type { Transport, TransportConfig } from 'viem';
import type { NodePool } from '../pool/NodePool.js';
import { SESSION_DEFAULTS } from '../session/SessionOptions.js';
import type { UpstreamSession } from '../session/UpstreamSession.js';
import type { ResilientOptions, Upstream } from './options.js';
import { openUpstream } from './options.js';
import { ProviderRpcError } from './ProviderRpcError.js';
import type { RequestBatcherOptions } from './RequestBatcher.js';
import { RequestBatcher } from './RequestBatcher.js';
import type { SubscriptionNotification } from './SessionClient.js';
import { closedError, SessionClient } from './SessionClient.js';
import { ADAPTER_RETRY, isRetryable, retryDelay as adapterRetryDelay } from './retryDelay.js';

export interface ResilientTransportConfig {
  /** @default 'steadyrpc' */
  key?: string;
  /** @default 'steadyrpc' */
  name?: string;
  /** Methods to include or exclude, as with viem's own transports. */
  methods?: TransportConfig['methods'];
  /**
   * Retries by viem on top of steadyrpc's own. steadyrpc already moves calls to another node
   * (re-sending in-flight calls that are safe to repeat), so viem's retries would only multiply
   * the wait. Inside viem's `fallback` this still applies: `fallback` gives each of its transports
   * `retryCount: 0`, whatever its own `retryCount`, which instead retries the whole fallback
   * (viem's default: 3 times) — give the `fallback` `retryCount: 0` too.
   * @default 0
   */
  retryCount?: number;
  /** Base delay between viem's retries, in ms. @default 150 */
  retryDelay?: number;
  /**
   * Send calls made together as one JSON-RPC batch frame (answered answer for answer), split into
   * several frames where the session's `maxBatchSize` or `maxFrameBytes` needs it.
   * @default false
   */
  batch?: boolean | RequestBatcherOptions;
}

export type ResilientTransportOptions = ResilientOptions & ResilientTransportConfig;

export interface ResilientSubscribeArgs {
  params: readonly unknown[];
  onData: (data: SubscriptionNotification) => void;
  /** Never called for a failure steadyrpc recovers from (failover, failback, replay). */
  onError?: ((error: unknown) => void) | undefined;
}

export interface ResilientUnsubscribeResponse {
  jsonrpc: '2.0';
  id: number;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** What viem spreads onto `client.transport`. */
export interface ResilientTransportValue {
  /** `eth_subscribe` over the session; the subscription id never changes, whatever node serves it. */
  subscribe(args: ResilientSubscribeArgs): Promise<{ subscriptionId: string; unsubscribe(): Promise<ResilientUnsubscribeResponse> }>;
  readonly pool: NodePool;
  readonly session: UpstreamSession;
  /** Rejects calls still owed (code 4900), closes the session and what was created for it. Idempotent. */
  close(): void;
}

/** A viem transport of type `'webSocket'`, so watch actions subscribe instead of polling. */
export type ResilientTransport = Transport<'webSocket', ResilientTransportValue>;

interface Shared {
  upstream: Upstream;
  client: SessionClient;
  batcher: RequestBatcher | undefined;
  value: ResilientTransportValue;
}

/**
 * A viem transport over one resilient session: requests, batches and `eth_subscribe` go to the
 * best node and survive failover and failback; subscription ids never change.
 *
 * The pool, health checker and session are created when the first client uses the transport and
 * are shared by every client using it; `client.transport.close()` releases them.
 */
export function resilientTransport(options: ResilientTransportOptions): ResilientTransport {
  const { key = 'steadyrpc', name = 'steadyrpc', methods, retryCount, retryDelay, batch = false, ...rest } = options;
  const resilientOptions = rest as ResilientOptions;
  const batchOptions = batch === true ? {} : batch === false ? undefined : batch;
  let shared: Shared | undefined;
  return ({ retryCount: parentRetryCount } = {}) => {
    // Once closed, it is made all the same (viem's `fallback` makes its transports for every
    // request and to rank them, outside its own error handling): its calls reject with
    // ProviderDisconnectedError (4900), which moves a fallback on to its next transport.
    shared ??= open(resilientOptions, batchOptions);
    const { client, batcher, upstream, value } = shared;
    const timeout = resilientOptions.session?.requestTimeoutMs ?? SESSION_DEFAULTS.requestTimeoutMs;
    return createTransport(
      {
        key,
        name,
        type: 'webSocket',
        methods,
        retryCount: retryCount ?? parentRetryCount ?? 0,
        retryDelay,
        timeout,
        async request({ method, params }) {
          const call = { method, params };
          try {
            // The result is whatever the node answered; viem's actions type it per method.
            return (await (batcher ? batcher.schedule(call) : client.request(method, params))) as never;
          } catch (error) {
            throw toViemError(error, call, upstream);
          }
        },
      },
      value,
    );
  };
}

function open(options: ResilientOptions, batchOptions: RequestBatcherOptions | undefined): Shared {
  const upstream = openUpstream(options);
  const client = new SessionClient(upstream.session, { limits: upstream.limits });
  let batcher: RequestBatcher | undefined;
  try {
    batcher = batchOptions && new RequestBatcher(client, upstream.clock, batchOptions);
  } catch (error) {
    client.close();
    upstream.close();
    throw error;
  }
  /**
   * Subscribes waiting to ask again (after steadyrpc's own answer that may not hold next time: no
   * node reachable, the queue full or timed out): each one's way to ask at once, on a switch (a
   * node is back) or on close (which then rejects it).
   */
  const waiting = new Set<() => void>();
  let closed = false;
  const askAgainNow = () => {
    for (const wake of [...waiting]) wake();
  };
  upstream.session.on('switch', askAgainNow);
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        upstream.clock.clearTimeout(timer);
        waiting.delete(wake);
        resolve();
      };
      const timer = upstream.clock.setTimeout(wake, ms);
      waiting.add(wake);
    });
  const value: ResilientTransportValue = {
    pool: upstream.pool,
    session: upstream.session,
    async subscribe({ params, onData }) {
      let subscriptionId: string | undefined;
      // Asked again until a node takes it, as ethers' own subscriptions are: a watcher started
      // while no node is reachable (viem gives up on a watcher whose subscribe rejects) then starts
      // once one is. A node's refusal, an oversized frame, or close() rejects it.
      for (let backoff = ADAPTER_RETRY; subscriptionId === undefined; backoff = backoff.next()) {
        try {
          subscriptionId = await client.subscribe(params, onData);
        } catch (error) {
          if (closed || !(error instanceof ProviderRpcError) || !isRetryable(error)) throw toViemError(error, { method: 'eth_subscribe', params }, upstream);
          await pause(adapterRetryDelay(backoff));
          if (closed) throw toViemError(closedError(), { method: 'eth_subscribe', params }, upstream);
        }
      }
      const id = subscriptionId;
      // viem's watchers call unsubscribe() once, without handling its promise: it never rejects,
      // and one steadyrpc refuses for now (a session limit) is asked again as a subscribe is, or
      // the subscription would stay in the session and on the node with nobody to hear it.
      const unsubscribe = async (): Promise<ResilientUnsubscribeResponse> => {
        for (let backoff = ADAPTER_RETRY; ; backoff = backoff.next()) {
          try {
            return { jsonrpc: '2.0', id: 0, result: await client.unsubscribe(id) };
          } catch (error) {
            const { code, message } = error as ProviderRpcError;
            if (closed || !isRetryable(error as ProviderRpcError)) return { jsonrpc: '2.0', id: 0, error: { code, message } };
            await pause(adapterRetryDelay(backoff));
          }
        }
      };
      return { subscriptionId: id, unsubscribe };
    },
    close() {
      closed = true;
      upstream.session.off('switch', askAgainNow);
      askAgainNow();
      client.close();
      batcher?.close();
      upstream.close();
    },
  };
  return { upstream, client, batcher, value };
}

/** viem's request layer branches on the numeric `code` of an RpcRequestError (4900: disconnected). */
function toViemError(error: unknown, body: { method: string; params?: unknown }, upstream: Upstream): unknown {
  if (!(error instanceof ProviderRpcError)) return error;
  const node = upstream.session.node;
  const url = (node === undefined ? undefined : upstream.pool.node(node).wsDisplay) ?? 'steadyrpc';
  return new RpcRequestError({ body, error: { code: error.code, message: error.message, data: error.data }, url });
}
