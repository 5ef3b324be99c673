import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/testing/index.js';
import { hex, httpPool, note, rpc, scripted, type Received } from '../helpers/scriptedHttp.js';

/**
 * JSON-RPC 2.0 §4.1, §6: a notification (a request without an id) gets no answer, and a batch of
 * only notifications gets no body at all; geth answers such a POST with an empty body.
 * pool.request() takes notifications (JsonRpcRequest.id is optional): they go to one node, like any
 * request, and that empty body is the node's answer, not a failure (docs/guides/http.md).
 */
function specNodes(options: Parameters<typeof httpPool>[1] = {}) {
  const clock = new FakeClock();
  const log: Received[] = [];
  const script = (r: { method: string }) => ({ result: r.method === 'eth_chainId' ? '0x1' : null });
  const { pool } = httpPool(
    { a: scripted('a', script, log, clock), b: scripted('b', script, log, clock), c: scripted('c', script, log, clock) },
    options,
    {},
    clock,
  );
  const circuits: string[] = [];
  pool.on('circuit', (e) => circuits.push(`${e.name}:${e.to}`));
  return { clock, log, pool, circuits };
}

describe('pool.request() and notifications answered with an empty body', () => {
  it('a batch of only notifications resolves with [] from one node, and is no failure of it', async () => {
    const { log, pool, circuits } = specNodes();
    expect(await pool.request([note('eth_chainId'), note('eth_chainId')])).toEqual([]);
    expect(log.map((r) => r.node)).toEqual(['a', 'a']);
    expect(circuits).toEqual([]);
  });

  it('three such batches do not open the circuit of a node that answered each', async () => {
    const { pool, circuits } = specNodes();
    for (let i = 0; i < 3; i++) expect(await pool.request([note('eth_chainId')])).toEqual([]);
    expect(pool.snapshot().nodes.map((n) => n.circuit)).toEqual(['closed', 'closed', 'closed']);
    expect(circuits).toEqual([]);
  });

  it('a lone notification of a write is sent once and resolves with { id: null, result: null }, not NOT_RESENT', async () => {
    const { log, pool, circuits } = specNodes();
    const answer = await pool.request(note('eth_sendTransaction', [{ from: '0x01', to: '0x02' }]));
    expect(answer).toEqual({ jsonrpc: '2.0', id: null, result: null });
    expect(log).toMatchObject([{ node: 'a', method: 'eth_sendTransaction' }]);
    expect(circuits).toEqual([]);
  });

  it('the same with the monotonic view off, and with HTTP 204 and a body of white space', async () => {
    const { log, pool } = specNodes({ consistency: { monotonic: false } });
    expect(await pool.request([note('eth_chainId')])).toEqual([]);
    expect(await pool.request(note('eth_chainId'))).toEqual({ jsonrpc: '2.0', id: null, result: null });
    expect(log.map((r) => r.node)).toEqual(['a', 'a']);
    for (const reply of [{ status: 204, body: '' }, { status: 200, body: ' \r\n' }]) {
      const { pool: other } = httpPool({ a: async () => reply });
      expect(await other.request([note('eth_chainId')])).toEqual([]);
    }
  });

  it('a notification is not held to the view: no block is not "null for a block already served"', async () => {
    const clock = new FakeClock();
    const log: Received[] = [];
    const script = (r: { method: string }) => ({ result: r.method === 'eth_blockNumber' ? hex(150) : null });
    const nodes = { a: scripted('a', script, log, clock), b: scripted('b', script, log, clock), c: scripted('c', script, log, clock) };
    const { pool } = httpPool(nodes, { consistency: { waitMs: 1_000 } }, { a: 150, b: 150, c: 150 }, clock);
    expect(await pool.request(rpc(1, 'eth_blockNumber'))).toMatchObject({ result: hex(150) }); // the view is 150
    log.length = 0;
    let answer: unknown;
    void pool.request(note('eth_getBlockByNumber', [hex(150), false])).then((a) => (answer = a));
    await clock.advance(1_000);
    expect(answer).toEqual({ jsonrpc: '2.0', id: null, result: null });
    expect(log.map((r) => r.node)).toEqual(['a']);
  });

  it('a notification is never hedged: it has no answer to race for', async () => {
    const clock = new FakeClock();
    const log: Received[] = [];
    const slow = (name: string) => async () => {
      log.push({ node: name, method: 'eth_chainId', id: undefined, at: clock.now() });
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 500));
      return { status: 200, body: '' };
    };
    const { pool } = httpPool({ a: slow('a'), b: slow('b') }, { hedge: { delayMs: 10 } }, {}, clock);
    let answer: unknown;
    void pool.request([note('eth_chainId')]).then((a) => (answer = a));
    await clock.advance(500);
    expect(answer).toEqual([]);
    expect(log.map((r) => r.node)).toEqual(['a']);
  });

  it('a batch mixing calls and notifications: the calls are answered, the notifications not, from one node', async () => {
    const { log, pool } = specNodes();
    const answer = await pool.request([rpc(1, 'eth_chainId'), note('eth_chainId'), rpc(2, 'eth_chainId')]);
    expect(answer).toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x1' },
      { jsonrpc: '2.0', id: 2, result: '0x1' },
    ]);
    expect(new Set(log.map((r) => r.node))).toEqual(new Set(['a']));
  });

  it('a call answered with an empty body is still no answer: the read goes to the next node', async () => {
    const clock = new FakeClock();
    const log: Received[] = [];
    const { pool } = httpPool({ a: async () => ({ status: 200, body: '' }), b: scripted('b', () => ({ result: '0x1' }), log, clock) }, {}, {}, clock);
    expect(await pool.request([rpc(1, 'eth_chainId'), note('eth_chainId')])).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x1' }]);
    expect(await pool.request(rpc(2, 'eth_chainId'))).toEqual({ jsonrpc: '2.0', id: 2, result: '0x1' });
  });
});
