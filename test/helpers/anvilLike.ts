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
 * `FakeNode.failReads`); returns how many `eth_blockNumber` calls it got since (one per check).
 */
export function failMethods(node: FakeNode, methods: readonly string[], failing: () => boolean): () => number {
  const answer = node.answer.bind(node);
  let heads = 0;
  node.answer = (request) => {
    if (request.method === 'eth_blockNumber') heads += 1;
    return failing() && methods.includes(request.method) ? { jsonrpc: '2.0', id: request.id ?? null, error: { code: -32000, message: 'busy' } } : answer(request);
  };
  return () => heads;
}
