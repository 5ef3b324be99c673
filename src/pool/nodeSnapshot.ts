import type { NodeInfo } from './NodeConfig.js';
import type { NodeHealth } from './NodeHealth.js';
import type { NodeSnapshot } from './NodePoolTypes.js';

/**
 * A node as status pages, metrics and selectors see it at `now`: its health record, with what the
 * clock decides read out (quarantined, cooling down, an open circuit whose time is up reads
 * `half-open`), its static settings and its URLs without credentials. Frozen.
 */
export const nodeSnapshot = (node: NodeInfo, health: Readonly<NodeHealth>, now: number, preferred: boolean): NodeSnapshot =>
  Object.freeze({
    ...health,
    name: node.name,
    tier: node.tier,
    weight: node.weight,
    http: node.httpDisplay,
    ws: node.wsDisplay,
    quarantined: (health.quarantinedUntil ?? -Infinity) > now,
    rateLimited: (health.rateLimitedUntil ?? -Infinity) > now,
    circuit: health.circuit === 'open' && now >= (health.circuitOpenUntil ?? Infinity) ? 'half-open' : health.circuit,
    preferred,
  });
