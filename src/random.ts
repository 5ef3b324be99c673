/** A source of uniformly distributed numbers in [0, 1), injected wherever jitter is applied. */
export type Random = () => number;

/** The real source: `Math.random`. */
export const defaultRandom: Random = () => Math.random();
