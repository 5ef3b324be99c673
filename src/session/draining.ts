import { SteadyRpcError } from '../errors.js';
import type { PendingCall } from './PendingCall.js';
import type { SessionContext } from './SessionContext.js';
import type { UpstreamLink } from './UpstreamLink.js';

/**
 * The last steps of a make-before-break switch: the socket left drains what it owes, then is
 * retired. Sockets draining are in the session's `draining` set.
 */

/**
 * Lets a socket that was left deliver the answers it owes, up to the drain deadline. When it was
 * left because its node is unhealthy, waiting for it is pointless: calls that are safe to repeat
 * move to the new socket at once, and only the others wait.
 */
export function drainLink(ctx: SessionContext, old: UpstreamLink, sick: boolean): void {
  old.phase = 'draining';
  old.clearTimer('keepalive');
  // Known to close() first: a listener of a failure below (a replay's) may close the session.
  ctx.draining.add(old);
  ctx.filter.failOwner(old, new SteadyRpcError('ERR_ABORTED', 'Left for a better node'));
  if (ctx.closed()) return;
  if (sick) {
    const moved: PendingCall[] = [];
    for (const [id, call] of old.calls) {
      if (call.unsubscribed !== undefined || !ctx.isRepeatable(call.method)) continue;
      old.calls.delete(id);
      moved.push(call);
    }
    ctx.outbox.rehome(moved, old.node);
    if (ctx.closed()) return; // a listener of what was answered closed the session
  }
  if (old.calls.size === 0) retireLink(ctx, old);
  else old.setTimer('drain', ctx.settings.drainTimeoutMs, () => retireLink(ctx, old));
}

/** Closes a draining socket; calls it still owes are re-sent or failed. */
export function retireLink(ctx: SessionContext, old: UpstreamLink): void {
  if (!ctx.draining.has(old)) return;
  // The session's own reads sent on it while it drained (the view gate asks the node that answered
  // for its head, or for a block) end now: their callers move on, none waits out its deadline.
  // Still draining meanwhile, so that close() (from a listener of one) answers what it owes.
  ctx.filter.failOwner(old, new SteadyRpcError('ERR_ABORTED', 'Switched to a better node'));
  if (!ctx.draining.delete(old)) return;
  const owed = [...old.calls.values()];
  old.calls.clear();
  old.kill(1000, 'steadyrpc: switched to a better node');
  ctx.outbox.rehome(owed, old.node);
}
