import { afterEach, beforeEach } from 'vitest';
import type { NodeConfig, ResilientNodesOptions, ResilientPoolOptions } from '../../src/index.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../../src/jsonrpc.js';
import { NodePool } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';

export interface AdapterWorld {
  clock: FakeClock;
  sockets: FakeSocketTransport;
  http: FakeHttpTransport;
  /** `a` (primary, balance 1 wei, head 100) and `b` (backup, balance 2 wei, head 100). */
  nodes: { a: FakeNode; b: FakeNode };
  configs: NodeConfig[];
  /** Options that make the adapter build its own pool and health checker over the fakes. */
  nodesOptions(): ResilientNodesOptions;
  /** Options over a pool the test owns (no health checker), with both nodes marked healthy. */
  poolOptions(): ResilientPoolOptions & { pool: NodePool };
  /** Lets pending promise callbacks and fake-socket handlers run, without moving the clock. */
  settle(): Promise<void>;
}

/** Fake nodes `a` and `b`, served at http://<name>.test/ and ws://<name>.test/. */
export function adapterWorld(): AdapterWorld {
  const clock = new FakeClock();
  const sockets = new FakeSocketTransport();
  const http = new FakeHttpTransport();
  const nodes = {
    a: new FakeNode({ name: 'a', head: 100, balance: 1n }),
    b: new FakeNode({ name: 'b', head: 100, balance: 2n }),
  };
  for (const [name, node] of Object.entries(nodes)) {
    sockets.route(`ws://${name}.test/`, node.socket);
    http.route(`http://${name}.test/`, node.http);
  }
  const configs: NodeConfig[] = ['a', 'b'].map((name) => ({ name, http: `http://${name}.test/`, ws: `ws://${name}.test/` }));
  const session = { transport: sockets, random: () => 0.5 };
  return {
    clock,
    sockets,
    http,
    nodes,
    configs,
    nodesOptions: () => ({ nodes: configs, clock, httpTransport: http, health: { intervalMs: 1_000, timeoutMs: 500 }, session }),
    poolOptions: () => {
      const pool = new NodePool({ nodes: configs, clock, httpTransport: http });
      for (const node of configs) pool.update(node.name, { status: 'healthy', head: 100 });
      return { pool, session };
    },
    settle: async () => {
      for (let i = 0; i < 3; i++) await clock.flush();
    },
  };
}

/** The frames sent on the socket opened last to `name`, parsed. */
export function sentTo(world: AdapterWorld, name: string): any[] {
  const socket = world.sockets.sockets.filter((s) => s.endpoint.url === `ws://${name}.test/`).at(-1);
  return socket ? socket.sentJson() : [];
}

/** Whether `promise` has settled (after letting pending callbacks run). */
export async function settled(promise: Promise<unknown>, world: AdapterWorld): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await world.settle();
  return done;
}

/** Extra answers on a fake node: `handler` returns a response for the requests it knows, else undefined. */
export function extend(node: FakeNode, handler: (request: JsonRpcRequest) => Omit<JsonRpcResponse, 'id' | 'jsonrpc'> | undefined): void {
  const original = node.answer.bind(node);
  (node as { answer: FakeNode['answer'] }).answer = (request: JsonRpcRequest) => {
    const extra = handler(request);
    if (extra === undefined) return original(request);
    node.calls.set(request.method, (node.calls.get(request.method) ?? 0) + 1);
    return { jsonrpc: '2.0', id: request.id ?? null, ...extra } as JsonRpcResponse;
  };
}

/** ethers queues on real zero-delay timers: lets a few timer turns and the fakes run (the fake clock does not move). */
export async function turns(world: { settle(): Promise<void> }, count = 4): Promise<void> {
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    await world.settle();
  }
}

/** Awaits `promise`, letting timer turns run until it settles (at most `rounds`). */
export async function until<T>(world: { settle(): Promise<void> }, promise: Promise<T>, rounds = 20): Promise<T> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < rounds && !done; i++) await turns(world, 1);
  return promise;
}

/** Whether `promise` settles within a few turns (real zero-delay timers + fake settle), without moving the clock. */
export async function settlesSoon(world: { settle(): Promise<void> }, promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await turns(world, 6);
  return done;
}

/**
 * Collects the process's unhandled rejections while a test runs (in Node one ends the process by
 * default). Call in a describe block; read `reasons` in the test.
 */
export function unhandledRejections(): { reasons: unknown[] } {
  const seen = { reasons: [] as unknown[] };
  const listener = (reason: unknown) => void seen.reasons.push(reason);
  beforeEach(() => {
    seen.reasons.length = 0;
    process.on('unhandledRejection', listener);
  });
  afterEach(() => void process.off('unhandledRejection', listener));
  return seen;
}

/** Lets real timer turns pass (for promise chains ethers leaves behind), then the fakes run. */
export async function drain(world: { settle(): Promise<void> }): Promise<void> {
  await turns(world, 8);
  await new Promise((resolve) => setTimeout(resolve, 10));
}
