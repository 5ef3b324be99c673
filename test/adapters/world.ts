import type { NodeConfig, ResilientNodesOptions, ResilientPoolOptions } from '../../src/index.js';
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
