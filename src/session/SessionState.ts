import { SteadyRpcError } from '../errors.js';

/**
 * - `connecting`: opening the first upstream;
 * - `ready`: an upstream is open, subscriptions replayed, client traffic flows;
 * - `switching`: traffic flows on the current upstream while a better one is opened and replayed
 *   (make-before-break);
 * - `reconnecting`: no upstream is ready; client messages are queued;
 * - `closed`: for good.
 */
export type SessionState = 'connecting' | 'ready' | 'switching' | 'reconnecting' | 'closed';

const TRANSITIONS: Readonly<Record<SessionState, readonly SessionState[]>> = Object.freeze({
  connecting: ['ready', 'reconnecting', 'closed'],
  ready: ['switching', 'reconnecting', 'closed'],
  switching: ['ready', 'reconnecting', 'closed'],
  reconnecting: ['ready', 'closed'],
  closed: [],
});

/** Throws if the state machine does not allow `from` → `to` (a bug, not bad input). */
export function assertTransition(from: SessionState, to: SessionState): void {
  if (!TRANSITIONS[from].includes(to)) {
    throw new SteadyRpcError('ERR_INTERNAL', `UpstreamSession cannot go from ${from} to ${to}`);
  }
}

/** Whether client requests can be sent upstream now (else they are queued). */
export const acceptsTraffic = (state: SessionState): boolean => state === 'ready' || state === 'switching';
