import type { ReorgEvent } from '../../src/index.js';
import { FakeChain, type FakeNode } from '../../src/testing/index.js';
import { sessionHarness, type SessionHarness } from './session.js';

/** A `backfill` event that carried an error: the node, the error's code, and when (fake clock). */
export interface FailedBackfill {
  node: string;
  code: string;
  at: number;
}

/**
 * A session over nodes on one FakeChain (each at 100) that never send `removed` logs, as anvil:
 * what left the chain reaches the client only through the session's own checks. Collects the
 * session's `reorg` events and the errors its `backfill` events carry.
 */
export async function anvilLikeSession(options: Parameters<typeof sessionHarness>[0] = {}): Promise<{
  h: SessionHarness;
  a: FakeNode;
  b: FakeNode;
  reorgs: ReorgEvent[];
  failures: FailedBackfill[];
}> {
  const h = await sessionHarness({ chain: new FakeChain({ genesis: 90 }), ...options });
  for (const node of Object.values(h.nodes)) node.announceRemovedLogs = false;
  const reorgs: ReorgEvent[] = [];
  const failures: FailedBackfill[] = [];
  h.session.on('reorg', (event) => reorgs.push(event));
  h.session.on('backfill', (event) => {
    if (event.error) failures.push({ node: event.node, code: event.error.code, at: h.clock.now() });
  });
  return { h, a: h.nodes.a!, b: h.nodes.b!, reorgs, failures };
}

/** The logs delivered to the client's subscription `id` (as answered to its eth_subscribe), retractions included. */
export function logsOf(h: SessionHarness, id: unknown): any[] {
  return h.notifications(h.answers(id)[0].result).map((m) => m.params.result);
}

/** What a client holds of `logs` once it has applied every retraction, in delivery order. */
export function heldLogs(logs: readonly any[]): any[] {
  const held = new Map<string, any>();
  for (const log of logs) {
    const key = `${log.blockHash}:${log.logIndex}`;
    if (log.removed) held.delete(key);
    else held.set(key, log);
  }
  return [...held.values()];
}

/** `a` adds `blocks` blocks with a log each; every other node adds the same blocks (one chain). */
export async function mineLogs(h: SessionHarness, blocks: number): Promise<void> {
  for (let i = 0; i < blocks; i++) {
    h.nodes.a!.advance(1).emitLog();
    for (const node of Object.values(h.nodes)) if (node !== h.nodes.a) node.advance(1);
  }
  await h.settle();
}

/**
 * Makes `node` answer `methods` with an error while `failing()` says so (finer than
 * `FakeNode.failReads`); returns how many `counted` calls it got since (`eth_blockNumber`: one per check).
 */
export function failMethods(node: FakeNode, methods: readonly string[], failing: () => boolean, counted = 'eth_blockNumber'): () => number {
  const answer = node.answer.bind(node);
  let heads = 0;
  node.answer = (request) => {
    if (request.method === counted) heads += 1;
    return failing() && methods.includes(request.method) ? { jsonrpc: '2.0', id: request.id ?? null, error: { code: -32000, message: 'busy' } } : answer(request);
  };
  return () => heads;
}

/**
 * A client with a `logs` subscription on `a`, given blocks 101–103 (a log each); `b` then forks
 * below 103, its `eth_getLogs` failing until `heal()`, and `a` is cut: the switch's check of `b`
 * finds the fork but cannot fetch its logs, so the log of 103 stays with the client.
 */
export async function forkWhoseLogsFail() {
  const { h, a, b, failures } = await anvilLikeSession();
  h.send({ jsonrpc: '2.0', id: 'l', method: 'eth_subscribe', params: ['logs', {}] });
  await h.settle();
  await mineLogs(h, 3);
  const given = logsOf(h, 'l');
  b.forkAt(1, 2);
  let failing = true;
  const getLogs = failMethods(b, ['eth_getLogs'], () => failing, 'eth_getLogs');
  a.cut();
  await h.settle();
  return { h, a, b, given, failures, getLogs, heal: () => (failing = false) };
}
