import { SteadyRpcError, describeError } from '../errors.js';
import { parseQuantity } from '../health/probes.js';
import { hashDigest } from '../consistency/quantity.js';
import type { Identified } from './resultFields.js';
import { FRAME, TEXT, head, identify, readHead } from './resultFields.js';
import { Continuity, continuityKind, isRetraction } from './Continuity.js';

export interface ContinuitySettings {
  /** Suppress duplicate heads and backfill missed ones after a switch. @default true */
  newHeads: boolean;
  /** Suppress duplicate logs and fetch missed ones with `eth_getLogs` after a switch. @default true */
  logs: boolean;
  /** Longest gap backfilled, in blocks; a longer one is skipped and reported. @default 128 */
  maxBackfillBlocks: number;
  /** Recent hashes (or logs) remembered per subscription to drop duplicates. @default 256 */
  dedupeWindow: number;
  /**
   * Blocks of delivered heads and logs kept per subscription to check a new node's chain after a
   * switch and announce a fork as a reorg; a fork deeper than this is reported as `deep`.
   * @default 64
   */
  reorgDepth: number;
  /**
   * Bytes of delivered logs kept per `logs` subscription to re-send them with `removed: true` on a
   * fork; a fork reaching logs pushed out by this bound is reported as `deep`.
   * @default 2 MiB
   */
  maxRetainedBytes: number;
}

export const CONTINUITY_DEFAULTS: Readonly<ContinuitySettings> = Object.freeze({
  newHeads: true,
  logs: true,
  maxBackfillBlocks: 128,
  dedupeWindow: 256,
  reorgDepth: 64,
  maxRetainedBytes: 2 * 1024 * 1024,
});

/**
 * After a switch, the new node's chain left what the session had delivered: the delivered heads
 * and logs above `ancestor` are on a branch the new node does not have.
 */
export interface ReorgEvent {
  /** The highest block both chains share, as far as the kept history tells. */
  ancestor: number;
  /** Delivered blocks above the ancestor (the highest delivered block minus the ancestor). */
  depth: number;
  /** The fork reaches below what was kept (`reorgDepth`, `maxRetainedBytes`): not all of it could be retracted. */
  deep: boolean;
}

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

/**
 * Hands a notification's result on: as the node wrote it (`resultText`) when that is at hand, and
 * as the node's whole frame (`frameText`) when that reads exactly as the client's notification.
 */
export type Deliver = (subscription: string, result: unknown, resultText?: string, frameText?: string) => void;

interface Tracked {
  readonly continuity: Continuity;
  readonly params: readonly unknown[];
  epoch: number;
}

const hex = (n: number) => `0x${n.toString(16)}`;

function backfillError(cause: unknown): SteadyRpcError {
  return cause instanceof SteadyRpcError ? cause : new SteadyRpcError('ERR_BAD_RESPONSE', `Backfill failed: ${describeError(cause)}`, { cause });
}

/**
 * Gives every `newHeads` and `logs` subscription of a session a {@link Continuity}: notifications
 * pass through it, and after each switch it backfills what the client missed from the new node.
 */
export class ContinuityKeeper {
  readonly #settings: ContinuitySettings;
  readonly #deliver: Deliver;
  readonly #report: (event: BackfillEvent) => void;
  readonly #onReorg: (event: ReorgEvent) => void;
  readonly #onBlock: (block: number) => void;
  readonly #tracked = new Map<string, Tracked>();
  #epoch = 0;
  #backfilled = 0;
  #retracted = 0;
  #duplicatesOfForgotten = 0;

  /** `deliver` gets the result, and its text as the node wrote it when that is at hand. */
  constructor(
    settings: ContinuitySettings,
    deliver: Deliver,
    report: (event: BackfillEvent) => void,
    onReorg: (event: ReorgEvent) => void = () => {},
    onBlock: (block: number) => void = () => {},
  ) {
    this.#settings = settings;
    this.#deliver = deliver;
    this.#report = report;
    this.#onReorg = onReorg;
    this.#onBlock = onBlock;
  }

  /** Bytes of delivered logs kept for retraction, over every subscription. */
  get retainedBytes(): number {
    let total = 0;
    for (const { continuity } of this.#tracked.values()) total += continuity.retainedBytes;
    return total;
  }

  /** Duplicates suppressed so far, over every subscription the session had. */
  get duplicates(): number {
    let total = this.#duplicatesOfForgotten;
    for (const { continuity } of this.#tracked.values()) total += continuity.duplicates;
    return total;
  }

  /** Logs re-sent with `removed: true` because a switch left their block's branch. */
  get retracted(): number {
    return this.#retracted;
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
    const continuity = new Continuity(kind, this.#settings, this.#onBlock, (block) => this.#nodeReorged(block));
    this.#tracked.set(subscription, { continuity, params, epoch: this.#epoch });
    if (kind === 'logs' && call) {
      call('eth_blockNumber', []).then(
        (head) => continuity.noteSince(parseQuantity(head, 'eth_blockNumber')),
        () => {}, // without it, the first log delivered sets the mark
      );
    }
  }

  /**
   * A `newHeads` subscription got a head at a height it had another for: the node in use reorged.
   * The `logs` subscriptions' logs from that height up are off its chain: retracted now (a node that
   * announces it with `removed` logs too is not repeated; anvil does not announce it).
   */
  #nodeReorged(block: number): void {
    for (const [subscription, { continuity }] of this.#tracked) {
      if (continuity.kind !== 'logs') continue;
      for (const retraction of continuity.retractFrom(block)) this.#emit(subscription, retraction);
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
    if (tracked.continuity.offer(result)) this.#emitAfterRetractions(subscription, tracked.continuity, result);
  }

  /** Delivers a live result, after the retractions it showed to be due. */
  #emitAfterRetractions(subscription: string, continuity: Continuity, result: unknown): void {
    for (const retraction of continuity.takeRetractions()) this.#emit(subscription, retraction);
    this.#emit(subscription, result);
  }

  /** Delivers a result, as the node's own text when it was identified from it (see {@link identify}). */
  #emit(subscription: string, item: unknown): void {
    if (isRetraction(item)) {
      this.#retracted += 1;
      return this.#deliver(subscription, undefined, item.text);
    }
    if (typeof item !== 'object' || item === null || !(TEXT in item)) return this.#deliver(subscription, item);
    const identified = item as Identified;
    this.#deliver(subscription, item, identified[TEXT], identified[FRAME]);
  }

  /**
   * A live notification whose result is still text, as the node wrote it: the frame `text`, from
   * `resultStart` to the end but for `tail` characters. `asIs`: the frame reads exactly as the
   * client's notification. Untracked subscriptions pass it on without parsing; tracked ones read
   * the fields continuity needs (from the text when they are where nodes write them, else by
   * parsing it) but still pass the original text on. Returns false when the text is not JSON (the
   * caller treats the frame as garbage).
   */
  acceptText(subscription: string, text: string, resultStart: number, tail: number, asIs: boolean): boolean {
    const tracked = this.#tracked.get(subscription);
    const frame = asIs ? text : undefined;
    if (!tracked) {
      this.#deliver(subscription, undefined, text.slice(resultStart, text.length - tail), frame);
      return true;
    }
    const { continuity } = tracked;
    if (continuity.kind === 'newHeads' && !continuity.backfilling && readHead(text, resultStart)) {
      // The hot path: the head is checked by number and hash digest; only its text goes on.
      if (continuity.offerHead(head.number, head.hi, head.lo)) this.#deliver(subscription, undefined, frame === undefined ? text.slice(resultStart, text.length - tail) : undefined, frame);
      return true;
    }
    let result: unknown = identify(continuity.kind, text, resultStart, tail, frame);
    if (result === undefined) {
      try {
        result = JSON.parse(text.slice(resultStart, text.length - tail));
      } catch {
        return false;
      }
    }
    if (continuity.offer(result)) this.#emitAfterRetractions(subscription, continuity, result);
    return true;
  }

  /**
   * The session moved to another upstream: checks the new node's chain against what was delivered,
   * then backfills every kept subscription through `call` (from the common ancestor, after
   * retracting what lies above it, when the chains differ).
   */
  afterSwitch(call: OwnCall): void {
    const epoch = ++this.#epoch;
    if (this.#tracked.size === 0) return;
    const held = [...this.#tracked];
    for (const [, tracked] of held) {
      tracked.epoch = epoch;
      tracked.continuity.hold();
    }
    // One read of the new node's head (and one walk back, on a fork) serves every subscription.
    this.#locate(call).then(
      ({ head, fork }) => {
        if (fork && this.#epoch === epoch) this.#onReorg(fork);
        for (const [subscription, tracked] of held) this.#backfill(subscription, tracked, epoch, call, head, fork);
      },
      (cause: unknown) => {
        for (const [subscription, tracked] of held) this.#finish(subscription, tracked, epoch, [], { error: backfillError(cause) });
      },
    );
  }

  /**
   * The new node's head, and where its chain leaves the delivered one: the highest delivered
   * block (by number, at or below its head) whose hash the node has too. Blocks above its head
   * cannot be compared: a node behind on the same chain is not a fork.
   */
  async #locate(call: OwnCall): Promise<{ head: number; fork?: ReorgEvent }> {
    const head = parseQuantity(await call('eth_blockNumber', []), 'eth_blockNumber');
    const delivered = new Map<number, readonly [number, number]>();
    for (const { continuity } of this.#tracked.values()) continuity.anchors(delivered);
    const numbers = [...delivered.keys()].filter((n) => n <= head).sort((x, y) => y - x);
    if (numbers.length === 0) return { head };
    const sameAt = async (n: number) => {
      const block = (await call('eth_getBlockByNumber', [hex(n), false])) as { hash?: unknown } | null;
      const digest = hashDigest(block?.hash);
      const mine = delivered.get(n)!;
      return digest !== undefined && digest[0] === mine[0] && digest[1] === mine[1];
    };
    if (await sameAt(numbers[0]!)) return { head };
    // A fork: every delivered height below is compared at once (they are few: `reorgDepth` at most).
    const below = numbers.slice(1);
    const same = await Promise.all(below.map(sameAt));
    const at = same.indexOf(true);
    const highest = Math.max(...delivered.keys());
    // No height in common: the fork is below everything kept. When that is everything the client
    // was given (a young subscription), the fork is below what it has ever seen, and the new branch
    // from there is all it needs; otherwise it is deeper than the kept history.
    const ancestor = at < 0 ? numbers[numbers.length - 1]! - 1 : below[at]!;
    const tracked = [...this.#tracked.values()];
    const whole = at < 0 ? tracked.every(({ continuity }) => continuity.keptAll()) : tracked.every(({ continuity }) => continuity.wholeAbove(ancestor));
    return { head, fork: { ancestor, depth: highest - ancestor, deep: !whole } };
  }

  clear(): void {
    this.#tracked.clear();
  }

  /** What one subscription missed up to the new node's `head`: nothing to fetch is settled at once. */
  #backfill(subscription: string, tracked: Tracked, epoch: number, call: OwnCall, head: number, fork: ReorgEvent | undefined): void {
    // A deep fork: the ancestor is not known, only that everything kept differs. Logs kept are
    // retracted (and the new branch's fetched over their range); heads are not re-emitted from a
    // guess: the stream goes on from the new node, and the `reorg` event says it is deep.
    const ancestor = fork?.deep && tracked.continuity.kind === 'newHeads' ? undefined : fork?.ancestor;
    const plan = tracked.continuity.plan(head, ancestor);
    if (plan.kind === 'none') return this.#finish(subscription, tracked, epoch, [], { ancestor });
    const { from, to } = plan;
    if (plan.kind === 'skip') return this.#finish(subscription, tracked, epoch, [], { from, to, skipped: true, ancestor });
    const fetching =
      plan.kind === 'blocks'
        ? Promise.all(Array.from({ length: to - from + 1 }, (_, i) => call('eth_getBlockByNumber', [hex(from + i), false]))).then((blocks) =>
            blocks.filter((block) => block !== null && typeof block === 'object'),
          )
        : call('eth_getLogs', [{ ...(typeof tracked.params[1] === 'object' && tracked.params[1] !== null ? tracked.params[1] : {}), fromBlock: hex(from), toBlock: hex(to) }]).then((logs) =>
            Array.isArray(logs) ? logs : [],
          );
    fetching.then(
      (fetched) => this.#finish(subscription, tracked, epoch, fetched, { from, to, ancestor }),
      (cause: unknown) => this.#finish(subscription, tracked, epoch, [], { from, to, ancestor, error: backfillError(cause) }),
    );
  }

  /** Delivers what was fetched, then what was held, each once; and says what happened. */
  #finish(subscription: string, tracked: Tracked, epoch: number, fetched: readonly unknown[], outcome: { from?: number; to?: number; skipped?: boolean; ancestor?: number; error?: SteadyRpcError }): void {
    // A newer switch (or an unsubscribe) took over: its own backfill releases what is held.
    if (this.#tracked.get(subscription) !== tracked || tracked.epoch !== epoch) return;
    // On a fork, the retractions go first (as a node announces a reorg), then the new branch.
    const { retracted, backfilled, live } = tracked.continuity.finish(fetched, outcome.ancestor);
    const fetchedCount = backfilled.filter((item) => !isRetraction(item)).length;
    this.#backfilled += fetchedCount;
    for (const item of [...retracted, ...backfilled, ...live]) this.#emit(subscription, item);
    const { from, to, skipped = false, error } = outcome;
    if (from !== undefined || error) this.#report({ subscription, from, to, delivered: fetchedCount, skipped, ...(error ? { error } : {}) });
  }
}
