import type { Plugin } from 'esbuild';

/**
 * Resolves a relative `X.js` import to a sibling `X.browser.ts` when there is one, and
 * `eventemitter3` to src/EventEmitter.browser.ts.
 */
export declare const browserVariants: Plugin;
