import { describe, expect, it } from 'vitest';
import type { SocketListener } from '../../src/index.js';
import { SharedSocketTransport, SteadyRpcError } from '../../src/index.js';
import { FakeClock, FakeSocketTransport, type FakeSocket } from '../../src/testing/index.js';
import { settle, user } from '../helpers/sharedUser.js';

/** A shared transport over fake sockets; the test plays the node on `server()`. */
function setup(options: { shareSubscriptions?: boolean; retryAfterMs?: number; livenessWindowMs?: number } = {}) {
  const clock = new FakeClock();
  const fake = new FakeSocketTransport();
  const shared = new SharedSocketTransport({ transport: fake, clock, random: () => 0.5, ...options });
  const endpoint = { url: 'ws://a.test/' };
  const server = (): FakeSocket => fake.last()!;
  /** `count` users on the endpoint, once their real socket is open. */
  const openUsers = async (count: number) => {
    const opened = Array.from({ length: count }, () => {
      const u = user();
      return { u, socket: shared.open(endpoint, u.listener) };
    });
    await settle();
    if (server().state === 'connecting') server().accept();
    return opened;
  };
  const openUser = async () => (await openUsers(1))[0]!;
  const openPair = async () => {
    const [first, second] = await openUsers(2);
    return { a: first!.u, sa: first!.socket, b: second!.u, sb: second!.socket };
  };
  return { clock, fake, shared, endpoint, server, openUser, openPair };
}

const request = (id: unknown, method: string, params: unknown[] = []) => JSON.stringify({ jsonrpc: '2.0', id, method, params });

/** A frame from the node that nobody wants (a notification for no subscription): the node is there. */
const NODE_SPEAKS = '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xnone","result":"0x1"}}';

describe('SharedSocketTransport: one real socket for many users', () => {
  it('opens one real socket per endpoint, and tells every user when it is open, never inside open()', async () => {
    const { fake, shared, endpoint, server } = setup();
    const a = user();
    const b = user();
    shared.open(endpoint, a.listener);
    shared.open(endpoint, b.listener);
    expect(fake.sockets).toHaveLength(1);
    await settle();
    server().accept();
    expect(a.types()).toEqual(['open']);
    expect(b.types()).toEqual(['open']);
    const c = user();
    shared.open(endpoint, c.listener);
    expect(c.types()).toEqual([]); // not inside open()
    await settle();
    // On a socket already open: once the node has been heard after the open.
    expect(c.types()).toEqual([]);
    server().receive(NODE_SPEAKS);
    expect(c.types()).toEqual(['open']);
    expect(fake.sockets).toHaveLength(1);
    shared.open({ url: 'ws://b.test/' }, user().listener); // another endpoint, another socket
    // Credentials fresh per connect do not split the socket: the first opener's headers are used.
    shared.open({ url: 'ws://a.test/', headers: { authorization: 'other' } }, user().listener);
    expect(fake.sockets).toHaveLength(2);
    expect(shared.stats()).toMatchObject({ sockets: 2, users: 5 });
  });

  it('re-addresses ids: colliding ids of two users go up distinct and come back to their own user', async () => {
    const { shared, server, openPair } = setup();
    const { a, sa, b, sb } = await openPair();
    sa.send(request(1, 'eth_getBalance', ['0xa']));
    sb.send(request(1, 'eth_getBalance', ['0xb']));
    sb.send(JSON.stringify({ jsonrpc: '2.0', id: 'x', method: 'eth_chainId' })); // not the common shape: parsed
    const sent = server().sentJson() as Array<{ id: number; params?: string[] }>;
    expect(new Set(sent.map((m) => m.id)).size).toBe(3);
    // The node answers in another order.
    server().receiveJson({ jsonrpc: '2.0', id: sent[2]!.id, result: '0x1' });
    server().receive(`{"jsonrpc":"2.0","id":${sent[1]!.id},"result":"0xbb"}`);
    server().receive(`{"jsonrpc":"2.0","id":${sent[0]!.id},"error":{"code":-32000,"message":"nope"}}`);
    expect(a.messages()).toEqual([{ jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'nope' } }]);
    expect(b.messages()).toEqual([
      { jsonrpc: '2.0', id: 'x', result: '0x1' },
      { jsonrpc: '2.0', id: 1, result: '0xbb' },
    ]);
  });

  it('sends the requests of a batch one by one and answers them one by one', async () => {
    const { server, openUser } = setup();
    const { u: a, socket: sa } = await openUser();
    sa.send(`[${request(1, 'eth_chainId')},${request(2, 'eth_blockNumber')},{"jsonrpc":"2.0","method":"note"}]`);
    const sent = server().sentJson() as Array<{ id?: number; method: string }>;
    expect(sent.map((m) => m.method)).toEqual(['eth_chainId', 'eth_blockNumber', 'note']);
    expect(sent[2]).not.toHaveProperty('id');
    server().receiveJson([{ jsonrpc: '2.0', id: sent[1]!.id, result: '0x5' }, { jsonrpc: '2.0', id: sent[0]!.id, result: '0x1' }]);
    expect(a.messages()).toEqual([
      { jsonrpc: '2.0', id: 2, result: '0x5' },
      { jsonrpc: '2.0', id: 1, result: '0x1' },
    ]);
  });

  it('counts frames it can give to nobody, and carries on', async () => {
    const { shared, server, openUser } = setup();
    const { u: a, socket: sa } = await openUser();
    server().receive('not json');
    server().receive('{"jsonrpc":"2.0","id":999,"result":"0x1"}');
    server().receive('42');
    expect(shared.stats().unroutable).toBe(3);
    sa.send(request(7, 'eth_chainId'));
    server().receiveJson({ jsonrpc: '2.0', id: (server().sentJson()[0] as { id: number }).id, result: '0x1' });
    expect(a.messages()).toEqual([{ jsonrpc: '2.0', id: 7, result: '0x1' }]);
  });

  it('refuses to send on a socket that is not open, like a real one', async () => {
    const { shared, endpoint, server } = setup();
    const sa = shared.open(endpoint, user().listener);
    expect(() => sa.send(request(1, 'eth_chainId'))).toThrow(SteadyRpcError);
    await settle();
    server().accept();
    sa.close();
    expect(() => sa.send(request(1, 'eth_chainId'))).toThrow(/not open/);
  });
});

describe('SharedSocketTransport: shared subscriptions', () => {
  async function subscribedPair(options: { shareSubscriptions?: boolean } = {}) {
    const s = setup(options);
    const a = user();
    const b = user();
    const sa = s.shared.open(s.endpoint, a.listener);
    const sb = s.shared.open(s.endpoint, b.listener);
    await settle();
    s.server().accept();
    return { ...s, a, b, sa, sb };
  }

  it('subscribes upstream once for the same params, and gives each subscriber an id of its own', async () => {
    const { a, b, sa, sb, server, shared } = await subscribedPair();
    sa.send(request(1, 'eth_subscribe', ['newHeads']));
    sb.send(request(1, 'eth_subscribe', ['newHeads'])); // while the first is in flight
    const subscribes = server().sentJson() as Array<{ id: number; method: string }>;
    expect(subscribes).toHaveLength(1);
    server().receiveJson({ jsonrpc: '2.0', id: subscribes[0]!.id, result: '0xup' });
    const idA = a.messages()[0].result as string;
    const idB = b.messages()[0].result as string;
    expect(idA).toMatch(/^0x[0-9a-f]{32}$/);
    expect(idB).not.toBe(idA);
    const c = user();
    const sc = shared.open({ url: 'ws://a.test/' }, c.listener);
    await settle();
    server().receive(NODE_SPEAKS); // c is let on
    sc.send(request(9, 'eth_subscribe', ['newHeads'])); // after: answered without the node
    expect(c.messages()).toEqual([]);
    await settle();
    const idC = c.messages()[0].result as string;
    expect(new Set([idA, idB, idC]).size).toBe(3);
    expect(server().sentJson()).toHaveLength(1);
    server().receive('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xup","result":{"number":"0x1"}}}');
    for (const [u, id] of [[a, idA], [b, idB], [c, idC]] as const) {
      expect(u.messages().at(-1)).toEqual({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: id, result: { number: '0x1' } } });
    }
    expect(shared.stats()).toMatchObject({ upstreamSubscriptions: 1, subscriptions: 3 });
  });

  it('subscribes upstream once per distinct params, whether it read the frame in full or not', async () => {
    const { sa, sb, server } = await subscribedPair();
    sa.send(request(1, 'eth_subscribe', ['newHeads']));
    sb.send(request(1, 'eth_subscribe', ['logs', { address: '0x1' }]));
    sb.send(request(2, 'eth_subscribe', ['logs', { address: '0x2' }]));
    sb.send(request('s', 'eth_subscribe', ['newHeads'])); // a string id: parsed, not spliced; same params
    sa.send(`[${request(3, 'eth_subscribe', ['logs', { address: '0x1' }])}]`); // in a batch: parsed too
    expect((server().sentJson() as Array<{ params: unknown }>).map((m) => m.params)).toEqual([['newHeads'], ['logs', { address: '0x1' }], ['logs', { address: '0x2' }]]);
  });

  it('unsubscribes upstream only when the last subscriber leaves, and swallows that answer', async () => {
    const { a, b, sa, sb, server, shared } = await subscribedPair();
    sa.send(request(1, 'eth_subscribe', ['newHeads']));
    sb.send(request(1, 'eth_subscribe', ['newHeads']));
    server().receiveJson({ jsonrpc: '2.0', id: (server().sentJson()[0] as { id: number }).id, result: '0xup' });
    const idA = a.messages()[0].result as string;
    const idB = b.messages()[0].result as string;
    sa.send(request(2, 'eth_unsubscribe', [idA]));
    sa.send(request(3, 'eth_unsubscribe', [idA])); // again: no longer its own
    sa.send(request(4, 'eth_unsubscribe', [idB])); // another user's: not its own either
    await settle();
    expect(a.messages().slice(1)).toEqual([
      { jsonrpc: '2.0', id: 2, result: true },
      { jsonrpc: '2.0', id: 3, result: false },
      { jsonrpc: '2.0', id: 4, result: false },
    ]);
    expect(server().sentJson()).toHaveLength(1);
    server().receive('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xup","result":"0x1"}}');
    expect(a.messages()).toHaveLength(4); // a hears no more
    expect(b.messages()).toHaveLength(2);
    sb.send(request(2, 'eth_unsubscribe', [idB]));
    const last = server().sentJson().at(-1) as { id: number; method: string; params: string[] };
    expect(last).toMatchObject({ method: 'eth_unsubscribe', params: ['0xup'] });
    server().receiveJson({ jsonrpc: '2.0', id: last.id, result: true });
    await settle();
    expect(b.messages().at(-1)).toEqual({ jsonrpc: '2.0', id: 2, result: true });
    expect(b.messages()).toHaveLength(3); // the node's answer to the shared unsubscribe is not b's
    expect(shared.stats()).toMatchObject({ upstreamSubscriptions: 0, subscriptions: 0, unroutable: 0 });
  });

  it('gives every waiting subscriber the node’s error under its own id', async () => {
    const { a, b, sa, sb, server } = await subscribedPair();
    sa.send(request(1, 'eth_subscribe', ['bogus']));
    sb.send(request('b', 'eth_subscribe', ['bogus']));
    server().receiveJson({ jsonrpc: '2.0', id: (server().sentJson()[0] as { id: number }).id, error: { code: -32602, message: 'no such kind' } });
    expect(a.messages()).toEqual([{ jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'no such kind' } }]);
    expect(b.messages()).toEqual([{ jsonrpc: '2.0', id: 'b', error: { code: -32602, message: 'no such kind' } }]);
    sa.send(request(2, 'eth_subscribe', ['bogus'])); // tried again, upstream
    expect(server().sentJson()).toHaveLength(2);
  });

  it('undoes a subscription upstream when everyone who asked for it has left before the answer', async () => {
    const { sa, server, shared } = await subscribedPair();
    sa.send(request(1, 'eth_subscribe', ['newHeads']));
    sa.close();
    server().receiveJson({ jsonrpc: '2.0', id: (server().sentJson()[0] as { id: number }).id, result: '0xup' });
    expect(server().sentJson().at(-1)).toMatchObject({ method: 'eth_unsubscribe', params: ['0xup'] });
    expect(shared.stats()).toMatchObject({ upstreamSubscriptions: 0 });
  });

  it('a user that closes leaves its subscriptions; the last one out unsubscribes upstream', async () => {
    const { a, sa, sb, server } = await subscribedPair();
    sa.send(request(1, 'eth_subscribe', ['newHeads']));
    sb.send(request(1, 'eth_subscribe', ['newHeads']));
    server().receiveJson({ jsonrpc: '2.0', id: (server().sentJson()[0] as { id: number }).id, result: '0xup' });
    sa.close();
    expect(server().sentJson()).toHaveLength(1);
    server().receive('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xup","result":"0x1"}}');
    expect(a.messages()).toHaveLength(1);
    sb.terminate();
    // The last user left: the real socket is closed (no unsubscribe needed on a socket going away).
    expect(server().state).toBe('closed');
  });

  it('with shareSubscriptions off, every subscribe is its own upstream subscription', async () => {
    const { a, b, sa, sb, server } = await subscribedPair({ shareSubscriptions: false });
    sa.send(request(1, 'eth_subscribe', ['newHeads']));
    sb.send(request(1, 'eth_subscribe', ['newHeads']));
    const sent = server().sentJson() as Array<{ id: number }>;
    expect(sent).toHaveLength(2);
    server().receiveJson({ jsonrpc: '2.0', id: sent[0]!.id, result: '0x1' });
    server().receiveJson({ jsonrpc: '2.0', id: sent[1]!.id, result: '0x2' });
    server().receive('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x2","result":"0xb"}}');
    expect(a.messages()).toHaveLength(1);
    expect(b.messages()[1].params.result).toBe('0xb');
  });
});

describe('SharedSocketTransport: eth_chainId while the socket is alive', () => {
  async function opened(options: { livenessWindowMs?: number } = {}) {
    const s = setup(options);
    const a = user();
    const sa = s.shared.open(s.endpoint, a.listener);
    await settle();
    s.server().accept();
    const chainIdsSent = () => (s.server().sentJson() as Array<{ method: string }>).filter((m) => m.method === 'eth_chainId').length;
    const answerLast = () => {
      const last = s.server().sentJson().at(-1) as { id: number };
      s.server().receive(`{"jsonrpc":"2.0","id":${last.id},"result":"0x7a69"}`);
    };
    return { ...s, a, sa, chainIdsSent, answerLast };
  }

  it('answers eth_chainId from the node’s last answer while the socket carried a frame within livenessWindowMs', async () => {
    const { clock, a, sa, chainIdsSent, answerLast } = await opened({ livenessWindowMs: 1_000 });
    sa.send(request(1, 'eth_chainId'));
    expect(chainIdsSent()).toBe(1);
    answerLast();
    await clock.advance(999);
    sa.send(request(2, 'eth_chainId'));
    expect(chainIdsSent()).toBe(1);
    expect(a.messages()).toHaveLength(1); // never inside send()
    await settle();
    expect(a.messages()).toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x7a69' },
      { jsonrpc: '2.0', id: 2, result: '0x7a69' },
    ]);
  });

  it('asks the node again once the socket has been silent for livenessWindowMs, so a dead node still misses keepalives', async () => {
    const { clock, server, sa, chainIdsSent, answerLast } = await opened({ livenessWindowMs: 1_000 });
    sa.send(request(1, 'eth_chainId'));
    answerLast();
    await clock.advance(1_000);
    sa.send(request(2, 'eth_chainId'));
    expect(chainIdsSent()).toBe(2);
    // Any frame from the node shows it alive again.
    server().receive('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xnone","result":"0x1"}}');
    await clock.advance(500);
    sa.send(request(3, 'eth_chainId'));
    expect(chainIdsSent()).toBe(2);
  });

  it('with livenessWindowMs 0 always asks the node', async () => {
    const { sa, chainIdsSent, answerLast } = await opened({ livenessWindowMs: 0 });
    sa.send(request(1, 'eth_chainId'));
    answerLast();
    sa.send(request(2, 'eth_chainId'));
    expect(chainIdsSent()).toBe(2);
  });
});

describe('SharedSocketTransport: what the review found', () => {
  it('remembers a chain id answered with a trailing newline (as geth writes) as the value alone', async () => {
    const { server, clock, openUser } = setup();
    const { u: a, socket: sa } = await openUser();
    sa.send(request(1, 'eth_chainId'));
    server().receive(`{"jsonrpc":"2.0","id":${(server().sentJson()[0] as { id: number }).id},"result":"0x1"}\n`);
    await clock.advance(10);
    sa.send(request(2, 'eth_chainId'));
    await settle();
    expect(server().sentJson()).toHaveLength(1);
    expect(a.events.filter((e) => e.type === 'message').map((e) => (e as { text: string }).text).at(-1)).toBe('{"jsonrpc":"2.0","id":2,"result":"0x1"}');
  });

  it('a user giving up on a silent socket (terminate) takes it down for every user; on a live one it only leaves', async () => {
    const { shared, endpoint, server, clock, fake } = setup();
    const users = [user(), user(), user()];
    const sockets = users.map((u) => shared.open(endpoint, u.listener));
    await settle();
    server().accept();
    server().receive('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xnone","result":"0x1"}}');
    sockets[0]!.terminate(); // the node spoke just now: only this user goes
    await settle();
    expect(users[1]!.types()).toEqual(['open']);
    await clock.advance(1_000); // a second of silence: a zombie
    sockets[1]!.terminate();
    await settle();
    expect(users[2]!.events.at(-1)).toEqual({ type: 'close', info: { code: 1006, reason: '' } });
    expect(server().terminated).toBe(true);
    const next = user();
    shared.open(endpoint, next.listener);
    expect(fake.sockets).toHaveLength(2); // a fresh connect, not paced
  });

  it('a connect that hangs is abandoned by all when one user gives up on it', async () => {
    const { shared, endpoint, fake } = setup();
    const a = user();
    const b = user();
    const sa = shared.open(endpoint, a.listener);
    shared.open(endpoint, b.listener);
    sa.terminate(); // its connect deadline passed
    await settle();
    expect(b.events.at(-1)).toEqual({ type: 'close', info: { code: 1006, reason: '' } });
    expect(fake.sockets[0]!.terminated).toBe(true);
  });

  it('the first subscriber unsubscribing as soon as it hears its answer leaves the others their subscription', async () => {
    const { shared, endpoint, server } = setup();
    const waiters = [user(), user(), user()];
    const sockets = waiters.map((u) => shared.open(endpoint, u.listener));
    await settle();
    server().accept();
    // The first one gave up waiting (a timed-out replay) and undoes the subscription on its answer.
    waiters[0]!.listener.onMessage = (text) => {
      const answer = JSON.parse(text);
      if (answer.id === 1) sockets[0]!.send(request(2, 'eth_unsubscribe', [answer.result]));
    };
    for (const s of sockets) s.send(request(1, 'eth_subscribe', ['newHeads']));
    server().receiveJson({ jsonrpc: '2.0', id: (server().sentJson()[0] as { id: number }).id, result: '0xup' });
    await settle();
    expect(server().sentJson().filter((m: any) => m.method === 'eth_unsubscribe')).toEqual([]);
    server().receive('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xup","result":"0x1"}}');
    for (const u of waiters.slice(1)) expect(u.messages().at(-1)).toMatchObject({ method: 'eth_subscription' });
    for (const [i, s] of sockets.slice(1).entries()) s.send(request(3, 'eth_unsubscribe', [waiters[i + 1]!.messages()[0].result]));
    expect(server().sentJson().filter((m: any) => m.method === 'eth_unsubscribe')).toHaveLength(1);
  });

  it('close() and terminate() never throw, even when the real socket refuses the unsubscribe they cause', async () => {
    const fake = new FakeSocketTransport();
    let refuse = false;
    const flaky = {
      open: (endpoint: { url: string }, listener: SocketListener) => {
        const socket = fake.open(endpoint, listener);
        return {
          send: (text: string) => {
            if (refuse) throw new SteadyRpcError('ERR_TRANSPORT', 'Cannot send: socket is not open');
            socket.send(text);
          },
          close: (code?: number, reason?: string) => socket.close(code, reason),
          terminate: () => socket.terminate(),
        };
      },
    };
    const shared = new SharedSocketTransport({ transport: flaky });
    const a = user();
    const b = user();
    const sa = shared.open({ url: 'ws://a.test/' }, a.listener);
    shared.open({ url: 'ws://a.test/' }, b.listener);
    await settle();
    fake.last()!.accept();
    sa.send(request(1, 'eth_subscribe', ['newHeads']));
    fake.last()!.receiveJson({ jsonrpc: '2.0', id: (fake.last()!.sentJson()[0] as { id: number }).id, result: '0xup' });
    refuse = true; // the node's close frame is in, ws has not reported the close yet
    expect(() => sa.close()).not.toThrow();
    await settle();
    expect(a.events.at(-1)).toMatchObject({ type: 'close' });
    expect(() => sa.send(request(2, 'eth_chainId'))).toThrow(/not open/);
  });

  it('asks again for everyone waiting on a subscribe the node has not answered for 1 s, then after 2 s, 4 s…; the first answer serves all, a later one is unsubscribed', async () => {
    const { server, clock, openUser } = setup();
    const { u: a, socket: sa } = await openUser();
    const subscribes = () => (server().sentJson() as Array<{ id: number; method: string }>).filter((m) => m.method === 'eth_subscribe');
    sa.send(request(1, 'eth_subscribe', ['newHeads'])); // lost
    await clock.advance(500);
    sa.send(request(2, 'eth_subscribe', ['newHeads'])); // waits on the first
    expect(subscribes()).toHaveLength(1);
    await clock.advance(500); // 1 s: asked again, for both
    expect(subscribes()).toHaveLength(2);
    await clock.advance(1_999);
    expect(subscribes()).toHaveLength(2);
    await clock.advance(1); // 2 s after that
    expect(subscribes()).toHaveLength(3);
    const [first, second, third] = subscribes();
    server().receiveJson({ jsonrpc: '2.0', id: second!.id, result: '0xnew' });
    expect(a.messages().map((m) => m.id).sort()).toEqual([1, 2]);
    await clock.advance(60_000);
    expect(subscribes()).toHaveLength(3); // answered: not asked again
    server().receiveJson({ jsonrpc: '2.0', id: first!.id, result: '0xold' }); // late: nobody holds it
    server().receiveJson({ jsonrpc: '2.0', id: third!.id, error: { code: -32000, message: 'late' } }); // late error: nothing to undo
    expect(server().sentJson().at(-1)).toMatchObject({ method: 'eth_unsubscribe', params: ['0xold'] });
    expect(a.messages()).toHaveLength(2);
    server().receive('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xnew","result":"0x1"}}');
    server().receive('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xold","result":"0x1"}}');
    expect(a.messages().slice(2).map((m) => m.params.subscription)).toEqual([a.messages()[0].result, a.messages()[1].result]);
  });

  it('a newcomer does not wait on an ask older than 1 s, however long the next wait has grown: asked again at once', async () => {
    const { server, clock, openUser } = setup();
    const { u: a, socket: sa } = await openUser();
    const subscribes = () => (server().sentJson() as Array<{ id: number; method: string }>).filter((m) => m.method === 'eth_subscribe');
    sa.send(request(1, 'eth_subscribe', ['newHeads']));
    await clock.advance(1_000); // asked again; next in 2 s
    await clock.advance(999);
    sa.send(request(2, 'eth_subscribe', ['newHeads']));
    expect(subscribes()).toHaveLength(2);
    await clock.advance(1);
    sa.send(request(3, 'eth_subscribe', ['newHeads']));
    expect(subscribes()).toHaveLength(3);
    server().receiveJson({ jsonrpc: '2.0', id: subscribes()[2]!.id, result: '0xup' });
    expect(a.messages().map((m) => m.id).sort()).toEqual([1, 2, 3]);
  });

  it('stops asking again once nobody waits, and leaves no timer behind', async () => {
    const { server, clock, shared, endpoint } = setup();
    const a = user();
    const b = user();
    const sa = shared.open(endpoint, a.listener);
    shared.open(endpoint, b.listener); // keeps the real socket open
    await settle();
    server().accept();
    sa.send(request(1, 'eth_subscribe', ['newHeads']));
    sa.close();
    await clock.advance(10_000);
    expect((server().sentJson() as Array<{ method: string }>).filter((m) => m.method === 'eth_subscribe')).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('paces connects to a node that closes sockets right after opening them', async () => {
    const { clock, shared, endpoint, fake, server } = setup({ retryAfterMs: 250 });
    const a = user();
    shared.open(endpoint, a.listener);
    await settle();
    server().accept();
    server().serverClose(1013, 'try again later');
    const b = user();
    shared.open(endpoint, b.listener);
    await settle();
    expect(fake.sockets).toHaveLength(1);
    expect(b.events).toEqual([{ type: 'close', info: { code: 1013, reason: 'try again later' } }]);
    await clock.advance(250);
    shared.open(endpoint, user().listener);
    expect(fake.sockets).toHaveLength(2);
  });

  it('holds the notifications that come before a late subscriber has its answer, then delivers them after it', async () => {
    const { shared, server, openPair } = setup();
    const { a, sa, b, sb } = await openPair();
    sa.send(request(1, 'eth_subscribe', ['newHeads']));
    server().receiveJson({ jsonrpc: '2.0', id: (server().sentJson()[0] as { id: number }).id, result: '0xup' });
    sb.send(request(1, 'eth_subscribe', ['newHeads']));
    server().receive('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xup","result":"0x1"}}'); // same turn
    expect(b.messages()).toEqual([]);
    await settle();
    const [answer, notification] = b.messages();
    expect(answer).toMatchObject({ id: 1 });
    expect(notification).toMatchObject({ method: 'eth_subscription', params: { subscription: answer.result, result: '0x1' } });
  });

  it('a transport that throws on open is a failed connect', async () => {
    const shared = new SharedSocketTransport({ transport: { open: () => { throw new Error('bad url'); } } });
    const a = user();
    shared.open({ url: 'ws://a.test/' }, a.listener);
    await settle();
    expect(a.types()).toEqual(['error', 'close']);
    expect(shared.stats().sockets).toBe(0);
  });
});

describe('SharedSocketTransport: closing', () => {
  it('close() and terminate() report onClose after the call, with the code given (1005 without), 1006 for terminate', async () => {
    const { shared, endpoint, server } = setup();
    const a = user();
    const b = user();
    const c = user();
    const sa = shared.open(endpoint, a.listener);
    const sb = shared.open(endpoint, b.listener);
    const sc = shared.open(endpoint, c.listener);
    await settle();
    server().accept();
    sa.close(4000, 'bye');
    sb.close();
    sc.terminate();
    sa.close();
    expect(a.types()).toEqual(['open']);
    await settle();
    expect(a.events.at(-1)).toEqual({ type: 'close', info: { code: 4000, reason: 'bye' } });
    expect(b.events.at(-1)).toEqual({ type: 'close', info: { code: 1005, reason: '' } });
    expect(c.events.at(-1)).toEqual({ type: 'close', info: { code: 1006, reason: '' } });
    expect(a.types()).toEqual(['open', 'close']);
    expect(server().closedWith).toEqual({ code: 1000, reason: 'steadyrpc: no sessions left' });
  });

  it('when the last user leaves, the real socket is closed and the next open connects again', async () => {
    const { fake, shared, endpoint, server } = setup();
    const sa = shared.open(endpoint, user().listener);
    await settle();
    server().accept();
    sa.close();
    expect(server().state).toBe('closed');
    const b = user();
    shared.open(endpoint, b.listener);
    expect(fake.sockets).toHaveLength(2);
    await settle();
    fake.last()!.accept();
    expect(b.types()).toEqual(['open']);
  });

  it('a user that leaves while the real socket connects does not hold up the next one', async () => {
    const { fake, shared, endpoint } = setup();
    const sa = shared.open(endpoint, user().listener);
    sa.close();
    const b = user();
    shared.open(endpoint, b.listener);
    expect(fake.sockets).toHaveLength(2); // a fresh connect, not the one being given up, and not paced
    await settle();
    fake.last()!.accept();
    expect(b.types()).toEqual(['open']);
  });

  it('when the real socket closes, every user closes with its code (an auth close stays an auth close)', async () => {
    const { shared, endpoint, server } = setup();
    const a = user();
    const b = user();
    const sa = shared.open(endpoint, a.listener);
    shared.open(endpoint, b.listener);
    await settle();
    server().accept();
    sa.send(request(1, 'eth_subscribe', ['newHeads']));
    server().serverClose(4401, 'unauthorized');
    expect(a.events.at(-1)).toEqual({ type: 'close', info: { code: 4401, reason: 'unauthorized' } });
    expect(b.events.at(-1)).toEqual({ type: 'close', info: { code: 4401, reason: 'unauthorized' } });
    expect(shared.stats()).toMatchObject({ sockets: 0, users: 0, upstreamSubscriptions: 0 });
  });

  it('passes socket errors to every user', async () => {
    const { shared, endpoint, server } = setup();
    const a = user();
    const b = user();
    shared.open(endpoint, a.listener);
    shared.open(endpoint, b.listener);
    await settle();
    server().accept();
    server().fail(new Error('boom'));
    for (const u of [a, b]) expect(u.types()).toEqual(['open', 'error', 'close']);
  });

  it('after a connect fails, opens to that endpoint fail at once until retryAfterMs has passed: one attempt, not one per user', async () => {
    const { clock, fake, shared, endpoint, server } = setup({ retryAfterMs: 250 });
    const a = user();
    shared.open(endpoint, a.listener);
    await settle();
    server().refuse(503);
    expect(a.events.at(-1)).toMatchObject({ type: 'close', info: { httpStatus: 503 } });
    const later = Array.from({ length: 100 }, () => user());
    for (const u of later) shared.open(endpoint, u.listener);
    expect(fake.sockets).toHaveLength(1);
    await settle();
    for (const u of later) expect(u.events).toEqual([{ type: 'close', info: expect.objectContaining({ httpStatus: 503 }) }]);
    await clock.advance(250);
    const retry = user();
    shared.open(endpoint, retry.listener);
    expect(fake.sockets).toHaveLength(2);
    await settle();
    fake.last()!.accept();
    expect(retry.types()).toEqual(['open']);
  });

  it('validates its options', () => {
    expect(() => new SharedSocketTransport({ retryAfterMs: -1 })).toThrow(/retryAfterMs/);
    expect(() => new SharedSocketTransport({ livenessWindowMs: Number.NaN })).toThrow(/livenessWindowMs/);
    expect(() => new SharedSocketTransport({ shareSubscriptions: 'yes' as unknown as boolean })).toThrow(/shareSubscriptions/);
    expect(() => new SharedSocketTransport({ transport: {} as never })).toThrow(/SocketTransport/);
    expect(() => new SharedSocketTransport(null as never)).toThrow(/options/);
    expect(new SharedSocketTransport().multiplexed).toBe(true);
  });
});

describe('SharedSocketTransport: frames that are not one JSON-RPC message', () => {
  const GARBAGE_TAILS = ['{"leak":"x"}', '}', ',"leak":1}', ' x'];

  it.each(GARBAGE_TAILS)('an answer followed by %j never reaches the user; its call gets an error at once', async (tail) => {
    const { shared, server, openUser } = setup();
    const { u, socket } = await openUser();
    socket.send(request(7, 'eth_getBalance', ['0x0', 'latest']));
    const id = (server().sentJson()[0] as { id: number }).id;
    server().receive(`{"jsonrpc":"2.0","id":${id},"result":"0x1"}${tail}`);
    expect(u.events.filter((e) => e.type === 'message').map((e) => (e as { text: string }).text)).toEqual([
      '{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"Internal error: the node sent a malformed answer"}}',
    ]);
    expect(shared.stats().unroutable).toBe(1);
  });

  it('reads valid but unusual answers (whitespace, escapes, extra members) in full, and passes on their JSON-RPC members only', async () => {
    const { server, openUser } = setup();
    const { u, socket } = await openUser();
    for (let i = 1; i <= 3; i++) socket.send(request(i, 'eth_call'));
    const [a, b, c] = (server().sentJson() as Array<{ id: number }>).map((m) => m.id);
    server().receive(`{"jsonrpc":"2.0","id":${a},"result": "0x1" }`);
    server().receive(`{"jsonrpc":"2.0","id":${b},"result":"a\\"b"}`);
    server().receive(`{"jsonrpc":"2.0","id":${c},"result":"0x3","x":1}`);
    expect(u.messages()).toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x1' },
      { jsonrpc: '2.0', id: 2, result: 'a"b' },
      { jsonrpc: '2.0', id: 3, result: '0x3' },
    ]);
  });

  it('drops a notification with something stuck after it, or broken inside, and passes the next one on', async () => {
    const { server, openUser, shared } = setup();
    const { u, socket } = await openUser();
    socket.send(request(1, 'eth_subscribe', ['newHeads']));
    server().receiveJson({ jsonrpc: '2.0', id: (server().sentJson()[0] as { id: number }).id, result: '0xup' });
    const notification = (result: string) => `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xup","result":${result}}}`;
    for (const bad of [
      `${notification('{"number":"0x1"}')}{"leak":{"x":1}}`,
      notification('{"number":"0x1"}]'),
      notification('{"number":"0x\u0001"}'),
      notification('{"number":"0x1",}'),
    ]) {
      server().receive(bad);
    }
    server().receive(notification('{"number":"0x2"}'));
    const texts = u.events.flatMap((e) => (e.type === 'message' ? [e.text] : []));
    expect(texts.every((text) => !text.includes('leak'))).toBe(true);
    expect(u.messages().slice(1).map((m) => m.params.result)).toEqual([{ number: '0x2' }]);
    expect(shared.stats().unroutable).toBe(4);
  });
});
