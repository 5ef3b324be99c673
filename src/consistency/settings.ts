import { SteadyRpcError } from '../errors.js';

/** How reads are held to the client's view of the chain (see docs/guides/consistency.md). */
export interface ConsistencySettings {
  /**
   * Block numbers never go back and nothing the client was given is answered as missing because
   * the node serving it is behind: such a read waits for a node that has caught up, or fails with
   * `BEHIND` (-32055).
   * @default true
   */
  monotonic: boolean;
  /** How long a read that a node behind the view cannot serve waits for one that can, in ms. @default 5_000 */
  waitMs: number;
  /** How often a waiting read asks the node for its head again, in ms. @default 250 */
  pollMs: number;
}

export const CONSISTENCY_DEFAULTS: Readonly<ConsistencySettings> = Object.freeze({
  monotonic: true,
  waitMs: 5_000,
  pollMs: 250,
});

/** Applies the defaults and validates them, with precise messages. */
export function consistencySettings(options: Partial<ConsistencySettings> = {}, where = 'consistency'): ConsistencySettings {
  if (typeof options !== 'object' || options === null) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected ${where} to be an object, got ${String(options)}`);
  }
  const settings = { ...CONSISTENCY_DEFAULTS, ...options };
  if (typeof settings.monotonic !== 'boolean') {
    throw new SteadyRpcError('ERR_CONFIG', `Expected ${where}.monotonic to be a boolean, got ${String(settings.monotonic)}`);
  }
  for (const key of ['waitMs', 'pollMs'] as const) {
    const value = settings[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected ${where}.${key} to be a finite number > 0, got ${String(value)}`);
    }
  }
  return Object.freeze(settings);
}
