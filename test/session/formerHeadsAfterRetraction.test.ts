import { describe, expect, it } from 'vitest';
import { NodePool, UpstreamSession } from '../../src/index.js';
import { FakeChain, FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';
import { rpc } from '../helpers/session.js';

// Found by the session property test (PROPS_SEED=20262129 npm run test:props:long). The heads an
// ended newHeads subscription was given vouch, in a later check, for the heights where a logs
// subscription was shown no log while it ran. Once that subscription's logs at those heights had
// been retracted (its node reorged), they vouched for a branch the client had been told was left:
// the check on a node back on that branch found the fork too high and never re-sent a log below it.

type Log = { blockNumber: string; blockHash: string; logIndex: string; removed: boolean };

describe('heads of an ended newHeads subscription, after the logs at their heights were retracted', () => {
  it('no longer vouch for those heights: back on the first branch, the client gets all its logs again', async () => {
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
    const logs: Log[] = [];
    const answers = new Map<unknown, unknown>();
    session.on('message', (text) => {
      const m = JSON.parse(text);
      if (m.method === 'eth_subscription' && m.params.result.logIndex !== undefined) logs.push(m.params.result);
      else if ('id' in m) answers.set(m.id, m.result);
    });
    await clock.flush();
    session.send(JSON.stringify(rpc('logs', 'eth_subscribe', ['logs', {}])));
    session.send(JSON.stringify(rpc('heads', 'eth_subscribe', ['newHeads'])));
    await clock.flush();
    for (let i = 0; i < 3; i++) {
      a.advance(1).emitLog();
      b.follow(a);
    }
    await clock.flush();
    // newHeads ends: its heads 101–103 are kept to judge what the logs subscription was shown.
    session.send(JSON.stringify(rpc('unsub', 'eth_unsubscribe', [answers.get('heads')])));
    await clock.flush();
    // a leaves 102 and 103 (a branch without logs there); the session, moved to a afresh, retracts them.
    a.forkAt(2, 2);
    session.reconnect();
    await clock.advance(1_000);
    // a goes on on its branch: a log at 104 there.
    a.advance(1).emitLog();
    await clock.advance(1_000);
    expect(logs.map((l) => [Number(l.blockNumber), l.removed])).toEqual([[101, false], [102, false], [103, false], [102, true], [103, true], [104, false]]);
    // b, on the first branch, goes on there; the session moves to it.
    b.advance(2);
    a.cut();
    pool.update('a', { status: 'unhealthy' });
    await clock.advance(1_000);
    expect(session.node).toBe('b');
    const kept = new Map<string, Log>();
    for (const log of logs) {
      const key = `${log.blockHash}:${log.logIndex}`;
      if (log.removed) kept.delete(key);
      else kept.set(key, log);
    }
    expect([...kept.values()].map((l) => [Number(l.blockNumber), l.blockHash === b.block(Number(l.blockNumber)).hash])).toEqual([[101, true], [102, true], [103, true]]);
    session.close();
    pool.close();
  });
});
