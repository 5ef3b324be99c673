import { NodePool } from '../../src/index.js';
import { FakeChain, FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';

export const LOG_ADDRESS = '0x0000000000000000000000000000000000000001';

/** Gives the fake chain's logs the fields a real node's have (topics, transaction hash and index). */
function enrich(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(enrich);
  if (typeof value !== 'object' || value === null) return value;
  const v = value as Record<string, unknown>;
  if (typeof v.logIndex === 'string' && typeof v.blockHash === 'string' && !('topics' in v)) {
    return { ...v, topics: [], transactionHash: `0x${'77'.repeat(16)}${(v.blockHash as string).slice(34)}`, transactionIndex: '0x0' };
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = enrich(x);
  return out;
}

/** Nodes `a` (primary) and `b` (backup) on one FakeChain from block 90, behind a pool the test owns. */
export function chainWorld() {
  const clock = new FakeClock();
  const sockets = new FakeSocketTransport();
  const http = new FakeHttpTransport();
  const chain = new FakeChain({ genesis: 90 });
  const nodes = { a: new FakeNode({ name: 'a', chain, head: 90 }), b: new FakeNode({ name: 'b', chain, head: 90 }) };
  for (const node of Object.values(nodes)) {
    sockets.route(`ws://${node.name}.test/`, (socket) => {
      const receiveJson = socket.receiveJson.bind(socket);
      socket.receiveJson = (v: unknown) => receiveJson(enrich(v));
      node.socket(socket);
    });
    http.route(`http://${node.name}.test/`, node.http);
  }
  const pool = new NodePool({ nodes: ['a', 'b'].map((name) => ({ name, http: `http://${name}.test/`, ws: `ws://${name}.test/` })), clock, httpTransport: http });
  for (const name of ['a', 'b']) pool.update(name, { status: 'healthy', head: 90 });
  const world = {
    clock,
    sockets,
    http,
    chain,
    nodes,
    pool,
    options: () => ({ pool, session: { transport: sockets, random: () => 0.5 } }),
    settle: async () => {
      for (let i = 0; i < 3; i++) await clock.flush();
    },
    /** Mines on both nodes, one log per block. */
    mine: async (blocks: number, on: FakeNode[] = [nodes.a, nodes.b]) => {
      for (let i = 0; i < blocks; i++) {
        for (const node of on) node.advance(1);
        on[0]!.emitLog(LOG_ADDRESS);
      }
      await world.settle();
    },
  };
  return world;
}
