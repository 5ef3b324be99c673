import { hashDigest } from '../consistency/quantity.js';
import { SteadyRpcError } from '../errors.js';
import { parseQuantity } from '../health/probes.js';
import type { SubscriptionContinuity } from './Continuity.js';
import type { OwnCall, ReorgEvent } from './ContinuitySettings.js';

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * `null` from the node for a block at or below the head it answered: it does not serve that block
 * yet (a load-balanced endpoint whose read backend lags the one that answered the head), which says
 * nothing of its chain. The check looks again a little later (ContinuityKeeper).
 */
export class BlockNotServed extends SteadyRpcError {
  constructor(block: number, head: number) {
    super('ERR_BAD_RESPONSE', `The node answered null for block ${block}, at or below the head ${head} it answered`);
  }
}

/** Block `n` as a check read it from a node whose head is `head`: a `null` is {@link BlockNotServed}. */
export function servedBlock(block: unknown, n: number, head: number): { hash?: unknown } {
  if (block === null || typeof block !== 'object') throw new BlockNotServed(n, head);
  return block;
}

/** One event for the forks a check found (they may differ by subscription): the deepest. */
export function deepestFork(forks: ReadonlyMap<string, ReorgEvent>): ReorgEvent | undefined {
  let event: ReorgEvent | undefined;
  for (const fork of forks.values()) {
    event = event === undefined ? fork : { ancestor: Math.min(event.ancestor, fork.ancestor), depth: Math.max(event.depth, fork.depth), deep: event.deep || fork.deep };
  }
  return event;
}

/**
 * The new node's head, and for each subscription where the node's chain leaves what it delivered:
 * the highest delivered height (at or below the node's head) whose hash the node has too.
 * Subscriptions are judged one by one, each by what it was given and, where they do not
 * contradict it, by the others' heights (one may have been shown another branch: one that began
 * during a node's reorg saw only its new branch), from one set of reads: the node's block at each
 * subscription's highest such height first, and only on a fork at every other one. Heights above
 * the node's head cannot be compared: a node behind on the same chain is not a fork. Used by
 * ContinuityKeeper after each switch (and when a live head does not link).
 */
/** The heights of `delivered` at or below `head`, newest first. */
function heightsUpTo(delivered: ReadonlyMap<number, unknown>, head: number): number[] {
  return [...delivered.keys()].filter((n) => n <= head).sort((x, y) => y - x);
}

/** A height two subscriptions were shown different blocks at (see {@link locateForks}). */
const CONFLICT = 0;

export async function locateForks(
  call: OwnCall,
  subscriptions: () => ReadonlyArray<readonly [string, SubscriptionContinuity]>,
  formerHeads: ReadonlyMap<number, readonly [number, number]> = new Map(),
): Promise<{ head: number; forks: Map<string, ReorgEvent>; verified: Map<string, number> }> {
  const head = parseQuantity(await call('eth_blockNumber', []), 'eth_blockNumber');
  // The subscriptions kept once the head is known (one may have come or gone meanwhile).
  const tracked = subscriptions();
  const reads = new Map<number, Promise<readonly [number, number] | undefined>>();
  const nodeAt = (n: number) => {
    let read = reads.get(n);
    if (!read) {
      read = call('eth_getBlockByNumber', [hex(n), false]).then((block) => hashDigest(servedBlock(block, n, head).hash));
      reads.set(n, read);
    }
    return read;
  };
  const same = async (n: number, mine: readonly [number, number]) => {
    const theirs = await nodeAt(n);
    return theirs !== undefined && theirs[0] === mine[0] && theirs[1] === mine[1];
  };
  // What every subscription was given, so that one with few heights of its own (logs of a rare
  // event) is judged by the others' too where they agree with it. A height where two of them were
  // shown different blocks (one saw a reorg the other has not been told of yet) is marked: it tells
  // nothing, and a subscription that holds one of them is judged by its own heights only.
  // The heads of `newHeads` subscriptions since ended count too: the heights a logs subscription
  // was shown no log at while one of them ran were on the branch it was given (one begun since, on
  // another node, must not vouch for them: found by `npm run test:props:long`, seed 20261524).
  const union = new Map<number, readonly [number, number] | typeof CONFLICT>(formerHeads);
  const each = new Map<number, readonly [number, number]>();
  for (const [, continuity] of tracked) {
    each.clear();
    continuity.anchors(each);
    for (const [n, digest] of each) {
      const other = union.get(n);
      if (other === undefined) union.set(n, digest);
      else if (other !== CONFLICT && (other[0] !== digest[0] || other[1] !== digest[1])) union.set(n, CONFLICT);
    }
  }
  const forks = new Map<string, ReorgEvent>();
  // For each subscription, the highest height delivered that the node's chain has too.
  const verified = new Map<string, number>();
  await Promise.all(
    tracked.map(async ([subscription, continuity]) => {
      const own = new Map<number, readonly [number, number]>();
      continuity.anchors(own);
      // The others' heights only when none contradicts its own: one that was shown another branch
      // (a reorg it saw while this one's check was cut short) says nothing of this one's chain.
      const agrees = [...own.keys()].every((n) => union.get(n) !== CONFLICT);
      const delivered = new Map(own);
      // Nor a block this one told the client left the chain (see LogsContinuity.offChain).
      const offChain = (n: number, [hi, lo]: readonly [number, number]) => continuity.kind === 'logs' && continuity.offChain(n, hi, lo);
      if (agrees) for (const [n, digest] of union) if (digest !== CONFLICT && !delivered.has(n) && !offChain(n, digest)) delivered.set(n, digest);
      const numbers = heightsUpTo(delivered, head);
      if (numbers.length === 0) return;
      const top = numbers[0]!;
      const ownTop = heightsUpTo(own, head)[0];
      // Heights compared for the common ancestor, newest first, once the newest is known to differ.
      let below: number[] | undefined;
      // The lowest of the heights its newest block does not vouch for that the node's chain leaves:
      // logs given by a node that was ahead of an earlier check's node (see `doubts`), and what was
      // delivered before a check that failed (see Continuity.distrust).
      const doubtedLeft = async (): Promise<number | undefined> => {
        const doubted = new Map<number, readonly [number, number]>();
        if (continuity.kind === 'logs') continuity.doubts(doubted);
        continuity.suspects(doubted);
        const heights = [...doubted.keys()].filter((n) => n <= head).sort((x, y) => x - y);
        const sames = await Promise.all(heights.map((n) => same(n, doubted.get(n)!)));
        return heights.find((_, i) => !sames[i]);
      };
      if (ownTop !== undefined && ownTop !== top) {
        // What it was given must be on the node's chain up to its own newest block; the others'
        // heights above that tell only of the chain above it (another may have begun on a branch
        // this one was never shown: after a reorg this one's check was cut short before telling it).
        const [ownSame, topSame] = await Promise.all([same(ownTop, own.get(ownTop)!), same(top, delivered.get(top)!)]);
        if (!(ownSame && topSame)) below = ownSame ? numbers.filter((n) => n >= ownTop).slice(1) : numbers.filter((n) => n < ownTop);
        // Its own newest block is on the node's chain, but not necessarily what it was given below
        // it by another node: compared as when the newest block is (below).
        if (ownSame && !topSame) {
          const differs = await doubtedLeft();
          if (differs !== undefined) below = numbers.filter((n) => n < differs);
        }
      } else if (!(await same(top, delivered.get(top)!))) {
        below = numbers.slice(1);
      }
      if (below === undefined) {
        // The newest block is on the node's chain, and so is all below it that came from one node.
        // Not logs given by a node that was ahead of an earlier check's node (see `doubts`): each
        // of those is compared now that this node has reached it.
        // Nor what was delivered before a check that failed (see Continuity.distrust).
        const differs = await doubtedLeft();
        if (differs === undefined) return void verified.set(subscription, top);
        below = numbers.filter((n) => n < differs);
      }
      // A fork: every delivered height below is compared at once (`reorgDepth` at most). The
      // ancestor is below every height of its own that the node's chain leaves: another's block
      // that the node has above one of those is on a branch that left this one's (a head whose
      // parent is not the block of a log it was given; found by `npm run test:props:long`, seed
      // 20262190).
      const sames = await Promise.all(below.map((n) => same(n, delivered.get(n)!)));
      let ownLeft = Infinity;
      below.forEach((n, i) => {
        if (!sames[i] && own.has(n)) ownLeft = Math.min(ownLeft, n);
      });
      const at = below.findIndex((n, i) => sames[i] && n < ownLeft);
      // No height in common: the fork is below everything kept. When that is everything the client
      // was given (a young subscription), it is below anything it has seen, and the new branch from
      // there is all it needs; otherwise it is deeper than the kept history.
      let ancestor = at < 0 ? numbers[numbers.length - 1]! - 1 : below[at]!;
      let deep = at < 0 ? !continuity.keptAll() : !continuity.wholeAbove(ancestor);
      // A logs subscription has heights only where it was given logs: below its lowest, the fork
      // may be anywhere down to where it began, or to the last log it forgot (if that is still on
      // the node's chain; else the fork reaches below what is kept).
      const floor = at < 0 && continuity.kind === 'logs' ? continuity.logFloor() : undefined;
      if (floor !== undefined && 'since' in floor) ancestor = Math.min(ancestor, floor.since);
      else if (floor !== undefined) {
        const { block, blockHash } = floor.forgotten;
        const digest = hashDigest(blockHash);
        if (block <= head && digest !== undefined && (await same(block, digest))) {
          ancestor = Math.min(ancestor, block);
          deep = false;
        } else if (block <= head) {
          // Deep (the log forgot there is off the node's chain, and stays with the client), but
          // what the client has above it is known only where it was given logs: the new branch's
          // logs are fetched from that block on, not only over the range of the logs kept.
          ancestor = Math.min(ancestor, block);
        }
      }
      // Heights matched, but below the newest log forgotten (a logs subscription kept nothing
      // between it and the heights that differ): if that log is on the node's chain, so is all the
      // client holds below it (what it holds is one chain), and the fork is above it, within what
      // is kept (found by `npm run test:props:long`, seed 20261909: a fork 70 blocks up, reported
      // deep at the heights of an ended newHeads subscription 80 blocks down).
      if (at >= 0 && continuity.kind === 'logs') {
        const low = continuity.logFloor();
        if (low !== undefined && 'forgotten' in low) {
          const { block, blockHash } = low.forgotten;
          const digest = hashDigest(blockHash);
          const passed = below.slice(0, at);
          if (block > ancestor && block <= head && digest !== undefined && passed.every((n) => n > block) && (await same(block, digest))) {
            ancestor = block;
            deep = !continuity.wholeAbove(ancestor);
          }
        }
      }
      forks.set(subscription, { ancestor, depth: Math.max(...delivered.keys()) - ancestor, deep });
      verified.set(subscription, ancestor);
    }),
  );
  return { head, forks, verified };
}

