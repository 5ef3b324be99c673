import { describe, expect, it } from 'vitest';
import type { JsonRpcRequest } from '../../src/index.js';
import { FakeChain } from '../../src/testing/index.js';
import { deliveredLogs, heldLogs, rpc, sessionHarness } from '../helpers/session.js';

// Found by the session property test (PROPS_SEED=20262126 npm run test:props:long): after a switch,
// the check's eth_getLogs was answered by the new node just before it reorged; its new heads came
// while the check still held the logs subscription, and retracted the logs of the blocks it left;
// the older answer then brought one of them back (off the node's chain), and the client, told it had
// every log up to there, never got the original chain's log at the height below when it came back.

describe("a check's eth_getLogs answered just before the node reorged", () => {
  it('does not bring back the logs the reorg retracted; the client holds the chain of the node it ends on', async () => {
    const h = await sessionHarness({ chain: new FakeChain({ genesis: 100 }) });
    const a = h.nodes.a!;
    const b = h.nodes.b!;
    h.send(rpc('logs', 'eth_subscribe', ['logs', {}]));
    await h.settle();
    for (let i = 0; i < 3; i++) {
      a.advance(1).emitLog();
      b.follow(a);
    }
    await h.settle();
    // newHeads from here on: it was shown none of 101–103, so b's new 102 and 103 are no reorg to it.
    h.send(rpc('heads', 'eth_subscribe', ['newHeads']));
    await h.settle();
    expect(deliveredLogs(h).map((l) => Number(l.blockNumber))).toEqual([101, 102, 103]);
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
    h.mark('a', 'unhealthy');
    await h.clock.advance(1_000);
    expect(h.session.node).toBe('b');
    // b's chain has the log of 101 only: 102 and 103 are other blocks now, without logs. Their
    // logs are retracted once, and the older answer brings none back.
    const seen = () => deliveredLogs(h).map((l) => [Number(l.blockNumber), l.removed]);
    expect(seen()).toEqual([[101, false], [102, false], [103, false], [102, true], [103, true]]);
    expect(heldLogs(deliveredLogs(h), b)).toEqual([[101, true]]);
    // a comes back, on the first branch: the client gets its logs of 102 and 103 again.
    a.restore();
    h.pool.update('a', { status: 'healthy', head: 103 });
    await h.clock.advance(1_000);
    expect(h.session.node).toBe('a');
    expect(heldLogs(deliveredLogs(h), a)).toEqual([[101, true], [102, true], [103, true]]);
    h.session.close();
    h.pool.close();
  });
});
