import { describe, expect, it } from 'vitest';
import { RpcErrorCode, SESSION_DEFAULTS, SteadyRpcError } from '../../src/index.js';
import { rpc, sessionHarness, subscribeNewHeads } from '../helpers/session.js';

const subscribeFive = async (h: Awaited<ReturnType<typeof sessionHarness>>) => {
  const kinds = [['newHeads'], ['logs', {}], ['newPendingTransactions'], ['logs', { address: '0x0000000000000000000000000000000000000001' }], ['syncing']];
  kinds.forEach((params, i) => h.send(rpc(100 + i, 'eth_subscribe', params)));
  await h.settle();
  return kinds.map((_, i) => h.answers(100 + i)[0]!.result as string);
};

describe('failover when the upstream closes', () => {
  it('moves to the next node at once and regular requests work after it (seed gap #1)', async () => {
    const h = await sessionHarness();
    h.nodes.a!.cut();
    await h.settle();
    expect(h.session.node).toBe('b');
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    await h.settle();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x2' }]);
  });

  it('an upstream close frame reconnects the upstream and never closes the client', async () => {
    const h = await sessionHarness();
    const closes: number[] = [];
    h.session.on('upstreamClose', ({ code }) => closes.push(code));
    h.sockets.last()!.serverClose(1012, 'restarting');
    await h.settle();
    expect(closes).toEqual([1012]);
    expect(h.session.state).toBe('ready');
  });

  it('keeps five simultaneous subscriptions with their ids, and they keep delivering (seed gap #2)', async () => {
    const h = await sessionHarness();
    const ids = await subscribeFive(h);
    expect(new Set(ids).size).toBe(5);
    h.nodes.a!.cut();
    await h.settle();
    expect(h.session.node).toBe('b');
    expect(h.nodes.b!.subscriptionCount).toBe(5);
    h.nodes.b!.advance(1);
    h.nodes.b!.emitLog('0x0000000000000000000000000000000000000001');
    h.nodes.b!.notify('newPendingTransactions', '0xabc');
    expect(h.notifications(ids[0]).map((n) => n.params.result.number)).toEqual(['0x65']);
    expect(h.notifications(ids[1])).toHaveLength(1);
    expect(h.notifications(ids[3])).toHaveLength(1);
    expect(h.notifications(ids[2])).toHaveLength(1);
    expect(h.notifications().every((n) => ids.includes(n.params.subscription))).toBe(true);
  });

  it('never forwards a replayed subscribe answer to the client (the incident)', async () => {
    const h = await sessionHarness();
    await subscribeFive(h);
    const before = h.received.length;
    let replays = 0;
    h.session.on('replay', ({ ok }) => (replays += ok ? 1 : 0));
    h.nodes.a!.cut();
    await h.settle();
    expect(h.received.length).toBe(before);
    expect(replays).toBe(5);
    // Replays, and the session's own backfill checks after the switch, all swallowed.
    expect(h.session.stats().swallowed).toBeGreaterThanOrEqual(5);
  });

  it('a replay id equal to a client id does not mix up subscriptions', async () => {
    // Node a hands out 0x1 and 0x2; after the cut, b hands out 0x1 and 0x2 again, but for the
    // replays: the client's 0x2 may be mapped to b's 0x1 and so on.
    const h = await sessionHarness({ subscriptionIds: 'per-socket' });
    h.send(rpc(1, 'eth_subscribe', ['newPendingTransactions']));
    h.send(rpc(2, 'eth_subscribe', ['newHeads']));
    await h.settle();
    h.send(rpc(3, 'eth_unsubscribe', ['0x1']));
    await h.settle();
    h.nodes.a!.cut();
    await h.settle();
    // b: the replay of the client's 0x2 (newHeads) got b's 0x1.
    h.send(rpc(4, 'eth_subscribe', ['newPendingTransactions'])); // b answers 0x2, which the client already has
    await h.settle();
    const fresh = h.answers(4)[0]!.result as string;
    expect(fresh).not.toBe('0x2');
    h.nodes.b!.advance(1);
    h.nodes.b!.notify('newPendingTransactions', '0xfeed');
    expect(h.notifications('0x2').map((n) => n.params.result.number)).toEqual(['0x65']);
    expect(h.notifications(fresh).map((n) => n.params.result)).toEqual(['0xfeed']);
  });

  it('a client reusing the id of its own subscribe while the replay is in flight gets its own answer (seed gap #3)', async () => {
    const h = await sessionHarness();
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.settle();
    const [subscribed] = h.answers(1);
    expect(subscribed).toEqual({ jsonrpc: '2.0', id: 1, result: expect.stringMatching(/^0x[0-9a-f]+$/) });
    h.nodes.a!.cut();
    // Within the same tick: the replay to b is in flight, the client sends id 1 again.
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(1)).toEqual([subscribed, { jsonrpc: '2.0', id: 1, result: '0x64' }]);
  });

  it('replays subscriptions before any queued client message', async () => {
    const h = await sessionHarness();
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.settle();
    h.nodes.a!.cut();
    h.send(rpc(2, 'eth_chainId'));
    await h.settle();
    const b = h.sockets.sockets.at(-1)!;
    // (after them, the session's own backfill check: eth_blockNumber)
    expect(b.sentJson().map((f: any) => f.method).slice(0, 2)).toEqual(['eth_subscribe', 'eth_chainId']);
  });

  it('unsubscribe after a reconnect reaches the upstream under the upstream id', async () => {
    const h = await sessionHarness();
    h.send(rpc(1, 'eth_subscribe', ['newPendingTransactions']));
    h.send(rpc(2, 'eth_subscribe', ['newHeads']));
    await h.settle();
    const heads = h.answers(2)[0]!.result as string;
    h.nodes.a!.cut();
    await h.settle();
    h.send(rpc(3, 'eth_unsubscribe', [heads]));
    await h.settle();
    const b = h.sockets.sockets.at(-1)!;
    const unsubscribe = b.sentJson().find((f: any) => f.method === 'eth_unsubscribe') as any;
    const replayOfHeads = b.sentJson().filter((f: any) => f.method === 'eth_subscribe')[1] as any;
    expect(replayOfHeads.params).toEqual(['newHeads']);
    // b named the replay otherwise than a did: the unsubscribe says b's name (b answers true only
    // for an id it gave on that socket, and keeps the other subscription).
    expect(unsubscribe.params).toHaveLength(1);
    expect(unsubscribe.params[0]).not.toBe(heads);
    expect(h.answers(3)).toEqual([{ jsonrpc: '2.0', id: 3, result: true }]);
    expect(h.nodes.b!.subscriptionCount).toBe(1);
  });
});

describe('messages sent while reconnecting', () => {
  it('are queued in order and delivered after the switch, each answered with its result (seed gap #5)', async () => {
    const h = await sessionHarness();
    h.nodes.a!.cut();
    h.nodes.b!.blackhole(); // b does not open yet
    await h.settle();
    expect(h.session.state).toBe('reconnecting');
    for (let i = 0; i < 100; i++) h.send(rpc(i, 'eth_blockNumber'));
    expect(h.session.stats().queued).toBe(100);
    h.nodes.b!.restore();
    // b's pending attempt times out, the round is over, and after the backoff b opens.
    await h.clock.advance(SESSION_DEFAULTS.connectTimeoutMs + 1_000);
    expect(h.session.node).toBe('b');
    for (let i = 0; i < 100; i++) expect(h.answers(i)).toEqual([{ jsonrpc: '2.0', id: i, result: '0x64' }]);
    expect(h.received.map((m) => m.id)).toEqual([...Array(100).keys()]);
  });

  it('answers QUEUE_FULL for the message that overflows, and nothing is dropped silently', async () => {
    const h = await sessionHarness({ queue: { maxCount: 3 } });
    h.nodes.a!.blackhole();
    h.nodes.b!.blackhole();
    h.sockets.last()!.serverClose(1006);
    await h.settle();
    for (let i = 0; i < 5; i++) h.send(rpc(i, 'eth_chainId'));
    expect(h.answers(3)).toEqual([{ jsonrpc: '2.0', id: 3, error: { code: RpcErrorCode.QUEUE_FULL, message: expect.any(String) } }]);
    expect(h.answers(4)[0]!.error.code).toBe(RpcErrorCode.QUEUE_FULL);
    expect(h.session.stats()).toMatchObject({ queued: 3, queueOverflows: 2 });
  });

  it('answers REQUEST_TIMEOUT for a queued request past its deadline', async () => {
    const h = await sessionHarness({ queue: { maxWaitMs: 3_000 }, connectTimeoutMs: 60_000 });
    h.nodes.a!.blackhole();
    h.nodes.b!.blackhole();
    h.sockets.last()!.serverClose(1006);
    await h.settle();
    h.send(rpc(1, 'eth_chainId'));
    await h.clock.advance(2_999);
    expect(h.answers(1)).toEqual([]);
    await h.clock.advance(1);
    expect(h.answers(1)[0]!.error.code).toBe(RpcErrorCode.REQUEST_TIMEOUT);
  });
});

describe('requests in flight when the upstream dies', () => {
  it('re-sends reads on the next node and fails what is not safe to repeat, one answer each', async () => {
    const h = await sessionHarness();
    h.nodes.a!.blackhole(); // a takes the requests but never answers
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    h.send(rpc(2, 'eth_sendTransaction', [{}]));
    h.send(rpc(3, 'eth_sendRawTransaction', ['0x00']));
    await h.settle();
    h.sockets.sockets[0]!.serverClose(1006);
    await h.settle();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x2' }]);
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, error: { code: RpcErrorCode.NOT_RESENT, message: expect.stringMatching(/eth_sendTransaction is not safe/) } }]);
    expect(h.answers(3)).toHaveLength(1); // re-sent: the same signed tx has the same hash
    expect(h.session.stats()).toMatchObject({ resent: 2, notResent: 1 });
  });
});

describe('zombies and hangs', () => {
  it('notices a silent (half-open) upstream within 6 s with the defaults (keepalive after 2 s of silence, answer due 4 s later) and moves on', async () => {
    const h = await sessionHarness();
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    h.nodes.a!.blackhole();
    h.send(rpc(2, 'eth_blockNumber'));
    // The call's own deadline (requestTimeoutMs, 30 s) is far off: the keepalive finds the zombie.
    await h.clock.advance(5_900);
    expect(h.session.node).toBe('a');
    await h.clock.advance(100);
    expect(h.session.node).toBe('b');
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: '0x64' }]);
    expect(h.sockets.sockets[0]!.terminated).toBe(true);
  });

  it('a connect attempt that hangs times out and the next node is tried', async () => {
    const h = await sessionHarness({ connectTimeoutMs: 1_000 });
    h.nodes.a!.blackhole();
    h.sockets.last()!.serverClose(1006);
    await h.settle();
    expect(h.sockets.sockets.at(-1)!.endpoint.url).toBe('ws://b.test/');
    expect(h.session.node).toBe('b');
  });

  it('before any health check has run, the session still connects, in preference order', async () => {
    const h = await sessionHarness({ healthy: false });
    expect(h.session.node).toBe('a');
  });
});

describe('close codes', () => {
  it.each([4401, 1008, 1003])('close %i is an auth/policy failure: the node is quarantined, not retried in a loop', async (code) => {
    const h = await sessionHarness();
    const closes: boolean[] = [];
    h.session.on('upstreamClose', ({ auth }) => closes.push(auth));
    h.sockets.last()!.serverClose(code, 'go away');
    await h.settle();
    expect(closes).toEqual([true]);
    expect(h.session.node).toBe('b');
    expect(h.pool.snapshot().nodes[0]).toMatchObject({ name: 'a', quarantined: true });
    // b dies too: a stays out while quarantined, so the session backs off rather than looping on a.
    h.nodes.b!.cut();
    await h.clock.advance(5_000);
    expect(h.sockets.sockets.filter((s) => s.endpoint.url === 'ws://a.test/')).toHaveLength(1);
  });

  it.each([401, 403])('an upgrade refused with %i is an auth failure too', async (status) => {
    const h = await sessionHarness();
    h.nodes.a!.refuseStatus = status;
    h.sockets.last()!.serverClose(1006); // a drops us: to b at once
    await h.settle();
    h.nodes.b!.cut(); // b drops us: back to a, which now refuses the upgrade
    await h.settle();
    expect(h.sockets.sockets.at(-1)!.closeInfo).toMatchObject({ httpStatus: status });
    expect(h.pool.snapshot().nodes[0]).toMatchObject({ name: 'a', quarantined: true });
    expect(h.session.state).toBe('reconnecting');
  });

  it.each([4401, 1008, 1003])('close %i whose close frame came while a call was being sent (ws: CLOSING, send throws) still quarantines the node, reported once', async (code) => {
    const h = await sessionHarness();
    const log: string[] = [];
    h.session.on('error', (e) => log.push(`error ${(e as { code?: string }).code}`));
    h.session.on('upstreamClose', ({ code: closed, auth }) => log.push(`upstreamClose ${closed} ${auth}`));
    const socket = h.sockets.last()!;
    // The node's close frame is in: the socket is closing, its close not yet reported. As with
    // WsSocketTransport while ws is CLOSING, a send throws and close() sends nothing more.
    socket.send = () => {
      throw new SteadyRpcError('ERR_TRANSPORT', 'Cannot send: socket is not open');
    };
    socket.close = () => {};
    h.send(rpc(1, 'eth_blockNumber'));
    await Promise.resolve();
    socket.serverClose(code, 'go away');
    await h.settle();
    expect(log).toEqual([`upstreamClose ${code} true`, 'error ERR_UPSTREAM_AUTH']);
    expect(h.pool.snapshot().nodes[0]).toMatchObject({ name: 'a', quarantined: true });
    expect(h.session.node).toBe('b');
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x64' }]);
  });

  it.each([1006, 1011, 1012, 1013])('close %i is retried', async (code) => {
    const h = await sessionHarness({ names: [['a', 'primary']] });
    h.sockets.last()!.serverClose(code);
    await h.settle();
    await h.clock.advance(1_000);
    expect(h.sockets.sockets.length).toBeGreaterThan(1);
    expect(h.session.node).toBe('a');
  });
});

describe('backoff when every node fails', () => {
  it('waits with capped exponential backoff and ±20 % jitter from the injected random', async () => {
    const draws = [0, 1 - Number.EPSILON, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5];
    let i = 0;
    const h = await sessionHarness({ random: () => draws[i++] ?? 0.5, backoff: { initialDelayMs: 100, maxDelayMs: 1_000 } });
    const delays: number[] = [];
    h.session.on('reconnecting', ({ delayMs }) => delays.push(delayMs));
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    await h.clock.advance(20_000);
    expect(delays.slice(0, 6)).toEqual([80, 240, 400, 800, 1_000, 1_000]);
  });

  it('reconnect() skips the wait and starts over', async () => {
    const h = await sessionHarness({ backoff: { initialDelayMs: 10_000 } });
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    await h.settle();
    expect(h.session.state).toBe('reconnecting');
    h.nodes.b!.restore();
    h.session.reconnect();
    await h.settle();
    expect(h.session.node).toBe('b');
  });
});

describe('keepalive deadline', () => {
  it('a silent upstream is left within keepaliveIntervalMs + keepaliveTimeoutMs of its last frame', async () => {
    const h = await sessionHarness({ keepaliveIntervalMs: 2_000, keepaliveTimeoutMs: 4_000 });
    await h.clock.advance(1_500); // whatever the phase of the timer
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle(); // the last frame from a arrives now
    h.nodes.a!.blackhole();
    await h.clock.advance(5_999);
    expect(h.session.node).toBe('a');
    await h.clock.advance(1);
    expect(h.session.node).toBe('b');
  });
  it('frames count as signs of life each time they arrive: a socket that keeps talking gets no keepalive call', async () => {
    // The session reads the clock once per turn of the event loop, not per frame; each turn's
    // frames still move the socket's last sign of life forward.
    const h = await sessionHarness({ keepaliveIntervalMs: 2_000, keepaliveTimeoutMs: 4_000 });
    await subscribeNewHeads(h);
    const before = h.nodes.a!.calls.get('eth_chainId') ?? 0;
    for (let i = 0; i < 20; i++) {
      await h.clock.advance(1_500);
      h.nodes.a!.advance(1);
      await h.settle();
    }
    expect(h.nodes.a!.calls.get('eth_chainId') ?? 0).toBe(before);
    expect(h.notifications()).toHaveLength(20);
    // And silence is still noticed: the first keepalive goes out 2 s after the last frame.
    await h.clock.advance(1_999);
    expect(h.nodes.a!.calls.get('eth_chainId') ?? 0).toBe(before);
    await h.clock.advance(1);
    expect(h.nodes.a!.calls.get('eth_chainId') ?? 0).toBe(before + 1);
  });
});

describe('a session backing off wakes when a probe finds a node healthy', () => {
  it('does not wait out a long backoff when the pool never stopped preferring the node that came back', async () => {
    const h = await sessionHarness({ backoff: { initialDelayMs: 1_000, maxDelayMs: 30_000, jitter: 0 } });
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    await h.clock.advance(1_000 + 2_000 + 4_000 + 8_000); // four rounds: the next wait is 16 s
    expect(h.session.state).toBe('reconnecting');
    expect(h.pool.preferred()).toBe('a'); // it flapped faster than the pool marks a node down
    // A probe failed meanwhile: the node still counts healthy (one failure does not mark it down).
    h.pool.update('a', { status: 'healthy', consecutiveFailures: 1, consecutiveSuccesses: 0 });
    await h.settle();
    expect(h.session.state).toBe('reconnecting');
    h.nodes.a!.restore();
    h.pool.update('a', { status: 'healthy', consecutiveFailures: 0, consecutiveSuccesses: 1 }); // the next good probe
    await h.settle();
    expect(h.session.state).toBe('ready');
    expect(h.session.node).toBe('a');
    h.session.close();
    expect(h.pool.listenerCount('health')).toBe(0);
    expect(h.clock.pendingTimers).toBe(0);
  });
});
