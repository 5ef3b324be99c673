import { SteadyRpcError, describeError } from '../errors.js';
import type { Clock, TimerHandle } from '../Clock.js';
import { BlockNotServed, deepestFork, locateForks, servedBlock } from './ChainCheck.js';
import type { SubscriptionContinuity } from './Continuity.js';
import { isRetraction } from './Continuity.js';
import type { BackfillEvent, OwnCall, ReorgEvent } from './ContinuitySettings.js';

/** A subscription continuity is kept for (see ContinuityKeeper). */
export interface KeptSubscription {
  readonly continuity: SubscriptionContinuity;
  readonly params: readonly unknown[];
  /** The check that holds its notifications (see {@link CheckRunner.epoch}). */
  epoch: number;
}

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

/** What a check needs of the keeper whose subscriptions it checks. */
export interface CheckHost {
  /** The subscriptions kept, by the client's id. */
  readonly subscriptions: ReadonlyMap<string, KeptSubscription>;
  /**
   * A check's results for one subscription, to deliver in order: `backfilled` of them were fetched
   * (not retractions, not held live ones). `head`: the node's head the check compared, if it read it.
   */
  deliverChecked(subscription: string, continuity: SubscriptionContinuity, results: unknown[], backfilled: number, head: number | undefined): void;
  report(event: BackfillEvent): void;
  onReorg(event: ReorgEvent, afterSwitch: boolean): void;
  /** The heads `newHeads` subscriptions since ended were given (see `ContinuityKeeper.forget`). */
  readonly formerHeads: ReadonlyMap<number, readonly [number, number]>;
}

/** Attempts at the check after a switch before what is held goes out unchecked. */
const CHECK_ATTEMPTS = 3;

/** Longest wait between tries at a check that keeps failing, in ms. */
const MAX_RETRY_MS = 30_000;

const hex = (n: number) => `0x${n.toString(16)}`;

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
  /** The fork it found, announced (once) when the first subscription has delivered it. */
  fork?: ReorgEvent;
  reported?: boolean;
  /** Subscriptions it has yet to compare and release (see {@link CheckRunner.compared}). */
  unfinished: number;
}

function backfillError(cause: unknown): SteadyRpcError {
  return cause instanceof SteadyRpcError ? cause : new SteadyRpcError('ERR_BAD_RESPONSE', `Backfill failed: ${describeError(cause)}`, { cause });
}

/**
 * Checks a node's chain against what the kept subscriptions delivered — after each switch, and
 * when a live head does not link — and backfills what the client missed: every kept
 * subscription's live notifications are held meanwhile, and released after what was fetched.
 */
export class CheckRunner {
  readonly #host: CheckHost;
  readonly #blockWait: BlockWait | undefined;
  /** The next look of a check that waits for the node to serve a block (see {@link BlockWait}). */
  #lookAgain: TimerHandle | undefined;
  /** Own calls on the upstream in use, for checks its heads call for. */
  #current: OwnCall | undefined;
  #epoch = 0;
  /** A switch whose check has not finished yet: a fork found meanwhile is the switch's. */
  #switchUnchecked = false;
  /**
   * The next try after a check that failed, and how long after the next failure it comes: from
   * `pollMs`, doubling up to {@link MAX_RETRY_MS}, back to `pollMs` once a check succeeds.
   */
  #retry: TimerHandle | undefined;
  #retryMs: number | undefined;
  #compared = 0;

  constructor(host: CheckHost, blockWait?: BlockWait) {
    this.#host = host;
    this.#blockWait = blockWait;
  }

  /** The latest check's number: a subscription held for an older one is released by a newer one. */
  get epoch(): number {
    return this.#epoch;
  }

  /** The epoch of the latest check that compared every subscription it held with the node's chain (none failed). */
  get compared(): number {
    return this.#compared;
  }

  /** Whether a check that failed is to be made again (see {@link #retryLater}). */
  get retrying(): boolean {
    return this.#retry !== undefined;
  }

  /** The session moved to another upstream, reached through `call`: its chain is checked. */
  afterSwitch(call: OwnCall): void {
    this.#current = call;
    this.#switchUnchecked = true;
    // A new node: its retries after a failed check start again from `pollMs`.
    this.#retryMs = undefined;
    this.#check(call, 1, true);
  }

  /** The session's upstream is now reached through `call` (the first one, or after a switch). */
  attach(call: OwnCall): void {
    this.#current = call;
  }

  /** Checks the upstream in use again; false when there is none to ask. */
  recheck(): boolean {
    if (!this.#current) return false;
    this.#check(this.#current, 1);
    return true;
  }

  clear(): void {
    // A check still reading the chain is over: what it learns later schedules nothing (no timer
    // after the session's close()).
    this.#epoch += 1;
    this.#stopLooking();
    this.#current = undefined;
  }

  #stopLooking(): void {
    if (this.#lookAgain !== undefined) this.#blockWait!.clock.clearTimeout(this.#lookAgain);
    this.#lookAgain = undefined;
    if (this.#retry !== undefined) this.#blockWait!.clock.clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  /**
   * A check of `call`'s node failed: what it held went out unchecked, and what was delivered before
   * is suspect (see Continuity.distrust). It is checked again a little later, while the session is
   * still on that node (a switch checks the new one anyway); with no clock, by the next check that
   * runs for another reason.
   */
  #retryLater(call: OwnCall): void {
    const wait = this.#blockWait;
    if (wait === undefined || this.#retry !== undefined) return;
    const ms = (this.#retryMs = this.#retryMs === undefined ? wait.pollMs : Math.min(this.#retryMs * 2, MAX_RETRY_MS));
    this.#retry = wait.clock.setTimeout(() => {
      this.#retry = undefined;
      if (this.#current === call) this.#check(call, 1);
    }, ms);
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
    const { subscriptions } = this.#host;
    if (subscriptions.size === 0) return;
    const held = [...subscriptions];
    for (const [, kept] of held) {
      kept.epoch = epoch;
      kept.continuity.hold(switched);
    }
    const run: CheckRun = { call, attempt, epoch, waited, afterSwitch: this.#switchUnchecked, unfinished: held.length };
    // One read of the new node's head (and one walk back, on a fork) serves every subscription.
    locateForks(call, () => [...subscriptions].map(([subscription, { continuity }]) => [subscription, continuity] as const), this.#host.formerHeads).then(
      ({ head, forks, verified }) => {
        run.head = head;
        run.fork = deepestFork(forks);
        for (const [subscription, kept] of held) this.#backfill(subscription, kept, run, head, forks.get(subscription), verified.get(subscription));
      },
      (cause: unknown) => this.#failed(run, held, backfillError(cause)),
    );
  }

  /** An attempt failed: the next one, or (after the last) what is held goes out unchecked. */
  #failed(run: CheckRun, held: ReadonlyArray<[string, KeptSubscription]>, error: SteadyRpcError): void {
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
    for (const [subscription, kept] of held) this.#finish(subscription, kept, run, [], { error });
  }

  /** What one subscription missed up to the new node's `head`: nothing to fetch is settled at once. */
  #backfill(subscription: string, kept: KeptSubscription, run: CheckRun, head: number, fork: ReorgEvent | undefined, verified: number | undefined): void {
    // A newer check took over (or an unsubscribe) while this one read the chain: planning would
    // hold the subscription again, for a check that releases nothing.
    if (this.#overtaken(subscription, kept, run)) return;
    const { call } = run;
    // A deep fork: the ancestor is not known, only that everything kept differs. Logs kept are
    // retracted (and the new branch's fetched over their range); heads are not re-emitted from a
    // guess: the stream goes on from the new node, and the `reorg` event says it is deep.
    const ancestor = fork?.deep && kept.continuity.kind === 'newHeads' ? undefined : fork?.ancestor;
    const deep = fork?.deep === true;
    const plan = kept.continuity.plan(head, ancestor, verified, deep);
    if (plan.kind === 'none') return this.#finish(subscription, kept, run, [], { ancestor, deep });
    const { from, to } = plan;
    if (plan.kind === 'skip') return this.#finish(subscription, kept, run, [], { from, to, skipped: true, ancestor, deep });
    // For each block fetched, how many live heads were held as its answer came: those are older.
    const heard: number[] = [];
    const { continuity } = kept;
    const fetching =
      plan.kind === 'blocks'
        ? Promise.all(
            Array.from({ length: to - from + 1 }, (_, i) => call('eth_getBlockByNumber', [hex(from + i), false], () => (heard[i] = continuity.heldCount))),
          ).then((blocks) => blocks.map((block, i) => servedBlock(block, from + i, head)))
        : call('eth_getLogs', [{ ...(typeof kept.params[1] === 'object' && kept.params[1] !== null ? kept.params[1] : {}), fromBlock: hex(from), toBlock: hex(to) }]).then((logs) =>
            Array.isArray(logs) ? logs : [],
          );
    fetching.then(
      (fetched) => this.#finish(subscription, kept, run, fetched, { from, to, ancestor, deep, ...(plan.kind === 'blocks' ? { heard } : {}) }),
      (cause: unknown) => this.#failed(run, [[subscription, kept]], backfillError(cause)),
    );
  }

  /** Whether a newer check holds the subscription now, or it is no longer kept. */
  #overtaken(subscription: string, kept: KeptSubscription, run: CheckRun): boolean {
    return this.#host.subscriptions.get(subscription) !== kept || kept.epoch !== run.epoch;
  }

  /** Delivers what was fetched, then what was held, each once; and says what happened. */
  #finish(subscription: string, kept: KeptSubscription, run: CheckRun, fetched: readonly unknown[], outcome: { from?: number; to?: number; skipped?: boolean; ancestor?: number; deep?: boolean; error?: SteadyRpcError; heard?: readonly number[] }): void {
    // A newer switch (or an unsubscribe) took over: its own backfill releases what is held.
    if (this.#overtaken(subscription, kept, run)) return;
    const { continuity } = kept;
    // The node moved to another branch while it was checked: what it showed is stale, so look again.
    if (!outcome.deep && run.attempt < CHECK_ATTEMPTS && continuity.kind === 'newHeads' && !continuity.linksUp(fetched)) return this.#check(run.call, run.attempt + 1);
    if (!outcome.error) this.#switchUnchecked = false;
    // Logs another node gave above this node's head could not be compared: the next check compares
    // them, and a live log at or above them calls for one. Noted before what was held goes out
    // (this node's own logs are not doubted), and only after a switch (a recheck on the same node
    // whose head reads lag its notifications would doubt its own logs, and check at every block).
    // A check that failed compared nothing: none is doubted then, rather than a check for every
    // log while the node fails.
    if (continuity.kind === 'logs') {
      continuity.settleDoubts(outcome.error || run.head === undefined ? Infinity : run.head);
      if (!outcome.error && run.head !== undefined && run.afterSwitch) continuity.doubtAbove(run.head);
    }
    // What was delivered before a check that failed is compared by the next one (before, the logs
    // of the branch left stayed with the client for good: later checks compared only the newest
    // block, the new node's; as `npm run test:chaos` showed with seed 20261213).
    if (outcome.error) {
      continuity.distrust();
      // Not when the node was left (its link is gone): the next switch's check compares them, and
      // a retry on the dead link would fail at once, again and again, while the session has no node.
      if (outcome.error.code !== 'ERR_ABORTED') this.#retryLater(run.call);
    } else if (run.head !== undefined) {
      continuity.settleSuspects(run.head);
      this.#retryMs = undefined;
    }
    // On a fork, the retractions go first (as a node announces a reorg), then the new branch.
    const { retracted, backfilled, live } = continuity.finish(fetched, outcome.ancestor, outcome.deep, run.head, outcome.heard);
    const fetchedCount = backfilled.filter((item) => !isRetraction(item)).length;
    if (!outcome.error && --run.unfinished === 0 && run.epoch > this.#compared) this.#compared = run.epoch;
    this.#host.deliverChecked(subscription, continuity, [...retracted, ...backfilled, ...live], fetchedCount, run.head);
    // Told once what was held went out: a listener that switches, unsubscribes or closes finds
    // nothing of this check left to run.
    // Not by a check that failed: it retracted nothing, and the check made again finds the fork
    // again (announced then, once, with its retractions; not at each failed retry).
    if (run.fork && !run.reported && !outcome.error) {
      run.reported = true;
      this.#host.onReorg(run.fork, run.afterSwitch);
    }
    const { from, to, skipped = false, error } = outcome;
    if (from !== undefined || error) this.#host.report({ subscription, from, to, delivered: fetchedCount, skipped, ...(error ? { error } : {}) });
  }
}

