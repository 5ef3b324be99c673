import { describe, expect, it } from 'vitest';
import { NodePool, SharedSocketTransport, UpstreamSession } from '../../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeSocketTransport, type FakeSocket } from '../../../src/testing/index.js';
import { normalizedWithSubs, rpc, world, type Mode, type World } from '../../helpers/sharedWorld.js';

/**
 * Differential tests: each scenario runs with every session on one SharedSocketTransport and with
 * every session on sockets of its own (test/helpers/sharedWorld.ts), and what each client saw is
 * compared; the per-session sockets are the oracle.
 */

async function sanityScenario(mode: Mode) {
  const w = await world(mode, 2);
  const [a, b] = w.clients as [any, any];
  a.send(rpc(1, 'eth_subscribe', ['newHeads']));
  b.send(rpc(1, 'eth_subscribe', ['newHeads']));
  await w.settle();
  w.nodes.a.advance(1);
  w.nodes.b.advance(1);
  await w.settle();
  w.nodes.a.cut();
  await w.settle();
  w.nodes.b.advance(2);
  await w.settle();
  return w.clients.map((c) => normalizedWithSubs(c.received, [1]));
}

describe('differential sanity', () => {
  it('same view on shared and own sockets', async () => {
    const own = await sanityScenario('own');
    const shared = await sanityScenario('shared');
    expect(shared).toEqual(own);
    expect(own[0]!.length).toBeGreaterThan(3);
  });
});

/** Runs `script` on both transports and compares what each client saw (subscription ids named by order). */
async function compare(script: (w: World) => Promise<unknown[]>, options: Parameters<typeof world>[2] & { count?: number } = {}) {
  const run = async (mode: Mode) => {
    const w = await world(mode, options.count ?? 2, options);
    const subscribeIds = await script(w);
    return w.clients.map((c) => normalizedWithSubs(c.received, subscribeIds));
  };
  const own = await run('own');
  const shared = await run('shared');
  return { own, shared };
}

const mineChain = async (w: World, blocks: number, on = [w.nodes.a, w.nodes.b]) => {
  for (let i = 0; i < blocks; i++) {
    for (const node of on) node.advance(1);
    on[0]!.emitLog();
  }
  await w.settle();
};

describe('the same scenario on shared and own sockets', () => {
  it('two sessions subscribe to the same params in the same tick (one subscribe in flight while the other arrives)', async () => {
    const { own, shared } = await compare(async (w) => {
      for (const c of w.clients) c.send(rpc(1, 'eth_subscribe', ['newHeads']));
      for (const c of w.clients) c.send(rpc(2, 'eth_subscribe', ['newHeads']));
      await w.settle();
      w.nodes.a.advance(2);
      await w.settle();
      return [1, 2];
    });
    expect(shared).toEqual(own);
  });

  it('the node refuses a shared eth_subscribe: every waiter gets the error under its own id', async () => {
    const { own, shared } = await compare(async (w) => {
      for (const c of w.clients) c.send(rpc(7, 'eth_subscribe', ['bogus']));
      await w.settle();
      return [7];
    });
    expect(shared).toEqual(own);
  });

  it('a session closes while its subscribe is in flight; the other still gets its subscription', async () => {
    const { own, shared } = await compare(async (w) => {
      const [a, b] = w.clients as [any, any];
      a.send(rpc(1, 'eth_subscribe', ['newHeads']));
      b.send(rpc(1, 'eth_subscribe', ['newHeads']));
      a.session.close();
      await w.settle();
      w.nodes.a.advance(1);
      await w.settle();
      return [1];
    });
    expect(shared).toEqual(own);
  });

  it('unsubscribe in one session in the same tick another joins: the other keeps its notifications', async () => {
    const { own, shared } = await compare(async (w) => {
      const [a, b] = w.clients as [any, any];
      a.send(rpc(1, 'eth_subscribe', ['newHeads']));
      await w.settle();
      a.send(rpc(2, 'eth_unsubscribe', [a.subId(1)]));
      b.send(rpc(1, 'eth_subscribe', ['newHeads']));
      await w.settle();
      w.nodes.a.advance(1);
      await w.settle();
      a.send(rpc(3, 'eth_subscribe', ['newHeads']));
      b.send(rpc(4, 'eth_unsubscribe', [b.subId(1)]));
      await w.settle();
      w.nodes.a.advance(1);
      await w.settle();
      return [1, 3];
    });
    expect(shared).toEqual(own);
  });

  it('colliding client ids: a batch in one session, singles in the other', async () => {
    const { own, shared } = await compare(async (w) => {
      const [a, b] = w.clients as [any, any];
      a.send([rpc(1, 'eth_blockNumber'), rpc(2, 'eth_chainId'), rpc(1, 'eth_getBalance', ['0x01', 'latest']), rpc(3, 'eth_subscribe', ['newHeads'])]);
      b.send(rpc(1, 'eth_getBalance', ['0x02', 'latest']));
      b.send(rpc(2, 'eth_blockNumber'));
      b.send(rpc(3, 'eth_subscribe', ['newHeads']));
      await w.settle();
      w.nodes.a.advance(1);
      await w.settle();
      return [3];
    });
    // JSON-RPC does not order answers to different requests: compare answers as a set, notifications in order.
    const canon = (seen: any[][]) =>
      seen.map((list) => ({
        answers: list.filter((m) => !m.method).map((m) => JSON.stringify(m)).sort(),
        notes: list.filter((m) => m.method),
      }));
    expect(canon(shared)).toEqual(canon(own));
  });

  it('logs filters that differ only in key order or address case each get their own stream', async () => {
    const { own, shared } = await compare(async (w) => {
      const [a, b] = w.clients as [any, any];
      a.send(rpc(1, 'eth_subscribe', ['logs', { address: '0x0000000000000000000000000000000000000001', topics: [] }]));
      b.send(rpc(1, 'eth_subscribe', ['logs', { topics: [], address: '0x0000000000000000000000000000000000000001' }]));
      a.send(rpc(2, 'eth_subscribe', ['logs', { address: '0x000000000000000000000000000000000000000A' }]));
      b.send(rpc(2, 'eth_subscribe', ['logs', { address: '0x000000000000000000000000000000000000000a' }]));
      await w.settle();
      w.nodes.a.emitLog('0x0000000000000000000000000000000000000001');
      w.nodes.a.emitLog('0x000000000000000000000000000000000000000a');
      w.nodes.a.emitLog('0x000000000000000000000000000000000000000A');
      await w.settle();
      return [1, 2];
    });
    expect(shared).toEqual(own);
  });

  it('newHeads: one session from the start, one joined late, then a failover with backfill', async () => {
    const { own, shared } = await compare(async (w) => {
      const [a, b] = w.clients as [any, any];
      a.send(rpc(1, 'eth_subscribe', ['newHeads']));
      await w.settle();
      w.nodes.a.advance(1);
      w.nodes.b.advance(1);
      await w.settle();
      b.send(rpc(1, 'eth_subscribe', ['newHeads']));
      await w.settle();
      w.nodes.a.advance(2);
      w.nodes.b.advance(2);
      await w.settle();
      w.nodes.a.cut();
      w.nodes.b.advance(3);
      await w.settle();
      w.nodes.b.advance(1);
      await w.settle();
      return [1];
    });
    expect(shared).toEqual(own);
  }, 20_000);

  it('fork at the switch: shared logs+newHeads in one session, only newHeads in the other', async () => {
    const { own, shared } = await compare(async (w) => {
      const [a, b] = w.clients as [any, any];
      a.send(rpc(1, 'eth_subscribe', ['newHeads']));
      a.send(rpc(2, 'eth_subscribe', ['logs', {}]));
      b.send(rpc(1, 'eth_subscribe', ['newHeads']));
      await w.settle();
      await mineChain(w, 5);
      b.send(rpc(2, 'eth_subscribe', ['logs', {}])); // b joins logs late
      await w.settle();
      await mineChain(w, 3);
      w.nodes.b.forkAt(2, 3);
      w.nodes.b.emitLog();
      w.pool.update('b', { head: w.nodes.b.head });
      w.nodes.a.cut();
      await w.settle();
      w.nodes.b.advance(1);
      await w.settle();
      return [1, 2];
    }, { chain: true });
    expect(shared).toEqual(own);
  }, 20_000);

  it('the node in use reorgs under shared logs subscriptions (one joined after the retracted logs)', async () => {
    const { own, shared } = await compare(async (w) => {
      const [a, b] = w.clients as [any, any];
      a.send(rpc(2, 'eth_subscribe', ['logs', {}]));
      a.send(rpc(1, 'eth_subscribe', ['newHeads']));
      await w.settle();
      await mineChain(w, 3);
      b.send(rpc(2, 'eth_subscribe', ['logs', {}]));
      b.send(rpc(1, 'eth_subscribe', ['newHeads']));
      await w.settle();
      await mineChain(w, 1);
      w.nodes.a.forkAt(2, 3);
      w.nodes.a.emitLog();
      await w.settle();
      return [1, 2];
    }, { chain: true });
    expect(shared).toEqual(own);
  }, 20_000);

  it('failback to the restored primary: every session back, ids kept, no duplicate or gap', async () => {
    const { own, shared } = await compare(async (w) => {
      for (const c of w.clients) c.send(rpc(1, 'eth_subscribe', ['newHeads']));
      w.clients[0]!.send(rpc(2, 'eth_subscribe', ['logs', {}]));
      await w.settle();
      await mineChain(w, 2);
      w.nodes.a.cut();
      w.pool.update('a', { status: 'unhealthy' });
      await w.settle();
      await mineChain(w, 2, [w.nodes.b, w.nodes.a]);
      w.nodes.a.restore();
      w.pool.update('a', { status: 'healthy', head: w.nodes.a.head });
      await w.clock.advance(15_000);
      await mineChain(w, 2);
      return [1, 2];
    }, { chain: true });
    expect(shared).toEqual(own);
    expect(shared[0]!.filter((m: any) => m.method).length).toBeGreaterThan(5);
  }, 20_000);

  it('many sessions (50) with colliding ids and the same subscriptions fail over together', async () => {
    const { own, shared } = await compare(async (w) => {
      for (const c of w.clients) {
        c.send(rpc(1, 'eth_subscribe', ['newHeads']));
        c.send(rpc(1, 'eth_blockNumber'));
      }
      await w.settle();
      w.nodes.a.advance(1);
      w.nodes.b.advance(1);
      await w.settle();
      w.nodes.a.cut();
      for (const c of w.clients) c.send(rpc(2, 'eth_getBalance', ['0x01', 'latest']));
      w.nodes.b.advance(1);
      await w.settle();
      w.nodes.b.advance(1);
      await w.settle();
      return [1];
    }, { count: 50 });
    expect(shared).toEqual(own);
  }, 20_000);

  it('the socket closes mid-batch: every item answered once, repeatable ones re-sent on b', async () => {
    const { own, shared } = await compare(async (w) => {
      const [a, b] = w.clients as [any, any];
      a.send([rpc(1, 'eth_blockNumber'), rpc(2, 'eth_getBalance', ['0x01', 'latest']), rpc(3, 'eth_sendRawTransaction', ['0x00'])]);
      b.send(rpc(1, 'eth_blockNumber'));
      w.nodes.a.cut();
      await w.settle();
      return [];
    });
    expect(shared).toEqual(own);
  });

  it('a call times out, and its answer arrives later: the client gets one answer (the timeout)', async () => {
    const { own, shared } = await compare(async (w) => {
      const [a, b] = w.clients as [any, any];
      for (const socket of w.fake.openSockets) {
        const receive = socket.receive.bind(socket);
        socket.receive = (text: string) => {
          if (text.endsWith(',"result":"0x0"}')) w.clock.setTimeout(() => receive(text), 40_000);
          else receive(text);
        };
      }
      a.send(rpc(1, 'eth_getBalance', ['0x01', 'latest']));
      b.send(rpc(1, 'eth_getBalance', ['0x01', 'latest']));
      await w.clock.advance(45_000);
      a.send(rpc(2, 'eth_blockNumber'));
      await w.settle();
      return [];
    });
    expect(shared).toEqual(own);
    expect(shared[0]!.filter((m: any) => m.id === 1)).toHaveLength(1);
  }, 20_000);

  it('reconnect() on a live socket: ids kept, no duplicate, no gap', async () => {
    const { own, shared } = await compare(async (w) => {
      for (const c of w.clients) c.send(rpc(1, 'eth_subscribe', ['newHeads']));
      await w.settle();
      w.nodes.a.advance(1);
      await w.settle();
      w.clients[0]!.session.reconnect();
      w.nodes.a.advance(1);
      await w.settle();
      w.nodes.a.advance(1);
      await w.settle();
      return [1];
    });
    expect(shared).toEqual(own);
  });

  it('per-session limits (maxSubscriptions 2, maxInFlight 3) hold per session, not across the shared socket', async () => {
    const { own, shared } = await compare(async (w) => {
      for (const c of w.clients) for (let i = 1; i <= 3; i++) c.send(rpc(i, 'eth_subscribe', ['newHeads']));
      await w.settle();
      for (const c of w.clients) c.send(rpc(4, 'eth_unsubscribe', [c.subId(1)]));
      await w.settle();
      for (const c of w.clients) c.send(rpc(5, 'eth_subscribe', ['newHeads']));
      await w.settle();
      w.nodes.a.blackhole();
      for (const c of w.clients) for (let i = 6; i <= 10; i++) c.send(rpc(i, 'eth_getBalance', ['0x01', 'latest']));
      await w.settle();
      return [1, 2, 3, 5];
    }, { session: { maxSubscriptions: 2, maxInFlight: 3 } });
    expect(shared).toEqual(own);
  });
});

/**
 * A node played by hand: every eth_subscribe gets the same subscription id (a node that reuses
 * ids), and the first notification of a new subscription comes before its subscribe answer.
 */
async function scriptedScenario(mode: Mode) {
  const clock = new FakeClock();
  const fake = new FakeSocketTransport();
  const sockets: FakeSocket[] = [];
  const live = new Map<FakeSocket, Set<string>>();
  fake.route('ws://a.test/', (socket) => {
    sockets.push(socket);
    live.set(socket, new Set());
    socket.onSend((text) => {
      const m = JSON.parse(text);
      if (m.method === 'eth_subscribe') {
        const kind = m.params[0];
        live.get(socket)!.add(kind);
        socket.receiveJson({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: '0xabc', result: `early-${kind}` } });
        socket.receiveJson({ jsonrpc: '2.0', id: m.id, result: '0xabc' });
      } else if (m.method === 'eth_unsubscribe') {
        live.get(socket)!.clear();
        socket.receiveJson({ jsonrpc: '2.0', id: m.id, result: true });
      } else socket.receiveJson({ jsonrpc: '2.0', id: m.id, result: '0x1' });
    });
    socket.accept();
  });
  const pool = new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.test/' }], clock, httpTransport: new FakeHttpTransport() });
  pool.update('a', { status: 'healthy', head: 1 });
  const transport = mode === 'shared' ? new SharedSocketTransport({ transport: fake, clock }) : fake;
  const clients = [0, 1].map(() => {
    const session = new UpstreamSession({ pool, transport, clock, continuity: false } as any);
    const received: any[] = [];
    session.on('message', (t) => received.push(JSON.parse(t)));
    return { session, received, send: (v: unknown) => session.send(JSON.stringify(v)) };
  });
  await clock.flush();
  const emit = (result: string) => {
    for (const [socket, kinds] of live) if (socket.state === 'open' && kinds.size > 0) socket.receiveJson({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: '0xabc', result } });
  };
  const [a, b] = clients as [any, any];
  a.send(rpc(1, 'eth_subscribe', ['newPendingTransactions']));
  await clock.flush();
  emit('tx1');
  a.send(rpc(2, 'eth_unsubscribe', [a.received.find((m: any) => m.id === 1).result]));
  await clock.flush();
  b.send(rpc(1, 'eth_subscribe', ['newHeads']));
  await clock.flush();
  emit('head1');
  await clock.flush();
  return clients.map((c) => normalizedWithSubs(c.received, [1]));
}

describe('a node that reuses subscription ids and notifies before the subscribe answer', () => {
  it('each client sees what it sees on its own socket', async () => {
    const own = await scriptedScenario('own');
    const shared = await scriptedScenario('shared');
    expect(shared).toEqual(own);
    expect(own[0]!.filter((m: any) => m.method).map((m: any) => m.params.result)).toEqual(['tx1']);
    expect(own[1]!.filter((m: any) => m.method).map((m: any) => m.params.result)).toEqual(['head1']);
  });
});

describe('closing every session leaves nothing behind', () => {
  it('with subscriptions, calls in flight and a subscribe the node never answered', async () => {
    const w = await world('shared', 5);
    w.clients.forEach((c, i) => {
      c.send(rpc(1, 'eth_subscribe', ['newHeads']));
      c.send(rpc(2, 'eth_subscribe', ['logs', { address: `0x${String(i).padStart(40, '0')}` }]));
    });
    await w.settle();
    w.nodes.a.blackhole();
    for (const c of w.clients) {
      c.send(rpc(3, 'eth_subscribe', ['newPendingTransactions']));
      c.send(rpc(4, 'eth_getBalance', ['0x01', 'latest']));
    }
    await w.clock.advance(1_000);
    for (const c of w.clients) c.session.close();
    await w.settle();
    expect(w.shared!.stats()).toMatchObject({ sockets: 0, users: 0, upstreamSubscriptions: 0, subscriptions: 0 });
    expect(w.fake.openSockets).toHaveLength(0);
    expect(w.clock.pendingTimers).toBe(0);
    for (const c of w.clients) expect(c.answers(4)).toHaveLength(1);
  });
});

/**
 * Client B sends `eth_unsubscribe` as a JSON-RPC notification (no id) naming the node's own
 * subscription id. A session passes one-way calls on as they are; on its own socket that can only
 * touch B's own socket. On a shared socket it reaches the node on the socket every session uses.
 * (FakeNode numbers subscriptions 0x1, 0x2… per socket, as several nodes do.)
 */
async function oneWayScenario(mode: Mode) {
  const w = await world(mode, 2);
  const [a, b] = w.clients as [any, any];
  a.send(rpc(1, 'eth_subscribe', ['newHeads']));
  await w.settle();
  b.send({ jsonrpc: '2.0', method: 'eth_unsubscribe', params: ['0x1'] });
  await w.settle();
  w.nodes.a.advance(2);
  await w.settle();
  return { heads: a.notes(a.subId(1)).map((h: any) => Number(h.number)), upstream: w.nodes.a.subscriptionCount };
}

describe('one session cannot end another session’s subscription', () => {
  it('a one-way eth_unsubscribe from another client does not end a shared upstream subscription', async () => {
    const own = await oneWayScenario('own');
    expect(own.heads).toEqual([101, 102]);
    const shared = await oneWayScenario('shared');
    expect(shared.heads).toEqual([101, 102]);
    expect(shared.upstream).toBe(1);
  });

  it('after such a one-way eth_unsubscribe, a newcomer to the same params still gets notifications', async () => {
    const w = await world('shared', 2);
    const [a, b] = w.clients as [any, any];
    a.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await w.settle();
    b.send({ jsonrpc: '2.0', method: 'eth_unsubscribe', params: ['0x1'] });
    await w.settle();
    const c = w.addClient();
    // A newcomer on an open shared socket is let on once the node is heard after it joined (the
    // next frame, or the probe asked after JOIN_QUIET_MS of quiet).
    await w.clock.advance(200);
    expect(c.session.state).toBe('ready');
    c.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await w.settle();
    w.nodes.a.advance(1);
    await w.settle();
    // On its own socket C would subscribe upstream itself; here it is admitted to the dead one.
    expect(c.notes(c.subId(1)).map((h: any) => Number(h.number))).toEqual([101]);
  });

  it('a one-way eth_subscribe never opens an upstream subscription nobody owns (control)', async () => {
    const w = await world('shared', 1);
    w.clients[0]!.send({ jsonrpc: '2.0', method: 'eth_subscribe', params: ['newHeads'] });
    await w.settle();
    expect(w.nodes.a.subscriptionCount).toBe(0);
  });
});
