import { describe, expect, it } from 'vitest';
import { HealthChecker, type SessionSwitchEvent } from '../../src/index.js';
import { onBackup, rpc, sessionHarness } from '../helpers/session.js';

describe('failback to the preferred node (make-before-break)', () => {
  it('goes back to the primary once the pool prefers it again, keeping the subscription id (seed gap #6)', async () => {
    const { h, switches, subscription } = await onBackup();
    h.nodes.a!.restore();
    h.mark('a', 'healthy');
    await h.settle();
    expect(h.session.node).toBe('a');
    expect(switches.map((s) => [s.from, s.to, s.reason])).toEqual([
      ['a', 'b', 'failover'],
      ['b', 'a', 'failback'],
    ]);
    h.nodes.a!.advance(1);
    expect(h.notifications(subscription).at(-1).params.result.number).toBe('0x65');
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    await h.settle();
    expect(h.answers(1)[0]!.result).toBe('0x1'); // a's balance
  });

  it('opens and replays the new socket before it leaves the old one', async () => {
    const { h } = await onBackup();
    h.nodes.a!.restore();
    const order: string[] = [];
    h.session.on('replay', ({ node }) => order.push(`replay on ${node}`));
    h.session.on('switch', ({ to }) => order.push(`switch to ${to}`));
    h.mark('a', 'healthy');
    await h.settle();
    const b = h.sockets.sockets.find((s) => s.endpoint.url === 'ws://b.test/')!;
    expect(order).toEqual(['replay on a', 'switch to a']);
    expect(b.state).toBe('closed');
    expect(b.closedWith).toEqual({ code: 1000, reason: 'steadyrpc: switched to a better node' });
  });

  it('lets the old socket drain the answers it still owes, then closes it', async () => {
    const { h } = await onBackup();
    const b = h.sockets.sockets.at(-1)!;
    b.onSend(() => {}); // b holds its answers back for now
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    await h.settle();
    const owed = (b.sentJson().at(-1) as any).id;
    h.nodes.a!.restore();
    h.mark('a', 'healthy');
    await h.settle();
    expect(h.session.node).toBe('a');
    expect(b.state).toBe('open');
    b.receiveJson({ jsonrpc: '2.0', id: owed, result: '0x2' });
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x2' }]);
    expect(b.state).toBe('closed');
  });

  it('after the drain deadline, calls the old socket still owes are re-sent on the new one', async () => {
    const { h } = await onBackup();
    const b = h.sockets.sockets.at(-1)!;
    b.onSend(() => {});
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    await h.settle();
    h.nodes.a!.restore();
    h.mark('a', 'healthy');
    await h.clock.advance(5_000);
    expect(b.state).toBe('closed');
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x1' }]);
  });

  it('ignores notifications from the old socket once it has switched (single writer)', async () => {
    const { h, subscription } = await onBackup();
    const b = h.sockets.sockets.at(-1)!;
    b.onSend(() => {});
    h.send(rpc(1, 'eth_chainId'));
    await h.settle();
    h.nodes.a!.restore();
    h.mark('a', 'healthy');
    await h.settle();
    const before = h.notifications(subscription).length;
    b.receiveJson({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: '0x1', result: { number: '0x99' } } });
    // The same in shapes the fast path leaves to the full parse: other key order, spaces, a batch.
    b.receive('{"params":{"result":{"number":"0x9a"},"subscription":"0x1"},"method":"eth_subscription","jsonrpc":"2.0"}');
    b.receive('{ "jsonrpc" : "2.0", "method" : "eth_subscription", "params" : { "subscription" : "0x1", "result" : { "number" : "0x9b" } } }');
    b.receive('[{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1","result":{"number":"0x9c"}}}]');
    await h.settle();
    expect(h.notifications(subscription)).toHaveLength(before);
  });

  it('stays on the current node when the better one fails to open or to replay', async () => {
    const { h, switches } = await onBackup();
    h.nodes.a!.restore().setMode('rpc-error'); // opens, but refuses the replay
    h.mark('a', 'healthy');
    await h.settle();
    expect(h.session.node).toBe('b');
    expect(h.session.state).toBe('ready');
    expect(switches).toHaveLength(1);
    h.send(rpc(1, 'eth_chainId'));
    await h.settle();
    expect(h.answers(1)).toHaveLength(1);
  });

  it('retries the preferred node now and then when the pool never saw it fail', async () => {
    const h = await sessionHarness({ failbackRetryMs: 5_000 });
    h.nodes.a!.cut(); // the pool still thinks a is fine
    await h.settle();
    expect(h.session.node).toBe('b');
    await h.clock.advance(2_000); // a keepalive tick: a is preferred, tried at once, refused
    expect(h.session.node).toBe('b');
    const attempts = () => h.sockets.sockets.filter((s) => s.endpoint.url === 'ws://a.test/').length;
    const afterFirst = attempts();
    await h.clock.advance(2_000);
    expect(attempts()).toBe(afterFirst); // spaced out, not every tick
    h.nodes.a!.restore();
    await h.clock.advance(10_000);
    expect(h.session.node).toBe('a');
  });

  it('with a real HealthChecker, a flapping primary does not pull the session back and forth', async () => {
    const h = await sessionHarness({ healthy: false });
    const checker = new HealthChecker(h.pool, { failuresToDown: 1, successesToUp: 3, probe: async ({ node }) => {
      if (h.nodes[node.name]!.mode !== 'ok') throw new Error('down');
      return { head: 100 };
    } });
    checker.start();
    await h.clock.advance(3_000);
    const switches: SessionSwitchEvent[] = [];
    h.session.on('switch', (e) => switches.push(e));
    h.nodes.a!.cut();
    await h.clock.advance(1_000);
    for (let i = 0; i < 10; i++) {
      if (i % 3 === 2) h.nodes.a!.cut();
      else h.nodes.a!.restore();
      await h.clock.advance(1_000);
    }
    checker.close();
    expect(switches.map((s) => s.to)).toEqual(['b']);
  });
});

describe('continuous traffic over many reconnects (seed gap #4)', () => {
  it('every request gets exactly one answer and the subscription keeps its id through 20 switches', async () => {
    const h = await sessionHarness();
    h.send(rpc('sub', 'eth_subscribe', ['newHeads']));
    await h.settle();
    const subscription = h.answers('sub')[0]!.result as string;
    let id = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 5; i++) h.send(rpc(id++ % 7, 'eth_blockNumber')); // ids repeat
      const live = round % 2 === 0 ? h.nodes.a! : h.nodes.b!;
      const other = round % 2 === 0 ? h.nodes.b! : h.nodes.a!;
      other.restore();
      live.cut();
      for (let i = 0; i < 5; i++) h.send(rpc(id++ % 7, 'eth_blockNumber'));
      await h.clock.advance(1_000);
      // Both nodes follow one chain, as real nodes do: each round adds one block to it.
      h.nodes.a!.advance(1);
      h.nodes.b!.advance(1);
    }
    await h.clock.advance(1_000);
    const answers = h.received.filter((m) => !Array.isArray(m) && 'id' in m && m.id !== 'sub');
    expect(answers).toHaveLength(id);
    expect(answers.every((a) => 'result' in a)).toBe(true);
    expect(h.notifications().every((n) => n.params.subscription === subscription)).toBe(true);
    expect(h.notifications()).toHaveLength(20);
  });
});

describe('leaving a node the pool marked unhealthy', () => {
  it('re-sends the calls it owes on the new node at once instead of waiting for the drain deadline', async () => {
    const h = await sessionHarness();
    h.nodes.a!.blackhole(); // a takes the calls and never answers
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    h.send(rpc(2, 'eth_sendTransaction', [{}]));
    await h.settle();
    h.mark('a', 'unhealthy'); // the pool moves to b: make-before-break
    await h.settle();
    expect(h.session.node).toBe('b');
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x2' }]);
    expect(h.answers(2)).toEqual([]); // not safe to repeat: it may still be answered by a
    await h.clock.advance(5_000); // the drain deadline
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, error: expect.objectContaining({ code: -32053 }) }]);
  });
});

describe('a cut too short for the pool to notice', () => {
  it('is followed by a failback within a few seconds of the restore, from the session itself', async () => {
    const h = await sessionHarness(); // no health checker: the pool keeps preferring a
    h.nodes.a!.cut();
    await h.settle();
    expect(h.session.node).toBe('b');
    await h.clock.advance(1_500);
    h.nodes.a!.restore();
    await h.clock.advance(4_000);
    expect(h.session.node).toBe('a');
  });
});
