import { SteadyRpcError, describeError } from '../errors.js';
import { quantity } from '../consistency/quantity.js';
import type { Clock, TimerHandle } from '../Clock.js';
import { BlockNotServed, deepestFork, locateForks, servedBlock } from './ChainCheck.js';
import type { Identified } from './resultFields.js';
import { FRAME, TEXT, head, identify, readHead } from './resultFields.js';
import type { BackfillEvent, ContinuitySettings, Deliver, OwnCall, ReorgEvent } from './ContinuitySettings.js';
import { Continuity, HEAD_DELIVERED, HEAD_UNLINKED, continuityKind, isRetraction } from './Continuity.js';

export type { BackfillEvent, ContinuitySettings, Deliver, OwnCall, ReorgEvent } from './ContinuitySettings.js';
export { CONTINUITY_DEFAULTS } from './ContinuitySettings.js';

interface Tracked {
  readonly continuity: Continuity;
  readonly params: readonly unknown[];
  epoch: number;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** Attempts at the check after a switch before what is held goes out unchecked. */
const CHECK_ATTEMPTS = 3;

/**
 * How a check waits for a node that answers `null` for a block at or below the head it answered
 * (a load-balanced endpoint whose read backend lags): it looks again every `pollMs`, for up to
 * `waitMs`; then that counts as a failed attempt. Without it, at once as a failed attempt.
 */
export interface BlockWait {
  readonly clock: Clock;
  readonly pollMs: number;
  readonly waitMs: number;
}

/** One attempt at the check after a switch: its own calls, its number, and the epoch it holds for. */
interface CheckRun {
  readonly call: OwnCall;
  readonly attempt: number;
  readonly epoch: number;
  /** How long this check has waited for the node to serve blocks below its head, in ms. */
  readonly waited: number;
  /** Whether it checks the chain of a node switched to (else: the node in use reorged under the session). */
  readonly afterSwitch: boolean;
  /** The node's head, once read. */
  head?: number;
  /** The fork it found, announced (once) when the first subscription delivers it. */
  fork?: ReorgEvent;
  reported?: boolean;
}

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
  readonly #onReorg: (event: ReorgEvent, afterSwitch: boolean) => void;
  readonly #onBlock: (block: number) => void;
  readonly #tracked = new Map<string, Tracked>();
  readonly #blockWait: BlockWait | undefined;
  /** The next look of a check that waits for the node to serve a block (see {@link BlockWait}). */
  #lookAgain: TimerHandle | undefined;
  /** Own calls on the upstream in use, for checks its heads call for. */
  #current: OwnCall | undefined;
  #epoch = 0;
  /** A switch whose check has not finished yet: a fork found meanwhile is the switch's. */
  #switchUnchecked = false;
  #backfilled = 0;
  #retracted = 0;
  #duplicatesOfForgotten = 0;
  /** `logs` subscriptions kept: heads are shown to them only when there is one. */
  #logsTracked = 0;

  /** `deliver` gets the result, and its text as the node wrote it when that is at hand. */
  constructor(
    settings: ContinuitySettings,
    deliver: Deliver,
    report: (event: BackfillEvent) => void,
    onReorg: (event: ReorgEvent, afterSwitch: boolean) => void = () => {},
    onBlock: (block: number) => void = () => {},
    blockWait?: BlockWait,
  ) {
    this.#blockWait = blockWait;
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

  /** Logs re-sent with `removed: true` because the chain left their block (found at a switch, or live). */
  get retracted(): number {
    return this.#retracted;
  }

  /** Blocks and logs fetched after switches and delivered. */
  get backfilled(): number {
    return this.#backfilled;
  }

  /**
   * Starts keeping a new subscription. For logs, `call` (on the socket that answered the subscribe)
   * reads the head, from which the client has seen every log; `headBefore`, the node's head as
   * known when the subscribe was sent, stands for it until then (or if the read never answers).
   */
  track(subscription: string, params: readonly unknown[], call: OwnCall | undefined, headBefore?: number): void {
    const kind = continuityKind(params);
    if (kind === undefined || !this.#settings[kind]) return;
    const continuity = new Continuity(kind, this.#settings, this.#onBlock, this.#headDelivered);
    if (this.#tracked.get(subscription)?.continuity.kind === 'logs') this.#logsTracked -= 1;
    if (kind === 'logs') this.#logsTracked += 1;
    this.#tracked.set(subscription, { continuity, params, epoch: this.#epoch });
    if (kind === 'logs' && headBefore !== undefined) continuity.noteSinceAtMost(headBefore);
    if (kind === 'logs' && call) {
      // Without it (no answer, or not a quantity), the head known before stands (see noteSinceAtMost), or else the first log delivered sets the mark.
      call('eth_blockNumber', []).then(
        (head) => {
          const since = quantity(head);
          if (since !== undefined) continuity.noteSince(since);
        },
        () => {},
      );
    }
  }

  /**
   * A `newHeads` subscription got a head at a height it had another for: the node in use reorged.
   * The `logs` subscriptions' logs from that height up are off its chain: retracted now (a node that
   * announces it with `removed` logs too is not repeated; anvil does not announce it).
   */
  readonly #headDelivered = (block: number, hi: number, lo: number, reorg: boolean): void => {
    if (this.#logsTracked === 0) return;
    if (reorg) return this.#nodeReorged(block, hi, lo);
    // A head at a height a `logs` subscription has logs of another block for (from a node on
    // another branch that was ahead): those are off the chain.
    for (const [subscription, { continuity }] of this.#tracked) {
      if (continuity.kind !== 'logs') continue;
      for (const retraction of continuity.retractOtherBlocksAt(block, hi, lo)) this.#emit(subscription, retraction);
    }
  };

  /**
   * logs, after a check: the logs it let through above the head it compared (held while it ran)
   * may be of a branch the node has left since, which the heads delivered meanwhile show (their
   * own hook ran while the logs were still held): those of another block than the head at their
   * height are retracted. Only heads delivered count: a `newHeads` subscription still held keeps
   * the heads of before the check (its own finish tells the logs of what it delivers).
   */
  #retractByHeadsAbove(subscription: string, logs: Continuity, head: number): void {
    const heads = new Map<number, readonly [number, number]>();
    for (const [, { continuity }] of this.#tracked) if (continuity.kind === 'newHeads' && !continuity.backfilling) continuity.anchors(heads);
    for (const [block, [hi, lo]] of heads) {
      if (block <= head) continue;
      for (const retraction of logs.retractOtherBlocksAt(block, hi, lo)) this.#emit(subscription, retraction);
    }
  }

  #nodeReorged(block: number, hi: number, lo: number): void {
    let held = false;
    for (const [subscription, { continuity }] of this.#tracked) {
      if (continuity.kind !== 'logs') continue;
      if (continuity.backfilling) held = true;
      else for (const retraction of continuity.retractFrom(block, hi, lo)) this.#emit(subscription, retraction);
    }
    // A check of a logs subscription compared the node's chain before this reorg: compared again
    // (what is held stays held), so the logs it left are retracted too.
    if (held) this.#recheck();
  }

  forget(subscription: string): void {
    const tracked = this.#tracked.get(subscription);
    if (tracked) this.#duplicatesOfForgotten += tracked.continuity.duplicates;
    if (tracked?.continuity.kind === 'logs') this.#logsTracked -= 1;
    this.#tracked.delete(subscription);
  }

  /** A live notification for `subscription`: delivered now, held during a backfill, or dropped as a duplicate. */
  accept(subscription: string, result: unknown): void {
    const tracked = this.#tracked.get(subscription);
    if (!tracked) return this.#deliver(subscription, result);
    if (tracked.continuity.offer(result)) this.#emitAfterRetractions(subscription, tracked.continuity, result);
    else if (tracked.continuity.takeUnlinked()) this.#recheck();
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
      this.#deliver(subscription, undefined, frame === undefined ? text.slice(resultStart, text.length - tail) : undefined, frame);
      return true;
    }
    const { continuity } = tracked;
    if (continuity.kind === 'newHeads' && !continuity.backfilling && readHead(text, resultStart)) {
      // The hot path: the head is checked by number and hash digests; only its text goes on.
      const outcome = continuity.offerHead(head.number, head.hi, head.lo, head.parentHi, head.parentLo);
      if (outcome === HEAD_DELIVERED) this.#deliver(subscription, undefined, frame === undefined ? text.slice(resultStart, text.length - tail) : undefined, frame);
      else if (outcome === HEAD_UNLINKED) {
        // Held (as an object: it waits) while the node's chain is checked against what was delivered.
        continuity.hold();
        continuity.offer(identify('newHeads', text, resultStart, tail, frame) ?? JSON.parse(text.slice(resultStart, text.length - tail)));
        this.#recheck();
      }
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
    else if (continuity.takeUnlinked()) this.#recheck();
    return true;
  }

  /**
   * The session moved to another upstream: checks the new node's chain against what was delivered,
   * then backfills every kept subscription through `call` (from the common ancestor, after
   * retracting what lies above it, when the chains differ).
   */
  afterSwitch(call: OwnCall): void {
    this.#current = call;
    this.#switchUnchecked = true;
    this.#check(call, 1, true);
  }

  /** The session's upstream is now reached through `call` (the first one, or after a switch). */
  attach(call: OwnCall): void {
    this.#current = call;
  }

  /**
   * A subscription came back on the upstream in use after its notifications were lost for a while
   * (a replay that timed out and was retried after the switch): what the client missed meanwhile
   * is fetched, as after a switch (the check runs for every kept subscription; it costs two calls
   * on the same chain).
   */
  resync(): void {
    this.#recheck();
  }

  /**
   * A live head did not link to the one delivered below it: the node's chain is checked against
   * what was delivered, as after a switch, and what it shows is announced as a reorg.
   */
  #recheck(): void {
    if (this.#current) return this.#check(this.#current, 1);
    // No upstream to ask (it cannot happen: heads come from the upstream in use): nothing is held back.
    for (const [subscription, { continuity }] of this.#tracked) {
      if (!continuity.backfilling) continue;
      for (const item of continuity.finish([]).live) this.#emit(subscription, item);
    }
  }

  /**
   * One attempt at the check after a switch. A check that fails (a call timed out, an answer was
   * not what it should be) or that the node's chain changed under (what was fetched does not link
   * up) is made again, up to {@link CHECK_ATTEMPTS} times; then what is held goes out as it is,
   * with the error reported.
   */
  #check(call: OwnCall, attempt: number, switched = false, waited = 0): void {
    const epoch = ++this.#epoch;
    this.#stopLooking();
    if (this.#tracked.size === 0) return;
    const held = [...this.#tracked];
    for (const [, tracked] of held) {
      tracked.epoch = epoch;
      tracked.continuity.hold(switched);
    }
    const run: CheckRun = { call, attempt, epoch, waited, afterSwitch: this.#switchUnchecked };
    // One read of the new node's head (and one walk back, on a fork) serves every subscription.
    locateForks(call, () => [...this.#tracked].map(([subscription, { continuity }]) => [subscription, continuity] as const)).then(
      ({ head, forks, verified }) => {
        run.head = head;
        run.fork = deepestFork(forks);
        for (const [subscription, tracked] of held) this.#backfill(subscription, tracked, run, head, forks.get(subscription), verified.get(subscription));
      },
      (cause: unknown) => this.#failed(run, held, backfillError(cause)),
    );
  }

  /** An attempt failed: the next one, or (after the last) what is held goes out unchecked. */
  #failed(run: CheckRun, held: ReadonlyArray<[string, Tracked]>, error: SteadyRpcError): void {
    if (run.epoch !== this.#epoch) return; // a newer switch (or attempt) took over
    const wait = this.#blockWait;
    if (error instanceof BlockNotServed && wait !== undefined && run.waited + wait.pollMs <= wait.waitMs) {
      // The node does not serve a block below its head yet: the same check, a moment later.
      if (this.#lookAgain === undefined) {
        this.#lookAgain = wait.clock.setTimeout(() => {
          this.#lookAgain = undefined;
          if (run.epoch === this.#epoch) this.#check(run.call, run.attempt, false, run.waited + wait.pollMs);
        }, wait.pollMs);
      }
      return;
    }
    if (run.attempt < CHECK_ATTEMPTS && error.code !== 'ERR_ABORTED') return this.#check(run.call, run.attempt + 1);
    for (const [subscription, tracked] of held) this.#finish(subscription, tracked, run, [], { error });
  }

  clear(): void {
    this.#stopLooking();
    this.#current = undefined;
    this.#tracked.clear();
    this.#logsTracked = 0;
  }

  #stopLooking(): void {
    if (this.#lookAgain !== undefined) this.#blockWait!.clock.clearTimeout(this.#lookAgain);
    this.#lookAgain = undefined;
  }

  /** What one subscription missed up to the new node's `head`: nothing to fetch is settled at once. */
  #backfill(subscription: string, tracked: Tracked, run: CheckRun, head: number, fork: ReorgEvent | undefined, verified: number | undefined): void {
    const { call } = run;
    // A deep fork: the ancestor is not known, only that everything kept differs. Logs kept are
    // retracted (and the new branch's fetched over their range); heads are not re-emitted from a
    // guess: the stream goes on from the new node, and the `reorg` event says it is deep.
    const ancestor = fork?.deep && tracked.continuity.kind === 'newHeads' ? undefined : fork?.ancestor;
    const plan = tracked.continuity.plan(head, ancestor, verified);
    const deep = fork?.deep === true;
    if (plan.kind === 'none') return this.#finish(subscription, tracked, run, [], { ancestor, deep });
    const { from, to } = plan;
    if (plan.kind === 'skip') return this.#finish(subscription, tracked, run, [], { from, to, skipped: true, ancestor, deep });
    const fetching =
      plan.kind === 'blocks'
        ? Promise.all(Array.from({ length: to - from + 1 }, (_, i) => call('eth_getBlockByNumber', [hex(from + i), false]))).then((blocks) => blocks.map((block, i) => servedBlock(block, from + i, head)))
        : call('eth_getLogs', [{ ...(typeof tracked.params[1] === 'object' && tracked.params[1] !== null ? tracked.params[1] : {}), fromBlock: hex(from), toBlock: hex(to) }]).then((logs) =>
            Array.isArray(logs) ? logs : [],
          );
    fetching.then(
      (fetched) => this.#finish(subscription, tracked, run, fetched, { from, to, ancestor, deep }),
      (cause: unknown) => this.#failed(run, [[subscription, tracked]], backfillError(cause)),
    );
  }

  /** Delivers what was fetched, then what was held, each once; and says what happened. */
  #finish(subscription: string, tracked: Tracked, run: CheckRun, fetched: readonly unknown[], outcome: { from?: number; to?: number; skipped?: boolean; ancestor?: number; deep?: boolean; error?: SteadyRpcError }): void {
    // A newer switch (or an unsubscribe) took over: its own backfill releases what is held.
    if (this.#tracked.get(subscription) !== tracked || tracked.epoch !== run.epoch) return;
    // The node moved to another branch while it was checked: what it showed is stale, so look again.
    if (!outcome.deep && run.attempt < CHECK_ATTEMPTS && !tracked.continuity.linksUp(fetched)) return this.#check(run.call, run.attempt + 1);
    this.#switchUnchecked = false;
    if (run.fork && !run.reported) {
      run.reported = true;
      this.#onReorg(run.fork, run.afterSwitch);
    }
    // On a fork, the retractions go first (as a node announces a reorg), then the new branch.
    const { continuity } = tracked;
    // Logs another node gave above this node's head could not be compared: the next check compares
    // them, and a live log at or above them calls for one. Noted before what was held goes out
    // (this node's own logs are not doubted), and only after a switch (a recheck on the same node
    // whose head reads lag its notifications would doubt its own logs, and check at every block).
    // A check that failed compared nothing: none is doubted then, rather than a check for every
    // log while the node fails.
    continuity.settleDoubts(outcome.error || run.head === undefined ? Infinity : run.head);
    if (!outcome.error && run.head !== undefined && run.afterSwitch) continuity.doubtAbove(run.head);
    const { retracted, backfilled, live } = continuity.finish(fetched, outcome.ancestor, outcome.deep);
    const fetchedCount = backfilled.filter((item) => !isRetraction(item)).length;
    this.#backfilled += fetchedCount;
    for (const item of [...retracted, ...backfilled, ...live]) this.#emit(subscription, item);
    if (continuity.kind === 'logs' && run.head !== undefined) this.#retractByHeadsAbove(subscription, continuity, run.head);
    const { from, to, skipped = false, error } = outcome;
    if (from !== undefined || error) this.#report({ subscription, from, to, delivered: fetchedCount, skipped, ...(error ? { error } : {}) });
  }
}
