import { describe, expect, it } from 'vitest';
import { NodePool, RpcErrorCode, SharedSocketTransport, UpstreamSession } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';

/** `count` sessions on nodes a (primary) and b (backup), all over one SharedSocketTransport. */
async function sharedWorld(count: number, poolOptions: { connectLimit?: { burst: number; perSecond: number } } = {}) {
  const clock = new FakeClock();
  const fake = new FakeSocketTransport();
  const nodes = { a: new FakeNode({ name: 'a', head: 100 }), b: new FakeNode({ name: 'b', head: 100 }) };
  for (const [name, node] of Object.entries(nodes)) fake.route(`ws://${name}.test/`, node.socket);
  const pool = new NodePool({
    nodes: [
      { name: 'a', tier: 'primary', ws: 'ws://a.test/' },
      { name: 'b', tier: 'backup', ws: 'ws://b.test/' },
    ],
    clock,
    httpTransport: new FakeHttpTransport(),
    ...poolOptions,
  });
  pool.update('a', { status: 'healthy', head: 100 });
  pool.update('b', { status: 'healthy', head: 100 });
  const transport = new SharedSocketTransport({ transport: fake, clock });
  const clients = Array.from({ length: count }, () => {
    const session = new UpstreamSession({ pool, transport, clock, random: () => 0.5 });
    const received: any[] = [];
    session.on('message', (text) => received.push(JSON.parse(text)));
    return { session, received, send: (value: unknown) => session.send(JSON.stringify(value)) };
  });
  await clock.flush();
  return { clock, fake, nodes, pool, transport, clients };
}

const heads = (received: any[], subscription: string) =>
  received.filter((m) => m.method === 'eth_subscription' && m.params.subscription === subscription).map((m) => Number(m.params.result.number));

describe('sessions over a SharedSocketTransport', () => {
  it('share one socket and one upstream subscription per params, keep their own ids, and fail over together', async () => {
    const { clock, fake, nodes, transport, clients } = await sharedWorld(3);
    expect(clients.map((c) => c.session.node)).toEqual(['a', 'a', 'a']);
    for (const c of clients) {
      c.send({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] });
      c.send({ jsonrpc: '2.0', id: 2, method: 'eth_subscribe', params: ['logs', { address: '0x01' }] });
    }
    await clock.flush();
    const subs = clients.map((c) => c.received.find((m) => m.id === 1).result as string);
    expect(new Set(subs).size).toBe(3);
    expect(fake.sockets.filter((s) => s.endpoint.url === 'ws://a.test/')).toHaveLength(1);
    expect(nodes.a.subscriptionCount).toBe(2);

    nodes.a.advance(1);
    nodes.b.advance(1); // same chain
    await clock.flush();
    clients.forEach((c, i) => expect(heads(c.received, subs[i]!)).toEqual([101]));

    // Colliding client ids across sessions: each gets its own answer.
    clients.forEach((c) => c.send({ jsonrpc: '2.0', id: 7, method: 'eth_blockNumber' }));
    await clock.flush();
    for (const c of clients) expect(c.received.filter((m) => m.id === 7)).toEqual([{ jsonrpc: '2.0', id: 7, result: '0x65' }]);

    nodes.a.cut();
    await clock.flush();
    expect(clients.map((c) => c.session.node)).toEqual(['b', 'b', 'b']);
    expect(fake.sockets.filter((s) => s.endpoint.url === 'ws://b.test/')).toHaveLength(1);
    expect(nodes.b.subscriptionCount).toBe(2);
    nodes.b.advance(2);
    await clock.flush();
    // Same ids as before, no duplicate, no gap.
    clients.forEach((c, i) => expect(heads(c.received, subs[i]!)).toEqual([101, 102, 103]));
    expect(transport.stats()).toMatchObject({ sockets: 1, users: 3, upstreamSubscriptions: 2, subscriptions: 6 });

    // Unsubscribing in one session does not end the others' subscriptions.
    clients[0]!.send({ jsonrpc: '2.0', id: 3, method: 'eth_unsubscribe', params: [subs[0]] });
    await clock.flush();
    expect(clients[0]!.received.find((m) => m.id === 3)).toEqual({ jsonrpc: '2.0', id: 3, result: true });
    nodes.b.advance(1);
    await clock.flush();
    expect(heads(clients[0]!.received, subs[0]!)).toEqual([101, 102, 103]);
    expect(heads(clients[1]!.received, subs[1]!)).toEqual([101, 102, 103, 104]);
    expect(nodes.b.subscriptionCount).toBe(2);

    for (const c of clients) c.session.close();
    await clock.flush();
    expect(transport.stats()).toMatchObject({ sockets: 0, users: 0 });
    expect(fake.openSockets).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('keep alive without a call to the node each, and still leave a node that went silent', async () => {
    const { clock, nodes, clients } = await sharedWorld(20);
    const chainIds = () => nodes.a.calls.get('eth_chainId') ?? 0;
    const before = chainIds();
    await clock.advance(60_000); // idle: every session keeps alive every 2 s
    expect(clients.every((c) => c.session.node === 'a')).toBe(true);
    // 20 sessions × 30 keepalives would be 600 calls. The first keepalive after a silent second goes
    // to the node; the others in that window are answered from it: about one call per round.
    expect(chainIds() - before).toBeLessThanOrEqual(31);
    nodes.a.blackhole();
    await clock.advance(2_000 + 4_000 + 1_000); // interval + keepalive deadline + the liveness window
    expect(clients.map((c) => c.session.node)).toEqual(Array(20).fill('b'));
    for (const c of clients) c.session.close();
  });

  it('are not paced by the pool’s per-node connect limit: the transport connects once for all', async () => {
    const { clients, fake } = await sharedWorld(5, { connectLimit: { burst: 1, perSecond: 0.001 } });
    expect(clients.map((c) => c.session.state)).toEqual(Array(5).fill('ready'));
    expect(fake.sockets).toHaveLength(1);
  });

  it('without it, the same limit holds all but the first session back (the control)', async () => {
    const clock = new FakeClock();
    const fake = new FakeSocketTransport();
    const node = new FakeNode({ name: 'a', head: 100 });
    fake.route('ws://a.test/', node.socket);
    const pool = new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.test/' }], clock, httpTransport: new FakeHttpTransport(), connectLimit: { burst: 1, perSecond: 0.001 } });
    pool.update('a', { status: 'healthy', head: 100 });
    const sessions = Array.from({ length: 5 }, () => new UpstreamSession({ pool, transport: fake, clock }));
    await clock.flush();
    expect(sessions.filter((s) => s.state === 'ready')).toHaveLength(1);
    for (const s of sessions) s.close();
    pool.close();
  });
});

describe('sessions over a SharedSocketTransport, and frames that are not one JSON-RPC message', () => {
  it('nothing a node sticks to a frame reaches any client: the transport checks once for all sessions', async () => {
    const { clock, fake, nodes, clients } = await sharedWorld(2);
    for (const c of clients) c.send({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] });
    await clock.flush();
    const subs = clients.map((c) => c.received.find((m) => m.id === 1).result as string);
    const socket = fake.sockets.find((s) => s.endpoint.url === 'ws://a.test/')!;
    const frames: string[] = [];
    const receive = socket.receive.bind(socket);
    socket.receive = (text: string) => {
      frames.push(text);
      receive(text);
    };
    nodes.a.advance(1);
    await clock.flush();
    socket.receive(`${frames.at(-1)!}{"leak":{"x":1}}`);
    nodes.a.blackhole();
    clients[0]!.send({ jsonrpc: '2.0', id: 2, method: 'eth_chainId' });
    await clock.flush();
    const sent = socket.sentJson() as Array<{ id: number; method: string }>;
    socket.receive(`{"jsonrpc":"2.0","id":${sent.at(-1)!.id},"result":"0x1"}{"leak":"x"}`);
    await clock.flush();
    for (const [i, c] of clients.entries()) {
      expect(heads(c.received, subs[i]!)).toEqual([101]);
      expect(JSON.stringify(c.received)).not.toContain('leak');
    }
    expect(clients[0]!.received.find((m) => m.id === 2)).toMatchObject({ error: { code: -32603 } });
  });
});

describe('sessions over a SharedSocketTransport: an answer too big for the socket', () => {
  /**
   * Sessions on one node `a` whose eth_call answers are too big for the socket, over one
   * SharedSocketTransport; the node is slow with eth_getBalance (never answers it) on the sockets
   * `slowOn` numbers (1: the first socket opened to it). The first session made is told first of a
   * shared socket's close, so it sends its calls again first.
   */
  async function oversizedWorld(count: number, slowOn: number[]) {
    const clock = new FakeClock();
    const fake = new FakeSocketTransport();
    const a = new FakeNode({ name: 'a', head: 100 });
    a.oversized.add('eth_call');
    let opened = 0;
    fake.route('ws://a.test/', (socket) => {
      const slow = slowOn.includes(++opened);
      const set = socket.onSend.bind(socket);
      socket.onSend = (handler) => set(handler && ((text, s) => (slow && text.includes('"eth_getBalance"') ? undefined : handler(text, s))));
      a.socket(socket);
    });
    const pool = new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.test/' }], clock, httpTransport: new FakeHttpTransport() });
    pool.update('a', { status: 'healthy', head: 100 });
    const transport = new SharedSocketTransport({ transport: fake, clock });
    const sessions = Array.from({ length: count }, () => {
      const session = new UpstreamSession({ pool, transport, clock, random: () => 0.5 });
      const received: any[] = [];
      session.on('message', (text) => received.push(JSON.parse(text)));
      return { session, received, send: (value: unknown) => session.send(JSON.stringify(value)) };
    });
    await clock.flush();
    const close = () => {
      for (const c of sessions) c.session.close();
      pool.close();
    };
    /** The methods each socket to the node was sent, in the order the sockets opened. */
    const sent = () => fake.sockets.map((s) => (s.sentJson() as Array<{ method?: string }>).map((m) => m.method));
    return { clock, sessions, close, sent };
  }
  const balance = (id: number) => ({ jsonrpc: '2.0', id, method: 'eth_getBalance', params: ['0x00000000000000000000000000000000000000a1', 'latest'] });
  const bigCall = (id: number, to = '0x00000000000000000000000000000000000000b1') => ({ jsonrpc: '2.0', id, method: 'eth_call', params: [{ to }, 'latest'] });

  it("fail only the call whose answer it was: another session's call in flight beside it on both shared sockets is answered", async () => {
    // The node is slow on the two shared sockets: the other call is in flight when the eth_call's
    // answer fails each of them.
    const { clock, sessions, close, sent } = await oversizedWorld(2, [1, 2]);
    const [other, big] = sessions;
    other!.send(balance(1));
    await clock.flush();
    big!.send(bigCall(1));
    await clock.flush();
    await clock.advance(5_000);
    expect(big!.received).toEqual([{ jsonrpc: '2.0', id: 1, error: expect.objectContaining({ code: RpcErrorCode.FRAME_TOO_LARGE }) }]);
    expect(other!.received).toEqual([{ jsonrpc: '2.0', id: 1, result: expect.stringMatching(/^0x/) }]);
    // The eth_call reached the node twice: on the shared socket, then alone on one of its own.
    expect(sent().filter((methods) => methods.includes('eth_call'))).toEqual([['eth_getBalance', 'eth_call'], ['eth_call']]);
    close();
  });

  it('do not count a shared socket closed as too big against a call that was on a socket of its own meanwhile', async () => {
    // Slow on the first shared socket and on the first socket of its own the balance call gets.
    const { clock, sessions, close, sent } = await oversizedWorld(2, [1, 3]);
    const [other, big] = sessions;
    other!.send(balance(1));
    await clock.flush();
    big!.send(bigCall(1));
    await clock.flush();
    await clock.advance(1_000);
    // The balance call waits on a socket of its own; another big call fails the shared socket.
    expect(sent()[2]).toEqual(['eth_getBalance']);
    big!.send(bigCall(2, '0x00000000000000000000000000000000000000b2'));
    await clock.flush();
    await clock.advance(5_000);
    // The balance call was on one shared socket that failed so, not two: sent again and answered.
    expect(other!.received).toEqual([{ jsonrpc: '2.0', id: 1, result: expect.stringMatching(/^0x/) }]);
    expect(big!.received.map((m) => [m.id, m.error?.code])).toEqual(
      expect.arrayContaining([
        [1, RpcErrorCode.FRAME_TOO_LARGE],
        [2, RpcErrorCode.FRAME_TOO_LARGE],
      ]),
    );
    close();
  });
});
