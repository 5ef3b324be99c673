/**
 * The runtimes the scenario runs under, where their binaries are, and what each one executes.
 *
 * - `bun`: node_modules/.bin/bun (the `bun` devDependency) runs test/runtimes/scenario.ts as
 *   TypeScript, straight from the source; the session builds its default socket transport, which
 *   must be the standard-WebSocket one there.
 * - `node22`: Node 22 from scripts/fetch-node22.sh (not a dependency: the npm `node` package would
 *   shadow Node 20 in npm scripts), or NODE22_BIN; it runs an esbuild bundle of the same scenario
 *   (Node 22 cannot load the TypeScript source) and passes `new StandardWebSocketTransport()`
 *   explicitly, because Node keeps `ws` by default.
 * - `deno`: node_modules/.bin/deno (the `deno` devDependency) runs the same bundle as Node 22 with
 *   the session's default socket transport, which must be the standard-WebSocket one there, under
 *   the narrowest permissions that work ({@link DENO_PERMISSIONS}).
 *
 * STEADYRPC_RUNTIMES picks them (comma-separated, default `bun,deno`); a picked runtime that is
 * missing fails the test with how to get it, never skips it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { ScenarioConfig, ScenarioReport } from './protocol.js';

export type RuntimeName = 'bun' | 'deno' | 'node22';

export interface Runtime {
  name: RuntimeName;
  /** What the child reports as its runtime. */
  reports: ScenarioReport['runtime']['name'];
  /** The major version the child must report. */
  major: number;
  transport: ScenarioConfig['transport'];
  /** What `defaultSocketTransport()` must give there. */
  defaultTransport: ScenarioReport['defaultTransport'];
  /** The binary, or why there is none. */
  locate(): { command: string } | { missing: string };
  /** The file the binary runs (built first if it must be). */
  entry(): Promise<string>;
  /** The binary's arguments to run `entry`. */
  args(entry: string): string[];
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const scenarioSource = fileURLToPath(new URL('./scenario.ts', import.meta.url));
const bundleFile = `${root}node_modules/.cache/steadyrpc-runtimes/scenario.mjs`;

/** The Node 22 binary scripts/fetch-node22.sh puts in place. */
export const NODE22_DEFAULT = `${root}node_modules/.cache/node22/node`;

/**
 * What Deno is allowed, and nothing more: connecting to the fault proxies (all on 127.0.0.1), and
 * reading three environment variables: the scenario's config, and the two that `ws` reads when it
 * is loaded (WS_NO_BUFFER_UTIL, WS_NO_UTF_8_VALIDATE). steadyrpc's Node entry imports `ws` (Deno
 * resolves the `node` condition, not `browser`), and under Deno an env read that is not allowed
 * throws NotCapable at load, so without those two names the import fails before the scenario
 * starts, even though the session never uses `ws` there. Loading the bundle and node_modules needs
 * no read permission; no write, run, ffi or sys access is given; `--no-prompt` turns any other
 * request into an error instead of a wait for a terminal that is not there.
 */
export const DENO_PERMISSIONS = ['--allow-net=127.0.0.1', '--allow-env=STEADYRPC_SCENARIO,WS_NO_BUFFER_UTIL,WS_NO_UTF_8_VALIDATE', '--no-prompt'];

const RUNTIMES: Record<RuntimeName, Runtime> = {
  bun: {
    name: 'bun',
    reports: 'bun',
    major: 1,
    transport: 'default',
    defaultTransport: 'StandardWebSocketTransport',
    locate: () => executable(process.env.BUN_BIN ?? `${root}node_modules/.bin/bun`, 'bun', 'npm ci installs it (the `bun` devDependency), or set BUN_BIN'),
    entry: async () => scenarioSource,
    args: (entry) => [entry],
  },
  deno: {
    name: 'deno',
    reports: 'deno',
    major: 2,
    transport: 'default',
    defaultTransport: 'StandardWebSocketTransport',
    locate: () => executable(process.env.DENO_BIN ?? `${root}node_modules/.bin/deno`, 'Deno', 'npm ci installs it (the `deno` devDependency), or set DENO_BIN'),
    entry: bundleScenario,
    args: (entry) => ['run', ...DENO_PERMISSIONS, entry],
  },
  node22: {
    name: 'node22',
    reports: 'node',
    major: 22,
    transport: 'standard',
    defaultTransport: 'WsSocketTransport',
    locate: () => executable(process.env.NODE22_BIN ?? NODE22_DEFAULT, 'Node 22', 'run scripts/fetch-node22.sh, or set NODE22_BIN'),
    entry: bundleScenario,
    args: (entry) => [entry],
  },
};

/** The runtimes STEADYRPC_RUNTIMES names (default: `bun,deno`); an unknown name throws. */
export function selectedRuntimes(): Runtime[] {
  const names = (process.env.STEADYRPC_RUNTIMES ?? 'bun,deno').split(',').map((name) => name.trim()).filter(Boolean);
  return names.map((name) => {
    if (!(name in RUNTIMES)) throw new Error(`STEADYRPC_RUNTIMES: unknown runtime '${name}' (known: ${Object.keys(RUNTIMES).join(', ')})`);
    return RUNTIMES[name as RuntimeName];
  });
}

function executable(command: string, what: string, hint: string): { command: string } | { missing: string } {
  if (!existsSync(command)) return { missing: `${what} not found at ${command}: ${hint}` };
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore', timeout: 10_000 });
    return { command };
  } catch (error) {
    return { missing: `${what} at ${command} does not run (${(error as Error).message}): ${hint}` };
  }
}

let bundled: Promise<string> | undefined;

/**
 * scenario.ts and the steadyrpc source it imports, as one ES module for Node 22 and Deno (~50 ms,
 * once for both). Dependencies stay imports: the file lives under node_modules/.cache so that they
 * resolve from the project (Deno finds them there too, through the project's package.json).
 */
function bundleScenario(): Promise<string> {
  bundled ??= build({
    entryPoints: [scenarioSource],
    outfile: bundleFile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    packages: 'external',
    logLevel: 'silent',
  }).then(() => bundleFile);
  return bundled;
}
