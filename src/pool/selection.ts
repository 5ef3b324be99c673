import type { NodeSnapshot } from './NodePool.js';

/**
 * Chooses the node to use now from the nodes in preference order (primaries in config order, then
 * backups). Returns its name, or `undefined` when none may be used.
 */
export type NodeSelector = (nodes: readonly NodeSnapshot[]) => string | undefined;

/** Whether a node may take traffic: healthy by the hysteresis rules and not quarantined. */
export const isUsable = (node: NodeSnapshot): boolean => node.status === 'healthy' && !node.quarantined;

/** The default: the first usable node in preference order. */
export const preferFirstHealthy: NodeSelector = (nodes) => nodes.find(isUsable)?.name;
