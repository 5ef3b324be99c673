import type { ExponentialBackoff } from '../backoff/ExponentialBackoff.js';
import { SteadyRpcError, describeError } from '../errors.js';
import type { SwitchEvent } from '../pool/NodePool.js';
import { drainLink, retireLink } from './draining.js';
import { LinkOpener } from './LinkOpener.js';
import { ReconnectWait } from './ReconnectWait.js';
import type { SessionContext } from './SessionContext.js';
import type { UpstreamLink } from './UpstreamLink.js';

/** Methods whose answers are never large: not suspected when a message too big fails a socket. */
const SMALL_ANSWERS: ReadonlySet<string> = new Set(['eth_subscribe', 'eth_unsubscribe', 'eth_chainId']);
/**
 * Which upstream socket a session uses, and every move between them: choosing and opening a node
 * ({@link LinkOpener}), waiting when every node failed or the device is offline ({@link ReconnectWait}),
 * make-before-break switches (prepare, activate, drain and retire: draining.ts), a socket's failure,
 * failback to the preferred node and following the pool's choice.
 */
export class LinkSwitcher {
  readonly #ctx: SessionContext;
  readonly #wait: ReconnectWait;
  readonly #opener: LinkOpener;
  /**
   * Nodes that failed since the last round started; the next is tried at once until none is left.
   * Made with the first failure (as is the next): an idle session on a healthy node keeps neither.
   */
  #failedThisRound: Set<string> | undefined;
  /** Consecutive short-lived connections per node, to space out attempts to go back to it. */
  #nodeFailures: Map<string, { count: number; at: number }> | undefined;
  #lastNode: string | undefined;

  constructor(ctx: SessionContext, backoff: ExponentialBackoff) {
    this.#ctx = ctx;
    this.#wait = new ReconnectWait(ctx, backoff, (name) => {
      this.#failedThisRound?.delete(name);
      this.#connectOrWait();
    });
    this.#opener = new LinkOpener(ctx, (link, cause, error) => this.linkFailed(link, cause, error));
  }

  /**
   * The host's `reconnect()`, or the device coming back online: a fresh backoff, and with an
   * upstream in use, a make-before-break move to the best node. A socket still being prepared was
   * started on the old network, where it may hang until its connect deadline: it is given up for a
   * fresh one. It connects even when the environment says offline: the host asked for it.
   */
  restart(reason: 'forced' | 'online' = 'forced'): void {
    const ctx = this.#ctx;
    this.#wait.reset();
    this.#failedThisRound?.clear();
    this.#nodeFailures?.clear();
    this.#wait.stop();
    if (ctx.next) this.#abandonNext();
    if (ctx.closed()) return;
    if (ctx.link) {
      const best = this.#pickNode() ?? ctx.link.node;
      ctx.setState('switching');
      if (ctx.closed()) return;
      void this.#opener.prepare(best, reason);
    } else {
      this.#connectOrWait();
    }
  }

  /**
   * The device went offline: a backoff in progress becomes a wait for the network. A socket in use
   * or opening is left to its own deadlines: the device may be wrong, and a socket that works keeps
   * working.
   */
  offline(): void {
    this.#wait.offline();
  }

  /** Ends a backoff or a wait for the network (the session is closing). */
  stopBackoff(): void {
    this.#wait.stop();
  }

  /**
   * Opens the next node now, or waits when every node failed this round. While the environment
   * says the device is offline, it waits for the network instead: no attempt, no backoff growth.
   */
  reconnect(): void {
    const ctx = this.#ctx;
    if (ctx.state === 'closed' || ctx.next || this.#wait.backingOff) return;
    if (!ctx.environment.online()) return this.#wait.awaitNetwork();
    this.#connectOrWait();
  }

  #connectOrWait(): void {
    const ctx = this.#ctx;
    if (ctx.state === 'closed' || ctx.next || this.#wait.backingOff) return;
    this.#wait.stop();
    const node = this.#pickNode();
    if (node !== undefined) {
      void this.#opener.prepare(node, this.#lastNode === undefined ? 'connect' : 'failover');
      return;
    }
    // Nothing left to try (after the host's reconnect() or a probe, while offline): wait for the
    // network rather than back off, so the backoff never grows while the device is offline.
    if (!ctx.environment.online()) return this.#wait.awaitNetwork();
    this.#wait.backOff(() => {
      this.#failedThisRound?.clear();
      this.reconnect();
    });
  }

  activate(link: UpstreamLink): void {
    const ctx = this.#ctx;
    const old = ctx.link;
    ctx.next = undefined;
    ctx.registry.detachAll();
    for (const [clientId, upstreamId] of link.replayed ?? []) {
      if (ctx.registry.byClientId(clientId)) ctx.registry.setUpstream(clientId, upstreamId);
      else ctx.outbox.unsubscribeOrphan(link, upstreamId);
    }
    link.replayed = undefined;
    link.phase = 'active';
    link.activatedAt = ctx.clock.now();
    ctx.link = link;
    this.#failedThisRound?.clear();
    // The calls it owes move at once when its node is unhealthy, whatever made the pool switch (a
    // failback to a recovered node can come while the node being left is down).
    if (old) drainLink(ctx, old, ctx.nextReason === 'unhealthy' || (!ctx.pool.closed && ctx.pool.health(old.node).status === 'unhealthy'));
    if (ctx.closed()) return; // a listener of what the drain answered closed the session
    const from = this.#lastNode;
    this.#lastNode = link.node;
    ctx.previousNode = from;
    ctx.stats.switches += 1;
    ctx.keepalive.arm(link);
    // What was queued goes first: a listener of the state change may send more.
    for (const call of ctx.queue.drain()) if (!call.answered) ctx.outbox.sendCall(link, call);
    ctx.setState('ready');
    if (ctx.closed()) return;
    ctx.emitQueue();
    // What the client missed while switching comes from the new node, before newer notifications.
    if (from !== undefined) ctx.continuity.afterSwitch(ctx.outbox.ownCall(link));
    else ctx.continuity.attach(ctx.outbox.ownCall(link));
    ctx.events.emit('switch', { from, to: link.node, reason: ctx.nextReason });
  }

  /** Closes a draining socket once it owes nothing more. */
  retireIfDone(link: UpstreamLink): void {
    if (link.phase === 'draining' && link.calls.size === 0) this.retire(link);
  }

  /** Closes a draining socket; calls it still owes are re-sent or failed. */
  retire(old: UpstreamLink): void {
    retireLink(this.#ctx, old);
  }

  /**
   * A send found the socket closing (the node's close frame came, its close event has not yet):
   * the link is failed now, so what it owes moves on at once, and its close, when it comes, is
   * reported as any other (an auth or policy code quarantines the node) instead of the send's error.
   */
  sendFailed(link: UpstreamLink, error: unknown): void {
    if (!link.alive) return;
    this.#opener.closing(link);
    this.linkFailed(link, 'closed', error);
  }

  linkFailed(link: UpstreamLink, cause: string, error: unknown): void {
    const ctx = this.#ctx;
    if (!link.alive) return;
    const failure = error instanceof SteadyRpcError ? error : new SteadyRpcError('ERR_TRANSPORT', describeError(error), { cause: error });
    this.#failLink(link, cause, failure);
    // Told once the session has moved on: a listener that closes it interrupts nothing.
    if (cause !== 'closed' && cause !== 'message-too-big' && !ctx.closed()) ctx.events.emit('error', failure);
  }

  #failLink(link: UpstreamLink, cause: string, failure: SteadyRpcError): void {
    const ctx = this.#ctx;
    const wasActive = link === ctx.link;
    const now = ctx.clock.now();
    link.kill(1000, `steadyrpc: ${cause}`, cause === 'connect-timeout' || cause === 'keepalive-timeout');
    ctx.filter.failOwner(link, failure);
    // A listener of one of those failures closed the session: close() answered what the link owed.
    if (ctx.closed()) return;
    // One of their answers was larger than the socket takes: which one, no one can tell (of those
    // the transport says were on the socket, when it says), so each goes on a socket of its own
    // from now on. One the session sent so was not on this socket, and a subscription's answer is
    // small.
    if (cause === 'message-too-big') {
      for (const [id, call] of link.calls) {
        if (!call.sentApart && !SMALL_ANSWERS.has(call.method) && (link.tooBigSuspects?.has(id) ?? true)) call.tooBig = (call.tooBig ?? 0) + 1;
      }
    }
    const owed = [...link.calls.values()];
    link.calls.clear();
    // The node did not fail, then: the socket carried what was asked of it (with shared sockets,
    // maybe another session's call). Counted as a failure, a client sending such calls every few
    // seconds would keep every session's backoff growing, as no socket stays up `stableAfterMs`.
    const answerTooBig = cause === 'message-too-big' && link.activatedAt !== undefined;
    if (!answerTooBig) this.#noteNodeFailure(link, now);
    if (ctx.draining.delete(link)) return ctx.outbox.rehome(owed, link.node);
    if (link === ctx.next) {
      ctx.next = undefined;
      if (ctx.link) {
        // A switch that did not work out: stay on the current node.
        ctx.setState('ready');
        return;
      }
      (this.#failedThisRound ??= new Set()).add(link.node);
      return this.reconnect();
    }
    if (!wasActive) return;
    ctx.link = undefined;
    ctx.registry.detachAll();
    if (answerTooBig || (link.activatedAt !== undefined && now - link.activatedAt >= ctx.settings.stableAfterMs)) {
      this.#wait.reset();
    }
    (this.#failedThisRound ??= new Set()).add(link.node);
    ctx.outbox.carry(owed, link.node);
    ctx.setState('reconnecting');
    ctx.outbox.rehome(owed, link.node);
    if (ctx.closed()) return;
    if (ctx.next) {
      ctx.nextReason = 'failover'; // the switch in progress becomes the way out
      return;
    }
    this.reconnect();
  }

  /**
   * While on a node the pool does not prefer, tries the preferred one again now and then; not while
   * the device is offline (the attempt would fail, and going `online` moves to the best node anyway).
   */
  maybeFailback(link: UpstreamLink): void {
    const ctx = this.#ctx;
    if (ctx.next || ctx.state !== 'ready' || !ctx.environment.online()) return;
    const preferred = ctx.pool.preferred();
    if (preferred === undefined || preferred === link.node || ctx.pool.node(preferred).ws === undefined) return;
    // Not back to a node cooling down after a rate limit: it is asked again next tick.
    if (!ctx.pool.available(preferred)) return;
    // Not back to a node that has not caught up with what the client has seen: it is asked again next tick.
    if (this.#behindView(preferred)) return;
    const failures = this.#nodeFailures?.get(preferred);
    const wait = failures ? Math.min(ctx.settings.failbackRetryMs * 2 ** (failures.count - 1), 60_000) : 0;
    if (failures && ctx.clock.now() - failures.at < wait) return;
    ctx.setState('switching');
    if (ctx.closed()) return;
    void this.#opener.prepare(preferred, 'failback');
  }

  followPool({ to: chosen, reason }: SwitchEvent): void {
    const ctx = this.#ctx;
    if (ctx.state === 'closed' || chosen === undefined || ctx.pool.node(chosen).ws === undefined) return;
    // Leaving an unhealthy node (or reconnecting), the pool's choice may be a node behind what the
    // client has seen while another has caught up: that one is opened, as after a cut.
    const to = (reason === 'unhealthy' || !ctx.link) && this.#behindView(chosen) ? (this.#pickNode() ?? chosen) : chosen;
    if (ctx.link?.node === to) {
      if (ctx.next) this.#abandonNext();
      return;
    }
    if (ctx.next?.node === to) return;
    if (!ctx.link) {
      // Reconnecting: don't wait for the backoff, the pool says `to` is good now.
      if (ctx.next) return;
      // Offline, a probe that reaches a node is what counts (see ReconnectWait), not the pool's choice.
      if (!ctx.environment.online()) return this.#wait.awaitNetwork();
      this.#wait.stop();
      this.#failedThisRound?.delete(to);
      void this.#opener.prepare(to, this.#lastNode === undefined ? 'connect' : 'failover');
      return;
    }
    // Offline, the probes fail for every node alike: a socket to the next one could not open
    // either. The socket in use stays (the device may be wrong; the keepalive judges it), and
    // going online again reconnects to the pool's choice at once.
    if (reason === 'unhealthy' && !ctx.environment.online()) return;
    // Leaving a usable node for one behind the client's view would take the chain back: stay, and
    // let the keepalive's failback check move once `to` has caught up.
    if (reason !== 'unhealthy' && this.#behindView(to) && ctx.pool.usable().includes(ctx.link.node)) return;
    // Nor for one cooling down after a rate limit (or with its circuit open): the same check moves it later.
    if (reason !== 'unhealthy' && !ctx.pool.available(to) && ctx.pool.usable().includes(ctx.link.node)) return;
    if (ctx.next) this.#abandonNext();
    if (ctx.closed()) return; // a listener of the abandoned switch's `ready` closed the session
    ctx.setState('switching');
    if (ctx.closed()) return;
    void this.#opener.prepare(to, reason === 'recovered' ? 'failback' : reason === 'unhealthy' ? 'unhealthy' : 'better-available');
  }

  /**
   * The best node to open: the first candidate that has caught up with the client's view, else the
   * first. Candidates cooling down after a rate limit come last (see `NodePool.candidates()`).
   */
  #pickNode(): string | undefined {
    const { pool } = this.#ctx;
    const open = pool.candidates().filter((name) => pool.node(name).ws !== undefined && !this.#failedThisRound?.has(name));
    return open.find((name) => !this.#behindView(name)) ?? open[0];
  }

  /**
   * Whether the pool knows `node`'s head to be behind what the client has seen: below what the
   * client had been given {@link ViewGate.skewMs} before a probe read it. Not the view now: a
   * probe's head is up to a probe interval old, and on a chain whose blocks come faster than that
   * (250 ms blocks, 1 s probes) a node that keeps up, importing each block a little after the node
   * in use, was always behind it, and the session never failed back. A node within that skew is
   * caught up: a read of a block it has not imported yet waits for it, as on any switch. A head no
   * probe dated is compared with the view now.
   */
  #behindView(node: string): boolean {
    const { gate, pool } = this.#ctx;
    const highest = gate.view.highest;
    if (!gate.enabled || highest === undefined) return false;
    const head = pool.headOf(node);
    if (head === undefined || head >= highest) return false;
    const at = pool.headAtOf(node);
    return head < (at === undefined ? highest : (gate.view.highestAt(at - gate.skewMs) ?? highest));
  }

  #noteNodeFailure(link: UpstreamLink, now: number): void {
    const stable = link.activatedAt !== undefined && now - link.activatedAt >= this.#ctx.settings.stableAfterMs;
    if (stable) return void this.#nodeFailures?.delete(link.node);
    const failures = (this.#nodeFailures ??= new Map());
    const count = (failures.get(link.node)?.count ?? 0) + 1;
    failures.set(link.node, { count, at: now });
  }

  #abandonNext(): void {
    const ctx = this.#ctx;
    const next = ctx.next!;
    ctx.next = undefined;
    ctx.filter.failOwner(next, new SteadyRpcError('ERR_ABORTED', 'Switch abandoned'));
    next.kill(1000, 'steadyrpc: switch abandoned');
    if (ctx.state === 'switching') ctx.setState('ready');
  }
}
