import { describe, expect, it } from 'vitest';
import type { JsonRpcRequest, JsonRpcResponse } from '../../src/index.js';
import { NodePool, UpstreamSession } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';
import { rpc } from '../helpers/session.js';

const HEADER_NOT_FOUND = { code: -32000, message: 'header not found' };

/**
 * A session on `a` (its socket), over a pool of `a` and `b`, each also served over HTTP. `a`
 * answers the methods in `notHere` with "header not found" (socket and HTTP alike); `http: false`
 * leaves `b` without an HTTP endpoint.
 */
async function world(options: { notHere?: string[]; bNotHere?: string[]; bHttp?: boolean; answerA?: (request: JsonRpcRequest) => JsonRpcResponse | undefined } = {}) {
  const clock = new FakeClock();
  const sockets = new FakeSocketTransport();
  const http = new FakeHttpTransport();
  const a = new FakeNode({ name: 'a', head: 100, balance: 1n });
  const b = new FakeNode({ name: 'b', head: 100, balance: 2n });
  for (const [node, notHere] of [[a, options.notHere ?? []], [b, options.bNotHere ?? []]] as const) {
    const answer = node.answer.bind(node);
    node.answer = (request: JsonRpcRequest) =>
      (node === a ? options.answerA?.(request) : undefined) ??
      (notHere.includes(request.method) ? { jsonrpc: '2.0', id: request.id ?? null, error: HEADER_NOT_FOUND } : answer(request));
    sockets.route(`ws://${node.name}.test/`, node.socket);
    http.route(`http://${node.name}.test/`, node.http);
  }
  const pool = new NodePool({
    nodes: [
      { name: 'a', ws: 'ws://a.test/', http: 'http://a.test/' },
      { name: 'b', tier: 'backup', ws: 'ws://b.test/', ...(options.bHttp === false ? {} : { http: 'http://b.test/' }) },
    ],
    clock,
    httpTransport: http,
  });
  for (const name of ['a', 'b']) pool.update(name, { status: 'healthy', head: 100 });
  const session = new UpstreamSession({ pool, transport: sockets, clock, random: () => 0.5 });
  const received: any[] = [];
  session.on('message', (text) => received.push(JSON.parse(text)));
  await clock.flush();
  const posted = (node: string, method: string) => http.requests.filter((r) => r.url === `http://${node}.test/` && JSON.parse(r.body).method === method).length;
  return { clock, http, a, b, pool, session, received, posted, close: () => (session.close(), pool.close()) };
}

describe('a read its node cannot serve ("not this node") is asked of the other nodes', () => {
  it('eth_getBalance answered "header not found" by a: the client gets b’s answer, under its own id', async () => {
    const w = await world({ notHere: ['eth_getBalance'] });
    w.session.send(JSON.stringify(rpc('x', 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest'])));
    await w.clock.flush();
    expect(w.received).toEqual([{ jsonrpc: '2.0', id: 'x', result: '0x2' }]);
    expect(w.posted('b', 'eth_getBalance')).toBe(1);
    expect(w.posted('a', 'eth_getBalance')).toBe(0); // a is not asked again over HTTP
    expect(w.session.stats()).toMatchObject({ answeredElsewhere: 1, inFlight: 0, node: 'a' });
    w.close();
  });

  it('in a batch: the batch answer waits for b’s answer and holds it at its place', async () => {
    const w = await world({ notHere: ['eth_getBalance'] });
    w.session.send(JSON.stringify([rpc(1, 'eth_blockNumber'), rpc(2, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest'])]));
    await w.clock.flush();
    expect(w.received).toEqual([[{ jsonrpc: '2.0', id: 1, result: '0x64' }, { jsonrpc: '2.0', id: 2, result: '0x2' }]]);
    w.close();
  });

  it('every other node says the same: the client gets its own node’s error', async () => {
    const w = await world({ notHere: ['eth_getBalance'], bNotHere: ['eth_getBalance'] });
    w.session.send(JSON.stringify(rpc(7, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest'])));
    await w.clock.flush();
    expect(w.received).toEqual([{ jsonrpc: '2.0', id: 7, error: HEADER_NOT_FOUND }]);
    expect(w.posted('b', 'eth_getBalance')).toBe(1);
    expect(w.session.stats()).toMatchObject({ answeredElsewhere: 0, inFlight: 0 });
    w.close();
  });

  it('a write answered "header not found" gets that error as it is: it never reaches another node', async () => {
    const w = await world({ notHere: ['eth_sendTransaction', 'eth_sendRawTransaction'] });
    w.session.send(JSON.stringify(rpc(3, 'eth_sendTransaction', [{ from: '0x0000000000000000000000000000000000000001' }])));
    await w.clock.flush();
    expect(w.received).toEqual([{ jsonrpc: '2.0', id: 3, error: HEADER_NOT_FOUND }]);
    expect(w.http.requests.filter((r) => JSON.parse(r.body).method === 'eth_sendTransaction')).toEqual([]);
    w.close();
  });

  it('a real answer (a revert) is the answer: no other node is asked', async () => {
    const revert = { code: 3, message: 'execution reverted: header not found', data: '0x08c379a0' };
    const w = await world({ answerA: (request) => (request.method === 'eth_call' ? { jsonrpc: '2.0', id: request.id ?? null, error: revert } : undefined) });
    w.session.send(JSON.stringify(rpc(4, 'eth_call', [{ to: '0x0000000000000000000000000000000000000002', data: '0x' }, 'latest'])));
    await w.clock.flush();
    expect(w.received).toEqual([{ jsonrpc: '2.0', id: 4, error: revert }]);
    expect(w.http.requests.filter((r) => JSON.parse(r.body).method === 'eth_call')).toEqual([]);
    w.close();
  });

  it('no other node has an HTTP endpoint: the error is the answer', async () => {
    const w = await world({ notHere: ['eth_getBalance'], bHttp: false });
    w.session.send(JSON.stringify(rpc(5, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest'])));
    await w.clock.flush();
    expect(w.received).toEqual([{ jsonrpc: '2.0', id: 5, error: HEADER_NOT_FOUND }]);
    w.close();
  });

  it('once the client has seen blocks, state at `latest` stays with the view gate (its node, not one maybe behind it)', async () => {
    const w = await world({ notHere: ['eth_getBalance'] });
    w.session.send(JSON.stringify(rpc(1, 'eth_blockNumber')));
    await w.clock.flush(); // the client has seen block 100
    w.session.send(JSON.stringify(rpc(2, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest'])));
    await w.clock.flush();
    expect(w.received).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x64' }, { jsonrpc: '2.0', id: 2, error: HEADER_NOT_FOUND }]);
    expect(w.posted('b', 'eth_getBalance')).toBe(0);
    w.close();
  });

  it('state at a block the client has seen (by number) is asked elsewhere: any node that has it answers right', async () => {
    const w = await world({ notHere: ['eth_getBalance'] });
    w.session.send(JSON.stringify(rpc(1, 'eth_blockNumber')));
    await w.clock.flush();
    w.session.send(JSON.stringify(rpc(2, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', '0x60'])));
    await w.clock.flush();
    expect(w.received.at(-1)).toEqual({ jsonrpc: '2.0', id: 2, result: '0x2' });
    expect(w.posted('b', 'eth_getBalance')).toBe(1);
    w.close();
  });

  it('close() while another node is being asked: the call is answered, its request aborted, no timer left', async () => {
    const w = await world({ notHere: ['eth_getBalance'] });
    w.b.setMode('stall'); // b's HTTP answer never comes
    w.session.send(JSON.stringify(rpc(6, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest'])));
    await w.clock.advance(1_000);
    expect(w.received).toEqual([]);
    expect(w.session.stats().inFlight).toBe(1);
    w.close();
    await w.clock.flush();
    expect(w.received).toEqual([{ jsonrpc: '2.0', id: 6, error: expect.objectContaining({ message: 'Session closed' }) }]);
    expect(w.clock.pendingTimers).toBe(0);
  });
});
