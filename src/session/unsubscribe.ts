import type { PendingCall } from './PendingCall.js';
import type { SessionContext } from './SessionContext.js';
import type { SubscriptionEntry } from './SubscriptionRegistry.js';
import { acceptsTraffic } from './SessionState.js';

/** A client's `eth_unsubscribe`: its subscription ends here at once, and upstream if one holds it. */

/** Takes the client's subscription `call` names out of the registry (and continuity), if it has it. */
function removeNamed(ctx: SessionContext, call: PendingCall): SubscriptionEntry | undefined {
  const id = Array.isArray(call.params) ? call.params[0] : undefined;
  const entry = typeof id === 'string' ? ctx.registry.remove(id) : undefined;
  if (entry) {
    ctx.continuity.forget(entry.clientId);
    // Its notifications of the read being handled that wait to go out go no further, as the next read's would not.
    ctx.stats.droppedNotifications += ctx.held.drop(entry.clientId);
  }
  return entry;
}

/** The upstream socket that holds `entry`'s subscription now, if one does. */
function holder(ctx: SessionContext, entry: SubscriptionEntry) {
  return entry.upstreamId !== undefined && ctx.link && acceptsTraffic(ctx.state) ? ctx.link : undefined;
}

export function unsubscribe(ctx: SessionContext, call: PendingCall): void {
  const entry = removeNamed(ctx, call);
  // An id the client does not have: answer as a node would, without bothering one.
  if (!entry) return ctx.answer(call, { jsonrpc: '2.0', id: call.clientId, result: false });
  const link = holder(ctx, entry);
  // No upstream holds it now; it will simply not be replayed.
  if (!link) return ctx.answer(call, { jsonrpc: '2.0', id: call.clientId, result: true });
  ctx.outbox.sendCall(link, { ...call, params: [entry.upstreamId], unsubscribed: entry.clientId });
}

/**
 * An `eth_unsubscribe` without an id: it ends the client's subscription as one with an id does
 * (under the session's own id upstream, its answer swallowed), and is never passed on as written:
 * an id the client does not have may be another session's upstream subscription on a shared
 * socket, or a replay's.
 */
export function unsubscribeOneWay(ctx: SessionContext, call: PendingCall): void {
  const entry = removeNamed(ctx, call);
  const link = entry && holder(ctx, entry);
  if (link) ctx.outbox.unsubscribeOrphan(link, entry!.upstreamId!);
}
