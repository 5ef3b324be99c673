import { describe, expect, it } from 'vitest';
import { NodePool, UpstreamSession } from '../../src/index.js';
import { FakeChain, FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

// Found by the model-based property test (test/session/session.property.test.ts), kept as plain
// regression tests: a node whose chain moves while the session checks it after a switch.
describe('a node whose chain moves during the check after a switch (invariant 11)', () => {

    it('a node that reorgs back while the session checks its fork: the client gets the head it holds again', async () => {
  const clock = new FakeClock();
  const sockets = new FakeSocketTransport();
  const chain = new FakeChain({ genesis: 100 });
  const a = new FakeNode({ name: 'a', chain, head: 100 });
  const b = new FakeNode({ name: 'b', chain, head: 100 });
  sockets.route('ws://a.test/', a.socket);
  sockets.route('ws://b.test/', b.socket);
  const pool = new NodePool({ nodes: [{ name: 'a', tier: 'primary', ws: 'ws://a.test/' }, { name: 'b', tier: 'backup', ws: 'ws://b.test/' }], clock, httpTransport: new FakeHttpTransport() });
  const session = new UpstreamSession({ pool, transport: sockets, clock, random: () => 0.5 });
  const heads: any[] = [];
  session.on('message', (text) => {
    const m = JSON.parse(text);
    if (m.method === 'eth_subscription') heads.push(m.params.result);
  });
  pool.update('a', { status: 'healthy', head: 100 });
  pool.update('b', { status: 'healthy', head: 100 });
  await clock.flush();
  session.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
  await clock.flush();
  a.advance(3); // the client has 101, 102, 103 (one branch)
  b.advance(3);
  b.forkAt(1); // b: 103' (another branch)
  // b answers the session's fork check from 103', then rejoins a's branch before the session fetches.
  const answer = b.answer.bind(b);
  b.answer = (request) => {
    const response = answer(request);
    if (request.method === 'eth_getBlockByNumber' && (request.params as string[])[0] === '0x66') queueMicrotask(() => b.follow(a));
    return response;
  };
  a.cut();
  await clock.advance(1_000);
  const at103 = heads.filter((h) => h.number === '0x67').map((h) => h.hash);
  expect(new Set(at103).size).toBe(at103.length); // no head twice in a row
  session.close();
  pool.close();
});

  it('a node that reorgs deeper while the session checks its fork: a head that does not link', async () => {
  const clock = new FakeClock();
  const sockets = new FakeSocketTransport();
  const chain = new FakeChain({ genesis: 100 });
  const a = new FakeNode({ name: 'a', chain, head: 100 });
  const b = new FakeNode({ name: 'b', chain, head: 100 });
  sockets.route('ws://a.test/', a.socket);
  sockets.route('ws://b.test/', b.socket);
  const pool = new NodePool({ nodes: [{ name: 'a', tier: 'primary', ws: 'ws://a.test/' }, { name: 'b', tier: 'backup', ws: 'ws://b.test/' }], clock, httpTransport: new FakeHttpTransport() });
  const session = new UpstreamSession({ pool, transport: sockets, clock, random: () => 0.5 });
  const heads: any[] = [];
  session.on('message', (text) => {
    const m = JSON.parse(text);
    if (m.method === 'eth_subscription') heads.push(m.params.result);
  });
  pool.update('a', { status: 'healthy', head: 100 });
  pool.update('b', { status: 'healthy', head: 100 });
  await clock.flush();
  session.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
  await clock.flush();
  a.advance(3); // the client has 101, 102, 103 (one branch)
  b.advance(3);
  b.forkAt(1); // b: 103' (another branch)
  // b answers the session's fork check from 103', then reorgs deeper before the session fetches.
  const answer = b.answer.bind(b);
  b.answer = (request) => {
    const response = answer(request);
    if (request.method === 'eth_getBlockByNumber' && (request.params as string[])[0] === '0x66') queueMicrotask(() => b.forkAt(2));
    return response;
  };
  a.cut();
  await clock.advance(1_000);
  const byNumber = new Map<number, string>();
  for (const h of heads) {
    const n = Number(h.number);
    if (byNumber.has(n - 1)) expect(h.parentHash, `head ${n}`).toBe(byNumber.get(n - 1));
    for (const m of [...byNumber.keys()]) if (m >= n) byNumber.delete(m);
    byNumber.set(n, h.hash);
  }
  session.close();
  pool.close();
});

});

describe('close() while a read waits for the node head (invariant 1)', () => {

  it('close() answers a read whose node head is being checked', async () => {
  const h = await sessionHarness();
  h.nodes.a!.advance(1); // a at 101; the pool still thinks both are at 100
  h.send(rpc(1, 'eth_blockNumber'));
  await h.settle(); // the client has seen 101
  h.nodes.a!.cut();
  await h.settle(); // the session moves to b (at 100)
  h.send(rpc(7, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest']));
  const b = h.sockets.sockets.at(-1)!;
  // b answers at once; the gate then asks b for its head before it lets the answer through
  for (let n = 0; n < 100 && !b.sent.some((t) => t.includes('eth_blockNumber')); n++) await Promise.resolve();
  expect(b.sent.some((t) => t.includes('eth_blockNumber'))).toBe(true);
  h.session.close();
  await h.clock.flush();
  await h.clock.runAll();
  expect(h.answers(7)).toHaveLength(1);
  expect(h.clock.pendingTimers).toBe(0);
});
});
