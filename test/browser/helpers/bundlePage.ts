/**
 * Bundles a test page for the browser with esbuild, the way an app's bundler would: `platform:
 * 'browser'`, the `browser` export condition, ESM, viem/ethers and steadyrpc bundled in.
 *
 * `steadyrpc`, `steadyrpc/viem`, `steadyrpc/ethers` and `steadyrpc/testing` resolve to the source
 * (as vitest's aliases do for the other tests), so the page runs the code under test without a
 * build; and each module with an `X.browser.ts` variant gets it, by the same esbuild plugin the
 * browser build uses (scripts/browserVariants.mjs), so the page holds what `dist/browser` holds.
 */
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import { browserVariants } from '../../../scripts/browserVariants.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC = join(ROOT, 'src');

/** The package's public entries, as the exports map names them. */
const ENTRIES: Readonly<Record<string, string>> = {
  steadyrpc: 'index',
  'steadyrpc/viem': 'viem',
  'steadyrpc/ethers': 'ethers',
  'steadyrpc/testing': 'testing/index',
};

export interface PageBundle {
  /** The ES module to serve. */
  code: string;
  /** Bytes of `code`. */
  bytes: number;
  /** Every input file, relative to the repository root (node_modules/… for packages). */
  inputs: string[];
  /** Imports esbuild left out of the bundle (there should be none). */
  external: string[];
  /** How long esbuild took, in ms. */
  buildMs: number;
}

/** Bundles `entry` (a file under test/browser/pages) for the browser. */
export async function bundlePage(entry: string): Promise<PageBundle> {
  const started = performance.now();
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    conditions: ['browser'],
    format: 'esm',
    target: 'chrome120',
    metafile: true,
    logLevel: 'silent',
    plugins: [steadyrpcFromSource(), browserVariants],
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error(`esbuild produced no output for ${entry}`);
  return {
    code: output.text,
    bytes: output.contents.byteLength,
    inputs: Object.keys(result.metafile.inputs).map((input) => relative(ROOT, resolve(input))),
    external: externals(result.metafile),
    buildMs: Math.round(performance.now() - started),
  };
}

function externals(metafile: Metafile): string[] {
  const found = new Set<string>();
  for (const input of Object.values(metafile.inputs)) {
    for (const imported of input.imports) if (imported.external) found.add(imported.path);
  }
  return [...found];
}

/** `steadyrpc[/…]` → its entry in src/, as vitest's aliases resolve it. */
function steadyrpcFromSource(): Plugin {
  return {
    name: 'steadyrpc-from-source',
    setup(esbuild) {
      esbuild.onResolve({ filter: /^steadyrpc(\/(viem|ethers|testing))?$/ }, ({ path }) => ({ path: join(SRC, `${ENTRIES[path]!}.ts`) }));
    },
  };
}
