// The browser build's one difference from the Node build, as an esbuild plugin (used by
// tsup.config.ts and test/packaging/browserBundle.test.ts): a relative import of `X.js` whose
// source has a sibling `X.browser.ts` gets that file instead. The variants are the few modules
// that reach for Node (the ws package, its default transport); everything else is shared.
// One package is swapped the same way: eventemitter3 (ES5 and CommonJS) for
// src/EventEmitter.browser.ts, the same class in a third of the bytes (see that file).
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Packages the browser build takes from a file of ours. */
const PACKAGE_VARIANTS = { eventemitter3: resolve(SRC, 'EventEmitter.browser.ts') };

/** @type {import('esbuild').Plugin} */
export const browserVariants = {
  name: 'steadyrpc-browser-variants',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      const variant = resolve(args.resolveDir, args.path.replace(/\.js$/, '.browser.ts'));
      if (variant === args.importer || !existsSync(variant)) return undefined;
      return { path: variant };
    });
    build.onResolve({ filter: new RegExp(`^(${Object.keys(PACKAGE_VARIANTS).join('|')})$`) }, (args) => ({ path: PACKAGE_VARIANTS[args.path] }));
  },
};
