import type { HeadChange } from './sharedChain.js';

/**
 * State at `latest` for the chaos clients (invariant 10): each client reads the balance of
 * SharedChain's `TICKS` at `latest`, which is the number of the block whose state answered, on any
 * branch (every block sends it 1 wei, a fork's too, so another branch's different transactions do
 * not matter). That number must not be below the highest block the client had been given when it
 * sent the read (its view: a lower bound of the session's or the pool's, which count more kinds of
 * answers). A lagging node's answer is held, or the read fails with `BEHIND`: errors are answers.
 *
 * One thing no library can see, and the consistency guide says so ("what nobody has told yet"): a
 * node whose head went DOWN since its last word (a live fork to a shorter branch, a rejoin's
 * rollback; on anvil even a fork to a longer one, whose rollback and first block are two steps).
 * Its word is still at the view, so its older state passes until a probe or an `eth_blockNumber`
 * answer says otherwise (a client on it was shown the node's reorg, as one node would show it).
 * Which node answered a read the client cannot tell, so an answer below the view is judged at the
 * end of the run against the chain's record of every node's head ({@link rewoundNode}): if some
 * node had been at the view or above and then, between the send and the answer, was at exactly
 * the block answered, the answer is ambiguous and counted apart (`stateReadsOlderAfterRewind`),
 * not as a violation. A lagging node's head only goes up, so a lag is never excused; nor is a node
 * that never reached the view (the canonical node, when the client's view came from a longer fork
 * branch on the other).
 */

export interface StateCounts {
  /** State reads at `latest` answered with a balance, checked against the client's view. */
  stateReadsChecked: number;
  /** Answered with the state of a block below the view, and no node's rewind explains it: a violation. */
  stateReadsOlder: number;
  /** Answered below the view by a node that had been at the view and had gone down since (see above). */
  stateReadsOlderAfterRewind: number;
}

export const emptyStateCounts = (): StateCounts => ({ stateReadsChecked: 0, stateReadsOlder: 0, stateReadsOlderAfterRewind: 0 });

/** A read sent: the client's view then, and when (ms, on the caller's clock). */
interface Sent {
  view: number;
  at: number;
}

/** An answer below the view, judged at the end. */
interface Older extends Sent {
  id: unknown;
  state: number;
  answeredAt: number;
}

export class StateReads {
  /** id → the state reads in flight with it, oldest first (a client's view only goes up). */
  readonly #inFlight = new Map<unknown, Sent[]>();
  readonly #older: Older[] = [];

  constructor(
    readonly counts: StateCounts,
    /** A violation, described, and when its answer arrived. */
    readonly example: (text: string, at: number) => void,
  ) {}

  /** Whether a state read is in flight with `id` (then an answer with it is a state read's). */
  has(id: unknown): boolean {
    return this.#inFlight.has(id);
  }

  sent(id: unknown, view: number, at: number): void {
    const list = this.#inFlight.get(id);
    if (list) list.push({ view, at });
    else this.#inFlight.set(id, [{ view, at }]);
  }

  /**
   * The answer to one of the state reads in flight with `id`, arrived at `at`. Which one is not
   * known when several are (ids repeat, and a read held answers after a later one): it is judged by
   * the oldest's view and send time (the lowest view, the longest time a node may have answered
   * in), and the newest is taken out, so what stays is never judged by a higher view than its own.
   */
  answered(id: unknown, answer: { result?: unknown; error?: unknown }, at: number): void {
    const list = this.#inFlight.get(id);
    if (!list) return;
    const oldest = list[0]!;
    list.pop();
    if (list.length === 0) this.#inFlight.delete(id);
    if (answer.error !== undefined || typeof answer.result !== 'string') return; // an error (BEHIND): counted by code by the caller
    const state = Number(answer.result);
    if (!Number.isSafeInteger(state)) return;
    this.counts.stateReadsChecked += 1;
    if (state < oldest.view) this.#older.push({ ...oldest, id, state, answeredAt: at });
  }

  /**
   * Judges the answers below the view against every node's head moves (`origin`: the time on the
   * `headChanges` clock, `Date.now()`, of this one's 0).
   */
  finish(changes: readonly HeadChange[], origin = 0): void {
    const moves = changes.map((c) => ({ ...c, from: c.from - origin, to: c.to - origin }));
    for (const older of this.#older.splice(0)) {
      const { id, view, at, state, answeredAt } = older;
      if (rewoundNode(moves, state, view, at, answeredAt) !== undefined) {
        this.counts.stateReadsOlderAfterRewind += 1;
        continue;
      }
      this.counts.stateReadsOlder += 1;
      this.example(
        `eth_getBalance(TICKS, latest) #${String(id)} sent at ${seconds(at)} with the client's view at block ${view} answered with the state of block ${state} ` +
          `(node heads meanwhile: ${headsBetween(moves, at, answeredAt)}; none had been at ${view} and gone down since)`,
        answeredAt,
      );
    }
  }
}

export const seconds = (ms: number) => `${(ms / 1_000).toFixed(1)}s`;

/** A node's head over time: `head` from (at the earliest) `from` to (at the latest) `to`. */
interface Span {
  node: string;
  head: number;
  from: number;
  to: number;
}

/**
 * Each node's heads as spans, in its order: a head may have begun as soon as the call that made it
 * began, and lasted until the call that replaced it returned (so the spans of one node overlap,
 * and an answer is never judged by a head a few ms off).
 */
function spans(changes: readonly HeadChange[]): Map<string, Span[]> {
  const byNode = new Map<string, Span[]>();
  for (const { node, head, from, to } of changes) {
    let list = byNode.get(node);
    if (!list) byNode.set(node, (list = []));
    const last = list[list.length - 1];
    if (last) last.to = to;
    list.push({ node, head, from, to: Number.POSITIVE_INFINITY });
  }
  return byNode;
}

/**
 * The node that could have answered the state of block `state` between `from` and `to` though the
 * library held a word of its head at `view` or above: its head had been at `view` or above, then
 * went down, and was `state` in that time. Undefined when no node could.
 */
export function rewoundNode(changes: readonly HeadChange[], state: number, view: number, from: number, to: number): string | undefined {
  for (const [node, list] of spans(changes)) {
    let reached = false;
    for (const span of list) {
      if (reached && span.head === state && span.from <= to && span.to >= from) return node;
      if (span.head >= view) reached = true;
    }
  }
  return undefined;
}

/** Each node's heads between `from` and `to`, for an example: "a 40–41, b 37". */
export function headsBetween(changes: readonly HeadChange[], from: number, to: number): string {
  const parts: string[] = [];
  for (const [node, list] of spans(changes)) {
    const heads = list.filter((s) => s.from <= to && s.to >= from).map((s) => s.head);
    if (heads.length === 0) continue;
    const low = Math.min(...heads);
    const high = Math.max(...heads);
    parts.push(`${node} ${low === high ? low : `${low}–${high}`}`);
  }
  return parts.join(', ');
}
