import { defineConfig } from 'tsup';
import { existsSync, readdirSync } from 'node:fs';
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

/**
 * Every module of src/ as an entry of its own (`pool/NodePool` → src/pool/NodePool.ts), for the
 * browser's ESM build: esbuild then puts each module's code in a file of its own, so an app's
 * bundler drops the modules it does not use whole (`sideEffects: false`), even one holding a
 * statement it must keep at load (a frozen defaults object, a prototype alias). Merged into shared
 * chunks, such statements kept most of the package in a page that imported one function.
 * Variants are reached through the module they replace; a module with a variant is not an entry
 * (it may need Node).
 */
function moduleEntries(): Record<string, string> {
  const modules: Record<string, string> = { ...entry };
  for (const file of readdirSync('src', { recursive: true, encoding: 'utf8' })) {
    const path = file.replaceAll('\\', '/');
    if (!path.endsWith('.ts') || path.endsWith('.browser.ts') || path.endsWith('.d.ts')) continue;
    if (existsSync(`src/${path.replace(/\.ts$/, '.browser.ts')}`)) continue;
    if (Object.values(entry).includes(`src/${path}`)) continue;
    modules[path.replace(/\.ts$/, '')] = `src/${path}`;
  }
  return modules;
}

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
    // browsers. Types are the Node build's: the API is the same. ESM: one file per module.
    entry: moduleEntries(),
    outDir: 'dist/browser',
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    dts: false,
    sourcemap: true,
    // tsup cleans everything but what these patterns exclude: leave the CommonJS build's files.
    clean: ['!**/*.cjs', '!**/*.cjs.map'],
    splitting: true,
    esbuildPlugins: [browserVariants],
    // eventemitter3 too: the variants swap it for src/EventEmitter.browser.ts, which must be bundled.
    noExternal: [...esmOnly, 'eventemitter3'],
  },
  {
    // CommonJS for the `browser` condition's `require`: the four entries (no tree-shaking there).
    entry,
    outDir: 'dist/browser',
    format: ['cjs'],
    platform: 'browser',
    target: 'es2022',
    dts: false,
    sourcemap: true,
    clean: ['!**/*.js', '!**/*.js.map'],
    splitting: true,
    esbuildPlugins: [browserVariants],
    noExternal: [...esmOnly, 'eventemitter3'],
  },
]);
