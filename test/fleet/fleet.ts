/**
 * Issue 16: a fleet as users deploy it. 2 anvil nodes, 3 replicas of the reference proxy (each its
 * own process, on a port it keeps across restarts) and HAProxy (Debian's package) with
 * examples/deploy/haproxy.cfg in front of them. Every process is killed if the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { RelayNode } from '../adversarial/helpers/RelayNode.js';
import { startAnvil, type AnvilNode } from '../integration/helpers/anvil.js';
import { poll } from '../integration/helpers/wsClient.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HAPROXY = process.env.HAPROXY_BIN ?? '/usr/sbin/haproxy';
const live = new Set<ChildProcess>();
let hooked = false;

interface Child {
  readonly process: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

function start(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output = (output + c.toString('utf8')).slice(-20_000)));
  child.stderr!.on('data', (c: Buffer) => (output = (output + c.toString('utf8')).slice(-20_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  return { process: child, exited, output: () => output };
}

export interface Replica {
  readonly name: string;
  readonly port: number;
  child: Child | undefined;
}

export type ServerState = 'UP' | 'DOWN' | string;

export interface Fleet {
  readonly anvils: AnvilNode[];
  /** With `relay`: the relay in front of node a (the replicas reach a through it). */
  readonly relay: RelayNode | undefined;
  readonly replicas: Replica[];
  /** HAProxy's frontend. */
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** Each server's state as HAProxy sees it (its stats CSV). */
  states(): Promise<Record<string, ServerState>>;
  /** Starts replica `i` (again) on its port and waits until it serves /readyz. */
  startReplica(i: number): Promise<void>;
  /** Sends `signal` and waits for the exit; returns it and how long it took. */
  stopReplica(i: number, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** Waits until HAProxy reports `state` for replica `i`; returns how long it took. */
  waitState(i: number, state: ServerState, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

export interface FleetOptions {
  /** Extra command-line flags for every replica. */
  replicaArgs?: string[];
  /** anvil's block time, s. @default 1 */
  blockTimeSec?: number;
  /** Node a behind a {@link RelayNode} (counts what reaches the node, answers late on demand). */
  relay?: boolean;
}

export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  if (!existsSync(HAPROXY)) throw new Error(`No HAProxy at ${HAPROXY}: apt-get install haproxy (Debian's package), or set HAPROXY_BIN`);
  const anvils = await Promise.all([startAnvil({ blockTimeSec: options.blockTimeSec ?? 1 }), startAnvil({ blockTimeSec: options.blockTimeSec ?? 1 })]);
  const relay = options.relay ? await RelayNode.start(anvils[0]!) : undefined;
  const nodeA = relay ?? anvils[0]!;
  const replicas: Replica[] = [];
  for (let i = 0; i < 3; i++) replicas.push({ name: `r${i + 1}`, port: await stablePort(), child: undefined });
  const listen = await stablePort();
  const stats = await stablePort();
  const statsUrl = `http://127.0.0.1:${stats}`;

  const startReplica = async (i: number) => {
    const replica = replicas[i]!;
    const child = start(process.execPath, [
      '--import', 'tsx', 'examples/proxy-server.ts',
      '--listen', `127.0.0.1:${replica.port}`,
      '--upstream', `a=${nodeA.httpUrl},${nodeA.wsUrl}`,
      '--upstream', `b=${anvils[1]!.httpUrl},${anvils[1]!.wsUrl}`,
      ...(options.replicaArgs ?? []),
    ]);
    replica.child = child;
    let gone = false;
    void child.exited.then(() => (gone = true));
    const state = await poll(
      `${replica.name} serves /readyz`,
      async () => (gone ? 'exited' : (await fetch(`http://127.0.0.1:${replica.port}/readyz`, { signal: AbortSignal.timeout(1_000) })).ok && 'ready'),
      30_000,
      50,
    ).catch((error: Error) => error.message);
    if (state !== 'ready') throw new Error(`${replica.name} did not start (${state}):\n${child.output()}`);
  };

  const states = async (): Promise<Record<string, ServerState>> => {
    const csv = await (await fetch(`${statsUrl}/;csv`, { signal: AbortSignal.timeout(1_000) })).text();
    const header = csv.split('\n')[0]!.replace(/^# /, '').split(',');
    const col = (name: string) => header.indexOf(name);
    const out: Record<string, ServerState> = {};
    for (const line of csv.split('\n').slice(1)) {
      const f = line.split(',');
      if (f[col('pxname')] === 'replicas' && /^r\d$/.test(f[col('svname')] ?? '')) out[f[col('svname')]!] = f[col('status')]!;
    }
    return out;
  };

  const waitState = async (i: number, state: ServerState, timeoutMs = 15_000) => {
    const from = Date.now();
    await poll(`HAProxy sees ${replicas[i]!.name} ${state}`, async () => (await states())[replicas[i]!.name] === state, timeoutMs, 25);
    return Date.now() - from;
  };

  // The vitest worker may end without an 'exit' event: a fleet that fails to start stops itself.
  let haproxy: Child | undefined;
  const stopAll = async () => {
    for (const child of [haproxy, ...replicas.map((r) => r.child)]) child?.process.kill('SIGKILL');
    await Promise.all([haproxy?.exited, ...replicas.map((r) => r.child?.exited)]);
    await relay?.close();
    await Promise.all(anvils.map((a) => a.stop()));
  };
  try {
    await Promise.all(replicas.map((_, i) => startReplica(i)));
    haproxy = start(HAPROXY, ['-f', 'examples/deploy/haproxy.cfg', '-db'], {
      ...process.env,
      LISTEN: `127.0.0.1:${listen}`,
      STATS: `127.0.0.1:${stats}`,
      REPLICA1: `127.0.0.1:${replicas[0]!.port}`,
      REPLICA2: `127.0.0.1:${replicas[1]!.port}`,
      REPLICA3: `127.0.0.1:${replicas[2]!.port}`,
    });
    const lb = haproxy;
    let gone = false;
    void lb.exited.then(() => (gone = true));
    await poll('HAProxy sees every replica UP', async () => {
      if (gone) throw new Error(`HAProxy exited:\n${lb.output()}`);
      return Object.values(await states().catch(() => ({}))).filter((s) => s === 'UP').length === 3;
    }, 15_000, 50);
  } catch (error) {
    await stopAll();
    throw new Error(`${(error as Error).message}${haproxy ? `\n${haproxy.output()}` : ''}`);
  }

  return {
    anvils,
    relay,
    replicas,
    httpUrl: `http://127.0.0.1:${listen}`,
    wsUrl: `ws://127.0.0.1:${listen}`,
    states,
    startReplica,
    stopReplica: async (i, signal) => {
      const child = replicas[i]!.child!;
      const from = Date.now();
      child.process.kill(signal);
      const exit = await child.exited;
      return { ...exit, ms: Date.now() - from };
    },
    waitState,
    stop: stopAll,
  };
}

/** Ports handed out by {@link stablePort} in this process. */
const handedOut = new Set<number>();

/**
 * A free port below Linux's ephemeral range (32768–60999), for a listener that is started later
 * and again on the same port (a replica's restart). A port from `freePort()` is an ephemeral one:
 * meanwhile, an outgoing connection (HAProxy's checks, a client's) may take it as its local port,
 * and the replica's listen fails with EADDRINUSE (seen in the clean-clone CI of 47298cb).
 */
async function stablePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.unref();
      server.once('error', () => resolve(false));
      server.listen({ host: '127.0.0.1', port }, () => server.close(() => resolve(true)));
    });
    if (!free) continue;
    handedOut.add(port);
    return port;
  }
}
