import type { SteadyRpcError } from '../errors.js';

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

/**
 * A JSON-RPC call the session makes on its own behalf on the upstream now in use. `answered`, if
 * given, is called as the node's answer arrives, before the promise settles: what the socket
 * brought after it (in the same read) has not been seen yet.
 */
export type OwnCall = (method: string, params: unknown[], answered?: () => void) => Promise<unknown>;

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
