// The browser build's one difference from the Node build, as an esbuild plugin (used by
// tsup.config.ts and test/packaging/browserBundle.test.ts): a relative import of `X.js` whose
// source has a sibling `X.browser.ts` gets that file instead. The variants are the few modules
// that reach for Node (the ws package, its default transport); everything else is shared.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** @type {import('esbuild').Plugin} */
export const browserVariants = {
  name: 'steadyrpc-browser-variants',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      const variant = resolve(args.resolveDir, args.path.replace(/\.js$/, '.browser.ts'));
      if (variant === args.importer || !existsSync(variant)) return undefined;
      return { path: variant };
    });
  },
};
