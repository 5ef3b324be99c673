import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

describe('connecting', () => {
  it('opens the preferred node and becomes ready', async () => {
    const h = await sessionHarness();
    expect(h.session.state).toBe('ready');
    expect(h.session.node).toBe('a');
    expect(h.sockets.sockets).toHaveLength(1);
  });
});

describe('request-id rewriting', () => {
  it('sends every request upstream under an id of its own and restores the client id', async () => {
    const h = await sessionHarness();
    h.send(rpc(1, 'eth_blockNumber'));
    h.send(rpc(1, 'eth_chainId')); // the same id again
    h.send(rpc('1', 'net_version')); // a string that looks like it
    h.send(rpc(0, 'eth_getBalance', ['0x0', 'latest']));
    await h.settle();
    const upstreamIds = h.sockets.last()!.sentJson().map((f: any) => f.id);
    expect(new Set(upstreamIds).size).toBe(upstreamIds.length);
    expect(h.received).toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x64' },
      { jsonrpc: '2.0', id: 1, result: '0x1' },
      { jsonrpc: '2.0', id: '1', result: '1' },
      { jsonrpc: '2.0', id: 0, result: '0x1' },
    ]);
  });

  it('passes a JSON-RPC error from the node through under the client id', async () => {
    const h = await sessionHarness();
    h.send(rpc('x', 'eth_doesNotExist'));
    await h.settle();
    expect(h.received).toEqual([{ jsonrpc: '2.0', id: 'x', error: { code: -32601, message: expect.any(String) } }]);
  });
});

describe('subscriptions', () => {
  it('rewrites notifications to the client-facing id and drops them after unsubscribe', async () => {
    const h = await sessionHarness();
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.settle();
    const subscription = h.answers(1)[0]!.result as string;
    h.nodes.a!.advance(2);
    expect(h.notifications(subscription).map((n) => n.params.result.number)).toEqual(['0x65', '0x66']);
    h.send(rpc(2, 'eth_unsubscribe', [subscription]));
    await h.settle();
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: true }]);
    h.nodes.a!.advance(1);
    expect(h.notifications()).toHaveLength(2);
    expect(h.nodes.a!.subscriptionCount).toBe(0);
  });

  it('answers an unsubscribe for an id the client does not have with false, locally', async () => {
    const h = await sessionHarness();
    h.send(rpc(1, 'eth_unsubscribe', ['0xdead']));
    await h.settle();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: false }]);
    expect(h.sockets.last()!.sent).toHaveLength(0);
  });
});

describe('bad input', () => {
  it('answers invalid JSON with -32700 and id null, and stays usable', async () => {
    const h = await sessionHarness();
    h.session.send('{"jsonrpc":"2.0",');
    h.send(rpc(5, 'eth_chainId'));
    await h.settle();
    expect(h.received[0]).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.PARSE_ERROR } });
    expect(h.answers(5)).toEqual([{ jsonrpc: '2.0', id: 5, result: '0x1' }]);
  });

  it('answers a non-request with -32600', async () => {
    const h = await sessionHarness();
    h.send({ hello: 'world' });
    h.send([1, rpc(2, 'eth_chainId')]);
    await h.settle();
    expect(h.received[0]).toMatchObject({ id: null, error: { code: RpcErrorCode.INVALID_REQUEST } });
    expect(h.received[1]).toEqual([
      { jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: RpcErrorCode.INVALID_REQUEST }) },
      { jsonrpc: '2.0', id: 2, result: '0x1' },
    ]);
  });

  it('answers a frame over the size limit with a clear error', async () => {
    const h = await sessionHarness({ maxFrameBytes: 1024 });
    h.send(rpc(1, 'eth_call', ['x'.repeat(2000)]));
    await h.settle();
    expect(h.received[0]).toMatchObject({ id: null, error: { code: RpcErrorCode.FRAME_TOO_LARGE, message: expect.stringMatching(/1024/) } });
    expect(h.session.state).toBe('ready');
  });

  it('counts and drops garbage from the upstream, and stays usable', async () => {
    const h = await sessionHarness();
    const errors: string[] = [];
    h.session.on('error', (e) => errors.push(e.code));
    const socket = h.sockets.last()!;
    socket.receive('not json');
    socket.receive('42');
    socket.receiveJson({ jsonrpc: '2.0', id: 999, result: 'nobody asked' });
    socket.receiveJson({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: '0x77', result: {} } });
    h.send(rpc(1, 'eth_chainId'));
    await h.settle();
    expect(h.received).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x1' }]);
    expect(h.session.stats()).toMatchObject({ upstreamGarbage: 2, unknownAnswers: 1, droppedNotifications: 1 });
    expect(errors).toEqual(['ERR_BAD_RESPONSE', 'ERR_BAD_RESPONSE']);
  });
});

describe('batches', () => {
  it('answers a batch answer for answer, in order, including subscribe and unsubscribe', async () => {
    const h = await sessionHarness();
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.settle();
    const sub = h.answers(1)[0]!.result as string;
    h.send([rpc(2, 'eth_chainId'), rpc(3, 'eth_subscribe', ['logs', {}]), rpc(4, 'eth_unsubscribe', [sub]), { jsonrpc: '2.0', method: 'eth_chainId' }]);
    await h.settle();
    const batch = h.received.find(Array.isArray);
    expect(batch).toEqual([
      { jsonrpc: '2.0', id: 2, result: '0x1' },
      { jsonrpc: '2.0', id: 3, result: expect.stringMatching(/^0x/) },
      { jsonrpc: '2.0', id: 4, result: true },
    ]);
    expect(h.session.stats().subscriptions).toBe(1);
  });
});

describe('lifecycle', () => {
  it('close() answers what it owes, closes the socket, leaves no timer, and is idempotent', async () => {
    const h = await sessionHarness();
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    const states: string[] = [];
    h.session.on('state', ({ to }) => states.push(to));
    h.session.close();
    h.session.close();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, error: { code: RpcErrorCode.UPSTREAM_UNAVAILABLE, message: 'Session closed' } }]);
    expect(states).toEqual(['closed']);
    expect(h.sockets.last()!.state).toBe('closed');
    expect(h.clock.pendingTimers).toBe(0);
    expect(h.session.listenerCount('message')).toBe(0);
    expect(() => h.session.send('{}')).toThrow(/closed/);
  });

  it('close() with a write on its way: NOT_RESENT (it may have been carried out), not "unavailable"; a read still queued: UPSTREAM_UNAVAILABLE', async () => {
    const h = await sessionHarness();
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_sendTransaction', [{}]));
    h.send([rpc(2, 'eth_blockNumber'), rpc(3, 'eth_sendRawTransaction', ['0x00'])]);
    await h.settle();
    h.session.close();
    expect(h.answers(1)).toEqual([
      { jsonrpc: '2.0', id: 1, error: { code: RpcErrorCode.NOT_RESENT, message: 'Session closed before node "a" answered; eth_sendTransaction may have been carried out' } },
    ]);
    // A signed transaction is safe to send again (the same hash): the client may.
    expect(h.received.find(Array.isArray)).toEqual([
      { jsonrpc: '2.0', id: 2, error: { code: RpcErrorCode.UPSTREAM_UNAVAILABLE, message: 'Session closed' } },
      { jsonrpc: '2.0', id: 3, error: { code: RpcErrorCode.UPSTREAM_UNAVAILABLE, message: 'Session closed' } },
    ]);
  });

  it('stops following the pool after close', async () => {
    const h = await sessionHarness();
    h.session.close();
    expect(h.pool.listenerCount('switch')).toBe(0);
  });
});
