import { hashDigest, quantity } from '../consistency/quantity.js';
import type { HashKind, KnownBlock } from '../consistency/KnownHashes.js';
import { Continuity, NO_RETRACTIONS, TEXT_OF } from './Continuity.js';
import { RecentKeys, detached } from './RecentKeys.js';
import { OffChainBlocks } from './OffChainBlocks.js';
import { RetainedLogs } from './RetainedLogs.js';
import type { Retraction } from './Retraction.js';
import { RETRACTION, asRemoved } from './Retraction.js';

/**
 * The continuity of a `logs` subscription: recent log keys tell a repeat from news; the logs of
 * the last `reorgDepth` blocks are kept (within a byte budget) to retract them on a fork; and
 * the block it began at bounds what a switch fetches.
 */
export class LogsContinuity extends Continuity {
  /**
   * The client was told logs from height `block` up left the chain (the session retracted them,
   * or their node did): the ContinuityKeeper forgets what ended newHeads subscriptions showed there.
   */
  onRetracted: ((block: number) => void) | undefined;

  readonly kind = 'logs' as const;
  /** Keys of recent logs (`blockHash:logIndex:removed?`), to drop duplicates. */
  readonly #keys = new RecentKeys(this.options.dedupeWindow);
  /** The delivered logs of the last `reorgDepth` blocks, to retract them on a fork. */
  #retained: RetainedLogs | undefined;
  /** The head when the subscription began: the client has every log above it. */
  #since: number | undefined;
  /** `#since` is a head known before the subscription began, until its node says which. */
  #sinceAtMost = false;
  /** Retractions found while admitting a log, to be delivered before it (or a {@link HeadMark}'s, at its place). */
  #orphaned: Retraction[] | undefined;
  /** While a check's results go out: the node's head it compared, if it read it. */
  #compared: number | undefined;
  /** Blocks the client was told left the chain: made with the first retraction. */
  #offChain: OffChainBlocks | undefined;

  override get retainedBytes(): number {
    return this.#retained?.bytes ?? 0;
  }

  anchors(into: Map<number, readonly [number, number]>): void {
    this.#retained?.anchors(into);
  }

  /** Whether the client was told the block of digest (`hi`, `lo`) at `block` left the chain (see {@link OffChainBlocks}). */
  offChain(block: number, hi: number, lo: number): boolean {
    return this.#offChain?.has(block, hi, lo) ?? false;
  }

  override whereIs(key: number, kind: HashKind): KnownBlock | undefined {
    return this.#retained?.whereIs(key, kind);
  }

  wholeAbove(ancestor: number): boolean {
    return this.#retained?.wholeAbove(ancestor) ?? true;
  }

  keptAll(): boolean {
    return this.#retained?.complete ?? true;
  }

  /** The block from which the client has seen every log (the head when it subscribed), until a log tells more. */
  noteSince(block: number): void {
    // A head known before replaces by the node's word while nothing was delivered or fetched from it.
    if (this.#sinceAtMost && this.held === undefined && this.last === this.#since) this.#since = this.last = undefined;
    this.#sinceAtMost = false;
    if (this.last === undefined) this.last = block;
    this.#since ??= block;
  }

  /**
   * A head of the node known before it was asked to subscribe (the subscription began at it or
   * above), used until the node's own word comes ({@link noteSince}), and in its place if it never
   * does (the connection is lost first): a check after a switch then fetches from there rather than
   * nothing.
   */
  noteSinceAtMost(block: number): void {
    if (this.#since !== undefined || this.last !== undefined) return;
    this.#since = this.last = block;
    this.#sinceAtMost = true;
  }

  /**
   * For a fork below every log kept: the height above which the client has every log it was given
   * still kept (`since`: the subscription's start, when nothing was forgotten), or the block of the
   * last log forgotten (`forgotten`), whose hash tells if the fork is below it.
   */
  logFloor(): { since: number } | { forgotten: { readonly block: number; readonly blockHash: string } } | undefined {
    const forgotten = this.#retained?.floor;
    if (forgotten !== undefined) return { forgotten };
    return this.#since === undefined ? undefined : { since: this.#since };
  }

  override takeRetractions(): readonly Retraction[] {
    const orphaned = this.#orphaned;
    this.#orphaned = undefined;
    return orphaned ?? NO_RETRACTIONS;
  }

  /** The kept logs above `head` (the node checked was behind) are compared by a later check. */
  doubtAbove(head: number): void {
    this.#retained?.doubtAbove(head);
  }

  /** The doubted heights at or below `head` were compared (`Infinity`: given up on). */
  settleDoubts(head: number): void {
    this.#retained?.settleDoubts(head);
  }

  /** (block → blockHash digest) of the kept logs a check could not compare yet. */
  doubts(into: Map<number, readonly [number, number]>): void {
    this.#retained?.doubts(into);
  }

  /**
   * The node's chain changed at `block`, now the block of digest (`hi`, `lo`) (its newHeads said
   * so): every kept log above that height, or at it in another block, is off the chain, retracted
   * now, in delivery order. The new block's own logs stay (geth sends a block's logs before its head).
   */
  retractFrom(block: number, hi: number, lo: number): Retraction[] {
    return this.#retained !== undefined && this.held === undefined ? this.#retract(this.#retained.takeOffChainAt(block, hi, lo)) : [];
  }

  /**
   * The node in use has the block of digest (`hi`, `lo`) at `block` (its newHeads delivered it):
   * kept logs of that height in another block are off its chain (given by a node on another branch
   * that was ahead of this one), retracted now. Logs above it are not judged: the block says
   * nothing of heights the node has not reached.
   */
  retractOtherBlocksAt(block: number, hi: number, lo: number): Retraction[] {
    return this.#retained === undefined ? [] : this.#retract(this.#retained.takeOtherBlocksAt(block, hi, lo));
  }

  /**
   * A head was delivered while live logs are held for a check (`reorg`: it replaced another at its
   * height): noted among them, in the order it came, so that when they go out it retracts the
   * logs held before it that it shows off the chain (see {@link retractOtherBlocksAt} and
   * {@link retractFrom}), and none that came after it: a log of another block at its height that
   * came later is the node's newer word (a reorg whose head follows its logs, as geth sends them).
   */
  noteHeadWhileHeld(block: number, hi: number, lo: number, reorg: boolean): void {
    this.held?.push(new HeadMark(block, hi, lo, reorg));
  }

  /**
   * Logs are fetched from the last block on, inclusive (it may have more logs than were
   * delivered): a node whose head is that block still has some to give.
   *
   * With no fork found, that the client has every log up to the last block is known of the chain
   * of the node that gave them; of the node checked, only up to the highest height delivered that
   * it has too (`verified`; anchors are only where logs, or other subscriptions' heads, were
   * given). Above it the chains may differ where no log was given (logs retracted there may be on
   * this one, or it has others), so the node's logs are fetched from there, as far back as forks
   * are followed (`reorgDepth`) and one backfill goes; what the client holds is dropped as a
   * repeat. A node behind the last block has its logs fetched up to its head that way too.
   */
  protected fetchFrom(last: number, head: number, ancestor: number | undefined, verified: number | undefined, deep: boolean): number {
    // The fork is above the block of the last log forgotten, which is on the node's chain (not
    // deep), and below the last log given: the client has all of that block's logs (the later ones
    // came after them), but they are no longer known, and may be more than the dedupe window holds:
    // that block is not fetched again (found by `npm run test:props:long`, seed 20261409: 300 logs
    // in a block, a fork 70 blocks above it).
    if (!deep && ancestor !== undefined && ancestor === this.#retained?.floor?.block && this.last !== undefined && ancestor < this.last) return ancestor + 1;
    if (ancestor !== undefined) return last;
    const { reorgDepth, maxBackfillBlocks } = this.options;
    // Never below where it began (the block it began at is fetched, as the last block is: a node
    // may answer its head before it sends that block's logs).
    const found = Math.max(verified ?? this.#since ?? last, last - reorgDepth, head - maxBackfillBlocks + 1, this.#since ?? -Infinity);
    return Math.min(found, last);
  }

  /**
   * Every delivered log above `ancestor` is retracted, in delivery order (as geth sends removed
   * logs: oldest block first), and forgotten (so it is delivered again if the chain comes back).
   */
  protected override rewind(ancestor: number): Retraction[] {
    super.rewind(ancestor);
    return this.#retract(this.#retained?.takeAbove(ancestor) ?? []);
  }

  /**
   * The logs (not retractions) held: dropped, they are owed to the client, so the next check
   * fetches from the lowest of their blocks (after a reorg of its node they may lie below the last
   * block delivered).
   */
  protected override dropHeld(held: readonly unknown[]): void {
    const blocks: Array<{ block: number }> = [];
    for (const result of held) {
      const log = result as { blockNumber?: unknown; removed?: unknown } | null;
      const block = typeof log === 'object' && log !== null && log.removed !== true ? quantity(log.blockNumber) : undefined;
      if (block !== undefined) blocks.push({ block });
    }
    this.#forgetFrom(blocks, false);
  }

  /** `head`: the node's head the check compared (see {@link HeadMark}). */
  override finish(fetched: readonly unknown[], ancestor?: number, deep = false, head?: number): { retracted: Retraction[]; backfilled: unknown[]; live: unknown[] } {
    this.#compared = head;
    try {
      return super.finish(this.#notOverruled(fetched), ancestor, deep);
    } finally {
      this.#compared = undefined;
    }
  }

  /**
   * The fetched logs, less those of a block that a head delivered while the check ran showed off
   * the chain at its height: the node answered the fetch, then moved to another block there (its
   * head came after; the logs that head retracted must not come back from the older answer).
   */
  #notOverruled(fetched: readonly unknown[]): readonly unknown[] {
    let heads: Map<number, HeadMark> | undefined;
    for (const result of this.held ?? []) if (result instanceof HeadMark) (heads ??= new Map()).set(result.block, result);
    if (heads === undefined) return fetched;
    return fetched.filter((result) => {
      const log = result as { blockNumber?: unknown; blockHash?: unknown } | null;
      const mark = typeof log === 'object' && log !== null ? heads.get(quantity(log.blockNumber) ?? -1) : undefined;
      const digest = mark === undefined ? undefined : hashDigest(log!.blockHash);
      return digest === undefined || (digest[0] === mark!.hi && digest[1] === mark!.lo);
    });
  }

  protected admit(result: unknown, live: boolean): boolean {
    if (result instanceof HeadMark) {
      this.#orphaned = this.#afterHead(result);
      return false;
    }
    if (typeof result !== 'object' || result === null) return true;
    const r = result as Record<string, unknown>;
    // A live log at or above a height a check could not compare (its node was behind): the node
    // has reached it, so its chain is compared there first (the log waits, as a head that does not link).
    if (live && this.#retained?.doubting === true && this.#retained.doubtedUpTo(quantity(r.blockNumber) ?? -1)) {
      this.held = [result];
      this.unlinked = true;
      return false;
    }
    return this.#admitLog(r);
  }

  /**
   * What a head noted while logs were held retracts, now that those held before it are delivered.
   * Heights at or below the head a check compared are left to it: the logs it fetched there are
   * of the chain it saw, whose timing against the head's is not known.
   */
  #afterHead({ block, hi, lo, reorg }: HeadMark): Retraction[] | undefined {
    if (this.#retained === undefined || (this.#compared !== undefined && block <= this.#compared)) return undefined;
    const taken = reorg ? this.#retained.takeOffChainAt(block, hi, lo) : this.#retained.takeOtherBlocksAt(block, hi, lo);
    return taken.length > 0 ? this.#retract(taken) : undefined;
  }

  #retract(logs: ReadonlyArray<{ block: number; blockHash: string; key: string; text: string }>): Retraction[] {
    this.#forgetFrom(logs);
    return logs.map((log) => {
      (this.#offChain ??= new OffChainBlocks(this.options.reorgDepth)).left(log.block, log.blockHash);
      this.#keys.forget(log.key);
      this.#retained?.retire(log.block, log.key);
      // The node may announce it too (geth sends removed logs): the client gets it once.
      this.#keys.remember(`${log.key}removed`);
      return { [RETRACTION]: true, text: asRemoved(log.text) };
    });
  }

  /**
   * Logs the client no longer holds (retracted, by the session or their node): it has not seen
   * everything from the lowest of their blocks on any more, so a later backfill fetches from there
   * (the chain may bring them back). Nor from the newest log it still holds below them: the heights
   * between, where it was given none, it saw on the branch it was shown them on, which may have
   * logs the chain it is on now has there (found by `npm run test:props:long`, seed 20261524). With
   * none held below, as far back as forks are followed (`reorgDepth`), not below where it began.
   * `shown`: false for logs held and dropped unseen, which tell nothing of the heights below them.
   */
  #forgetFrom(logs: ReadonlyArray<{ block: number }>, shown = true): void {
    if (logs.length === 0) return;
    let lowest = Infinity;
    for (const { block } of logs) if (block < lowest) lowest = block;
    // Told to the client (retracted by the session or by the node): see `onRetracted`.
    if (shown) this.onRetracted?.(lowest);
    const held = shown ? this.#retained?.newestBelow(lowest) : lowest - 1;
    const upTo = held ?? Math.min(lowest - 1, Math.max(this.#since ?? 0, lowest - 1 - this.options.reorgDepth));
    // Also when nothing was known of where the client stands (a subscription answered by a socket
    // being left, its start unknown): from there on is owed.
    if (this.last === undefined || upTo < this.last) this.last = upTo;
  }

  #admitLog(r: Record<string, unknown>): boolean {
    if (typeof r.blockHash !== 'string' || typeof r.logIndex !== 'string') return true;
    const removed = r.removed === true;
    // Copied first, so the set hashes one flat string once (and keeps no frame alive).
    const key = detached(`${r.blockHash}:${r.logIndex}:${removed ? 'removed' : ''}`);
    const original = removed ? key.slice(0, -'removed'.length) : key;
    // Kept logs, and retracted ones, are known beyond the dedupe window: a backfill from the last
    // block delivered repeats all of that block's logs, and a node's own retraction of logs the
    // client no longer holds may come after more logs than the window holds.
    if (this.#keys.has(key) || (removed ? this.#retained?.retracted(original) : this.#retained?.has(key)) === true) {
      this.duplicateCount += 1;
      return false;
    }
    this.#keys.remember(key);
    // Delivered (again): a later removal of it is news, not a repeat of an earlier one.
    if (!removed) this.#keys.forget(`${key}removed`);
    const block = quantity(r.blockNumber);
    if (block === undefined) return true;
    if (removed) {
      // The node retracted it itself: no longer the client's, and free to come back.
      this.#retained?.drop(original);
      this.#retained?.retire(block, original);
      this.#keys.forget(original);
      this.#forgetFrom([{ block }]);
      (this.#offChain ??= new OffChainBlocks(this.options.reorgDepth)).left(block, r.blockHash);
      return true;
    }
    this.#offChain?.given(block, r.blockHash);
    this.last = this.last === undefined ? block : Math.max(this.last, block);
    const orphaned = this.#retained?.takeOrphanedBy(block, r.blockHash) ?? [];
    if (orphaned.length > 0) this.#orphaned = this.#retract(orphaned);
    const text = (r as { [k: symbol]: unknown })[TEXT_OF] as string | undefined;
    // Created with the first log: a quiet subscription keeps nothing.
    (this.#retained ??= new RetainedLogs(this.options.reorgDepth, this.options.maxRetainedBytes)).add(block, detached(r.blockHash), key, text === undefined ? JSON.stringify(r) : detached(text));
    this.onBlock?.(block);
    return true;
  }
}

/**
 * A head delivered while a `logs` subscription's live logs were held, kept among them in the
 * order it came (see {@link LogsContinuity.noteHeadWhileHeld}); never delivered.
 */
class HeadMark {
  constructor(
    readonly block: number,
    readonly hi: number,
    readonly lo: number,
    readonly reorg: boolean,
  ) {}
}
