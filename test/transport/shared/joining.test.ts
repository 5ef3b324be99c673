import { describe, expect, it } from 'vitest';
import { SharedSocketTransport } from '../../../src/index.js';
import { FakeClock, FakeEnvironment, FakeSocketTransport, type FakeSocket } from '../../../src/testing/index.js';
import { rpc, world, type Mode } from '../../helpers/sharedWorld.js';
import { settle, user } from '../../helpers/sharedUser.js';

/**
 * Who is let onto a real socket that is already open. A session's own socket opens only on a node
 * that answers (a TCP connect and a handshake); a virtual socket on a shared one opens once the
 * node has been heard on it after the open (its next frame, or the answer to one eth_chainId asked
 * for every open waiting), and on a fresh real socket when it is not heard within a second.
 */

const NODE_SPEAKS = '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xnone","result":"0x1"}}';
const probesOn = (socket: FakeSocket) => (socket.sentJson() as Array<{ id: number; method: string }>).filter((m) => m.method === 'eth_chainId');

/** A shared transport with `established` users on an open real socket that last spoke at t = 0. */
async function onOpenSocket(established = 1) {
  const clock = new FakeClock();
  const fake = new FakeSocketTransport();
  const shared = new SharedSocketTransport({ transport: fake, clock, random: () => 0.5 });
  const endpoint = { url: 'ws://a.test/' };
  const first = Array.from({ length: established }, () => {
    const u = user();
    return { u, socket: shared.open(endpoint, u.listener) };
  });
  await settle();
  const server = fake.last()!;
  server.accept();
  return { clock, fake, shared, endpoint, server, first };
}

describe('SharedSocketTransport: joining a real socket that is open', () => {
  it('lets a newcomer on with the next frame from the node: on a busy socket, no probe', async () => {
    const { clock, shared, endpoint, server } = await onOpenSocket();
    const c = user();
    shared.open(endpoint, c.listener);
    await clock.advance(50);
    expect(c.types()).toEqual([]);
    server.receive(NODE_SPEAKS);
    expect(c.types()).toEqual(['open']);
    // Frames keep coming: joins never cost a call.
    for (let i = 0; i < 20; i++) {
      const u = user();
      shared.open(endpoint, u.listener);
      await clock.advance(50);
      server.receive(NODE_SPEAKS);
      expect(u.types()).toEqual(['open']);
    }
    expect(probesOn(server)).toEqual([]);
  });

  it('asks a quiet node once for a whole burst of newcomers, and lets them all on with its answer', async () => {
    const { clock, shared, endpoint, server } = await onOpenSocket();
    await clock.advance(5_000);
    const burst = Array.from({ length: 1_000 }, () => user());
    for (const u of burst) shared.open(endpoint, u.listener);
    const probes = probesOn(server);
    expect(probes).toHaveLength(1);
    await settle();
    expect(burst.every((u) => u.types().length === 0)).toBe(true);
    server.receive(`{"jsonrpc":"2.0","id":${probes[0]!.id},"result":"0x1"}`);
    expect(burst.every((u) => u.types().join() === 'open')).toBe(true);
    expect(shared.stats()).toMatchObject({ sockets: 1, users: 1_001, unroutable: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('waits for a frame for 100 ms after the last one before it asks', async () => {
    const { clock, shared, endpoint, server } = await onOpenSocket();
    await clock.advance(30);
    const c = user();
    shared.open(endpoint, c.listener);
    await clock.advance(69);
    expect(probesOn(server)).toHaveLength(0);
    await clock.advance(1);
    expect(probesOn(server)).toHaveLength(1);
  });

  it('gives the newcomers a fresh real socket (one connect for all) when the node does not answer within 1 s; the sessions on the old one stay', async () => {
    const { clock, fake, shared, endpoint, server, first } = await onOpenSocket(2);
    const late = [user(), user(), user()];
    for (const u of late) shared.open(endpoint, u.listener);
    await clock.advance(1_099); // 100 ms of quiet, then the probe's second
    expect(fake.sockets).toHaveLength(1);
    await clock.advance(1);
    expect(fake.sockets).toHaveLength(2);
    const fresh = fake.last()!;
    expect(fresh.endpoint).toBe(endpoint);
    fresh.accept();
    for (const u of late) expect(u.types()).toEqual(['open']);
    for (const { u } of first) expect(u.types()).toEqual(['open']); // left to their own keepalive
    expect(server.state).toBe('open');
    expect(shared.stats()).toMatchObject({ sockets: 2, users: 5 });
    // The old socket takes no new users.
    const next = user();
    shared.open(endpoint, next.listener);
    await settle();
    expect(next.types()).toEqual([]);
    fresh.receive(NODE_SPEAKS);
    expect(next.types()).toEqual(['open']);
    expect(fake.sockets).toHaveLength(2);
    // Its sessions leave: it is closed.
    for (const { socket } of first) socket.close();
    expect(server.state).toBe('closed');
    expect(shared.stats()).toMatchObject({ sockets: 1, users: 4 });
  });

  it('with nobody else on the silent socket, lets it go when it moves the newcomer', async () => {
    const { clock, fake, shared, endpoint, server, first } = await onOpenSocket(1);
    const c = user();
    shared.open(endpoint, c.listener);
    first[0]!.socket.close(); // the only other user leaves
    expect(server.state).toBe('open');
    await clock.advance(1_100);
    expect(server.terminated).toBe(true);
    expect(fake.sockets).toHaveLength(2);
    expect(shared.stats()).toMatchObject({ sockets: 1, users: 1 });
  });

  it('a newcomer that leaves while it waits leaves no probe timer behind', async () => {
    const { clock, shared, endpoint, first } = await onOpenSocket(1);
    const c = user();
    const sc = shared.open(endpoint, c.listener);
    sc.close();
    await settle();
    expect(clock.pendingTimers).toBe(0);
    first[0]!.socket.close();
    expect(shared.stats()).toMatchObject({ sockets: 0, users: 0 });
  });

  it('answers a subscribe from a subscription the socket has, and an unsubscribe, at once only while the node was heard within 100 ms; else once it is heard', async () => {
    const { clock, server, first } = await onOpenSocket(1);
    const [{ u: a, socket: sa }] = first as [{ u: ReturnType<typeof user>; socket: ReturnType<SharedSocketTransport['open']> }];
    sa.send(JSON.stringify(rpc(1, 'eth_subscribe', ['newHeads'])));
    server.receiveJson({ jsonrpc: '2.0', id: (server.sentJson()[0] as { id: number }).id, result: '0xup' });
    sa.send(JSON.stringify(rpc(2, 'eth_subscribe', ['newHeads'])));
    await settle();
    expect(a.messages().map((m) => m.id)).toEqual([1, 2]); // just heard: at once
    await clock.advance(100);
    sa.send(JSON.stringify(rpc(3, 'eth_subscribe', ['newHeads'])));
    sa.send(JSON.stringify(rpc(4, 'eth_unsubscribe', [a.messages()[0].result])));
    await settle();
    expect(a.messages()).toHaveLength(2);
    expect(probesOn(server)).toHaveLength(1);
    server.receive('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xup","result":"0x1"}}');
    // The frame first (to the members it was for: not id 1's, unsubscribed), then the answers in
    // order, the newcomer's with what was held for it.
    const [note, answer3, held, answer4] = a.messages().slice(2);
    expect(note).toEqual({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: a.messages()[1].result, result: '0x1' } });
    expect(answer3).toEqual({ jsonrpc: '2.0', id: 3, result: expect.any(String) });
    expect(held).toEqual({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: answer3.result, result: '0x1' } });
    expect(answer4).toEqual({ jsonrpc: '2.0', id: 4, result: true });
    expect(a.messages()).toHaveLength(6);
  });
});

describe('SharedSocketTransport: a connect one user gives up on', () => {
  it('is abandoned by the users that came with it, and a user that came 1 s or more later gets a connect of its own', async () => {
    const clock = new FakeClock();
    const fake = new FakeSocketTransport();
    const shared = new SharedSocketTransport({ transport: fake, clock });
    const endpoint = { url: 'ws://a.test/' };
    const early = [user(), user()];
    const sockets = early.map((u) => shared.open(endpoint, u.listener));
    await clock.advance(999);
    const soon = user();
    shared.open(endpoint, soon.listener);
    await clock.advance(1);
    const later = user();
    shared.open(endpoint, later.listener);
    await clock.advance(4_000);
    sockets[0]!.terminate(); // its connect deadline
    await settle();
    expect(fake.sockets[0]!.terminated).toBe(true);
    for (const u of [early[1]!, soon]) expect(u.events.at(-1)).toEqual({ type: 'close', info: { code: 1006, reason: '' } });
    expect(later.types()).toEqual([]);
    expect(fake.sockets).toHaveLength(2);
    fake.last()!.accept();
    expect(later.types()).toEqual(['open']);
  });
});

/**
 * Node a goes silent (blackholed: its open sockets pass nothing, new sockets never open) while a
 * session is on it. A new session starts 1.5 s later and at once sends a write. On a socket of its
 * own the new session never gets onto a (its connect hangs until its deadline): the write waits
 * in its queue and goes to b.
 */
async function zombieJoin(mode: Mode) {
  const w = await world(mode, 1);
  const [a] = w.clients as [any];
  a.send(rpc(1, 'eth_subscribe', ['newHeads']));
  await w.settle();
  w.nodes.a.blackhole();
  await w.clock.advance(1_500);
  const c = w.addClient();
  await w.settle();
  const nodeAtStart = c.session.node;
  c.send(rpc(1, 'eth_subscribe', ['newHeads']));
  c.send(rpc(2, 'eth_sendTransaction', [{ from: '0x01', to: '0x02' }])); // not safe to send twice
  await w.clock.advance(10_000);
  return { nodeAtStart, subscribe: c.answers(1), write: c.answers(2), node: c.session.node };
}

describe('a session that opens onto a shared socket whose node has gone silent', () => {
  it('is not put on the silent node: its write reaches a live node, as on its own socket', async () => {
    const own = await zombieJoin('own');
    expect(own.nodeAtStart).toBeUndefined();
    expect(own.write).toHaveLength(1);
    expect(own.write[0].error?.code).not.toBe(-32053); // NOT_RESENT
    const shared = await zombieJoin('shared');
    expect(shared.node).toBe('b');
    expect(shared.write).toEqual(own.write);
    expect(shared.subscribe).toHaveLength(1);
    expect(shared.nodeAtStart).toBe(own.nodeAtStart);
  });
});

/**
 * `reconnect()` (and the environment's `online`) move a session to a fresh socket, make-before-break,
 * because "the old one may have died with the old network" (docs/reference.md). Here the socket in
 * use has gone dead without a close (a network change) just after its last frame, while the node
 * itself accepts new sockets. On the shared transport the move waits for the node to be heard
 * (1.1 s at most here: 100 ms of quiet, then the probe's second) and then gets a fresh socket.
 */
async function freshSocket(mode: Mode, how: 'reconnect' | 'online', sessions = 1) {
  const environment = new FakeEnvironment();
  const w = await world(mode, sessions, { session: { environment } });
  for (const c of w.clients) c.send(rpc(1, 'eth_subscribe', ['newHeads']));
  await w.settle();
  for (const socket of w.fake.openSockets) socket.receive = () => {}; // dead: nothing comes in any more
  const switches: string[][] = w.clients.map(() => []);
  w.clients.forEach((c, i) => c.session.on('switch', (e: any) => switches[i]!.push(e.reason)));
  if (how === 'reconnect') for (const c of w.clients) c.session.reconnect();
  else {
    environment.goOffline();
    environment.goOnline();
  }
  await w.clock.advance(1_500);
  w.nodes.a.advance(1);
  await w.clock.advance(100);
  return {
    heads: w.clients.map((c) => c.notes(c.subId(1)).map((h: any) => Number(h.number))),
    switches,
    nodes: w.clients.map((c) => c.session.node),
    sockets: w.fake.sockets.length,
    probes: w.fake.sockets.flatMap((s) => probesOn(s)).length,
    upstream: w.nodes.a.subscriptionCount,
  };
}

describe('reconnect() and online on a shared transport', () => {
  it('reconnect() moves the session to a fresh socket, as on its own socket', async () => {
    const own = await freshSocket('own', 'reconnect');
    expect(own).toMatchObject({ switches: [['forced']], heads: [[101]], nodes: ['a'] });
    const shared = await freshSocket('shared', 'reconnect');
    expect(shared).toMatchObject({ switches: own.switches, heads: own.heads, nodes: own.nodes });
    expect(shared.sockets).toBe(2);
  });

  it('online moves every session to one fresh socket (one probe, one connect), as each moves on its own socket', async () => {
    const own = await freshSocket('own', 'online', 20);
    expect(own.switches).toEqual(Array(20).fill(['online']));
    expect(own.heads).toEqual(Array(20).fill([101]));
    const shared = await freshSocket('shared', 'online', 20);
    expect(shared).toMatchObject({ switches: own.switches, heads: own.heads, nodes: own.nodes });
    expect(shared).toMatchObject({ sockets: 2, probes: 1, upstream: 1 });
  });
});
