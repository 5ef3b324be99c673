import { describe, expect, it } from 'vitest';
import { NodePool, RpcErrorCode, SESSION_DEFAULTS, SteadyRpcError } from '../../src/index.js';
import { FakeClock, FakeHttpTransport } from '../../src/testing/index.js';
import { expectNothingLeft, rpc, sessionHarness, subscribeNewHeads } from '../helpers/session.js';

const three: Array<[string, 'primary' | 'backup']> = [
  ['a', 'primary'],
  ['b', 'backup'],
  ['c', 'backup'],
];

// A host's listener may close the session, or send, from any event: what the session was doing
// stops there, every call it owed is answered once, and nothing outlives close().
describe('a listener that closes the session from an event', () => {
  it("'error' (a keepalive timeout): the calls the socket owed are answered, no state change throws", async () => {
    const h = await sessionHarness();
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_blockNumber'));
    h.session.on('error', () => h.session.close());
    await h.clock.advance(10_000);
    expect(h.answers(1)).toHaveLength(1);
    expectNothingLeft(h);
  });

  it("'message' (an answer that a call was not re-sent): the calls re-sent are answered, nothing throws", async () => {
    const h = await sessionHarness();
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_sendTransaction', [{}]));
    h.send(rpc(2, 'eth_blockNumber'));
    h.session.on('message', (text) => {
      if (JSON.parse(text).id === 1) h.session.close();
    });
    expect(() => h.nodes.a!.cut()).not.toThrow();
    expect(h.answers(1)).toHaveLength(1);
    expect(h.answers(2)).toHaveLength(1);
    expectNothingLeft(h);
  });

  it("'message', with several calls not re-sent: each is answered once", async () => {
    const h = await sessionHarness();
    h.nodes.a!.blackhole();
    for (let id = 1; id <= 3; id++) h.send(rpc(id, 'eth_sendTransaction', [{}]));
    h.session.on('message', (text) => {
      if (JSON.parse(text).id === 1) h.session.close();
    });
    h.nodes.a!.cut();
    for (let id = 1; id <= 3; id++) expect(h.answers(id)).toHaveLength(1);
    expectNothingLeft(h);
  });

  it("'state' to reconnecting: the calls the socket owed are answered", async () => {
    const h = await sessionHarness();
    h.nodes.a!.blackhole();
    h.send(rpc(2, 'eth_blockNumber'));
    h.session.on('state', (e) => {
      if (e.to === 'reconnecting') h.session.close();
    });
    expect(() => h.nodes.a!.cut()).not.toThrow();
    expect(h.answers(2)).toHaveLength(1);
    expectNothingLeft(h);
  });

  it("'inflight' while a switch moves calls off a sick node: they are answered", async () => {
    const h = await sessionHarness();
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    h.session.on('inflight', () => h.session.close());
    h.mark('a', 'unhealthy');
    await h.settle();
    expect(h.answers(1)).toHaveLength(1);
    expectNothingLeft(h);
  });

  it("'reconnecting' (an app that gives up): no backoff timer or pool listener is left", async () => {
    const h = await sessionHarness();
    h.session.on('reconnecting', () => h.session.close());
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    await h.settle();
    expectNothingLeft(h);
  });

  it("'state' to switching (a failover, or reconnect()): no socket is opened after close()", async () => {
    for (const start of ['failover', 'reconnect'] as const) {
      const h = await sessionHarness();
      h.session.on('state', (e) => {
        if (e.to === 'switching') h.session.close();
      });
      if (start === 'failover') h.mark('a', 'unhealthy');
      else h.session.reconnect();
      await h.settle();
      expectNothingLeft(h);
    }
  });

  it("'state' to switching from a keepalive tick's failback: the tick sends and arms nothing after close()", async () => {
    // Found by `npm run test:props:long` (seed 20261403): the tick went on to send its keepalive and
    // arm its timers on the socket close() had just killed.
    const h = await sessionHarness();
    h.nodes.a!.setMode('down');
    h.nodes.a!.cut(); // the session fails over to b; the pool still prefers a
    await h.settle();
    expect(h.session.node).toBe('b');
    // The first tick tries a (refused) and sends a keepalive; at the next, b has been idle a whole
    // interval: the tick tries a again (the listener closes the session), then went on to send its
    // keepalive on the socket close() had killed and arm its deadline and next tick.
    await h.clock.advance(SESSION_DEFAULTS.keepaliveIntervalMs);
    h.session.on('state', (e) => {
      if (e.to === 'switching') h.session.close();
    });
    const written = h.sockets.sockets.map((s) => s.sent.length);
    await h.clock.advance(SESSION_DEFAULTS.keepaliveIntervalMs);
    // Right after the tick: its timers would fire harmlessly later, but nothing may outlive close().
    expectNothingLeft(h);
    expect(h.sockets.sockets.map((s) => s.sent.length)).toEqual(written);
  });

  it("'state' to ready when a switch is abandoned: nothing throws", async () => {
    const h = await sessionHarness({ names: three });
    h.nodes.b!.blackhole();
    h.mark('a', 'unhealthy'); // a's socket stays; the switch to b never opens
    await h.settle();
    expect(h.session.state).toBe('switching');
    h.session.on('state', (e) => {
      if (e.to === 'ready') h.session.close();
    });
    expect(() => h.mark('b', 'unhealthy')).not.toThrow();
    await h.settle();
    expectNothingLeft(h);
  });

  it("'replay' that failed: no retry timer is left", async () => {
    const h = await sessionHarness();
    await subscribeNewHeads(h);
    h.nodes.b!.setMode('rpc-error');
    h.session.on('replay', (e) => {
      if (!e.ok) h.session.close();
    });
    h.nodes.a!.cut();
    await h.settle();
    expectNothingLeft(h);
  });

  // Found by the session property test (seed 20262113): the socket left by a switch fails its
  // session-owned requests before it was known to close(), so the calls it still owed were lost.
  it("'replay' failed by a switch's drain of the socket it leaves: the calls that socket owed are answered", async () => {
    const h = await sessionHarness({ names: three });
    await subscribeNewHeads(h);
    // b keeps its socket alive (keepalives answered) but answers nothing else: its replay of the
    // subscription times out, is retried, and the retry is still in flight at the failback.
    h.sockets.route('ws://b.test/', (socket) => {
      socket.onSend((text) => {
        const request = JSON.parse(text) as { method: string; id: number };
        if (request.method === SESSION_DEFAULTS.keepaliveMethod) socket.receiveJson(h.nodes.b!.answer(request as never));
      });
      socket.accept();
    });
    h.mark('c', 'unhealthy');
    h.nodes.a!.cut();
    h.mark('a', 'unhealthy');
    await h.clock.advance(SESSION_DEFAULTS.replayTimeoutMs + 1_000);
    expect(h.session.node).toBe('b');
    h.send(rpc(1, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest']));
    h.send(rpc(2, 'eth_sendTransaction', [{}]));
    await h.settle();
    const replays: boolean[] = [];
    h.session.on('replay', (e) => {
      replays.push(e.ok);
      if (!e.ok && e.node === 'b') h.session.close();
    });
    h.nodes.a!.restore();
    h.mark('a', 'healthy');
    await h.clock.advance(1_000);
    expect(replays).toContain(false);
    expect(h.answers(1)).toHaveLength(1);
    expect(h.answers(2)).toHaveLength(1);
    expect(h.answers(2)[0].error.code).toBe(RpcErrorCode.NOT_RESENT);
    expectNothingLeft(h);
  });

  it("'behind' that gives up on a call: the call still gets its answer", async () => {
    const h = await sessionHarness({ consistency: { waitMs: 2_000 } });
    h.nodes.a!.advance(3);
    h.send(rpc('seen', 'eth_blockNumber'));
    await h.settle();
    h.nodes.a!.cut();
    await h.settle();
    expect(h.session.node).toBe('b'); // a backup behind what the client has seen
    h.send(rpc(1, 'eth_blockNumber'));
    h.session.on('behind', (e) => {
      if (e.outcome === 'failed') h.session.close();
    });
    await h.clock.advance(2_000);
    expect(h.answers(1)).toHaveLength(1);
    expectNothingLeft(h);
  });

  it("'message' with an answer close() itself gives (close() again): every other call still gets its answer, 'closed' comes once", async () => {
    const h = await sessionHarness();
    h.nodes.a!.blackhole();
    for (let id = 1; id <= 3; id++) h.send(rpc(id, 'eth_blockNumber'));
    let closedEvents = 0;
    h.session.on('closed', () => closedEvents++);
    h.session.on('message', () => h.session.close());
    h.session.close();
    for (let id = 1; id <= 3; id++) expect(h.answers(id)).toHaveLength(1);
    expect(closedEvents).toBe(1);
    expectNothingLeft(h);
  });

  it("'message' with the first of several calls the queue gave up on: each is answered once", async () => {
    const h = await sessionHarness({ queue: { maxWaitMs: 4_000 } });
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    await h.settle();
    expect(h.session.state).toBe('reconnecting');
    for (let id = 1; id <= 3; id++) h.send(rpc(id, 'eth_blockNumber'));
    h.session.on('message', () => h.session.close());
    await h.clock.advance(4_000);
    for (let id = 1; id <= 3; id++) expect(h.answers(id)).toHaveLength(1);
    expectNothingLeft(h);
  });

  it("'error' in the middle of a batch: send() does not throw", async () => {
    const h = await sessionHarness();
    h.session.on('error', () => h.session.close());
    expect(() => h.send([{ jsonrpc: '2.0', method: 'eth_subscribe', params: ['newHeads'] }, rpc(1, 'eth_chainId')])).not.toThrow();
    expectNothingLeft(h);
  });

  it("'message' with the first answer for calls a dead socket owed: a write it was sent is answered NOT_RESENT, not 'Session closed'", async () => {
    // Found by the session property test, seed 20261514.
    const h = await sessionHarness();
    const subscription = await subscribeNewHeads(h);
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_unsubscribe', [subscription]));
    h.send(rpc(2, 'eth_sendTransaction', [{}]));
    h.session.on('message', (text) => {
      if (JSON.parse(text).id === 1) h.session.close();
    });
    await h.clock.advance(10_000); // the keepalive finds a a zombie: the calls it owed are answered, the unsubscribe first
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: true }]);
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, error: expect.objectContaining({ code: RpcErrorCode.NOT_RESENT }) }]);
    expectNothingLeft(h);
  });

  it("'message' with the answer a batch's last item, a notification, completes: send() does not throw, the notification goes nowhere", async () => {
    const h = await sessionHarness();
    h.session.on('message', () => h.session.close());
    // The unknown id is answered at once; the notification's turn completes the batch's answer.
    expect(() => h.send([rpc(1, 'eth_unsubscribe', ['0xdead']), { jsonrpc: '2.0', method: 'eth_blockNumber', params: [] }])).not.toThrow();
    expect(h.received.at(-1)).toEqual([{ jsonrpc: '2.0', id: 1, result: false }]);
    expect(h.nodes.a!.calls.get('eth_blockNumber') ?? 0).toBe(0);
    expectNothingLeft(h);
  });
});

describe('a queue listener that closes the session on an overflow', () => {
  it('the call the full queue refused still gets QUEUE_FULL, and the queued one is answered too', async () => {
    const h = await sessionHarness({ queue: { maxCount: 1 } });
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    await h.settle();
    expect(h.session.state).toBe('reconnecting');
    h.session.on('queue', () => {
      if (h.session.stats().queueOverflows > 0) h.session.close();
    });
    h.send(rpc(1, 'eth_blockNumber'));
    h.send(rpc(2, 'eth_blockNumber'));
    await h.settle();
    expect(h.session.state).toBe('closed');
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, error: expect.objectContaining({ code: RpcErrorCode.QUEUE_FULL }) }]);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, error: expect.objectContaining({ code: RpcErrorCode.UPSTREAM_UNAVAILABLE }) }]);
  });
});

describe('a listener that sends from an event', () => {
  it("'state' to ready: its call goes after the calls queued before", async () => {
    const h = await sessionHarness();
    h.nodes.a!.cut();
    h.send(rpc(1, 'eth_getBalance', ['0x1', 'latest']));
    h.session.on('state', (e) => {
      if (e.to === 'ready') h.send(rpc(2, 'eth_chainId'));
    });
    await h.settle();
    expect(h.session.node).toBe('b');
    const methods = (h.sockets.last()!.sentJson() as Array<{ method: string }>).map((f) => f.method);
    expect(methods.indexOf('eth_getBalance')).toBeLessThan(methods.indexOf('eth_chainId'));
  });
});

describe('calls queued while reconnecting', () => {
  it('a write that finds the new socket closing while they go out (its failure comes after the last): each is answered once, on the next node', async () => {
    let written = 0;
    const h = await sessionHarness({
      names: three,
      transportOver: (sockets) => ({
        open(endpoint, listener) {
          const socket = sockets.open(endpoint, listener);
          if (endpoint.url.startsWith('ws://b.')) {
            const send = socket.send.bind(socket);
            // b's close frame is in after its second client call: sends throw, as ws's do while CLOSING.
            socket.send = (text: string) => {
              if (text.includes('eth_getBalance') && ++written > 1) throw new SteadyRpcError('ERR_TRANSPORT', 'Cannot send: socket is not open');
              send(text);
            };
          }
          return socket;
        },
      }),
    });
    h.nodes.a!.cut();
    for (let id = 1; id <= 4; id++) h.send(rpc(id, 'eth_getBalance', ['0x1', 'latest']));
    await h.settle();
    await h.clock.advance(5_000);
    for (let id = 1; id <= 4; id++) expect(h.answers(id)).toHaveLength(1);
    expect(h.session.state).toBe('ready');
  });
});

describe('a pool listener that acts from an event', () => {
  it("'health' that marks another node down: the last switch names the node the pool prefers", async () => {
    const h = await sessionHarness({ names: three });
    h.pool.on('health', (e) => {
      if (e.name === 'a' && e.health.status === 'unhealthy') h.pool.update('b', { status: 'unhealthy' });
    });
    const switches: Array<{ to?: string }> = [];
    h.pool.on('switch', (e) => switches.push(e));
    h.nodes.a!.cut();
    h.mark('a', 'unhealthy');
    await h.settle();
    expect(h.pool.preferred()).toBe('c');
    expect(switches.map((e) => e.to)).toEqual(['c']); // not a stale a → b after it
    // The session was already opening b after the cut: it moves on to c at its next failback check.
    await h.clock.advance(30_000);
    expect(h.session.node).toBe('c');
  });

  it("'health' that closes the pool during quarantine(): no timer outlives close()", () => {
    const clock = new FakeClock();
    const pool = new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.test/' }, { name: 'b', ws: 'ws://b.test/' }], clock, httpTransport: new FakeHttpTransport() });
    pool.on('health', () => pool.close());
    pool.quarantine('a', 1_000);
    expect(pool.closed).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });
});
