import { describe, expect, it } from 'vitest';
import { RpcErrorCode, SESSION_DEFAULTS, UpstreamSession } from '../../src/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

const limitError = (limit: string, max: number) => ({ code: RpcErrorCode.LIMIT_EXCEEDED, message: expect.stringMatching(/^Limit exceeded/), data: { limit, max } });

/** A harness whose node takes calls and answers only when the test says so (`answer(n)`: the first n unanswered). */
async function manual(options: Parameters<typeof sessionHarness>[0] = {}) {
  const h = await sessionHarness({ keepaliveIntervalMs: 600_000, ...options });
  h.nodes.a!.blackhole();
  const socket = h.sockets.last()!;
  const answered = new Set<number>();
  const answer = (count: number, result: (method: string, n: number) => unknown = () => '0x1') => {
    const owed = (socket.sentJson() as Array<{ id?: number; method: string }>).filter((f) => f.id !== undefined && !answered.has(f.id));
    for (const frame of owed.slice(0, count)) {
      answered.add(frame.id!);
      socket.receiveJson({ jsonrpc: '2.0', id: frame.id, result: result(frame.method, frame.id!) });
    }
  };
  const limits: unknown[] = [];
  h.session.on('limit', (event) => limits.push(event));
  return { ...h, socket, answer, limits };
}

describe('maxInFlight', () => {
  it('answers a call past the cap with LIMIT_EXCEEDED at once, and takes calls again once answers went out', async () => {
    const h = await manual({ maxInFlight: 2 });
    h.send(rpc(1, 'eth_chainId'));
    h.send(rpc(2, 'eth_chainId'));
    h.send(rpc(3, 'eth_chainId'));
    expect(h.answers(3)).toEqual([{ jsonrpc: '2.0', id: 3, error: limitError('maxInFlight', 2) }]);
    expect(h.socket.sentJson()).toHaveLength(2); // the refused call never went upstream
    expect(h.limits).toEqual([{ limit: 'maxInFlight', max: 2, method: 'eth_chainId' }]);
    h.answer(1);
    h.send(rpc(4, 'eth_chainId'));
    h.answer(2);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x1' }]);
    expect(h.answers(4)).toEqual([{ jsonrpc: '2.0', id: 4, result: '0x1' }]);
    expect(h.session.stats()).toMatchObject({ limitRejections: 1, state: 'ready' });
  });

  it('refuses per item in a batch: notifications and invalid items do not count', async () => {
    const h = await manual({ maxInFlight: 3 });
    h.send([rpc(1, 'eth_chainId'), { jsonrpc: '2.0', method: 'eth_chainId' }, rpc(2, 'eth_chainId'), 7, rpc(3, 'eth_chainId'), rpc(4, 'eth_chainId')]);
    expect(h.socket.sentJson()).toHaveLength(4); // three calls and the notification
    h.answer(3);
    expect(h.received).toEqual([
      [
        { jsonrpc: '2.0', id: 1, result: '0x1' },
        { jsonrpc: '2.0', id: 2, result: '0x1' },
        { jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: RpcErrorCode.INVALID_REQUEST }) },
        { jsonrpc: '2.0', id: 3, result: '0x1' },
        { jsonrpc: '2.0', id: 4, error: limitError('maxInFlight', 3) },
      ],
    ]);
  });

  it('a batch counts until its answer goes out, not as its items are answered', async () => {
    const h = await manual({ maxInFlight: 2 });
    h.send([rpc(1, 'eth_chainId'), rpc(2, 'eth_chainId')]);
    h.answer(1); // the batch is still open: the client has no answer yet
    h.send(rpc(3, 'eth_chainId'));
    expect(h.answers(3)[0]!.error.code).toBe(RpcErrorCode.LIMIT_EXCEEDED);
    h.answer(1);
    h.send(rpc(4, 'eth_chainId'));
    h.answer(1);
    expect(h.answers(4)).toEqual([{ jsonrpc: '2.0', id: 4, result: '0x1' }]);
  });

  it('counts calls queued while reconnecting, and errors free their place', async () => {
    const h = await sessionHarness({ maxInFlight: 2, queue: { maxWaitMs: 1_000 }, connectTimeoutMs: 60_000 });
    h.nodes.a!.blackhole();
    h.nodes.b!.blackhole();
    h.sockets.last()!.serverClose(1006);
    await h.settle();
    for (let id = 1; id <= 3; id++) h.send(rpc(id, 'eth_chainId'));
    expect(h.answers(3)[0]!.error.code).toBe(RpcErrorCode.LIMIT_EXCEEDED);
    await h.clock.advance(1_000);
    expect(h.answers(1)[0]!.error.code).toBe(RpcErrorCode.REQUEST_TIMEOUT);
    h.send(rpc(4, 'eth_chainId'));
    expect(h.answers(4)).toEqual([]); // queued, not refused
    expect(h.session.stats().queued).toBe(1);
  });

  it('bounds a flood: with the default cap, the calls past 4_096 are refused and the session stays open', async () => {
    const h = await manual();
    const frames = Array.from({ length: 5_000 }, (_, i) => JSON.stringify(rpc(i, 'eth_chainId')));
    for (const frame of frames) h.session.send(frame);
    expect(h.socket.sentJson()).toHaveLength(SESSION_DEFAULTS.maxInFlight);
    expect(h.received).toHaveLength(5_000 - 4_096);
    expect(h.received.every((m) => m.error.code === RpcErrorCode.LIMIT_EXCEEDED)).toBe(true);
    h.answer(5_000);
    expect(h.received).toHaveLength(5_000);
    expect(h.session.state).toBe('ready');
  });
});

describe('maxSubscriptions', () => {
  it('counts held subscriptions and subscribes awaiting their answer; unsubscribing frees a place', async () => {
    const h = await sessionHarness({ maxSubscriptions: 2 });
    const limits: unknown[] = [];
    h.session.on('limit', (event) => limits.push(event));
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    h.send(rpc(2, 'eth_subscribe', ['newHeads'])); // not answered yet, but counted
    h.send(rpc(3, 'eth_subscribe', ['newHeads']));
    expect(h.answers(3)).toEqual([{ jsonrpc: '2.0', id: 3, error: limitError('maxSubscriptions', 2) }]);
    await h.settle();
    h.send(rpc(4, 'eth_subscribe', ['logs', {}]));
    expect(h.answers(4)[0]!.error.data).toEqual({ limit: 'maxSubscriptions', max: 2 });
    h.send(rpc(5, 'eth_unsubscribe', [h.answers(1)[0]!.result]));
    h.send(rpc(6, 'eth_subscribe', ['newHeads']));
    await h.settle();
    expect(h.answers(6)[0]!.result).toMatch(/^0x/);
    expect(h.session.stats()).toMatchObject({ subscriptions: 2, limitRejections: 2 });
    expect(limits).toEqual([
      { limit: 'maxSubscriptions', max: 2, method: 'eth_subscribe' },
      { limit: 'maxSubscriptions', max: 2, method: 'eth_subscribe' },
    ]);
    // Other calls are not subscriptions.
    h.send(rpc(7, 'eth_chainId'));
    await h.settle();
    expect(h.answers(7)).toEqual([{ jsonrpc: '2.0', id: 7, result: '0x1' }]);
  });

  it('a subscribe the node refused frees its place', async () => {
    const h = await sessionHarness({ maxSubscriptions: 1 });
    h.send(rpc(1, 'eth_subscribe', ['nonsense']));
    await h.settle();
    expect(h.answers(1)[0]!.error.code).toBe(RpcErrorCode.INVALID_PARAMS);
    h.send(rpc(2, 'eth_subscribe', ['newHeads']));
    await h.settle();
    expect(h.answers(2)[0]!.result).toMatch(/^0x/);
  });

  it('in a batch, a subscribe answered counts as held, one refused by the node until the batch answer goes out', async () => {
    const h = await manual({ maxSubscriptions: 2 });
    h.send([rpc(1, 'eth_subscribe', ['newHeads']), rpc(2, 'eth_subscribe', ['nonsense']), rpc(3, 'eth_chainId')]);
    h.socket.receiveJson({ jsonrpc: '2.0', id: 1, result: '0xaa' });
    h.socket.receiveJson({ jsonrpc: '2.0', id: 2, error: { code: -32602, message: 'no' } });
    h.send(rpc(4, 'eth_subscribe', ['newHeads']));
    expect(h.answers(4)[0]!.error.code).toBe(RpcErrorCode.LIMIT_EXCEEDED);
    h.socket.receiveJson({ jsonrpc: '2.0', id: 3, result: '0x1' }); // the batch is answered
    h.send(rpc(5, 'eth_subscribe', ['newHeads']));
    expect(h.answers(5)).toEqual([]); // sent upstream, not refused
  });

  it('a subscribe without an id is not sent upstream: its subscription could never be ended', async () => {
    const h = await sessionHarness();
    const errors: string[] = [];
    h.session.on('error', (error) => errors.push(error.code));
    h.send({ jsonrpc: '2.0', method: 'eth_subscribe', params: ['newHeads'] });
    await h.settle();
    expect(h.sockets.last()!.sentJson()).toEqual([]);
    expect(h.nodes.a!.subscriptionCount).toBe(0);
    expect(errors).toEqual(['ERR_ABORTED']);
    expect(h.received).toEqual([]);
  });
});

describe('limit settings', () => {
  it.each([
    ['maxInFlight', 0],
    ['maxInFlight', 1.5],
    ['maxInFlight', Number.NaN],
    ['maxSubscriptions', -1],
    ['maxSubscriptions', Infinity],
  ])('%s = %s is refused with a precise message', async (key, value) => {
    const h = await sessionHarness();
    expect(() => new UpstreamSession({ pool: h.pool, transport: h.sockets, [key]: value })).toThrow(`Expected ${key} to be an integer >= 1, got ${value}`);
  });

  it('defaults to 4_096 calls and 1_024 subscriptions', () => {
    expect(SESSION_DEFAULTS).toMatchObject({ maxInFlight: 4_096, maxSubscriptions: 1_024 });
  });
});
