import type { Clock, NodeHealth, NodePoolOptions, SessionSwitchEvent, SocketTransport, UpstreamSessionOptions } from '../../src/index.js';
import { NodePool, UpstreamSession } from '../../src/index.js';
import { expect } from 'vitest';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport, type FakeChain, type FakeSubscriptionIds } from '../../src/testing/index.js';

export interface SessionHarness {
  clock: FakeClock;
  sockets: FakeSocketTransport;
  nodes: Record<string, FakeNode>;
  pool: NodePool;
  session: UpstreamSession;
  /** Every frame the session emitted to the client, parsed. */
  received: any[];
  /** Sends a JSON value as a client frame. */
  send(value: unknown): void;
  /** Answers (not notifications) the client received for `id`. */
  answers(id: unknown): any[];
  notifications(subscription?: string): any[];
  /** Lets every pending microtask and immediate run, without moving the clock. */
  settle(): Promise<void>;
  mark(name: string, status: NodeHealth['status']): void;
}

/**
 * A session over fake nodes `a` (primary) and `b` (backup) unless others are named, served at
 * ws://<name>.test/. Nodes are healthy in the pool unless `healthy: false`.
 */
export async function sessionHarness(
  options: Partial<UpstreamSessionOptions> & {
    names?: Array<[string, 'primary' | 'backup']>;
    healthy?: boolean;
    /** How the nodes name subscriptions (FakeNodeOptions). @default 'random' */
    subscriptionIds?: FakeSubscriptionIds;
    random?: () => number;
    /** The session's transport, built over the fake sockets the nodes serve (another transport's contract run on them). */
    transportOver?: (sockets: FakeSocketTransport) => SocketTransport;
    /** The session's clock, built over the harness's FakeClock (the pool keeps the FakeClock). */
    wrapClock?: (clock: FakeClock) => Clock;
    /** More pool options (a `selector`, say). */
    poolOptions?: Partial<NodePoolOptions>;
    /** One chain the nodes share, each at its block 100 (FakeNodeOptions' `chain`): they can fork and follow each other. */
    chain?: FakeChain;
    /** The fake sockets say they hand frames over in tasks of their own, as ws does (FakeSocketTransportOptions). */
    readsInTasks?: boolean;
  } = {},
): Promise<SessionHarness> {
  const { names = [['a', 'primary'], ['b', 'backup']], healthy = true, subscriptionIds, transportOver, wrapClock, poolOptions, chain, readsInTasks = false, ...sessionOptions } = options;
  const clock = new FakeClock();
  const sockets = new FakeSocketTransport({ readsInTasks });
  const nodes: Record<string, FakeNode> = {};
  names.forEach(([name], index) => {
    const node = new FakeNode({ name, head: 100, balance: BigInt(index + 1), ...(subscriptionIds ? { subscriptionIds } : {}), ...(chain ? { chain } : {}) });
    nodes[name] = node;
    sockets.route(`ws://${name}.test/`, node.socket);
  });
  const pool = new NodePool({
    nodes: names.map(([name, tier]) => ({ name, tier, ws: `ws://${name}.test/` })),
    clock,
    httpTransport: new FakeHttpTransport(),
    ...poolOptions,
  });
  if (healthy) for (const [name] of names) pool.update(name, { status: 'healthy', head: 100 });
  const transport = transportOver ? transportOver(sockets) : sockets;
  const session = new UpstreamSession({ pool, transport, clock: wrapClock ? wrapClock(clock) : clock, random: () => 0.5, ...sessionOptions });
  const received: any[] = [];
  session.on('message', (text) => received.push(JSON.parse(text)));
  const settle = () => clock.flush();
  await settle();
  return {
    clock,
    sockets,
    nodes,
    pool,
    session,
    received,
    send: (value) => session.send(JSON.stringify(value)),
    answers: (id) => received.filter((m) => !Array.isArray(m) && 'id' in m && m.id === id),
    notifications: (subscription) =>
      received.filter((m) => m.method === 'eth_subscription' && (subscription === undefined || m.params.subscription === subscription)),
    settle,
    mark: (name, status) => pool.update(name, { status }),
  };
}

export const rpc = (id: unknown, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0', id, method, params });

/** The client subscribes to `newHeads` (request id `s`); resolves with the subscription id it got. */
export async function subscribeNewHeads(h: SessionHarness): Promise<string> {
  h.send(rpc('s', 'eth_subscribe', ['newHeads']));
  await h.settle();
  return h.answers('s')[0]!.result as string;
}

/** A session subscribed to `newHeads` on `a`, moved to `b` by a cut of `a` (marked unhealthy); `switches` records every switch. */
export async function onBackup(options: Parameters<typeof sessionHarness>[0] = {}) {
  const h = await sessionHarness(options);
  const switches: SessionSwitchEvent[] = [];
  h.session.on('switch', (e) => switches.push(e));
  const subscription = await subscribeNewHeads(h);
  h.nodes.a!.cut();
  h.mark('a', 'unhealthy');
  await h.settle();
  expect(h.session.node).toBe('b');
  return { h, switches, subscription };
}

/** Nothing of the session outlives close(): no timer, no socket open, no pool listener. */
export function expectNothingLeft(h: SessionHarness): void {
  expect(h.session.state).toBe('closed');
  expect(h.clock.pendingTimers).toBe(0);
  expect(h.sockets.sockets.filter((s) => s.state !== 'closed')).toHaveLength(0);
  expect(h.pool.listenerCount('health')).toBe(0);
}

/** A log as a `logs` subscription delivers it (the fields the helpers below read). */
export interface DeliveredLog {
  blockNumber: string;
  blockHash: string;
  logIndex: string;
  removed: boolean;
}

/** The logs the client received on every `logs` subscription, in order (retractions too). */
export function deliveredLogs(h: SessionHarness): DeliveredLog[] {
  return h.notifications().map((m) => m.params.result).filter((result) => result?.logIndex !== undefined);
}

/**
 * What a client holds once it has replayed `logs` (those removed taken out), in the order first
 * received: [block number, whether that block is on `node`'s chain].
 */
export function heldLogs(logs: readonly DeliveredLog[], node: FakeNode): Array<[number, boolean]> {
  const kept = new Map<string, DeliveredLog>();
  for (const log of logs) {
    const key = `${log.blockHash}:${log.logIndex}`;
    if (log.removed) kept.delete(key);
    else kept.set(key, log);
  }
  return [...kept.values()].map((l) => [Number(l.blockNumber), l.blockHash === node.block(Number(l.blockNumber)).hash]);
}
