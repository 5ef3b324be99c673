import { SteadyRpcError, describeError } from '../errors.js';
import type { Clock, TimerHandle } from '../Clock.js';
import { BlockNotServed, deepestFork, locateForks, servedBlock } from './ChainCheck.js';
import type { Continuity } from './Continuity.js';
import { isRetraction } from './Retraction.js';
import type { BackfillEvent, OwnCall, ReorgEvent } from './ContinuitySettings.js';

/** A subscription the keeper keeps. */
export interface Tracked {
  readonly continuity: Continuity;
  readonly params: readonly unknown[];
  /** The check it was last held for: only that one releases it. */
  epoch: number;
}

/** What a check works on: the keeper's subscriptions, and where what it settles goes. */
export interface CheckHost {
  /** The subscriptions kept (the keeper's own map: some may come or go while a check runs). */
  readonly tracked: ReadonlyMap<string, Tracked>;
  /** Delivers a result or a retraction to a subscription's client. */
  readonly emit: (subscription: string, item: unknown) => void;
  readonly report: (event: BackfillEvent) => void;
  readonly onReorg: (event: ReorgEvent, afterSwitch: boolean) => void;
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
  /** The fork it found, announced (once) when the first subscription delivers it. */
  fork?: ReorgEvent;
  reported?: boolean;
}

function backfillError(cause: unknown): SteadyRpcError {
  return cause instanceof SteadyRpcError ? cause : new SteadyRpcError('ERR_BAD_RESPONSE', `Backfill failed: ${describeError(cause)}`, { cause });
}

/**
 * The check of a node's chain against what a session's `newHeads` and `logs` subscriptions
 * delivered, after each switch (and when a live head shows the node in use reorged under them):
 * every subscription holds its live notifications, the fork is located once for all of them, each
 * backfills what its client missed, and what was held goes out after. A newer check takes over
 * from one still running (its epoch).
 */
export class SwitchCheck {
  readonly #host: CheckHost;
  readonly #blockWait: BlockWait | undefined;
  /** The next look of a check that waits for the node to serve a block (see {@link BlockWait}). */
  #lookAgain: TimerHandle | undefined;
  /** Own calls on the upstream in use, for checks its heads call for. */
  #current: OwnCall | undefined;
  #epoch = 0;
  /** A switch whose check has not finished yet: a fork found meanwhile is the switch's. */
  #switchUnchecked = false;
  #backfilled = 0;

  constructor(host: CheckHost, blockWait?: BlockWait) {
    this.#host = host;
    this.#blockWait = blockWait;
  }

  /** The latest check's epoch. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Blocks and logs fetched after switches and delivered. */
  get backfilled(): number {
    return this.#backfilled;
  }

  /** The session moved to another upstream, reached through `call`: its chain is checked. */
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
   * The chain of the node in use is checked against what was delivered, as after a switch (a live
   * head did not link to the one delivered below it, a reorg overtook a check, a subscription came
   * back after a gap), and what it shows is announced as a reorg.
   */
  recheck(): void {
    if (this.#current) return this.#check(this.#current, 1);
    // No upstream to ask (it cannot happen: heads come from the upstream in use): nothing is held back.
    for (const [subscription, { continuity }] of this.#host.tracked) {
      if (!continuity.backfilling) continue;
      for (const item of continuity.finish([]).live) this.#host.emit(subscription, item);
    }
  }

  /** Stops waiting and forgets the upstream (the keeper forgets its subscriptions). */
  clear(): void {
    this.#stopLooking();
    this.#current = undefined;
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
    const { tracked } = this.#host;
    if (tracked.size === 0) return;
    const held = [...tracked];
    for (const [, each] of held) {
      each.epoch = epoch;
      each.continuity.hold(switched);
    }
    const run: CheckRun = { call, attempt, epoch, waited, afterSwitch: this.#switchUnchecked };
    // One read of the new node's head (and one walk back, on a fork) serves every subscription.
    locateForks(call, () => [...tracked].map(([subscription, { continuity }]) => [subscription, continuity] as const)).then(
      ({ head, forks }) => {
        run.fork = deepestFork(forks);
        for (const [subscription, each] of held) this.#backfill(subscription, each, run, head, forks.get(subscription));
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

  #stopLooking(): void {
    if (this.#lookAgain !== undefined) this.#blockWait!.clock.clearTimeout(this.#lookAgain);
    this.#lookAgain = undefined;
  }

  /** What one subscription missed up to the new node's `head`: nothing to fetch is settled at once. */
  #backfill(subscription: string, tracked: Tracked, run: CheckRun, head: number, fork: ReorgEvent | undefined): void {
    const { call } = run;
    // A deep fork: the ancestor is not known, only that everything kept differs. Logs kept are
    // retracted (and the new branch's fetched over their range); heads are not re-emitted from a
    // guess: the stream goes on from the new node, and the `reorg` event says it is deep.
    const ancestor = fork?.deep && tracked.continuity.kind === 'newHeads' ? undefined : fork?.ancestor;
    const plan = tracked.continuity.plan(head, ancestor);
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
    if (this.#host.tracked.get(subscription) !== tracked || tracked.epoch !== run.epoch) return;
    // The node moved to another branch while it was checked: what it showed is stale, so look again.
    if (!outcome.deep && run.attempt < CHECK_ATTEMPTS && !tracked.continuity.linksUp(fetched)) return this.#check(run.call, run.attempt + 1);
    this.#switchUnchecked = false;
    if (run.fork && !run.reported) {
      run.reported = true;
      this.#host.onReorg(run.fork, run.afterSwitch);
    }
    // On a fork, the retractions go first (as a node announces a reorg), then the new branch.
    const { retracted, backfilled, live } = tracked.continuity.finish(fetched, outcome.ancestor, outcome.deep);
    const fetchedCount = backfilled.filter((item) => !isRetraction(item)).length;
    this.#backfilled += fetchedCount;
    for (const item of [...retracted, ...backfilled, ...live]) this.#host.emit(subscription, item);
    const { from, to, skipped = false, error } = outcome;
    if (from !== undefined || error) this.#host.report({ subscription, from, to, delivered: fetchedCount, skipped, ...(error ? { error } : {}) });
  }
}
