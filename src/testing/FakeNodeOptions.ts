import type { Clock } from '../Clock.js';
import type { FakeChain } from './FakeChain.js';

/**
 * How the fake node behaves right now:
 * - `ok`: answers;
 * - `down`: refuses connections (HTTP requests reject like a closed port, sockets fail to open);
 * - `stall`: never answers (a blackholed or zombie node): HTTP requests hang, new sockets never
 *   open, open sockets go silent;
 * - `http-error`: answers HTTP 503;
 * - `rpc-error`: answers every call with a JSON-RPC internal error.
 */
export type FakeNodeMode = 'ok' | 'down' | 'stall' | 'http-error' | 'rpc-error';

/**
 * How a {@link FakeNode} names the subscriptions it opens:
 * - `random`: a 128-bit hex quantity, different for every subscription of the node, on any socket,
 *   as geth, erigon, reth, nethermind and anvil give (random there; here drawn from the node's
 *   `name`, the same on every run, so two nodes of one name give the same ids);
 * - `per-socket`: `0x1`, `0x2`, … counted again on every socket, so every node gives the same
 *   ids in the same order (ids a client might keep across a reconnection by chance).
 */
export type FakeSubscriptionIds = 'random' | 'per-socket';

export interface FakeNodeOptions {
  /** Used in answers to `web3_clientVersion` and in error messages. @default 'fake' */
  name?: string;
  /** @default 1 */
  chainId?: number;
  /** Block number of the head at start. @default 0 (on a chain: its genesis) */
  head?: number;
  /** Wei returned by `eth_getBalance` for any address, so tests can tell nodes apart. @default 0n */
  balance?: bigint;
  /** Needed only when `latencyMs` > 0: answers are delayed on this clock. */
  clock?: Clock;
  /** Delay before each HTTP answer, in ms (on `clock`); socket answers go out at once. @default 0 */
  latencyMs?: number;
  /**
   * The network's block tree this node shares with others (see {@link FakeChain}): it starts at
   * `head` on the chain's first branch. Without one, the node has a chain of its own whose hashes
   * are `fakeBlockHash(number, node.fork)` at every height.
   */
  chain?: FakeChain;
  /**
   * On a reorg of its chain (`forkAt`, `follow`), tell `logs` subscribers of the logs of the
   * blocks it left with `removed: true`, as geth does; anvil does not. @default true
   */
  announceRemovedLogs?: boolean;
  /**
   * Send a block's logs to `logs` subscribers before its head goes to `newHeads` subscribers, as
   * geth does (it writes the logs feed, then the chain head feed): on a reorg, the new block's logs
   * then come before the head that replaces the old one. Off: the head first, then its logs.
   * @default false
   */
  logsBeforeHead?: boolean;
  /** See {@link FakeSubscriptionIds}. @default 'random' */
  subscriptionIds?: FakeSubscriptionIds;
}

/** How a node announces blocks it adds in one move (`advance`, `forkAt`, `follow`). */
export interface FakeImportOptions {
  /**
   * One import of all the blocks, as geth imports a batch it syncs (or the new branch of a reorg):
   * `logs` subscribers hear of every block's logs, `newHeads` subscribers of the last head only,
   * a gap in their stream. @default false
   */
  batch?: boolean;
}

/** A reorg of a node (`forkAt`): how its new blocks are announced, and what they carry. */
export interface FakeForkOptions extends FakeImportOptions {
  /** Logs each new block carries when it is announced (address `0x…01`, data `0x`). @default 0 */
  logs?: number;
}
