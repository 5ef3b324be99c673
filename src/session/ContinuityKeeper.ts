import { SteadyRpcError, describeError } from '../errors.js';
import { parseQuantity } from '../health/probes.js';
import { Continuity, continuityKind } from './Continuity.js';

export interface ContinuitySettings {
  /** Suppress duplicate heads and backfill missed ones after a switch. @default true */
  newHeads: boolean;
  /** Suppress duplicate logs and fetch missed ones with `eth_getLogs` after a switch. @default true */
  logs: boolean;
  /** Longest gap backfilled, in blocks; a longer one is skipped and reported. @default 128 */
  maxBackfillBlocks: number;
  /** Recent hashes (or logs) remembered per subscription to drop duplicates. @default 256 */
  dedupeWindow: number;
}

export const CONTINUITY_DEFAULTS: Readonly<ContinuitySettings> = Object.freeze({
  newHeads: true,
  logs: true,
  maxBackfillBlocks: 128,
  dedupeWindow: 256,
});

/** A JSON-RPC call the session makes on its own behalf on the upstream now in use. */
export type OwnCall = (method: string, params: unknown[]) => Promise<unknown>;

export interface BackfillEvent {
  subscription: string;
  /** First and last block of the gap, when the new node's head was read. */
  from: number | undefined;
  to: number | undefined;
  /** Results fetched and delivered (duplicates excluded). */
  delivered: number;
  /** The gap was longer than `maxBackfillBlocks`. */
  skipped: boolean;
  error?: SteadyRpcError;
}

interface Tracked {
  readonly continuity: Continuity;
  readonly params: readonly unknown[];
  epoch: number;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** Where a result identified from its text keeps that text (it may wait in a backfill buffer). */
const TEXT = Symbol('text');

/** The fields continuity reads, taken from a result's text, with the text itself. */
interface Identified {
  hash?: string;
  number?: string;
  blockHash?: string;
  blockNumber?: string;
  logIndex?: string;
  removed?: boolean;
  [TEXT]: string;
}

// Top-level keys of a header or a log as nodes write them; the leading quote keeps `"hash"` from
// matching `"parentHash"`. A field that is not found sends the result to JSON.parse instead.
const QUANTITY = /^0x[0-9a-fA-F]{1,64}$/;

/** The string value of `"name":"…"` in `text`, if it is a hex quantity or hash. */
function hexField(text: string, marker: string): string | undefined {
  const at = text.indexOf(marker);
  if (at < 0) return undefined;
  const start = at + marker.length;
  const end = text.indexOf('"', start);
  if (end < 0 || end - start > 66) return undefined;
  const value = text.slice(start, end);
  return QUANTITY.test(value) ? value : undefined;
}

const HASH = '"hash":"';
const NUMBER = '"number":"';
const BLOCK_HASH = '"blockHash":"';
const BLOCK_NUMBER = '"blockNumber":"';
const LOG_INDEX = '"logIndex":"';

/** Reads the fields continuity needs from a result's text; `undefined` when one is missing. */
function identify(kind: 'newHeads' | 'logs', text: string): Identified | undefined {
  if (text.charCodeAt(0) !== 123 /* { */) return undefined;
  if (kind === 'newHeads') {
    const hash = hexField(text, HASH);
    const number = hexField(text, NUMBER);
    return hash !== undefined && number !== undefined ? { hash, number, [TEXT]: text } : undefined;
  }
  const blockHash = hexField(text, BLOCK_HASH);
  const blockNumber = hexField(text, BLOCK_NUMBER);
  const logIndex = hexField(text, LOG_INDEX);
  if (blockHash === undefined || blockNumber === undefined || logIndex === undefined) return undefined;
  return { blockHash, blockNumber, logIndex, removed: text.includes('"removed":true'), [TEXT]: text };
}

/**
 * Gives every `newHeads` and `logs` subscription of a session a {@link Continuity}: notifications
 * pass through it, and after each switch it backfills what the client missed from the new node.
 */
export class ContinuityKeeper {
  readonly #settings: ContinuitySettings;
  readonly #deliver: (subscription: string, result: unknown, resultText?: string) => void;
  readonly #report: (event: BackfillEvent) => void;
  readonly #tracked = new Map<string, Tracked>();
  #epoch = 0;
  #backfilled = 0;
  #duplicatesOfForgotten = 0;

  /** `deliver` gets the result, and its text as the node wrote it when that is at hand. */
  constructor(settings: ContinuitySettings, deliver: (subscription: string, result: unknown, resultText?: string) => void, report: (event: BackfillEvent) => void) {
    this.#settings = settings;
    this.#deliver = deliver;
    this.#report = report;
  }

  /** Duplicates suppressed so far, over every subscription the session had. */
  get duplicates(): number {
    let total = this.#duplicatesOfForgotten;
    for (const { continuity } of this.#tracked.values()) total += continuity.duplicates;
    return total;
  }

  /** Blocks and logs fetched after switches and delivered. */
  get backfilled(): number {
    return this.#backfilled;
  }

  /**
   * Starts keeping a new subscription. For logs, `call` (on the socket that answered the subscribe)
   * reads the head, from which the client has seen every log.
   */
  track(subscription: string, params: readonly unknown[], call: OwnCall | undefined): void {
    const kind = continuityKind(params);
    if (kind === undefined || !this.#settings[kind]) return;
    const continuity = new Continuity(kind, this.#settings);
    this.#tracked.set(subscription, { continuity, params, epoch: this.#epoch });
    if (kind === 'logs' && call) {
      call('eth_blockNumber', []).then(
        (head) => continuity.noteSince(parseQuantity(head, 'eth_blockNumber')),
        () => {}, // without it, the first log delivered sets the mark
      );
    }
  }

  forget(subscription: string): void {
    const tracked = this.#tracked.get(subscription);
    if (tracked) this.#duplicatesOfForgotten += tracked.continuity.duplicates;
    this.#tracked.delete(subscription);
  }

  /** A live notification for `subscription`: delivered now, held during a backfill, or dropped as a duplicate. */
  accept(subscription: string, result: unknown): void {
    const tracked = this.#tracked.get(subscription);
    if (!tracked) return this.#deliver(subscription, result);
    for (const item of tracked.continuity.accept(result)) this.#emit(subscription, item);
  }

  /** Delivers a result, as the node's own text when it was identified from it (see {@link identify}). */
  #emit(subscription: string, item: unknown): void {
    const text = typeof item === 'object' && item !== null ? (item as Partial<Identified>)[TEXT] : undefined;
    this.#deliver(subscription, item, text);
  }

  /**
   * A live notification whose result is still text, as the node wrote it. Untracked subscriptions
   * pass it on without parsing; tracked ones parse it (continuity needs the hash and number) but
   * still pass the original text on. Returns false when the text is not JSON (the caller treats the
   * frame as garbage).
   */
  acceptText(subscription: string, resultText: string): boolean {
    const tracked = this.#tracked.get(subscription);
    if (!tracked) {
      this.#deliver(subscription, undefined, resultText);
      return true;
    }
    // Continuity needs only a few top-level fields: read them from the text when they are there.
    let result: unknown = identify(tracked.continuity.kind, resultText);
    if (result === undefined) {
      try {
        result = JSON.parse(resultText);
      } catch {
        return false;
      }
    }
    for (const item of tracked.continuity.accept(result)) this.#emit(subscription, item);
    return true;
  }

  /** The session moved to another upstream: backfill every kept subscription through `call`. */
  afterSwitch(call: OwnCall): void {
    const epoch = ++this.#epoch;
    for (const [subscription, tracked] of this.#tracked) {
      tracked.epoch = epoch;
      tracked.continuity.hold();
      void this.#backfill(subscription, tracked, epoch, call);
    }
  }

  clear(): void {
    this.#tracked.clear();
  }

  async #backfill(subscription: string, tracked: Tracked, epoch: number, call: OwnCall): Promise<void> {
    const { continuity } = tracked;
    let fetched: unknown[] = [];
    let from: number | undefined;
    let to: number | undefined;
    let skipped = false;
    let error: SteadyRpcError | undefined;
    try {
      const plan = continuity.plan(parseQuantity(await call('eth_blockNumber', []), 'eth_blockNumber'));
      if (plan.kind !== 'none') ({ from, to } = plan);
      if (plan.kind === 'skip') skipped = true;
      if (plan.kind === 'blocks') {
        const numbers = Array.from({ length: plan.to - plan.from + 1 }, (_, i) => plan.from + i);
        const blocks = await Promise.all(numbers.map((n) => call('eth_getBlockByNumber', [hex(n), false])));
        fetched = blocks.filter((block) => block !== null && typeof block === 'object');
      } else if (plan.kind === 'logs') {
        const filter = typeof tracked.params[1] === 'object' && tracked.params[1] !== null ? tracked.params[1] : {};
        const logs = await call('eth_getLogs', [{ ...filter, fromBlock: hex(plan.from), toBlock: hex(plan.to) }]);
        fetched = Array.isArray(logs) ? logs : [];
      }
    } catch (cause) {
      error = cause instanceof SteadyRpcError ? cause : new SteadyRpcError('ERR_BAD_RESPONSE', `Backfill failed: ${describeError(cause)}`, { cause });
      fetched = [];
    }
    // A newer switch (or an unsubscribe) took over: its own backfill releases what is held.
    if (this.#tracked.get(subscription) !== tracked || tracked.epoch !== epoch) return;
    const { backfilled, live } = continuity.finish(fetched);
    this.#backfilled += backfilled.length;
    for (const item of backfilled) this.#emit(subscription, item);
    for (const item of live) this.#emit(subscription, item);
    if (from !== undefined || error) this.#report({ subscription, from, to, delivered: backfilled.length, skipped, ...(error ? { error } : {}) });
  }
}
