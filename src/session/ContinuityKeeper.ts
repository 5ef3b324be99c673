import type { HashKind, KnownBlock } from '../consistency/KnownHashes.js';
import { keyDigest, quantity } from '../consistency/quantity.js';
import type { BlockWait, CheckHost, KeptSubscription } from './CheckRunner.js';
import { CheckRunner } from './CheckRunner.js';
import type { Identified } from './resultFields.js';
import { FRAME, TEXT, head, identify, readHead } from './resultFields.js';
import type { BackfillEvent, ContinuitySettings, Deliver, OwnCall, ReorgEvent } from './ContinuitySettings.js';
import type { SubscriptionContinuity } from './Continuity.js';
import { continuityKind, isRetraction } from './Continuity.js';
import { HEAD_DELIVERED, HEAD_UNLINKED, HeadsContinuity } from './HeadsContinuity.js';
import { LogsContinuity } from './LogsContinuity.js';

export type { BlockWait } from './CheckRunner.js';
export type { BackfillEvent, ContinuitySettings, Deliver, OwnCall, ReorgEvent } from './ContinuitySettings.js';
export { CONTINUITY_DEFAULTS } from './ContinuitySettings.js';

const NO_HEADS: ReadonlyMap<number, readonly [number, number]> = new Map();

/**
 * Gives every `newHeads` and `logs` subscription of a session a {@link Continuity}: notifications
 * pass through it, and after each switch it backfills what the client missed from the new node.
 */
export class ContinuityKeeper implements CheckHost {
  readonly #settings: ContinuitySettings;
  readonly #deliver: Deliver;
  readonly report: (event: BackfillEvent) => void;
  readonly onReorg: (event: ReorgEvent, afterSwitch: boolean) => void;
  readonly #onBlock: (block: number, live?: boolean) => void;
  readonly #tracked = new Map<string, KeptSubscription>();
  readonly #checks: CheckRunner;
  #backfilled = 0;
  #retracted = 0;
  #duplicatesOfForgotten = 0;
  /** `logs` subscriptions kept: heads are shown to them only when there is one. */
  #logsTracked = 0;
  /** Made with the first `newHeads` subscription ended while a `logs` one is kept: most sessions never need it. */
  #formerHeads: Map<number, readonly [number, number]> | undefined;

  /** `deliver` gets the result, and its text as the node wrote it when that is at hand. */
  constructor(
    settings: ContinuitySettings,
    deliver: Deliver,
    report: (event: BackfillEvent) => void,
    onReorg: (event: ReorgEvent, afterSwitch: boolean) => void = () => {},
    onBlock: (block: number, live?: boolean) => void = () => {},
    blockWait?: BlockWait,
  ) {
    this.#settings = settings;
    this.#deliver = deliver;
    this.report = report;
    this.onReorg = onReorg;
    this.#onBlock = onBlock;
    // The keeper is the check's host: no object or closure more per session.
    this.#checks = new CheckRunner(this, blockWait);
  }

  get subscriptions(): ReadonlyMap<string, KeptSubscription> {
    return this.#tracked;
  }

  /**
   * Where a block or transaction hash (its hashKey) the client was given in a notification is: a
   * head of a `newHeads` subscription, or a block or transaction of a log, as far as continuity
   * keeps them.
   */
  whereIs(key: number, kind: HashKind): KnownBlock | undefined {
    for (const { continuity } of this.#tracked.values()) {
      const known = continuity.whereIs(key, kind);
      if (known !== undefined) return known;
    }
    return undefined;
  }

  deliverChecked(subscription: string, continuity: SubscriptionContinuity, results: unknown[], backfilled: number, head: number | undefined): void {
    this.#backfilled += backfilled;
    for (const item of results) this.#emit(subscription, item);
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
    const continuity = kind === 'newHeads' ? new HeadsContinuity(this.#settings, this.#onBlock, this.#headDelivered) : new LogsContinuity(this.#settings, this.#onBlock);
    if (continuity instanceof LogsContinuity) continuity.onRetracted = this.#logsRetracted;
    if (this.#tracked.get(subscription)?.continuity.kind === 'logs') this.#logsTracked -= 1;
    if (kind === 'logs') this.#logsTracked += 1;
    this.#tracked.set(subscription, { continuity, params, epoch: this.#checks.epoch });
    if (continuity.kind === 'logs' && headBefore !== undefined) continuity.noteSinceAtMost(headBefore);
    if (continuity.kind === 'logs' && call) {
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
    // another branch that was ahead): those are off the chain. Logs held for a check meanwhile
    // are judged by it in the order they came, as they go out.
    for (const [subscription, { continuity }] of this.#tracked) {
      if (continuity.kind !== 'logs') continue;
      continuity.noteHeadWhileHeld(block, hi, lo, false);
      for (const retraction of continuity.retractOtherBlocksAt(block, hi, lo)) this.#emit(subscription, retraction);
    }
  };

  #nodeReorged(block: number, hi: number, lo: number): void {
    let held = false;
    for (const [subscription, { continuity }] of this.#tracked) {
      if (continuity.kind !== 'logs') continue;
      if (continuity.backfilling) {
        held = true;
        continuity.noteHeadWhileHeld(block, hi, lo, true);
      } else for (const retraction of continuity.retractFrom(block, hi, lo)) this.#emit(subscription, retraction);
    }
    // A check of a logs subscription compared the node's chain before this reorg: compared again
    // (what is held stays held), so the logs it left are retracted too.
    if (held) this.#recheck();
  }

  /**
   * The heads `newHeads` subscriptions that ended were given, in the last `reorgDepth` blocks (the
   * newest block at each height): what a `logs` subscription was shown (no log, at most heights)
   * while they ran is judged by them too (see `locateForks`).
   */
  get formerHeads(): ReadonlyMap<number, readonly [number, number]> {
    return this.#formerHeads ?? NO_HEADS;
  }

  forget(subscription: string): void {
    const tracked = this.#tracked.get(subscription);
    if (tracked?.continuity.kind === 'newHeads' && this.#logsTracked > 0) this.#keepFormer(tracked.continuity);
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
  #emitAfterRetractions(subscription: string, continuity: SubscriptionContinuity, result: unknown): void {
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
    this.#checks.afterSwitch(call);
  }

  /** The session's upstream is now reached through `call` (the first one, or after a switch). */
  attach(call: OwnCall): void {
    this.#checks.attach(call);
  }

  /**
   * A subscription came back on the upstream in use after its notifications were lost for a while
   * (a replay that timed out and was retried after the switch: Replayer): what the client missed
   * meanwhile is fetched, as after a switch (the check runs for every kept subscription; it costs
   * two calls on the same chain).
   */
  resync(): void {
    this.#recheck();
  }

  /**
   * The node in use answered for a block the client was given that it is no longer on its chain
   * (see ViewGate), `left`: its chain is checked against what was delivered (that block too, where
   * a subscription holds it), and what it shows is announced as a reorg (nothing, when the
   * subscriptions hold none of what left).
   */
  nodeLeftBlock(left?: KnownBlock): void {
    // The subscriptions that hold that block compare it (see Continuity.suspect).
    if (left !== undefined) {
      const digest = keyDigest(left.block);
      for (const { continuity } of this.#tracked.values()) if (continuity.whereIs(left.block, 'block')?.number === left.number) continuity.suspect(left.number, digest);
    }
    this.#recheck();
  }

  /** The latest check's number (see CheckRunner.epoch). */
  get checkEpoch(): number {
    return this.#checks.epoch;
  }

  /** The number of the latest check that compared every subscription with the node's chain. */
  get comparedEpoch(): number {
    return this.#checks.compared;
  }

  /** Whether a check that failed is to be made again, a little later (it backs off: see CheckRunner). */
  get retrying(): boolean {
    return this.#checks.retrying;
  }

  /** Whether a check holds a subscription's notifications now. */
  get checking(): boolean {
    for (const { continuity } of this.#tracked.values()) if (continuity.backfilling) return true;
    return false;
  }

  /**
   * A live head did not link to the one delivered below it: the node's chain is checked against
   * what was delivered, as after a switch, and what it shows is announced as a reorg.
   */
  #recheck(): void {
    if (this.#checks.recheck()) return;
    // No upstream to ask (it cannot happen: heads come from the upstream in use): nothing is held back.
    for (const [subscription, { continuity }] of this.#tracked) {
      if (!continuity.backfilling) continue;
      for (const item of continuity.finish([]).live) this.#emit(subscription, item);
    }
  }

  clear(): void {
    this.#checks.clear();
    this.#tracked.clear();
    this.#logsTracked = 0;
    this.#formerHeads = undefined;
  }

  /**
   * A logs subscription was told its logs from `block` up left the chain: what ended newHeads
   * subscriptions showed from there up is no longer what it was shown (found by `npm run
   * test:props:long`, seed 20262129: those heads vouched for heights whose logs were retracted since,
   * and a check found the fork above them).
   */
  readonly #logsRetracted = (block: number): void => {
    if (this.#formerHeads) for (const n of this.#formerHeads.keys()) if (n >= block) this.#formerHeads.delete(n);
  };

  /** Adds an ended `newHeads` subscription's heads to {@link formerHeads}, keeping the last `reorgDepth` blocks. */
  #keepFormer(heads: SubscriptionContinuity): void {
    const former = (this.#formerHeads ??= new Map());
    heads.anchors(former);
    const floor = Math.max(...former.keys()) - this.#settings.reorgDepth;
    for (const n of former.keys()) if (n <= floor) former.delete(n);
  }
}
