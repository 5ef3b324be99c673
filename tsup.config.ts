import { defineConfig } from 'tsup';
import { build } from 'esbuild';
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
 * Every module the browser build of the four entries reaches, as an entry of its own
 * (`pool/NodePool` → src/pool/NodePool.ts), for the browser's ESM build: esbuild then puts each
 * module's code in a file of its own, so an app's bundler drops the modules it does not use whole
 * (`sideEffects: false`), even one holding a statement it must keep at load (a frozen defaults
 * object, a prototype alias). Merged into shared chunks, such statements kept most of the package
 * in a page that imported one function. Reached as the browser build resolves imports (variants
 * swapped in), so no module only a Node build uses is emitted.
 */
async function moduleEntries(): Promise<Record<string, string>> {
  const { metafile } = await build({
    entryPoints: Object.values(entry),
    bundle: true,
    write: false,
    metafile: true,
    outdir: 'node_modules/.cache/browser-modules',
    platform: 'browser',
    format: 'esm',
    packages: 'external',
    plugins: [browserVariants],
    logLevel: 'silent',
  });
  const modules: Record<string, string> = { ...entry };
  for (const path of Object.keys(metafile.inputs)) {
    const module = /^src\/(.+)\.ts$/.exec(path)?.[1];
    if (module === undefined || module.endsWith('.browser') || Object.values(entry).includes(path)) continue;
    modules[module] = path;
  }
  return modules;
}

export default defineConfig(async () => [
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
    entry: await moduleEntries(),
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
