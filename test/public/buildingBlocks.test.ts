/**
 * The session's building blocks used on their own, through the public entry only, as someone
 * writing a proxy or session of their own would: `SubscriptionRegistry` to keep client
 * subscription ids across upstream changes, `ReplayFilter` to keep the answers to one's own
 * requests from the client, `MessageQueue` to hold client messages while no upstream is ready.
 */
import { describe, expect, it } from 'vitest';
import {
  MessageQueue,
  ReplayFilter,
  SteadyRpcError,
  SubscriptionRegistry,
  isSteadyRpcError,
  type JsonRpcResponse,
  type SubscriptionEntry,
  type UpstreamSocket,
} from 'steadyrpc';
import { FakeClock, FakeNode, FakeSocketTransport } from 'steadyrpc/testing';

type Frame = { id?: number; result?: any; method?: string; params?: { subscription: string; result: any } };

/** An upstream socket to `url`: every frame it receives goes to `onFrame`; `call` sends and waits for the answer. */
async function upstream(transport: FakeSocketTransport, clock: FakeClock, url: string, onFrame: (frame: Frame) => void) {
  const answers = new Map<number, Frame>();
  const socket = transport.open(
    { url },
    {
      onOpen: () => {},
      onMessage: (text) => {
        const frame = JSON.parse(text) as Frame;
        if (frame.id !== undefined) answers.set(frame.id, frame);
        onFrame(frame);
      },
      onClose: () => {},
      onError: () => {},
    },
  );
  await clock.flush();
  let nextId = 1;
  const call = async (method: string, params: unknown[]): Promise<any> => {
    const id = nextId++;
    socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    await clock.flush();
    return answers.get(id)?.result;
  };
  return { socket, call };
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('SubscriptionRegistry in a proxy of your own', () => {
  it('a client keeps its subscription ids when the proxy moves to a node that hands out the same ids crossed', async () => {
    const clock = new FakeClock();
    const transport = new FakeSocketTransport();
    // Both count ids from 0x1 on each socket, as Besu's examples show.
    const a = new FakeNode({ name: 'a', head: 10, subscriptionIds: 'per-socket' });
    const b = new FakeNode({ name: 'b', head: 20, subscriptionIds: 'per-socket' });
    transport.route('ws://a/', a.socket);
    transport.route('ws://b/', b.socket);
    const registry = new SubscriptionRegistry();
    const toClient: Array<[string, string]> = [];
    const forward = (frame: Frame) => {
      if (frame.method !== 'eth_subscription') return;
      const entry = registry.byUpstreamId(frame.params!.subscription);
      if (entry) toClient.push([entry.clientId, frame.params!.result.number]);
    };

    // On node a, the client's id is the node's own (a counts from 0x1).
    const onA = await upstream(transport, clock, 'ws://a/', forward);
    const heads = registry.add(await onA.call('eth_subscribe', ['newHeads']), ['newHeads']);
    const pending = registry.add(await onA.call('eth_subscribe', ['newPendingTransactions']), ['newPendingTransactions']);
    expect([heads.clientId, heads.upstreamId, pending.clientId]).toEqual(['0x1', '0x1', '0x2']);
    a.advance();
    expect(toClient).toEqual([['0x1', '0xb']]);

    // a dies: nothing is attached until the replays answer.
    a.cut();
    registry.detachAll();
    expect(registry.byUpstreamId('0x1')).toBeUndefined();
    expect(heads.upstreamId).toBeUndefined();

    // On node b, the replays are answered in the other order: b's 0x1 is the client's 0x2.
    const onB = await upstream(transport, clock, 'ws://b/', forward);
    for (const entry of [...registry.entries()].reverse()) {
      registry.setUpstream(entry.clientId, await onB.call('eth_subscribe', [...entry.params]));
    }
    expect([heads.upstreamId, pending.upstreamId]).toEqual(['0x2', '0x1']);
    b.advance();
    expect(toClient).toEqual([
      ['0x1', '0xb'],
      ['0x1', '0x15'],
    ]);

    // The client unsubscribes 0x1: the registry says which id to unsubscribe on b.
    const removed = registry.remove('0x1');
    expect(removed?.upstreamId).toBe('0x2');
    expect(await onB.call('eth_unsubscribe', [removed!.upstreamId])).toBe(true);
    expect(b.subscriptionCount).toBe(1);
    b.advance();
    expect(toClient).toHaveLength(2);
    expect(registry.size).toBe(1);
    onB.socket.close();
  });

  it('a new subscription whose upstream id is a client id already held gets a client id of its own', () => {
    const registry = new SubscriptionRegistry();
    const old = registry.add('0x1', ['newHeads']);
    registry.detachAll();
    registry.setUpstream('0x1', '0x7');
    // The new node answers a fresh subscribe with 0x1, which the client already holds.
    expect(isSteadyRpcError(thrown(() => registry.add('0x1', ['logs', {}])), 'ERR_BAD_RESPONSE')).toBe(true);
    expect(registry.byClientId('0x1')).toBe(old);
    const fresh = registry.add('0xc2', ['logs', {}], '0x1');
    expect(registry.byUpstreamId('0x1')).toBe(fresh);
    expect(registry.byUpstreamId('0x7')).toBe(old);
    expect(registry.byClientId('0x1')).toBe(old);
  });

  it('refuses what it cannot tell apart, and says which caller bug it was', () => {
    const registry = new SubscriptionRegistry();
    registry.add('0x1', ['newHeads']);
    registry.add('0x2', ['logs', {}]);
    // An upstream id another entry holds: a second lookup by it could not choose.
    expect(isSteadyRpcError(thrown(() => registry.setUpstream('0x2', '0x1')), 'ERR_BAD_RESPONSE')).toBe(true);
    expect(isSteadyRpcError(thrown(() => registry.add('0x3', ['newHeads'], '0x2')), 'ERR_BAD_RESPONSE')).toBe(true);
    // A subscription the client has left meanwhile: the caller unsubscribes the new upstream id instead.
    expect(thrown(() => registry.setUpstream('0x9', '0x5'))).toBeInstanceOf(RangeError);
    expect(registry.remove('0x9')).toBeUndefined();
  });

  it('keeps a frozen copy of the params, lists entries in the order added, and a null upstream id is detached', () => {
    const registry = new SubscriptionRegistry();
    const params: unknown[] = ['logs', { address: '0xabc' }];
    const logs = registry.add('0x1', params);
    params.push('later');
    expect(logs.params).toEqual(['logs', { address: '0xabc' }]);
    expect(Object.isFrozen(logs.params)).toBe(true);
    const late = registry.add('0x2', ['newHeads'], null);
    expect(late.upstreamId).toBeUndefined();
    expect(registry.byUpstreamId('0x2')).toBeUndefined();
    expect([...registry.entries()].map((entry) => entry.clientId)).toEqual(['0x1', '0x2']);
    // Entries are the registry's records: read-only outside it.
    const readOnly = (entry: SubscriptionEntry) => {
      // @ts-expect-error upstreamId changes through setUpstream and detachAll only
      entry.upstreamId = '0x5';
    };
    expect(typeof readOnly).toBe('function');
  });
});

describe('ReplayFilter in a session of your own', () => {
  async function world() {
    const clock = new FakeClock();
    const transport = new FakeSocketTransport();
    const node = new FakeNode({ name: 'b', head: 10, subscriptionIds: 'per-socket' });
    transport.route('ws://b/', node.socket);
    const filter = new ReplayFilter({ clock });
    const toClient: Frame[] = [];
    const { socket } = await upstream(transport, clock, 'ws://b/', (frame) => {
      if (frame.id !== undefined && filter.settle(frame.id, frame as JsonRpcResponse)) return;
      toClient.push(frame);
    });
    const log: string[] = [];
    const handlers = (name: string) => ({
      onAnswer: (response: JsonRpcResponse) => log.push(`${name}: ${JSON.stringify('result' in response ? response.result : response.error)}`),
      onFail: (error: SteadyRpcError) => log.push(`${name} failed at ${clock.now()}: ${error.code}`),
    });
    const send = (id: number, method: string, params: unknown[] = []) => socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return { clock, node, filter, socket, toClient, log, handlers, send };
  }

  it('the answer to a replayed subscribe goes to the session, the client gets only its own answers', async () => {
    const { clock, filter, socket, toClient, log, handlers, send } = await world();
    filter.own(1_001, 'replay', socket, 5_000, handlers('replay'));
    send(1_001, 'eth_subscribe', ['newHeads']);
    send(7, 'eth_blockNumber');
    await clock.flush();
    expect(toClient).toEqual([{ jsonrpc: '2.0', id: 7, result: '0xa' }]);
    expect(log).toEqual(['replay: "0x1"']);
    expect(filter.swallowed).toBe(1);
    expect(filter.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a keepalive a silent node never answers fails at its deadline, with one timer per distinct timeout', async () => {
    const { clock, node, filter, socket, log, handlers, send } = await world();
    node.blackhole();
    filter.own(1, 'keepalive', socket, 4_000, handlers('k1'));
    send(1, 'eth_chainId');
    await clock.advance(1_000);
    filter.own(2, 'keepalive', socket, 4_000, handlers('k2'));
    filter.own(3, 'replay', socket, 5_000, handlers('r3'));
    expect(clock.pendingTimers).toBe(2);
    await clock.advance(2_999);
    expect(log).toEqual([]);
    await clock.advance(1);
    expect(log).toEqual(['k1 failed at 4000: ERR_TIMEOUT']);
    await clock.advance(1_000);
    expect(log).toEqual(['k1 failed at 4000: ERR_TIMEOUT', 'k2 failed at 5000: ERR_TIMEOUT']);
    await clock.advance(1_000);
    expect(log.at(-1)).toBe('r3 failed at 6000: ERR_TIMEOUT');
    expect(filter.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a socket that goes away fails only its own requests, and a late answer to one is not swallowed', async () => {
    const { clock, filter, socket, log, handlers } = await world();
    const old = {} as UpstreamSocket; // the socket the session is leaving
    filter.own(1, 'replay', old, 5_000, handlers('old'));
    filter.own(2, 'replay', socket, 5_000, handlers('new'));
    filter.failOwner(old, new SteadyRpcError('ERR_ABORTED', 'Left for a better node'));
    expect(log).toEqual(['old failed at 0: ERR_ABORTED']);
    expect(filter.settle(1, { jsonrpc: '2.0', id: 1, result: '0x1' })).toBe(false);
    expect(filter.size).toBe(1);
    filter.clear();
    expect(filter.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    expect(log).toHaveLength(1); // clear() calls no one
    // Still usable after clear().
    filter.own(3, 'backfill', socket, 1_000, handlers('b3'));
    expect(filter.settle(3, { jsonrpc: '2.0', id: 3, result: [] })).toBe(true);
    expect(log.at(-1)).toBe('b3: []');
  });

  it('refuses an id it already owns, a bad timeout, and a missing clock', async () => {
    const { filter, socket, handlers } = await world();
    filter.own(1, 'replay', socket, 5_000, handlers('r1'));
    expect(thrown(() => filter.own(1, 'keepalive', socket, 4_000, handlers('again')))).toBeInstanceOf(RangeError);
    for (const timeoutMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(thrown(() => filter.own(2, 'replay', socket, timeoutMs, handlers('r2')))).toBeInstanceOf(RangeError);
    }
    expect(filter.size).toBe(1);
    expect(isSteadyRpcError(thrown(() => new ReplayFilter({} as never)), 'ERR_CONFIG')).toBe(true);
    filter.clear();
  });
});

describe('MessageQueue: a bounded queue with expiry', () => {
  interface Held {
    id: number;
    text: string;
  }

  function world(options: { maxCount?: number; maxBytes?: number; maxWaitMs?: number } = {}) {
    const clock = new FakeClock(1_000);
    const expired: number[][] = [];
    const queue = new MessageQueue<Held>({ ...options, clock }, (items) => expired.push(items.map((item) => item.id)));
    const push = (id: number, bytes = 10) => queue.push({ id, text: 'x'.repeat(bytes) }, bytes);
    return { clock, queue, expired, push };
  }

  it('holds messages in order while no upstream is ready and hands them all back on reconnect', () => {
    const { clock, queue, push } = world();
    expect([push(1), push(2), push(3)]).toEqual([true, true, true]);
    expect([queue.length, queue.bytes]).toEqual([3, 30]);
    expect(clock.pendingTimers).toBe(1);
    expect(queue.drain().map((held) => held.id)).toEqual([1, 2, 3]);
    expect([queue.length, queue.bytes, clock.pendingTimers]).toEqual([0, 0, 0]);
  });

  it('says when it is full, by count or by bytes, and keeps nothing of the refused message', () => {
    const byCount = world({ maxCount: 2 });
    expect([byCount.push(1), byCount.push(2), byCount.push(3)]).toEqual([true, true, false]);
    expect(byCount.queue.length).toBe(2);
    const byBytes = world({ maxBytes: 25 });
    expect([byBytes.push(1), byBytes.push(2), byBytes.push(3), byBytes.push(4, 5)]).toEqual([true, true, false, true]);
    expect(byBytes.queue.drain().map((held) => held.id)).toEqual([1, 2, 4]);
  });

  it('expires each message when it has waited maxWaitMs, in order, with one timer for the oldest', async () => {
    const { clock, queue, expired, push } = world({ maxWaitMs: 1_000 });
    push(1);
    await clock.advance(400);
    push(2);
    push(3);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(599);
    expect(expired).toEqual([]);
    await clock.advance(1);
    expect(expired).toEqual([[1]]);
    expect([queue.length, queue.bytes]).toEqual([2, 20]);
    await clock.advance(400);
    expect(expired).toEqual([[1], [2, 3]]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('puts messages back at the front past its bounds, their wait starting again', async () => {
    const { clock, queue, expired, push } = world({ maxCount: 2, maxWaitMs: 1_000 });
    push(3);
    push(4);
    await clock.advance(900);
    // Calls in flight on a socket that died: accepted once, so never refused now.
    queue.unshift([
      { value: { id: 1, text: 'a' }, bytes: 1 },
      { value: { id: 2, text: 'b' }, bytes: 1 },
    ]);
    expect(queue.length).toBe(4);
    await clock.advance(100);
    expect(expired).toEqual([[3, 4]]);
    await clock.advance(900);
    expect(expired).toEqual([[3, 4], [1, 2]]);
  });

  it('close() stops its timer and refuses new messages; what it still holds can be answered', async () => {
    const { clock, queue, expired, push } = world({ maxWaitMs: 1_000 });
    push(1);
    queue.close();
    queue.close();
    expect(clock.pendingTimers).toBe(0);
    expect(isSteadyRpcError(thrown(() => push(2)), 'ERR_CLOSED')).toBe(true);
    expect(isSteadyRpcError(thrown(() => queue.unshift([])), 'ERR_CLOSED')).toBe(true);
    await clock.advance(5_000);
    expect(expired).toEqual([]);
    expect(queue.clear().map((held) => held.id)).toEqual([1]);
  });

  it('validates its options and sizes with precise messages', () => {
    const clock = new FakeClock();
    const make = (options: object) => () => new MessageQueue(options as never, () => {});
    expect(make({ clock, maxCount: 0 })).toThrow('Expected maxCount to be an integer >= 1, got 0');
    expect(make({ clock, maxBytes: -1 })).toThrow('Expected maxBytes to be a finite number > 0, got -1');
    expect(make({ clock, maxWaitMs: Number.POSITIVE_INFINITY })).toThrow('Expected maxWaitMs to be a finite number > 0, got Infinity');
    expect(make({})).toThrow('Expected clock to be a Clock');
    expect(isSteadyRpcError(thrown(make({ clock, maxCount: 1.5 })), 'ERR_CONFIG')).toBe(true);
    const queue = new MessageQueue<string>({ clock }, () => {});
    expect(thrown(() => queue.push('a', -1))).toBeInstanceOf(RangeError);
    expect(thrown(() => queue.push('a', 1.5))).toBeInstanceOf(RangeError);
  });
});
