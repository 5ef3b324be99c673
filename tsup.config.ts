import { defineConfig } from 'tsup';
import { browserVariants } from './scripts/browserVariants.mjs';

const entry = {
  index: 'src/index.ts',
  'testing/index': 'src/testing/index.ts',
  // viem and ethers are optional peer dependencies: tsup keeps them external, and only these
  // entries import them.
  'viem/index': 'src/viem.ts',
  'ethers/index': 'src/ethers.ts',
};

// p-limit is ESM-only; bundle it into the CommonJS builds so `require('steadyrpc')` works on every
// Node 20 release, not only those with require(esm).
const esmOnly = ['p-limit', 'yocto-queue'];

export default defineConfig([
  {
    entry,
    format: ['esm'],
    dts: true,
    sourcemap: true,
    // dist/browser is the browser configs' to clean: the configs build at the same time.
    clean: ['!browser/**'],
    target: 'node20',
    splitting: true,
  },
  {
    entry,
    format: ['cjs'],
    dts: true,
    sourcemap: true,
    target: 'node20',
    // Shared chunks, so both entries see the same classes (`instanceof SteadyRpcError` holds
    // across `steadyrpc` and `steadyrpc/testing`).
    splitting: true,
    noExternal: esmOnly,
  },
  {
    // The `browser` condition of every entry: the same sources with each module that has an
    // `X.browser.ts` variant swapped for it (no `ws`, no Node global), for bundlers targeting
    // browsers. Types are the Node build's: the API is the same.
    entry,
    outDir: 'dist/browser',
    format: ['esm', 'cjs'],
    platform: 'browser',
    target: 'es2022',
    dts: false,
    sourcemap: true,
    clean: true,
    splitting: true,
    esbuildPlugins: [browserVariants],
    // eventemitter3 too: the variants swap it for src/EventEmitter.browser.ts, which must be bundled.
    noExternal: [...esmOnly, 'eventemitter3'],
  },
]);
