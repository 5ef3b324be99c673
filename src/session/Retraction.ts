/** Marks a {@link Retraction} among the results a continuity hands out. */
export const RETRACTION = Symbol('retraction');

/** A log retracted because its block left the chain: re-sent to the client with `removed: true`. */
export interface Retraction {
  readonly [RETRACTION]: true;
  readonly text: string;
}

export const isRetraction = (item: unknown): item is Retraction => typeof item === 'object' && item !== null && RETRACTION in item;

/** A delivered log's text with `removed` set to true: how it is retracted. */
export function asRemoved(text: string): string {
  const log = JSON.parse(text) as Record<string, unknown>;
  log.removed = true;
  return JSON.stringify(log);
}
