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
 *
 * STEADYRPC_RUNTIMES picks them (comma-separated, default `bun`); a picked runtime that is missing
 * fails the test with how to get it, never skips it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { ScenarioConfig, ScenarioReport } from './protocol.js';

export type RuntimeName = 'bun' | 'node22';

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
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const scenarioSource = fileURLToPath(new URL('./scenario.ts', import.meta.url));
const bundleFile = `${root}node_modules/.cache/steadyrpc-runtimes/scenario.mjs`;

/** The Node 22 binary scripts/fetch-node22.sh puts in place. */
export const NODE22_DEFAULT = `${root}node_modules/.cache/node22/node`;

const RUNTIMES: Record<RuntimeName, Runtime> = {
  bun: {
    name: 'bun',
    reports: 'bun',
    major: 1,
    transport: 'default',
    defaultTransport: 'StandardWebSocketTransport',
    locate: () => executable(process.env.BUN_BIN ?? `${root}node_modules/.bin/bun`, 'bun', 'npm ci installs it (the `bun` devDependency), or set BUN_BIN'),
    entry: async () => scenarioSource,
  },
  node22: {
    name: 'node22',
    reports: 'node',
    major: 22,
    transport: 'standard',
    defaultTransport: 'WsSocketTransport',
    locate: () => executable(process.env.NODE22_BIN ?? NODE22_DEFAULT, 'Node 22', 'run scripts/fetch-node22.sh, or set NODE22_BIN'),
    entry: bundleScenario,
  },
};

/** The runtimes STEADYRPC_RUNTIMES names (default: `bun`); an unknown name throws. */
export function selectedRuntimes(): Runtime[] {
  const names = (process.env.STEADYRPC_RUNTIMES ?? 'bun').split(',').map((name) => name.trim()).filter(Boolean);
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
 * scenario.ts and the steadyrpc source it imports, as one ES module for Node (~50 ms). Dependencies
 * stay imports: the file lives under node_modules/.cache so that they resolve from the project.
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
