import { expect } from 'vitest';
import { NodePool, type NodeConfig, type NodePoolOptions, type SwitchEvent } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, fakeBlockHash, type FakeHttpHandler } from '../../src/testing/index.js';
import { gethish } from './gethReads.js';

export interface FakeCluster {
  clock: FakeClock;
  http: FakeHttpTransport;
  nodes: Record<string, FakeNode>;
  pool: NodePool;
  switches: SwitchEvent[];
}

/** A pool over fake nodes named after the configs, each served at http://<name>.test/. */
export function fakeCluster(
  configs: Array<Omit<NodeConfig, 'http'> & { head?: number; chainId?: number }>,
  options: Partial<NodePoolOptions> = {},
): FakeCluster {
  const clock = new FakeClock();
  const http = new FakeHttpTransport();
  const nodes: Record<string, FakeNode> = {};
  for (const [index, config] of configs.entries()) {
    const node = new FakeNode({ name: config.name, head: config.head ?? 100, chainId: config.chainId ?? 1, balance: BigInt(index + 1), clock });
    nodes[config.name] = node;
    http.route(`http://${config.name}.test/`, node.http);
  }
  const pool = new NodePool({
    nodes: configs.map(({ head: _head, chainId: _chainId, ...c }) => ({ ...c, http: `http://${c.name}.test/` })),
    clock,
    httpTransport: http,
    ...options,
  });
  const switches: SwitchEvent[] = [];
  pool.on('switch', (event) => switches.push(event));
  return { clock, http, nodes, pool, switches };
}

/** Settles `promise` (answer or error) without letting it reject unobserved. */
export function outcome<T>(promise: Promise<T>): { readonly value: T | unknown; readonly done: boolean } {
  const state = { value: undefined as T | unknown, done: false };
  promise.then(
    (value) => Object.assign(state, { value, done: true }),
    (error: unknown) => Object.assign(state, { value: error, done: true }),
  );
  return state;
}

/**
 * a (primary) at 103 served the client (the pool's view is 103); a dies; b (backup) is 3 blocks
 * behind.
 */
export async function poolAfterCut(options: Parameters<typeof fakeCluster>[1] = {}): Promise<FakeCluster> {
  const cluster = fakeCluster([{ name: 'a', head: 103 }, { name: 'b' }], options);
  const { pool, nodes } = cluster;
  pool.update('a', { status: 'healthy', head: 103 });
  pool.update('b', { status: 'healthy', head: 100 });
  const served = await pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] });
  if ((served as { result?: unknown }).result !== '0x67') throw new Error(`a should have served 0x67: ${JSON.stringify(served)}`);
  nodes.a!.setMode('down');
  pool.update('a', { status: 'unhealthy' });
  return cluster;
}

/**
 * Nodes a (head 105) and b (head 100) over `handlers`, on a fake clock, with the view gate waiting
 * 1 s (polling every 250 ms); the caller is given block 105 by a, then a goes away for good
 * (refused, marked unhealthy): what b answers next is held to that view.
 */
export async function viewFromA(handlers: { a: FakeHttpHandler; b: FakeHttpHandler }, options: Partial<NodePoolOptions> = {}) {
  const clock = new FakeClock();
  const http = new FakeHttpTransport().route('http://a.test/', handlers.a).route('http://b.test/', handlers.b);
  const pool = new NodePool({
    nodes: [{ name: 'a', http: 'http://a.test/' }, { name: 'b', http: 'http://b.test/' }],
    clock,
    httpTransport: http,
    http: { retryDelayMs: 0 },
    consistency: { waitMs: 1_000, pollMs: 250 },
    ...options,
  });
  pool.update('a', { status: 'healthy', head: 105 });
  pool.update('b', { status: 'healthy', head: 100 });
  const given = await pool.request({ jsonrpc: '2.0', id: 0, method: 'eth_blockNumber', params: [] });
  expect(given).toMatchObject({ result: '0x69' });
  http.fail('http://a.test/', 'refuse');
  pool.update('a', { status: 'unhealthy' });
  return { clock, http, pool };
}

/**
 * Nodes a and b at 103 on one chain, answering block reads as geth does (gethReads.ts); the caller
 * was given block 103 by a, then a went down for good: what b answers of it is held to that view.
 */
export async function gethClusterAfterA(consistency: { waitMs: number; pollMs: number }): Promise<FakeCluster> {
  const c = fakeCluster([{ name: 'a', head: 103 }, { name: 'b', head: 103 }], { consistency });
  gethish(c.nodes.a!);
  gethish(c.nodes.b!);
  c.pool.update('a', { status: 'healthy', head: 103 });
  c.pool.update('b', { status: 'healthy', head: 103 });
  expect(await c.pool.request({ jsonrpc: '2.0', id: 0, method: 'eth_getBlockByNumber', params: ['0x67', false] })).toMatchObject({ result: { hash: fakeBlockHash(103) } });
  c.nodes.a!.setMode('down');
  c.pool.update('a', { status: 'unhealthy' });
  return c;
}
