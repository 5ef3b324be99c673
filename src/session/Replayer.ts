import { SteadyRpcError } from '../errors.js';
import type { SessionContext } from './SessionContext.js';
import type { UpstreamLink } from './UpstreamLink.js';

/**
 * Replays the client's subscriptions on a socket before it takes over (and on the active one when
 * a subscription lands on a socket being left). The answers never reach the client: the upstream
 * ids go to the registry, and the client keeps its own ids. A prepared socket is activated once
 * every subscription is replayed on it.
 */
export class Replayer {
  readonly #ctx: SessionContext;

  constructor(ctx: SessionContext) {
    this.#ctx = ctx;
  }

  replay(link: UpstreamLink, clientId: string): void {
    const ctx = this.#ctx;
    const entry = ctx.registry.byClientId(clientId);
    if (!entry || link.replaying?.has(clientId)) return;
    const replaying = (link.replaying ??= new Set());
    replaying.add(clientId);
    const settle = () => replaying.delete(clientId);
    const id = ctx.outbox.sendOwn(link, 'replay', 'eth_subscribe', [...entry.params], ctx.settings.replayTimeoutMs,
      (response) => {
        settle();
        const result = (response as { result?: unknown }).result;
        if (typeof result === 'string') this.#replayed(link, clientId, result);
        else this.#replayFailed(link, clientId, new SteadyRpcError('ERR_BAD_RESPONSE', `Replay of subscription ${clientId} on node "${link.node}" was refused: ${'error' in response ? response.error.message : 'no subscription id'}`));
      },
      (error) => {
        settle();
        if (!link.alive) return;
        // A slow node may still set it up; it is retried, so that one would be an orphan.
        if (error.code === 'ERR_TIMEOUT') ctx.outbox.undoLateSubscribe(link, id);
        this.#replayFailed(link, clientId, error);
      },
    );
  }

  /** Activates a prepared socket once every subscription the client has is replayed on it. */
  maybeActivate(link: UpstreamLink): void {
    if (link !== this.#ctx.next || link.phase !== 'replaying') return;
    for (const entry of this.#ctx.registry.entries()) {
      if (!link.replayed?.has(entry.clientId) && !link.replayRetries?.has(entry.clientId)) this.replay(link, entry.clientId);
    }
    if (!link.replaying?.size) this.#ctx.switcher.activate(link);
  }

  #replayed(link: UpstreamLink, clientId: string, upstreamId: string): void {
    const ctx = this.#ctx;
    if (!link.alive) return;
    if (!ctx.registry.byClientId(clientId)) {
      // The client unsubscribed while the replay was in flight: don't leave it open on the node.
      ctx.outbox.unsubscribeOrphan(link, upstreamId);
    } else if (link.phase === 'active') {
      // A replay retried after the switch: its notifications were lost until now, so the client
      // gets what it missed (continuity's backfill) before they resume.
      ctx.registry.setUpstream(clientId, upstreamId);
      ctx.continuity.resync();
    } else {
      (link.replayed ??= new Map()).set(clientId, upstreamId);
    }
    ctx.events.emit('replay', { subscription: clientId, node: link.node, ok: true });
    this.maybeActivate(link);
  }

  #replayFailed(link: UpstreamLink, clientId: string, error: SteadyRpcError): void {
    const ctx = this.#ctx;
    ctx.events.emit('replay', { subscription: clientId, node: link.node, ok: false, error });
    if (ctx.closed()) return; // a listener gave up
    if (link === ctx.next && ctx.link) {
      // A node that cannot carry every subscription is no better: stay where we are.
      return ctx.switcher.linkFailed(link, 'replay-failed', error);
    }
    const delay = link.replayBackoff.delay(ctx.random);
    link.replayBackoff = link.replayBackoff.next();
    (link.replayRetries ??= new Map()).set(clientId, ctx.clock.setTimeout(() => {
      link.replayRetries?.delete(clientId);
      if (link.alive) {
        this.replay(link, clientId);
        this.maybeActivate(link);
      }
    }, delay));
    this.maybeActivate(link);
  }
}
