/**
 * Spawns real anvil nodes (from the `@foundry-rs/anvil` devDependency) on free loopback ports.
 *
 * Every node started here is tracked: `stop()` kills it, and a process 'exit' hook SIGKILLs any that
 * are still running when the test process goes away (e.g. when a test fails before its afterAll).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

export interface AnvilOptions {
  /** Balance of every dev account, in whole ether. Default 10000 (anvil's own default). */
  balanceEth?: number;
  /** Interval mining period in seconds. Default 1. */
  blockTimeSec?: number;
  /** Default 31337. */
  chainId?: number;
  /** How long to wait for the node to answer `eth_chainId`. Default 15 s. */
  startTimeoutMs?: number;
}

export interface AnvilNode {
  /** `http://127.0.0.1:<port>` (anvil serves HTTP and WebSocket on the same port). */
  httpUrl: string;
  /** `ws://127.0.0.1:<port>` */
  wsUrl: string;
  port: number;
  chainId: number;
  /** Balance of every dev account (e.g. {@link DEV_ACCOUNT}) at genesis, in wei. */
  balanceWei: bigint;
  pid: number | undefined;
  /** Kills the process (SIGTERM, then SIGKILL after 3 s) and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/** The first of anvil's default dev accounts (mnemonic "test test ... junk"). */
export const DEV_ACCOUNT = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';

const WEI_PER_ETH = 10n ** 18n;
const STDERR_TAIL_CHARS = 4_000;
const MAX_PORT_ATTEMPTS = 5;

/**
 * Children still running, killed if the test process exits first: SIGKILL for the real binary;
 * SIGTERM for the bin.mjs wrapper fallback, which forwards it to anvil (a SIGKILL would orphan anvil).
 */
const live = new Map<ChildProcess, NodeJS.Signals>();
let exitHookInstalled = false;

/** Tracks an anvil child until it exits; `signal` is what the exit hook sends it. */
export function trackAnvil(child: ChildProcess, signal: NodeJS.Signals): void {
  installExitHook();
  live.set(child, signal);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [child, signal] of live) {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    }
  });
}

export interface AnvilCommand {
  command: string;
  prefixArgs: string[];
  env?: NodeJS.ProcessEnv;
}

let resolvedCommand: AnvilCommand | undefined;

/**
 * The real anvil binary from the platform package (`@foundry-rs/anvil-<os>-<arch>/bin/anvil`), resolved
 * the way `@foundry-rs/anvil/bin.mjs` does it; falls back to running bin.mjs itself with node.
 */
export function resolveAnvilCommand(): AnvilCommand {
  if (resolvedCommand) return resolvedCommand;
  // ANVIL_BIN: an anvil of your own (e.g. on a machine other than linux-x64).
  if (process.env.ANVIL_BIN) return (resolvedCommand = { command: process.env.ANVIL_BIN, prefixArgs: [] });
  // The platform package of @foundry-rs/anvil ships the binary. The project depends on the
  // linux-x64 one directly: the registry these machines use has no other platform's package, so the
  // wrapper @foundry-rs/anvil (which lists them all as optional) cannot pass `npm ci` there.
  const os = process.platform;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const name = `@foundry-rs/anvil-${os}-${arch}`;
  try {
    const packageJson = createRequire(import.meta.url).resolve(`${name}/package.json`);
    const binary = join(dirname(packageJson), 'bin', os === 'win32' ? 'anvil.exe' : 'anvil');
    if (existsSync(binary)) return (resolvedCommand = { command: binary, prefixArgs: [] });
  } catch {
    // not installed for this platform
  }
  throw new Error(`No anvil binary: ${name} is not installed (npm ci installs @foundry-rs/anvil-linux-amd64). Set ANVIL_BIN to an anvil executable.`);
}

export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilNode> {
  const balanceEth = options.balanceEth ?? 10_000;
  const blockTimeSec = options.blockTimeSec ?? 1;
  const chainId = options.chainId ?? 31337;
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  if (!Number.isSafeInteger(balanceEth) || balanceEth < 0) throw new Error(`balanceEth must be a whole number, got ${balanceEth}`);
  installExitHook();

  const deadline = Date.now() + startTimeoutMs;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= MAX_PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    try {
      return await launch({ port, balanceEth, blockTimeSec, chainId, deadline });
    } catch (error) {
      lastError = error as Error;
      // Somebody took the port between our probe and anvil's bind: try another one.
      if (!(error instanceof PortInUseError) || Date.now() >= deadline) throw error;
    }
  }
  throw lastError ?? new Error('anvil did not start');
}

class PortInUseError extends Error {}

/** A port that was free a moment ago: listen on 127.0.0.1:0, read the port, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the probe port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

async function launch(opts: { port: number; balanceEth: number; blockTimeSec: number; chainId: number; deadline: number }): Promise<AnvilNode> {
  const { command, prefixArgs, env } = resolveAnvilCommand();
  const args = [
    ...prefixArgs,
    '--host', '127.0.0.1',
    '--port', String(opts.port),
    '--block-time', String(opts.blockTimeSec),
    '--balance', String(opts.balanceEth),
    '--chain-id', String(opts.chainId),
    '--quiet',
  ];
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  live.set(child, prefixArgs.length === 0 ? 'SIGKILL' : 'SIGTERM');

  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      live.delete(child);
      resolve();
    });
    child.once('error', (error) => {
      // spawn failure (ENOENT, EACCES): no 'exit' will follow
      spawnError = error;
      live.delete(child);
      resolve();
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (exitInfo || spawnError) return;
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(killTimer);
    })();
    return stopping;
  };

  const httpUrl = `http://127.0.0.1:${opts.port}`;
  const describe = () =>
    `anvil (${command} ${args.join(' ')})${exitInfo ? ` exited with ${exitInfo.signal ?? `code ${exitInfo.code}`}` : ''}` +
    (output.trim() ? `; output tail:\n${output.trim()}` : '; no output');

  try {
    for (;;) {
      if (spawnError) throw new Error(`could not spawn anvil (${command}): ${spawnError.message}`);
      if (exitInfo) {
        if (/address already in use|os error (98|48|10048)|EADDRINUSE/i.test(output)) throw new PortInUseError(describe());
        throw new Error(`${describe()} before answering eth_chainId`);
      }
      if (Date.now() >= opts.deadline) throw new Error(`${describe()} did not answer eth_chainId within the start timeout`);
      const answer = await probeChainId(httpUrl);
      if (answer !== undefined) {
        if (answer !== opts.chainId) throw new Error(`anvil on ${httpUrl} reports chainId ${answer}, expected ${opts.chainId}`);
        break;
      }
      await Promise.race([exited, sleep(50)]);
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    httpUrl,
    wsUrl: `ws://127.0.0.1:${opts.port}`,
    port: opts.port,
    chainId: opts.chainId,
    balanceWei: BigInt(opts.balanceEth) * WEI_PER_ETH,
    pid: child.pid,
    stop,
  };
}

async function probeChainId(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { result?: unknown };
    return typeof body.result === 'string' ? Number(BigInt(body.result)) : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
