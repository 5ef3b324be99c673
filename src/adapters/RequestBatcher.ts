import type { Clock, TimerHandle } from '../Clock.js';
import { SteadyRpcError } from '../errors.js';
import type { RpcCall, SessionClient } from './SessionClient.js';
import { closedError } from './SessionClient.js';

export interface RequestBatcherOptions {
  /**
   * Most calls gathered into one JSON-RPC batch; a full batch is sent at once. A batch is sent in
   * as many frames as the session's `maxBatchSize` (1,000) and `maxFrameBytes` (5 MiB) need.
   * @default 1_000
   */
  batchSize?: number;
  /** How long the first call of a batch waits for others, in ms. @default 0 (the next timer turn) */
  wait?: number;
}

interface Queued {
  call: RpcCall;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/** Gathers the calls made within `wait` ms into one JSON-RPC batch frame. */
export class RequestBatcher {
  readonly #client: SessionClient;
  readonly #clock: Clock;
  readonly #batchSize: number;
  readonly #wait: number;
  #queue: Queued[] = [];
  #timer: TimerHandle | undefined;

  constructor(client: SessionClient, clock: Clock, options: RequestBatcherOptions = {}) {
    const { batchSize = 1_000, wait = 0 } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected batch.batchSize to be an integer >= 1, got ${String(batchSize)}`);
    }
    if (typeof wait !== 'number' || !Number.isFinite(wait) || wait < 0) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected batch.wait to be a finite number >= 0, got ${String(wait)}`);
    }
    this.#client = client;
    this.#clock = clock;
    this.#batchSize = batchSize;
    this.#wait = wait;
  }

  /** Queues the call for the next batch; rejects at once (4900), with no timer, once the client is closed. */
  schedule(call: RpcCall): Promise<unknown> {
    if (this.#client.closed) return Promise.reject(closedError());
    return new Promise((resolve, reject) => {
      this.#queue.push({ call, resolve, reject });
      if (this.#queue.length >= this.#batchSize) this.flush();
      else this.#timer ??= this.#clock.setTimeout(() => this.flush(), this.#wait);
    });
  }

  /** Sends what is queued now. */
  flush(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const queued = this.#queue;
    this.#queue = [];
    const promises = this.#client.batch(queued.map((q) => q.call));
    queued.forEach((q, index) => promises[index]!.then(q.resolve, q.reject));
  }

  /** Clears the timer; what is still queued is sent now (and rejected if the client is closed). */
  close(): void {
    this.flush();
  }
}
