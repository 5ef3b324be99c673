import { describe, expect, it } from 'vitest';
import { NodePool, RpcErrorCode, UpstreamSession } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

// Rules the model-based property (session.property.test.ts) found broken, each pinned down by the
// smallest example of it.

describe('every client request gets exactly one response (invariant 1)', () => {
  it('calls in flight on a socket left while its keepalive is unanswered are still answered', async () => {
    const h = await sessionHarness();
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_blockNumber'));
    await h.clock.advance(2_000); // a keepalive is now in flight on a, which stays silent
    h.mark('a', 'unhealthy'); // make-before-break to b
    await h.settle();
    expect(h.session.node).toBe('b');
    await h.clock.advance(5_000); // a's drain deadline: what it owes moves to b
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x64' }]);
  });
});

describe('the session cleans up upstream subscriptions no client holds', () => {
  it('a subscribe the node answers after the client got REQUEST_TIMEOUT is unsubscribed on the node', async () => {
    const h = await sessionHarness({ requestTimeoutMs: 3_000 });
    const a = h.sockets.last()!;
    a.onSend(() => {}); // a is slow: it answers nothing for now
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.clock.advance(3_000);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, error: { code: RpcErrorCode.REQUEST_TIMEOUT, message: expect.any(String) } }]);
    const subscribe = a.sentJson().find((frame: any) => frame.method === 'eth_subscribe') as { id: number };
    a.receiveJson({ jsonrpc: '2.0', id: subscribe.id, result: '0x1' }); // the node set it up after all
    await h.settle();
    expect(a.sentJson().at(-1)).toMatchObject({ method: 'eth_unsubscribe', params: ['0x1'] });
    expect(h.received).toHaveLength(1);
  });

  it('a replay the node answers after its deadline (it was retried) is unsubscribed on the node', async () => {
    const h = await sessionHarness();
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.settle();
    h.sockets.route('ws://b.test/', (socket) => socket.accept()); // b opens, then is slow to answer
    h.nodes.a!.cut();
    await h.settle();
    const b = h.sockets.last()!;
    const replays = () => b.sentJson().filter((frame: any) => frame.method === 'eth_subscribe') as Array<{ id: number }>;
    expect(replays()).toHaveLength(1);
    await h.clock.advance(5_000 + 1_000); // the replay deadline passes; it is sent again
    expect(replays()).toHaveLength(2);
    b.receiveJson({ jsonrpc: '2.0', id: replays()[0]!.id, result: '0x1' }); // the first one, late
    b.receiveJson({ jsonrpc: '2.0', id: replays()[1]!.id, result: '0x2' });
    await h.settle();
    expect(b.sentJson().filter((frame: any) => frame.method === 'eth_unsubscribe')).toMatchObject([{ params: ['0x1'] }]);
    expect(h.session.node).toBe('b');
    // The session's backfill checks (continuity), after the switch and after the retried replay
    // came back: b answers them like a node.
    const headQueries = b.sentJson().filter((frame: any) => frame.method === 'eth_blockNumber') as Array<{ id: number }>;
    expect(headQueries).toHaveLength(2);
    for (const { id } of headQueries) b.receiveJson({ jsonrpc: '2.0', id, result: '0x64' });
    await h.settle();
    b.receiveJson({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: '0x2', result: { number: '0x65' } } });
    expect(h.notifications(h.answers(1)[0]!.result)).toHaveLength(1);
    expect(h.received).toHaveLength(2);
  });
});

describe('the client never sees a notification for a subscription it has not got (invariant 2)', () => {
  it('notifications of a subscription whose id is in an unfinished batch answer wait for that answer', async () => {
    const h = await sessionHarness();
    h.nodes.a!.cut(); // on the backup b
    h.mark('a', 'unhealthy');
    await h.settle();
    const b = h.sockets.last()!;
    const held: string[] = [];
    b.onSend((text) => held.push(text)); // b is slow: it answers nothing for now
    h.send([rpc(1, 'eth_subscribe', ['newHeads']), rpc(2, 'eth_getBalance', ['0x0', 'latest'])]);
    await h.settle();
    const [subscribe, balance] = held.map((text) => JSON.parse(text) as { id: number });
    b.receiveJson({ jsonrpc: '2.0', id: subscribe!.id, result: '0x1' }); // the subscription is set up on b...
    h.nodes.a!.restore();
    h.mark('a', 'healthy'); // ...and the session fails back to a, replaying it there
    await h.settle();
    expect(h.session.node).toBe('a');
    h.nodes.a!.advance(1); // a notification for it, while the batch still waits for b's balance
    expect(h.received).toEqual([]);
    b.receiveJson({ jsonrpc: '2.0', id: balance!.id, result: '0x2' });
    expect(h.received).toEqual([
      [{ jsonrpc: '2.0', id: 1, result: '0x1' }, { jsonrpc: '2.0', id: 2, result: '0x2' }],
      { jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: '0x1', result: expect.objectContaining({ number: '0x65' }) } },
    ]);
    h.nodes.a!.advance(1);
    expect(h.notifications('0x1')).toHaveLength(2);
  });
});

describe('a subscription id is never given to the client twice in a session (invariants 2 and 3)', () => {
  it('a repeated unsubscribe of an old id cannot end a newer subscription the node numbered the same', async () => {
    const h = await sessionHarness({ subscriptionIds: 'per-socket' });
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.settle();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x1' }]);
    h.send(rpc(2, 'eth_unsubscribe', ['0x1']));
    await h.settle();
    h.session.reconnect(); // a new socket: the node counts its subscription ids from 0x1 again
    await h.settle();
    h.send(rpc(3, 'eth_subscribe', ['newHeads']));
    await h.settle();
    const fresh = h.answers(3)[0]!.result as string;
    expect(fresh).not.toBe('0x1');
    h.send(rpc(4, 'eth_unsubscribe', ['0x1'])); // the client repeats its old unsubscribe
    await h.settle();
    expect(h.answers(4)).toEqual([{ jsonrpc: '2.0', id: 4, result: false }]);
    h.nodes.a!.advance(1);
    expect(h.notifications(fresh)).toHaveLength(1);
  });

  it('a replay still in flight for an unsubscribed id does not take over a newer subscription', async () => {
    const h = await sessionHarness();
    const first = h.sockets.last()!;
    first.onSend(() => {}); // the first socket is slow: it answers nothing for now
    h.send(rpc(1, 'eth_subscribe', ['logs', {}]));
    await h.settle();
    h.sockets.route('ws://a.test/', (socket) => socket.accept()); // the next socket is played by hand
    h.session.reconnect(); // a forced switch: the first socket drains what it owes
    await h.settle();
    const second = h.sockets.last()!;
    h.send(rpc(2, 'eth_subscribe', ['newHeads']));
    const frames = (socket: typeof first, method: string) => socket.sentJson().filter((f: any) => f.method === method) as Array<{ id: number; params: unknown[] }>;
    first.receiveJson({ jsonrpc: '2.0', id: frames(first, 'eth_subscribe')[0]!.id, result: '0x1' });
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x1' }]); // now replayed on the second socket
    h.send(rpc(3, 'eth_unsubscribe', ['0x1']));
    expect(h.answers(3)).toEqual([{ jsonrpc: '2.0', id: 3, result: true }]);
    const [subscribe, replay] = frames(second, 'eth_subscribe');
    second.receiveJson({ jsonrpc: '2.0', id: subscribe!.id, result: '0x1' });
    const fresh = h.answers(2)[0]!.result as string;
    expect(fresh).not.toBe('0x1');
    second.receiveJson({ jsonrpc: '2.0', id: replay!.id, result: '0x2' }); // the stale replay of the logs subscription
    await h.settle();
    expect(frames(second, 'eth_unsubscribe').map((f) => f.params)).toEqual([['0x2']]);
    second.receiveJson({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: '0x2', result: { logIndex: '0x0' } } });
    second.receiveJson({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: '0x1', result: { number: '0x65' } } });
    expect(h.notifications()).toEqual([{ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: fresh, result: { number: '0x65' } } }]);
  });
});

describe('switch reasons', () => {
  it('the first upstream is a connect, even when it comes after every node failed and the pool recovered', async () => {
    const clock = new FakeClock();
    const sockets = new FakeSocketTransport();
    const a = new FakeNode({ name: 'a' }).setMode('down');
    sockets.route('ws://a.test/', a.socket);
    const pool = new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.test/' }], clock, httpTransport: new FakeHttpTransport() });
    const session = new UpstreamSession({ pool, transport: sockets, clock, random: () => 0.5, backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    const switches: unknown[] = [];
    session.on('switch', (event) => switches.push(event));
    await clock.advance(1_000); // a refused: the session backs off for a minute
    expect(session.state).toBe('connecting');
    a.restore();
    pool.update('a', { status: 'healthy' }); // the pool's first choice: the session goes at once
    await clock.flush();
    expect(switches).toEqual([{ from: undefined, to: 'a', reason: 'connect' }]);
    session.close();
    pool.close();
  });
});

describe('a logs subscription misses nothing when the node never says where it began (invariant 4)', () => {
  it('the node is lost before it answers the head read: a switch fetches from the head known before the subscribe', async () => {
    const h = await sessionHarness();
    const a = h.sockets.last()!;
    // a sets the subscription up, then answers nothing more (the head read goes unanswered).
    a.onSend((text, socket) => {
      const frame = JSON.parse(text) as { id: number; method: string };
      if (frame.method === 'eth_subscribe') socket.receiveJson({ jsonrpc: '2.0', id: frame.id, result: '0x9' });
    });
    h.send(rpc(1, 'eth_subscribe', ['logs', {}]));
    await h.settle();
    const subscription = h.answers(1)[0]!.result as string;
    expect(a.sentJson().some((frame: any) => frame.method === 'eth_blockNumber')).toBe(true);
    h.nodes.b!.advance().emitLog(undefined, '0x01'); // a block with a log the client is owed
    h.nodes.a!.cut();
    h.mark('a', 'unhealthy');
    await h.settle();
    expect(h.session.node).toBe('b');
    expect(h.notifications(subscription).map((n) => [n.params.result.blockNumber, n.params.result.data])).toEqual([['0x65', '0x01']]);
  });
});
