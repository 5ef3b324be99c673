/**
 * The bench measures steadyrpc as its users run it: the built package (dist/, what `npm run build`
 * makes and npm ships), resolved by name through package.json's exports. Not src/ through tsx:
 * tsx compiles with esbuild's `keepNames`, which wraps each named closure in a `__name()` call that
 * gives the function a property store of its own, about 2 KB more heap per idle session (eight
 * such closures each) than the build costs, which no user pays (bench/cases/scale.ts).
 *
 * So every process the bench forks runs with {@link BUILT_ENV}: tsx then reads
 * bench/tsconfig.run.json, which has no `paths` mapping `steadyrpc` to src/. {@link ensureBuilt}
 * rebuilds first when src/ changed since the last build. (`profile-frames.ts` and
 * `profile-check.ts` time internal modules in their own process and stay on src/: their CPU times
 * are the same on either: 0.81× and 0.77× of a raw consumer on src/, 0.80× and 0.82× on dist/.)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The environment of a bench child: tsx without the root tsconfig's `paths`. */
export const BUILT_ENV = { TSX_TSCONFIG_PATH: fileURLToPath(new URL('./tsconfig.run.json', import.meta.url)) };

/** What the build is made from; any of it newer than the build's outputs means a rebuild. */
const INPUTS = ['src', 'package.json', 'tsup.config.ts', 'scripts/browserVariants.mjs'];
/** What the bench loads of the build (the four entries, Node and browser). */
const OUTPUTS = ['index.js', 'testing/index.js', 'viem/index.js', 'ethers/index.js', 'browser/viem/index.js'].map((f) => join('dist', f));

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((latest, name) => Math.max(latest, newest(join(path, name))), stat.mtimeMs);
}

function oldestOutput(): number | undefined {
  let oldest = Infinity;
  for (const file of OUTPUTS) {
    try {
      oldest = Math.min(oldest, statSync(join(ROOT, file)).mtimeMs);
    } catch {
      return undefined;
    }
  }
  return oldest;
}

/** Runs `npm run build` when dist/ is missing or older than its sources; throws when that fails. */
export function ensureBuilt(): void {
  const built = oldestOutput();
  const changed = Math.max(...INPUTS.map((input) => newest(join(ROOT, input))));
  if (built !== undefined && built >= changed) return;
  process.stderr.write(`bench: ${built === undefined ? 'no build yet' : 'src/ changed since the last build'}; npm run build (the bench measures dist/)\n`);
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`npm run build failed (exit ${String(result.status)})`);
}
