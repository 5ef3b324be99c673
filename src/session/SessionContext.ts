import type { EventEmitter } from 'eventemitter3';
import type { Clock } from '../Clock.js';
import type { Environment } from '../environment/Environment.js';
import type { JsonRpcResponse } from '../jsonrpc.js';
import { errorResponse } from '../jsonrpc.js';
import { withIdText } from './idText.js';
import type { NodePool } from '../pool/NodePool.js';
import type { Random } from '../random.js';
import type { SocketTransport } from '../transport/SocketTransport.js';
import type { AskElsewhere } from './AskElsewhere.js';
import type { ContinuityKeeper } from './ContinuityKeeper.js';
import type { Keepalive } from './Keepalive.js';
import type { LinkSwitcher } from './LinkSwitcher.js';
import type { MessageQueue } from './MessageQueue.js';
import type { Outbox } from './Outbox.js';
import type { CallLimits } from './CallLimits.js';
import type { BatchSlot, PendingCall } from './PendingCall.js';
import type { RepeatablePredicate } from './repeatable.js';
import type { ReplayFilter } from './ReplayFilter.js';
import type { Replayer } from './Replayer.js';
import type { SessionEvents, SessionSwitchReason } from './SessionEvents.js';
import type { SessionSettings } from './SessionOptions.js';
import type { SessionState } from './SessionState.js';
import { assertTransition } from './SessionState.js';
import type { SubscriptionRegistry } from './SubscriptionRegistry.js';
import type { HeldMessages } from './HeldMessages.js';
import type { UpstreamFrames } from './UpstreamFrames.js';
import type { UpstreamLink } from './UpstreamLink.js';
import type { ViewGate } from './ViewGate.js';

/** What a session is built from: its collaborators and the parts of its state they all use. */
export interface SessionContextParts {
  readonly events: EventEmitter<SessionEvents>;
  readonly pool: NodePool;
  readonly transport: SocketTransport;
  readonly clock: Clock;
  readonly random: Random;
  /** Network and visibility events (see {@link Environment}). */
  readonly environment: Environment;
  readonly settings: SessionSettings;
  readonly isRepeatable: RepeatablePredicate;
  readonly registry: SubscriptionRegistry;
  readonly filter: ReplayFilter;
  readonly queue: MessageQueue<PendingCall>;
  readonly continuity: ContinuityKeeper;
}

/**
 * The state one {@link UpstreamSession} shares between the units it is made of (client side,
 * {@link Outbox}, {@link LinkSwitcher}, {@link Replayer}, {@link UpstreamFrames}, {@link Keepalive}),
 * and the few primitives they all use: answering a client call, emitting, changing state. Internal:
 * never exported from the package.
 */
// The collaborators are typed once, in SessionContextParts; merging it into the class makes them
// its (readonly) fields, assigned from `parts` in the constructor.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface SessionContext extends SessionContextParts {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class SessionContext {
  state: SessionState = 'connecting';
  /** The socket client traffic flows through. */
  link: UpstreamLink | undefined;
  /** The socket being opened and replayed, to take over from `link` (or to be the first). */
  next: UpstreamLink | undefined;
  nextReason: SessionSwitchReason = 'connect';
  /** The node the last switch left (a `reorg` event names it). */
  previousNode: string | undefined;
  readonly draining = new Set<UpstreamLink>();
  /**
   * Calls taken off a socket that failed or was left, until each has its new home or its answer:
   * a listener that closes the session from an event on the way finds them (see `close()`).
   */
  moving: Map<PendingCall, string | undefined> | undefined;
  /** The next upstream id: every id sent upstream is the session's own. */
  nextId = 1;
  readonly stats = {
    reconnects: 0,
    switches: 0,
    resent: 0,
    notResent: 0,
    upstreamGarbage: 0,
    unknownAnswers: 0,
    droppedNotifications: 0,
    queueOverflows: 0,
    limitRejections: 0,
  };
  // The units, wired once by the session's constructor; they reach each other through here.
  outbox!: Outbox;
  switcher!: LinkSwitcher;
  replayer!: Replayer;
  frames!: UpstreamFrames;
  keepalive!: Keepalive;
  gate!: ViewGate;
  limits!: CallLimits;
  elsewhere!: AskElsewhere;
  /** Messages a read's frames caused, till the read is handled (see SocketTransport.readsInTasks). */
  held!: HeldMessages;

  constructor(parts: SessionContextParts) {
    Object.assign(this, parts);
  }

  /**
   * Whether the session is closed, or closing: asked again after each event the session emits on
   * the way of something, since a listener may close it (a method, so a check made before does not
   * narrow it).
   */
  closed(): boolean {
    return this.state === 'closed' || this.closing;
  }

  /**
   * `close()` is under way (answering what the session owes): nothing new starts from a listener
   * of one of those answers, as after it.
   */
  closing = false;

  /**
   * Gives the client its one answer to `call`, under the id as it wrote it; any later one is
   * dropped. `registered`: a subscribe whose subscription is in the registry now.
   */
  answer(call: PendingCall, response: JsonRpcResponse, registered = false): void {
    if (call.answered || call.oneWay) return;
    call.answered = true;
    this.limits.answered(call, registered);
    this.deliver(call.slot, response, call.idText);
  }

  fail(call: PendingCall, code: number, message: string): void {
    this.answer(call, errorResponse(call.clientId, code, message));
  }

  /** Sends `response` (alone, or into its batch) with `idText` as its id: ids JSON.parse changed come back as sent. */
  deliver(slot: BatchSlot | undefined, response: JsonRpcResponse, idText: string): void {
    const text = withIdText(JSON.stringify(response), idText);
    if (slot) slot.collector.set(slot.index, text);
    else this.emitText(text);
  }

  /**
   * Passes `text` on to the client (a notification of its `subscription`, if given): at the end of
   * the read when a frame of one is being handled (HeldMessages).
   */
  emitText(text: string, subscription?: string): void {
    const { held } = this;
    if (held.holding) return held.push(text, subscription);
    // A listener of a released message caused it: at once (HeldMessages.releasing).
    if (!held.waiting || held.releasing) return void this.events.emit('message', text);
    // Caused while messages wait (by a promise callback between the read and its release, say): it
    // goes out after them, in the same release, so that a listener that closes the session
    // meanwhile lets it out before `closed`.
    held.push(text, subscription);
    held.release();
  }

  emitQueue(): void {
    this.events.emit('queue', { depth: this.queue.length, bytes: this.queue.bytes });
  }

  setState(to: SessionState): void {
    const from = this.state;
    if (from === to) return;
    assertTransition(from, to);
    this.state = to;
    this.events.emit('state', { from, to });
  }
}
