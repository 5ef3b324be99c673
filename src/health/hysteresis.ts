import type { NodeHealth } from '../pool/NodeHealth.js';

export interface HysteresisThresholds {
  /** Consecutive failures that mark a node down. */
  failuresToDown: number;
  /** Consecutive successes that bring a node up (from down, or from unknown). */
  successesToUp: number;
}

type Counters = Pick<NodeHealth, 'status' | 'consecutiveSuccesses' | 'consecutiveFailures'>;

/**
 * The next status after one probe outcome. A node changes state only after a run of equal
 * outcomes, so one lost probe does not move traffic and a flapping node does not pull it back.
 */
export function applyOutcome(current: Counters, ok: boolean, thresholds: HysteresisThresholds): Counters {
  if (ok) {
    const consecutiveSuccesses = current.consecutiveSuccesses + 1;
    const up = current.status === 'healthy' || consecutiveSuccesses >= thresholds.successesToUp;
    return { status: up ? 'healthy' : current.status, consecutiveSuccesses, consecutiveFailures: 0 };
  }
  const consecutiveFailures = current.consecutiveFailures + 1;
  const down = current.status === 'unhealthy' || consecutiveFailures >= thresholds.failuresToDown;
  return { status: down ? 'unhealthy' : current.status, consecutiveSuccesses: 0, consecutiveFailures };
}
