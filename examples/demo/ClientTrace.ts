/**
 * What one demo client saw, in time since the demo started: every balance call (sent, answered by
 * which node, or failed), every block, and the audit of its raw frames.
 */
import { FrameAudit } from './FrameAudit.js';
import type { NodeName } from './nodes.js';

export type ClientName = 'ws' | 'viem' | 'ethers';

export interface Answer {
  /** When the call was sent and answered, in ms since the demo started. */
  sentAt: number;
  at: number;
  node: NodeName | undefined;
}

export class ClientTrace {
  readonly audit = new FrameAudit();
  readonly answers: Answer[] = [];
  readonly blocks: Array<{ at: number; number: number }> = [];
  /** Calls answered with an error. */
  readonly failures: Array<{ at: number; message: string }> = [];
  /** Errors the client library reported outside any call (e.g. a watcher's `onError`). */
  readonly problems: Array<{ at: number; message: string }> = [];
  /** Blocks the session fetched after a switch and delivered (what the client missed meanwhile). */
  readonly backfills: Array<{ at: number; blocks: number }> = [];
  sent = 0;
  /** The node that answered last. */
  node: NodeName | undefined;
  readonly #owed = new Map<number, number>();
  #nextCall = 0;
  #onNode: ((node: NodeName | undefined, at: number) => void) | undefined;

  constructor(
    readonly name: ClientName,
    /** e.g. `ws (via proxy)`. */
    readonly label: string,
    readonly now: () => number,
  ) {}

  /** Called when the answering node changes. */
  onNodeChange(listener: (node: NodeName | undefined, at: number) => void): void {
    this.#onNode = listener;
  }

  get answered(): number {
    return this.answers.length;
  }

  /** Calls sent and not settled yet. */
  get owed(): number {
    return this.#owed.size;
  }

  /** How long the oldest unsettled call has waited, in ms (0 if none). */
  oldestOwedMs(): number {
    let oldest = Infinity;
    for (const sentAt of this.#owed.values()) oldest = Math.min(oldest, sentAt);
    return oldest === Infinity ? 0 : this.now() - oldest;
  }

  /** Records a call being sent; settle it with the returned token. */
  send(): number {
    const token = this.#nextCall++;
    this.sent += 1;
    this.#owed.set(token, this.now());
    return token;
  }

  answer(token: number, node: NodeName | undefined): void {
    const sentAt = this.#owed.get(token);
    if (sentAt === undefined) return;
    this.#owed.delete(token);
    const at = this.now();
    this.answers.push({ sentAt, at, node });
    if (node !== this.node) {
      this.node = node;
      this.#onNode?.(node, at);
    }
  }

  fail(token: number, error: unknown): void {
    if (!this.#owed.delete(token)) return;
    this.failures.push({ at: this.now(), message: firstLine(error) });
  }

  problem(source: string, error: unknown): void {
    this.problems.push({ at: this.now(), message: `${source}: ${firstLine(error)}` });
  }

  block(number: number): void {
    this.blocks.push({ at: this.now(), number });
  }

  backfilled(blocks: number): void {
    this.backfills.push({ at: this.now(), blocks });
  }
}

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
