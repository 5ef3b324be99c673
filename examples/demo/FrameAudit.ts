/**
 * The demo's own check of what a client receives, independent of steadyrpc: every answer must match
 * a request the client sent and is still owed (else it is *leaked*, e.g. a replayed `eth_subscribe`
 * answer), every notification must belong to a subscription the client holds, and a `newHeads`
 * subscription must never deliver the same block hash twice.
 */
interface Sent {
  method: string;
  params: readonly unknown[];
}

interface Frame {
  id?: unknown;
  method?: unknown;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

export class FrameAudit {
  /** Answers the client did not ask for (or got twice). */
  leaked = 0;
  /**
   * The same `newHeads` block (same hash) delivered twice on one subscription with no reorg in
   * between (a reorg back to a branch re-emits its heads, as one node would).
   */
  duplicateHeads = 0;
  /** Up to 3 leaked frames, to show. */
  readonly leakedExamples: string[] = [];
  readonly #owed = new Map<string, Sent>();
  /** Subscription id → the hash delivered at each height (`undefined` for kinds other than newHeads). */
  readonly #subscriptions = new Map<string, Map<number, string> | undefined>();

  /** Requests sent and not answered yet. */
  get owed(): number {
    return this.#owed.size;
  }

  /** A frame the client sent (a request or a batch). */
  outgoing(text: string): void {
    for (const item of items(text)) {
      if (item.id === undefined || item.id === null || typeof item.method !== 'string') continue;
      this.#owed.set(JSON.stringify(item.id), { method: item.method, params: Array.isArray(item.params) ? item.params : [] });
    }
  }

  /** A frame the client received. */
  incoming(text: string): void {
    for (const item of items(text)) {
      if (item.method === 'eth_subscription') this.#notification(item, text);
      else if (item.id !== undefined) this.#answer(item, text);
    }
  }

  #answer(item: Frame, text: string): void {
    const key = JSON.stringify(item.id);
    const sent = this.#owed.get(key);
    if (!sent) return this.#leak(text);
    this.#owed.delete(key);
    if (sent.method === 'eth_subscribe' && typeof item.result === 'string') {
      this.#subscriptions.set(item.result, sent.params[0] === 'newHeads' ? new Map() : undefined);
    }
    if (sent.method === 'eth_unsubscribe' && item.result === true) this.#subscriptions.delete(String(sent.params[0]));
  }

  #notification(item: Frame, text: string): void {
    const params = item.params as { subscription?: unknown; result?: { hash?: unknown; number?: unknown } } | undefined;
    const subscription = String(params?.subscription);
    if (!this.#subscriptions.has(subscription)) return this.#leak(text);
    const heads = this.#subscriptions.get(subscription);
    const hash = params?.result?.hash;
    const number = Number(params?.result?.number);
    if (!heads || typeof hash !== 'string' || !Number.isSafeInteger(number)) return;
    if (heads.get(number) === hash) this.duplicateHeads += 1;
    // A head at or below others is a reorg: those above it are off the chain (and may come back).
    for (const height of heads.keys()) if (height > number) heads.delete(height);
    heads.set(number, hash);
  }

  #leak(text: string): void {
    this.leaked += 1;
    if (this.leakedExamples.length < 3) this.leakedExamples.push(text.slice(0, 200));
  }
}

function items(text: string): Frame[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [];
  }
  return (Array.isArray(parsed) ? parsed : [parsed]).filter((x): x is Frame => typeof x === 'object' && x !== null);
}
