import { describe, expect, it } from 'vitest';
import { RpcErrorCode, SharedSocketTransport, type SocketTransport } from '../../src/index.js';
import { FakeClock, FakeSocketTransport, type FakeSocket } from '../../src/testing/index.js';
import { settle, user } from '../helpers/sharedUser.js';

// A message too big for the real socket (past the inner transport's maxPayload) closes it under
// every user's calls; whose answer it was nobody can tell. Each session sends its calls again with
// `isolate` (SendOptions): each goes on a socket with nothing else in flight, so that the one whose
// answer is too big closes only that socket, is answered FRAME_TOO_LARGE, and no other user's call
// is failed for it.

const BIG = { jsonrpc: '2.0', method: 'eth_call', params: [{ to: '0x00000000000000000000000000000000000000b1', data: '0x' }, 'latest'] };
const SMALL = { jsonrpc: '2.0', method: 'eth_getBalance', params: ['0x00000000000000000000000000000000000000a1', 'latest'] };
/** How a session sends a call again after a message too big. */
const ISOLATE = { isolate: true };
/** A request as a session writes it: `{"jsonrpc":"2.0","id":N,"method":…`. */
const request = (id: number, body: { method: string; params: unknown[] }) => JSON.stringify({ jsonrpc: '2.0', id, method: body.method, params: body.params });

/** `refuse()`: from then on the transport under the shared one throws on open. */
function setup() {
  const clock = new FakeClock();
  const fake = new FakeSocketTransport();
  let refusing = false;
  const inner: SocketTransport = {
    open: (endpoint, listener) => {
      if (refusing) throw new Error('cannot open');
      return fake.open(endpoint, listener);
    },
  };
  const refuse = () => void (refusing = true);
  const shared = new SharedSocketTransport({ transport: inner, clock, random: () => 0.5 });
  const endpoint = { url: 'ws://a.test/' };
  /** Two users, once the real socket under them is open (a new one when the last closed). */
  const pair = async () => {
    const [a, b] = [user(), user()];
    const sa = shared.open(endpoint, a.listener);
    const sb = shared.open(endpoint, b.listener);
    await settle();
    const real = fake.last()!;
    real.accept();
    await settle();
    return { a, sa, b, sb, real };
  };
  /** The requests a real socket was sent, by method. */
  const methods = (socket: FakeSocket) => (socket.sentJson() as Array<{ method: string }>).map((m) => m.method);
  return { clock, fake, shared, pair, methods, refuse };
}

/** A shared socket closed by a message too big, under one user's big call and the other's small one. */
async function afterTooBig() {
  const t = setup();
  const first = await t.pair();
  first.sa.send(request(1, BIG));
  first.sb.send(request(1, SMALL));
  first.real.tooBig();
  await settle();
  expect(first.a.events.at(-1)).toMatchObject({ type: 'close', info: { messageTooBig: true } });
  expect(first.b.events.at(-1)).toMatchObject({ type: 'close', info: { messageTooBig: true } });
  // The sessions connect again (after retryAfterMs: the socket closed right after it opened) and
  // send their calls again, under new ids, as a session does.
  await t.clock.advance(250);
  const second = await t.pair();
  return { ...t, first, second };
}

describe('SharedSocketTransport: a message too big for the real socket', () => {
  it('sends the calls that were in flight again each alone in flight on a socket: the small one is answered, the big one alone fails FRAME_TOO_LARGE', async () => {
    const { fake, shared, second, methods } = await afterTooBig();
    expect(shared.stats()).toMatchObject({ isolated: 0, isolatedTooLarge: 0 });
    second.sb.send(request(7, SMALL), ISOLATE);
    second.sa.send(request(9, BIG), ISOLATE);
    // Neither went on the new shared socket: the lane opened a socket for each, and the first to
    // open takes them in turn.
    expect(methods(second.real)).toEqual([]);
    expect(fake.sockets.at(-2)).not.toBe(second.real);
    const lane = fake.last()!;
    expect(lane).not.toBe(second.real);
    lane.accept();
    expect(methods(lane)).toEqual(['eth_getBalance']);
    const [small] = lane.sentJson() as Array<{ id: number }>;
    lane.receive(`{"jsonrpc":"2.0","id":${small!.id},"result":"0x0"}`);
    expect(second.b.messages()).toEqual([{ jsonrpc: '2.0', id: 7, result: '0x0' }]);
    // Then the big one, alone on the socket.
    expect(methods(lane)).toEqual(['eth_getBalance', 'eth_call']);
    lane.tooBig();
    await settle();
    expect(second.a.messages()).toEqual([
      {
        jsonrpc: '2.0',
        id: 9,
        error: { code: RpcErrorCode.FRAME_TOO_LARGE, message: expect.stringMatching(/^The answer to eth_call was larger than the socket takes .*: it failed a socket it was alone in flight on; not sent again$/) },
      },
    ]);
    // No user's socket closed for it; the shared socket carries on.
    expect(second.a.types()).toEqual(['open', 'message']);
    expect(second.b.types()).toEqual(['open', 'message']);
    expect(second.real.state).toBe('open');
    expect(fake.openSockets).toEqual([second.real]);
    expect(shared.stats()).toMatchObject({ isolated: 2, isolatedTooLarge: 1 });
  });

  it('tells each user, when the next shared socket too closes on a message too big, which of its calls were on it: not those on a socket of their own', async () => {
    const { fake, second, methods } = await afterTooBig();
    second.sb.send(request(7, SMALL), ISOLATE); // sent again: on a socket of its own
    second.sb.send(request(8, { method: 'eth_blockNumber', params: [] })); // new: on the shared socket
    second.sa.send(request(9, { method: 'eth_call', params: [{ to: '0x00000000000000000000000000000000000000b2' }, 'latest'] })); // a new big one
    expect(methods(second.real)).toEqual(['eth_blockNumber', 'eth_call']);
    expect(methods(fake.sockets.at(-1)!)).toEqual([]); // the lane's socket, connecting
    second.real.tooBig();
    await settle();
    expect(second.b.events.at(-1)).toMatchObject({ type: 'close', info: { messageTooBig: true, tooBigSuspects: [8] } });
    expect(second.a.events.at(-1)).toMatchObject({ type: 'close', info: { messageTooBig: true, tooBigSuspects: [9] } });
  });

  it('does not pace opens after a socket a message too big closed right after it opened: the node answered', async () => {
    const { fake, shared } = setup();
    const endpoint = { url: 'ws://a.test/' };
    const a = user();
    const sa = shared.open(endpoint, a.listener);
    await settle();
    const real = fake.last()!;
    real.accept();
    await settle();
    sa.send(request(1, BIG));
    real.tooBig();
    await settle();
    // At once, with no time passed: a new real socket, not the last close again.
    const b = user();
    shared.open(endpoint, b.listener);
    await settle();
    expect(fake.last()).not.toBe(real);
    expect(b.types()).toEqual([]);
    fake.last()!.accept();
    expect(b.types()).toEqual(['open']);
  });

  it('sends a call sent again on a socket of its own to the node its session is on now', async () => {
    const { fake, shared, first, methods } = await afterTooBig();
    const u = user();
    const socket = shared.open({ url: 'ws://b.test/' }, u.listener);
    await settle();
    const b = fake.last()!;
    b.accept();
    await settle();
    socket.send(request(3, SMALL), ISOLATE);
    expect(methods(b)).toEqual([]);
    const lane = fake.last()!;
    expect(lane.endpoint.url).toBe('ws://b.test/');
    lane.accept();
    expect(methods(lane)).toEqual(['eth_getBalance']);
    expect(first.real.endpoint.url).toBe('ws://a.test/');
  });

  it('sends a call without isolate on the shared socket as before, and one with it on a socket of its own each time', async () => {
    const { fake, second, methods } = await afterTooBig();
    second.sb.send(request(2, { method: 'eth_blockNumber', params: [] }));
    second.sb.send(request(3, SMALL));
    expect(methods(second.real)).toEqual(['eth_blockNumber', 'eth_getBalance']);
    second.sb.send(request(4, SMALL), ISOLATE);
    second.sb.send(request(5, SMALL), ISOLATE); // sent again: its session's socket closed while it waited, say
    expect(methods(second.real)).toEqual(['eth_blockNumber', 'eth_getBalance']);
    const lane = fake.last()!;
    lane.accept();
    const answer = () => lane.receive(`{"jsonrpc":"2.0","id":${(lane.sentJson().at(-1) as { id: number }).id},"result":"0x0"}`);
    answer();
    answer();
    expect(methods(lane)).toEqual(['eth_getBalance', 'eth_getBalance']);
    expect(second.b.messages().map((m) => m.id)).toEqual([4, 5]);
  });

  it('keeps eth_chainId (the keepalive, answered from the socket while it is alive) on the shared socket, even with isolate', async () => {
    const { fake, second } = await afterTooBig();
    const sockets = fake.sockets.length;
    second.sb.send(request(6, { method: 'eth_chainId', params: [] }), ISOLATE);
    await settle();
    expect(fake.sockets).toHaveLength(sockets); // no socket of its own
  });

  it('a lane socket lost otherwise closes the socket of the user whose call was on it (its session decides); the calls on its other sockets go on', async () => {
    const { fake, second, methods } = await afterTooBig();
    second.sa.send(request(9, BIG), ISOLATE);
    second.sb.send(request(7, SMALL), ISOLATE);
    const [first, other] = fake.sockets.slice(-2);
    first!.accept();
    other!.accept();
    expect(methods(first!)).toEqual(['eth_call']);
    expect(methods(other!)).toEqual(['eth_getBalance']);
    first!.serverClose(1011, 'node restarting');
    await settle();
    expect(second.a.events.at(-1)).toMatchObject({ type: 'close', info: { code: 1011 } });
    expect(second.a.events.at(-1)).not.toMatchObject({ info: { messageTooBig: true } });
    other!.receive(`{"jsonrpc":"2.0","id":${(other!.sentJson()[0] as { id: number }).id},"result":"0x0"}`);
    expect(second.b.messages()).toEqual([{ jsonrpc: '2.0', id: 7, result: '0x0' }]);
    expect(second.b.types()).toEqual(['open', 'message']);
    // The shared socket lost a user, not its life.
    expect(second.real.state).toBe('open');
  });

  it('a slow call does not hold up the next: each has a socket of its own, up to four at once', async () => {
    const { fake, second, methods } = await afterTooBig();
    const before = fake.sockets.length;
    for (let id = 10; id < 16; id++) second.sb.send(request(id, SMALL), ISOLATE);
    const lanes = fake.sockets.slice(before);
    expect(lanes).toHaveLength(4);
    for (const lane of lanes) lane.accept();
    expect(lanes.map((lane) => methods(lane).length)).toEqual([1, 1, 1, 1]);
    // The first never answers; the other three do, and take the two left in turn.
    for (const lane of lanes.slice(1)) lane.receive(`{"jsonrpc":"2.0","id":${(lane.sentJson()[0] as { id: number }).id},"result":"0x0"}`);
    for (const lane of lanes.slice(1, 3)) lane.receive(`{"jsonrpc":"2.0","id":${(lane.sentJson()[1] as { id: number }).id},"result":"0x0"}`);
    expect(second.b.messages().map((m) => m.id)).toEqual([11, 12, 13, 14, 15]);
    expect(fake.sockets).toHaveLength(before + 4);
    // Nothing left to send: the lane keeps only the socket whose call is still in flight.
    expect(lanes.map((lane) => lane.state === 'open')).toEqual([true, false, false, false]);
  });

  it('a lane socket that cannot connect closes the sockets of every user waiting on it', async () => {
    const { fake, second } = await afterTooBig();
    second.sa.send(request(9, BIG), ISOLATE);
    second.sb.send(request(7, SMALL), ISOLATE);
    fake.last()!.refuse(503);
    await settle();
    expect(second.a.types()).toEqual(['open', 'close']);
    expect(second.b.types()).toEqual(['open', 'close']);
  });

  it('gives up on a lane socket that does not open within 5 s, as on a socket lost', async () => {
    const { clock, fake, second } = await afterTooBig();
    second.sa.send(request(9, BIG), ISOLATE);
    const lane = fake.last()!;
    await clock.advance(4_999);
    expect(second.a.types()).toEqual(['open']);
    await clock.advance(1);
    expect(lane.terminated).toBe(true);
    expect(second.a.events.at(-1)).toMatchObject({ type: 'close', info: { code: 1006, reason: 'steadyrpc: no open within 5000 ms' } });
  });

  it('answers REQUEST_TIMEOUT for a call not answered within 30 s, and lets that socket go; the user socket stays', async () => {
    const { clock, fake, second, methods } = await afterTooBig();
    second.sa.send(request(9, BIG), ISOLATE);
    const lane = fake.last()!;
    lane.accept();
    expect(methods(lane)).toEqual(['eth_call']);
    await clock.advance(29_999);
    expect(second.a.types()).toEqual(['open']);
    await clock.advance(1);
    expect(second.a.messages()).toEqual([{ jsonrpc: '2.0', id: 9, error: { code: RpcErrorCode.REQUEST_TIMEOUT, message: 'No answer to eth_call within 30000 ms on the socket it was sent on apart' } }]);
    expect(second.a.types()).toEqual(['open', 'message']);
    expect(lane.state).not.toBe('open');
  });

  it('a transport that throws when the lane opens its socket: a connect that failed, told after the send', async () => {
    const { second, refuse } = await afterTooBig();
    refuse();
    expect(() => second.sb.send(request(7, SMALL), ISOLATE)).not.toThrow();
    expect(second.b.types()).toEqual(['open']);
    await settle();
    expect(second.b.types()).toEqual(['open', 'close']);
  });

  it('does not send the call of a user that left while it waited, and passes on only the JSON-RPC members of an answer', async () => {
    const { fake, second, methods } = await afterTooBig();
    second.sb.send(request(7, SMALL), ISOLATE);
    second.sa.send(request(9, BIG), ISOLATE);
    second.sa.close();
    const lane = fake.last()!;
    lane.accept();
    const [small] = lane.sentJson() as Array<{ id: number }>;
    lane.receive(`{"jsonrpc":"2.0","id":${small!.id},"result":"0x0", "extra":1}`);
    expect(second.b.events.filter((e) => e.type === 'message').map((e) => (e as { text: string }).text)).toEqual(['{"jsonrpc":"2.0","id":7,"result":"0x0"}']);
    // Nothing else to send: the lane's socket is let go.
    expect(methods(lane)).toEqual(['eth_getBalance']);
    expect(lane.state).not.toBe('open');
  });
});

describe('IsolationLane: connects and deadlines', () => {
  it('a connect refused while another of its sockets is open opens no other: the call waits for the open one', async () => {
    const { fake, second, methods } = await afterTooBig();
    const before = fake.sockets.length;
    second.sa.send(request(9, BIG), ISOLATE);
    second.sb.send(request(7, SMALL), ISOLATE);
    const [open, refused] = fake.sockets.slice(before);
    open!.accept();
    expect(methods(open!)).toEqual(['eth_call']);
    refused!.refuse(429);
    await settle();
    // No socket after it, however long the open one takes (within its deadline).
    expect(fake.sockets).toHaveLength(before + 2);
    expect(second.b.types()).toEqual(['open']);
    open!.receive(`{"jsonrpc":"2.0","id":${(open!.sentJson()[0] as { id: number }).id},"result":"0x1"}`);
    expect(methods(open!)).toEqual(['eth_call', 'eth_getBalance']);
    open!.receive(`{"jsonrpc":"2.0","id":${(open!.sentJson()[1] as { id: number }).id},"result":"0x0"}`);
    expect(second.b.messages()).toEqual([{ jsonrpc: '2.0', id: 7, result: '0x0' }]);
    expect(fake.sockets).toHaveLength(before + 2);
  });

  it("waits as long as the call's session said it waits (SendOptions.timeoutMs), and a second more", async () => {
    const { clock, fake, second } = await afterTooBig();
    second.sa.send(request(9, BIG), { isolate: true, timeoutMs: 120_000 });
    const lane = fake.last()!;
    lane.accept();
    await clock.advance(120_999);
    expect(second.a.messages()).toEqual([]);
    await clock.advance(1);
    expect(second.a.messages()).toEqual([{ jsonrpc: '2.0', id: 9, error: { code: RpcErrorCode.REQUEST_TIMEOUT, message: 'No answer to eth_call within 121000 ms on the socket it was sent on apart' } }]);
  });
});
