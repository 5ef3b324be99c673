/**
 * The reference proxy as users run it: its own process (`node --import tsx examples/proxy-server.ts`),
 * so a probe can send it signals, read everything it logs and measure its memory apart from the
 * test's. Killed if the test process exits first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../integration/helpers/anvil.js';
import { poll } from '../../integration/helpers/wsClient.js';

export interface ChildProxy {
  readonly url: string;
  readonly wsUrl: string;
  /** Set when started with `admin: true` (`--admin-listen`). */
  readonly adminUrl: string | undefined;
  readonly pid: number;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Settles when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
  /** Its resident memory now, in bytes (Linux). */
  rssBytes(): number;
  /** SIGKILL unless it has exited; waits for the exit. */
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const live = new Set<ChildProcess>();
let hooked = false;

/** Starts the proxy with `args` (plus `--listen` on a free port) and waits until /livez answers. */
export async function spawnProxy(args: string[], options: { admin?: boolean; startTimeoutMs?: number } = {}): Promise<ChildProxy> {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  const port = await freePort();
  const adminPort = options.admin ? await freePort() : undefined;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'examples/proxy-server.ts', '--listen', `127.0.0.1:${port}`, ...(adminPort ? ['--admin-listen', `127.0.0.1:${adminPort}`] : []), ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${port}`;
  const proxy: ChildProxy = {
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    adminUrl: adminPort ? `http://127.0.0.1:${adminPort}` : undefined,
    pid: child.pid!,
    output: () => output,
    exited,
    kill: (signal) => void child.kill(signal),
    rssBytes: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024,
    stop: async () => {
      if (!gone) child.kill('SIGKILL');
      await exited;
    },
  };
  try {
    const state = await poll(
      'the proxy process serves /livez',
      async () => (gone ? 'exited' : (await fetch(`${url}/livez`, { signal: AbortSignal.timeout(1_000) })).ok && 'serving'),
      options.startTimeoutMs ?? 30_000,
      100,
    );
    if (state === 'exited') throw new Error('it exited');
  } catch (error) {
    await proxy.stop();
    throw new Error(`proxy did not start: ${error instanceof Error ? error.message : String(error)}\n${output}`);
  }
  return proxy;
}
