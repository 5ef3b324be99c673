import type { TimerHandle } from '../Clock.js';
import { ChainView } from '../consistency/ChainView.js';
import { quantity } from '../consistency/quantity.js';
import { hashOf } from '../consistency/viewMethods.js';
import type { ViewDemand } from '../consistency/ChainView.js';
import type { HashKind, KnownBlock } from '../consistency/KnownHashes.js';
import { lookedUp } from '../consistency/KnownHashes.js';
import type { ConsistencySettings } from '../consistency/settings.js';
import { parseQuantity } from '../health/probes.js';
import { SharedReads } from '../SharedReads.js';
import type { JsonRpcResponse } from '../jsonrpc.js';
import { RpcErrorCode } from '../jsonrpc.js';
import type { PendingCall } from './PendingCall.js';
import { clientAnswer } from './PendingCall.js';
import type { SessionContext } from './SessionContext.js';
import type { UpstreamLink } from './UpstreamLink.js';

interface Waiting {
  readonly call: PendingCall;
  readonly need: number;
  readonly deadline: number;
  /** The node that has another block at `need`, when the call was held for that (see {@link ViewGate.#confirm}). */
  readonly leftBy?: string;
}

/**
 * Holds a session's answers to the client's view of the chain ({@link ChainView}). An answer from a
 * node behind that view (a lower `eth_blockNumber`, `null` for a block or receipt the client was
 * given, state or logs cut short at the node's older head) is not delivered: the call waits until
 * the node in use (whichever it is by then) has caught up and is then asked again, or gets `BEHIND`
 * when `waitMs` passes. One poll timer serves every waiting call.
 */
export class ViewGate {
  readonly view: ChainView;
  readonly #ctx: SessionContext;
  readonly #settings: ConsistencySettings;
  readonly #waiting: Waiting[] = [];
  /** When each call held so far must be answered by: a call held again keeps its first deadline. */
  #deadlines: WeakMap<PendingCall, number> | undefined;
  /** Reads told held behind (`behind` event, `stats.held`): once each. */
  #told: WeakSet<PendingCall> | undefined;
  /** Calls whose answer waits for the node's head to be read (they are owed an answer too). */
  #checking: Set<PendingCall> | undefined;
  /**
   * Reads by hash held while the client's subscriptions held the block they look up (see
   * {@link #confirm}), and the number of the check (ContinuityKeeper) they wait for.
   */
  #heldForCheck: WeakMap<PendingCall, number> | undefined;
  #timer: TimerHandle | undefined;
  #polling = false;
  /** The block reads of {@link #confirm} under way, by link and height. */
  readonly #blockReads: SharedReads<unknown>;
  /** The block a node was last found to have left (see {@link #nodeLeft}). */
  #left: { readonly link: UpstreamLink; readonly block: number } | undefined;
  /** Calls held because their node was behind, and how many of them were failed with `BEHIND`. */
  readonly stats = { held: 0, behind: 0 };

  constructor(ctx: SessionContext, settings: ConsistencySettings) {
    this.#ctx = ctx;
    this.#settings = settings;
    this.#blockReads = new SharedReads(() => ctx.clock.now());
    // Its rises are dated on the session's clock: compared with the heads the pool's probes read,
    // as #knownHead compares them, the two are taken to be one clock (they are unless a host gives
    // the session and its pool different ones).
    this.view = new ChainView(() => ctx.clock.now());
  }

  get enabled(): boolean {
    return this.#settings.monotonic;
  }

  /**
   * How far behind the view, in time, a node probed may be and still count as caught up (to fail
   * back to it): two polls, so a read it cannot serve yet waits at most about that long.
   */
  get skewMs(): number {
    return 2 * this.#settings.pollMs;
  }

  /** Whether `method`'s answer must be read before it goes out (it may raise or be judged by the view). */
  reads(call: PendingCall): boolean {
    return this.#settings.monotonic && (ChainView.observes(call.method) || this.view.demand(call.method, call.params, call.viewAt) !== undefined);
  }

  /**
   * What the session learned of `link`'s head: `asked`, the node's answer to `eth_blockNumber`,
   * is its latest word, also when lower than before (the node rewound); a head it showed otherwise
   * (a notification, a block delivered) only raises it.
   */
  noteHead(link: UpstreamLink, head: number, asked = false, now = this.#ctx.clock.now()): void {
    if (!asked && link.head !== undefined && head <= link.head) return;
    link.head = head;
    link.headAt = now;
  }

  /**
   * Delivers the answer to `call` from `link`, or holds the call when `link` is behind what the
   * client has seen (asking the node's head first when that decides it).
   */
  deliver(link: UpstreamLink, call: PendingCall, response: JsonRpcResponse): void {
    const ctx = this.#ctx;
    if (!this.#settings.monotonic) return ctx.answer(call, clientAnswer(call, response));
    if (call.method === 'eth_blockNumber' && !('error' in response)) {
      try {
        this.noteHead(link, parseQuantity(response.result, 'eth_blockNumber'), true);
      } catch {
        // not a quantity: the client gets it as the node wrote it
      }
    }
    const demand = this.view.demand(call.method, call.params, call.viewAt);
    if (demand === undefined) return this.#answer(call, response);
    const verdict = this.view.judge(call.method, demand, response, this.#knownHead(call, demand));
    if (verdict === 'ok') {
      const lapsed = this.view.lapsed(response, call.viewAt, call.given);
      return lapsed === undefined ? this.#answer(call, response) : this.#confirm(link, call, response, lapsed);
    }
    if (verdict === 'behind') return this.#hold(call, demand);
    // Whether the node's answer can be trusted depends on its head: ask it.
    (this.#checking ??= new Set()).add(call);
    ctx.outbox.ownCall(link)('eth_blockNumber', []).then(
      (value) => {
        if (!this.#checking?.delete(call)) return; // the session closed meanwhile
        // Noted as the node's latest word by the own call itself (Outbox.ownCall).
        const head = quantity(value);
        // Even when the node has got there now, its answer may be from before: it is asked again
        // (at once when it has; its next answer is then judged by a head known beforehand). Only a
        // node below the view makes it a read held behind (the `behind` event, the count).
        this.#hold(call, demand, head === undefined || head < demand.need);
        this.#release(link);
      },
      () => {
        if (this.#checking?.delete(call)) this.#hold(call, demand);
      },
    );
  }

  /** Where the hash a read by hash looks up is, if the client has been given it (see ChainView.given). */
  given(method: string, params: unknown): KnownBlock | undefined {
    return this.#settings.monotonic ? this.view.given(method, params, this.#lookup) : undefined;
  }

  /** Hashes the client was given in notifications. */
  readonly #lookup = (key: number, kind: HashKind): KnownBlock | undefined => this.#ctx.continuity.whereIs(key, kind);

  /**
   * `null` from a node whose head is past the block `known` (a block or transaction the client was
   * given): the node is asked for its block at that height. The same block, or none, says its read
   * backend lags: the read is held and asked again at each poll, as a read by number is. Another
   * block says a reorg took it away: `null` is the answer, and the node's chain is checked against
   * what the subscriptions delivered.
   */
  #confirm(link: UpstreamLink, call: PendingCall, response: JsonRpcResponse, known: KnownBlock): void {
    const held: ViewDemand = { kind: 'head', need: known.number, onlyIfMissing: true };
    (this.#checking ??= new Set()).add(call);
    const at = `0x${known.number.toString(16)}`;
    // Another block there lets the `null` out (on a read sent after it came: SharedReads.readSince).
    const send = () => this.#ctx.outbox.ownCall(link)('eth_getBlockByNumber', [at, false]);
    const leftBy = (block: unknown): boolean => {
      const key = hashOf(block);
      return key !== undefined && key !== known.block;
    };
    this.#blockReads.readSince(`${link.generation}:${at}`, send, this.#ctx.clock.now(), leftBy).then(
      (block) => {
        if (!this.#checking?.delete(call)) return; // the session closed meanwhile
        // A block without a hash it can read tells nothing (as an error does): held, as pool.request() holds it.
        const key = hashOf(block);
        if (block === null || key === undefined || key === known.block) return this.#hold(call, held);
        // A subscription of the client's still holds that block: the client hears that it left
        // (the check just called for retracts it) before it gets the `null`, as from one node. The
        // read is asked again at each poll (on the node in use by then) until that is so. Asked
        // again, it calls for no other check once the subscriptions no longer hold the block (the
        // one it called for, or the switch's, took it out), nor while a check that failed is to be
        // made again (its retries back off: one each poll, three attempts each, would not).
        // Nor is it held once a check made since it was first held compared every subscription
        // and left the block with them: no check takes it out (a head the check cannot compare).
        const continuity = this.#ctx.continuity;
        const holds = this.#subscriptionsHold(call, known);
        const waitsFor = this.#heldForCheck?.get(call);
        const compared = waitsFor !== undefined && continuity.comparedEpoch >= waitsFor;
        const checked = (waitsFor === undefined || (holds && !compared && !continuity.retrying)) && this.#nodeLeft(link, known);
        if (holds && !compared) {
          // The check it waits for: the one its null called for (or the one running for that block).
          // A node already left calls for none: asked again, the read calls for one on the node in use.
          if (waitsFor === undefined && checked) (this.#heldForCheck ??= new WeakMap()).set(call, continuity.checkEpoch);
          return this.#hold(call, held, false, link.node);
        }
        this.#answer(call, response);
      },
      () => {
        if (this.#checking?.delete(call)) this.#hold(call, held);
      },
    );
  }

  /** Whether the block `known` that `call` reads by hash is still one the client's subscriptions hold. */
  #subscriptionsHold(call: PendingCall, known: KnownBlock): boolean {
    const looked = lookedUp(call.method, call.params);
    return looked !== undefined && this.#ctx.continuity.whereIs(looked[0], looked[1])?.block === known.block;
  }

  /**
   * `link`'s node left `known`, a block the client was given, maybe one its subscriptions hold (a
   * node that tells no one of its reorg, as anvil tells `logs` subscribers nothing): its chain is
   * checked as when a head does not link, so what left it is retracted. Not again for the same
   * block while that check runs (an indexer reads the receipt of every log of a block at once).
   * Returns whether a check of the node in use is (now) under way for it.
   */
  #nodeLeft(link: UpstreamLink, known: KnownBlock): boolean {
    const ctx = this.#ctx;
    if (link !== ctx.link) return false;
    const last = this.#left;
    const { block } = known;
    if (last !== undefined && last.link === link && last.block === block && ctx.continuity.checking) return true;
    this.#left = { link, block };
    ctx.continuity.nodeLeftBlock(known);
    return true;
  }

  /** Fails every waiting call (the session is closing) and stops the timer. */
  clear(): void {
    if (this.#timer !== undefined) this.#ctx.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const owed = [...this.#waiting.splice(0).map(({ call }) => call), ...(this.#checking ?? [])];
    this.#checking?.clear();
    for (const call of owed) this.#ctx.fail(call, RpcErrorCode.UPSTREAM_UNAVAILABLE, 'Session closed');
  }

  /**
   * An answer to `call` that another node gave (see AskElsewhere): the pool held it to its own view
   * of the chain; the session's view learns from it, and the client gets it.
   */
  answerFrom(call: PendingCall, response: JsonRpcResponse): void {
    this.#answer(call, response);
  }

  #answer(call: PendingCall, response: JsonRpcResponse): void {
    if (!call.answered) this.view.observe(call.method, call.params, response);
    this.#ctx.answer(call, clientAnswer(call, response));
  }

  /**
   * The node's head as known when `call` was last sent, if high enough; else what is known (maybe
   * nothing): the later word of what its socket had shown (heads, answers) and its probed head (the
   * higher of the two when it is not known which came later). A word that came after the send
   * cannot vouch for the answer: a probe on another connection, or the socket itself (a node may
   * write a new head before an answer it made from the one below, as geth's concurrent handlers
   * do). A node whose head went down since a higher word (it rewound) is judged by where it is now.
   */
  #knownHead(call: PendingCall, demand: ViewDemand): number | undefined {
    const { probedHead: probed, probedAt, linkHead, linkHeadAt } = call;
    let head = linkHead;
    if (probed !== undefined && head === undefined) head = probed;
    else if (probed !== undefined && head !== undefined) {
      head = probedAt === undefined || linkHeadAt === undefined ? Math.max(probed, head) : probedAt > linkHeadAt ? probed : head;
    }
    return (demand.kind === 'head' || demand.pending) && head !== undefined && head < demand.need ? undefined : head;
  }

  /** `behind`: the node is (or may be) below the view: told once per read (`behind`, `held`). */
  #hold(call: PendingCall, demand: ViewDemand, behind = true, leftBy?: string): void {
    if (call.answered) return;
    const ctx = this.#ctx;
    const { need } = demand;
    this.#deadlines ??= new WeakMap();
    const known = this.#deadlines.get(call);
    const deadline = known ?? ctx.clock.now() + this.#settings.waitMs;
    this.#waiting.push({ call, need, deadline, leftBy });
    if (known === undefined) this.#deadlines.set(call, deadline);
    // Once per read: held again after a node that had not caught up answered it, it is the same read.
    if (behind && !(this.#told ??= new WeakSet()).has(call)) {
      this.#told.add(call);
      this.stats.held += 1;
      ctx.events.emit('behind', { node: ctx.link?.node ?? '', method: call.method, need, outcome: 'held' });
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#polling || this.#waiting.length === 0) return;
    const ctx = this.#ctx;
    const soonest = Math.min(...this.#waiting.map((w) => w.deadline));
    const delay = Math.max(0, Math.min(this.#settings.pollMs, soonest - ctx.clock.now()));
    this.#timer = ctx.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#poll();
    }, delay);
  }

  /** Asks the node in use for its head; re-sends the calls it can now serve, fails the overdue ones. */
  #poll(): void {
    const ctx = this.#ctx;
    this.#expire();
    const link = ctx.link;
    if (this.#waiting.length === 0) return;
    if (!link || (ctx.state !== 'ready' && ctx.state !== 'switching')) return this.#schedule();
    this.#polling = true;
    ctx.outbox.ownCall(link)('eth_blockNumber', []).then(
      (value) => {
        this.#polling = false;
        try {
          // Noted as the node's latest word by the own call itself (Outbox.ownCall).
          parseQuantity(value, 'eth_blockNumber');
        } catch {
          return this.#schedule();
        }
        this.#release(link);
        this.#schedule();
      },
      () => {
        this.#polling = false;
        this.#expire();
        this.#schedule();
      },
    );
  }

  /** Sends again, on `link`, every waiting call it can serve now. */
  #release(link: UpstreamLink): void {
    const ctx = this.#ctx;
    if (link !== ctx.link || link.head === undefined) return;
    const head = link.head;
    const ready = this.#waiting.filter((w) => w.need <= head);
    if (ready.length === 0) return this.#expire();
    this.#waiting.splice(0, this.#waiting.length, ...this.#waiting.filter((w) => w.need > head));
    for (const { call } of ready) if (!call.answered) ctx.outbox.sendCall(link, call);
    this.#expire();
  }

  #expire(): void {
    const now = this.#ctx.clock.now();
    // Each is taken out only as it is answered: a listener of an answer or of `behind` may close
    // the session, which answers those still waiting.
    for (const waiting of this.#waiting.filter((w) => w.deadline <= now)) {
      const at = this.#waiting.indexOf(waiting);
      if (at < 0) continue;
      this.#waiting.splice(at, 1);
      const { call, need, leftBy } = waiting;
      // Held only to be asked again (its node had caught up), and timed out all the same: it was behind.
      const untold = !this.#told?.has(call);
      if (untold) this.stats.held += 1;
      this.stats.behind += 1;
      const within = `within ${this.#settings.waitMs} ms`;
      const why = leftBy === undefined ? `No node caught up with block ${need}, which the client has already seen, ${within}` : `Block ${need}, which the client has already seen, is not on the chain of node "${leftBy}" (it has another block at that height), and was not retracted ${within}`;
      this.#ctx.fail(call, RpcErrorCode.BEHIND, why);
      const node = this.#ctx.link?.node ?? '';
      if (untold && !this.#ctx.closed()) this.#ctx.events.emit('behind', { node, method: call.method, need, outcome: 'held' });
      if (!this.#ctx.closed()) this.#ctx.events.emit('behind', { node, method: call.method, need, outcome: 'failed' });
    }
  }
}
