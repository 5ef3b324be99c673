import { describe, expect, it } from 'vitest';
import type { JsonRpcRequest } from '../../src/index.js';
import { NodePool, UpstreamSession } from '../../src/index.js';
import { FakeChain, FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';
import { rpc } from '../helpers/session.js';

// Found by the session property test (PROPS_SEED=20262126 npm run test:props:long): after a switch,
// the check's eth_getLogs was answered by the new node just before it reorged; its new heads came
// while the check still held the logs subscription, and retracted the logs of the blocks it left;
// the older answer then brought one of them back (off the node's chain), and the client, told it had
// every log up to there, never got the original chain's log at the height below when it came back.

describe("a check's eth_getLogs answered just before the node reorged", () => {
  it('does not bring back the logs the reorg retracted; the client holds the chain of the node it ends on', async () => {
    const clock = new FakeClock();
    const sockets = new FakeSocketTransport();
    const chain = new FakeChain({ genesis: 100 });
    const a = new FakeNode({ name: 'a', chain, head: 100 });
    const b = new FakeNode({ name: 'b', chain, head: 100 });
    sockets.route('ws://a.test/', a.socket);
    sockets.route('ws://b.test/', b.socket);
    const pool = new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.test/' }, { name: 'b', tier: 'backup', ws: 'ws://b.test/' }], clock, httpTransport: new FakeHttpTransport() });
    for (const name of ['a', 'b']) pool.update(name, { status: 'healthy', head: 100 });
    const session = new UpstreamSession({ pool, transport: sockets, clock, random: () => 0.5 });
    const logs: Array<{ blockNumber: string; blockHash: string; logIndex: string; removed: boolean }> = [];
    session.on('message', (text) => {
      const m = JSON.parse(text);
      if (m.method === 'eth_subscription' && m.params.result.logIndex !== undefined) logs.push(m.params.result);
    });
    await clock.flush();
    session.send(JSON.stringify(rpc('logs', 'eth_subscribe', ['logs', {}])));
    await clock.flush();
    for (let i = 0; i < 3; i++) {
      a.advance(1).emitLog();
      b.follow(a);
    }
    await clock.flush();
    // newHeads from here on: it was shown none of 101–103, so b's new 102 and 103 are no reorg to it.
    session.send(JSON.stringify(rpc('heads', 'eth_subscribe', ['newHeads'])));
    await clock.flush();
    expect(logs.map((l) => Number(l.blockNumber))).toEqual([101, 102, 103]);
    // b answers the check's eth_getLogs from its chain as it is, then reorgs its last two blocks away (no logs on its branch).
    const answer = b.answer.bind(b);
    let forked = false;
    b.answer = (request: JsonRpcRequest) => {
      const response = answer(request);
      if (request.method === 'eth_getLogs' && !forked) {
        // Its new heads reach the session before this answer does (the check still holds the logs).
        forked = true;
        b.forkAt(2, 2);
      }
      return response;
    };
    a.cut();
    pool.update('a', { status: 'unhealthy' });
    await clock.advance(1_000);
    expect(session.node).toBe("b");
    // b's chain has the log of 101 only: 102 and 103 are other blocks now, without logs. Their
    // logs are retracted once, and the older answer brings none back.
    const seen = () => logs.map((l) => [Number(l.blockNumber), l.removed]);
    expect(seen()).toEqual([[101, false], [102, false], [103, false], [102, true], [103, true]]);
    expect(held(logs, b)).toEqual([[101, true]]);
    // a comes back, on the first branch: the client gets its logs of 102 and 103 again.
    a.restore();
    pool.update('a', { status: 'healthy', head: 103 });
    await clock.advance(1_000);
    expect(session.node).toBe('a');
    expect(held(logs, a)).toEqual([[101, true], [102, true], [103, true]]);
    session.close();
    pool.close();
  });
});

/** What the client holds once it has replayed its logs (removed ones taken out): [block, on `node`'s chain]. */
function held(logs: ReadonlyArray<{ blockNumber: string; blockHash: string; logIndex: string; removed: boolean }>, node: FakeNode): Array<[number, boolean]> {
  const kept = new Map<string, (typeof logs)[number]>();
  for (const log of logs) {
    const key = `${log.blockHash}:${log.logIndex}`;
    if (log.removed) kept.delete(key);
    else kept.set(key, log);
  }
  return [...kept.values()].map((l) => [Number(l.blockNumber), l.blockHash === node.block(Number(l.blockNumber)).hash]);
}
