/**
 * The client end every in-process case shares: JSON-RPC frames built from a template, answers
 * matched by id with one JSON.parse, notifications counted. Raw ws, the session and the proxy hop
 * all go through this, so their ratios compare what lies between it and the upstream.
 */
export interface Notification {
  subscription: string;
  result: unknown;
}

export class RpcPeer {
  readonly #send: (text: string) => void;
  readonly #waiters = new Map<number | string, { resolve(result: unknown): void; reject(error: Error): void }>();
  readonly #idPrefix: string | undefined;
  #nextId = 1;
  /** Called for every `eth_subscription` frame. */
  onNotification: ((notification: Notification) => void) | undefined;

  /** With `idPrefix`, ids are strings (`"<prefix><n>"`), to share a connection with another client. */
  constructor(send: (text: string) => void, idPrefix?: string) {
    this.#send = send;
    this.#idPrefix = idPrefix;
  }

  /** Whether an answer's id is one of this peer's (for routing frames between two clients). */
  owns(id: unknown): boolean {
    return this.#waiters.has(id as number | string);
  }

  /** Calls `method`; `params` is already JSON. Rejects with the node's error. */
  call(method: string, params = '[]'): Promise<unknown> {
    const n = this.#nextId++;
    const id = this.#idPrefix === undefined ? n : `${this.#idPrefix}${n}`;
    return new Promise((resolve, reject) => {
      this.#waiters.set(id, { resolve, reject });
      try {
        this.#send(`{"jsonrpc":"2.0","id":${this.#idPrefix === undefined ? id : `"${id}"`},"method":"${method}","params":${params}}`);
      } catch (error) {
        this.#waiters.delete(id);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** Feeds one received text frame. */
  receive(text: string): void {
    const frame = JSON.parse(text) as unknown;
    if (Array.isArray(frame)) for (const item of frame) this.#item(item);
    else this.#item(frame);
  }

  /** Rejects every call still owed. */
  failAll(error: Error): void {
    for (const waiter of this.#waiters.values()) waiter.reject(error);
    this.#waiters.clear();
  }

  get pending(): number {
    return this.#waiters.size;
  }

  #item(item: unknown): void {
    const message = item as { id?: unknown; method?: unknown; params?: Notification; result?: unknown; error?: { message: string } };
    if (message.method === 'eth_subscription') return this.onNotification?.(message.params!);
    const waiter = this.#waiters.get(message.id as number | string);
    if (!waiter) return;
    this.#waiters.delete(message.id as number | string);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result);
  }
}
