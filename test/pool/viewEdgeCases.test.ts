// Edge cases of issue 12's invariants 1–2 for pool.request() over HTTP: the pool keeps its own view.
import { describe, expect, it } from 'vitest';
import { NodePool, RpcErrorCode, serveHttp } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, fakeBlockHash, type FakeHttpHandler } from '../../src/testing/index.js';
import { fakeCluster } from '../helpers/pool.js';
import { gethish, txHash } from '../helpers/gethReads.js';
import { hex, httpPool, scripted, type Received } from '../helpers/scriptedHttp.js';

const rpc = (id: unknown, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id: id as number, method, params });

/** a (primary) and b (backup) at 100, geth-ish; the pool has served 100. */
async function cluster(options: Parameters<typeof fakeCluster>[1] = {}) {
  const c = fakeCluster([{ name: 'a' }, { name: 'b' }], options);
  gethish(c.nodes.a!);
  gethish(c.nodes.b!);
  c.pool.update('a', { status: 'healthy', head: 100 });
  c.pool.update('b', { status: 'healthy', head: 100 });
  expect(await c.pool.request(rpc(0, 'eth_blockNumber'))).toMatchObject({ result: '0x64' });
  return c;
}

/** The pool served 103 from a; a is down; b is at 100. */
async function afterCut(options: Parameters<typeof fakeCluster>[1] = {}) {
  const c = await cluster(options);
  c.nodes.a!.advance(3);
  c.pool.update('a', { head: 103 });
  expect(await c.pool.request(rpc(1, 'eth_blockNumber'))).toMatchObject({ result: '0x67' });
  cut(c);
  return c;
}

function cut(c: Awaited<ReturnType<typeof cluster>>) {
  c.nodes.a!.setMode('down');
  c.pool.update('a', { status: 'unhealthy' });
}

/** Starts a request; `.answer` is set when it settles. */
function start(c: Awaited<ReturnType<typeof cluster>>, payload: unknown) {
  const out: { answer?: unknown } = {};
  void c.pool.request(payload as never).then(
    (a) => (out.answer = a),
    (e) => (out.answer = e),
  );
  return out;
}

describe('pool.request(): the view is raised by everything that gives the client a block', () => {
  it('eth_getBlockReceipts(n) raises the pool view: a receipt of block n is never null later', async () => {
    const c = await cluster();
    c.nodes.a!.advance(5);
    expect(await c.pool.request(rpc(1, 'eth_getBlockReceipts', ['0x69']))).toMatchObject({ result: [{ blockNumber: '0x69' }] });
    cut(c);
    const receipt = start(c, rpc(2, 'eth_getTransactionReceipt', [txHash(105)]));
    const number = start(c, rpc(3, 'eth_blockNumber'));
    await c.clock.advance(1_000);
    expect(receipt.answer).toBeUndefined(); // b (at 100) answers null: it has not got block 105
    expect(number.answer).toBeUndefined(); // …and 0x64
  });

  it('eth_getTransactionByBlockNumberAndIndex(n) raises the pool view', async () => {
    const c = await cluster();
    c.nodes.a!.advance(5);
    expect(await c.pool.request(rpc(1, 'eth_getTransactionByBlockNumberAndIndex', ['0x69', '0x0']))).toMatchObject({ result: { blockNumber: '0x69' } });
    cut(c);
    const tx = start(c, rpc(2, 'eth_getTransactionByHash', [txHash(105)]));
    await c.clock.advance(1_000);
    expect(tx.answer).toBeUndefined();
  });

  it('blocks by hash, receipts and logs raise the pool view, also from a batch answer', async () => {
    const c = await cluster();
    c.nodes.a!.advance(5);
    c.nodes.a!.emitLog();
    await c.pool.request([rpc(1, 'eth_getBlockByHash', [fakeBlockHash(102), false]), rpc(2, 'eth_getTransactionReceipt', [txHash(104)])]);
    await c.pool.request(rpc(3, 'eth_getLogs', [{ fromBlock: '0x69', toBlock: '0x69' }]));
    cut(c);
    const number = start(c, rpc(4, 'eth_blockNumber'));
    await c.clock.advance(1_000);
    expect(number.answer).toBeUndefined();
  });
});

describe('pool.request(): reads of blocks already served, on a lagging node', () => {
  it('a block number written with an upper-case 0X prefix (geth accepts it) waits, not null', async () => {
    const c = await afterCut();
    const block = start(c, rpc(2, 'eth_getBlockByNumber', ['0X67', false]));
    await c.clock.advance(1_000);
    expect(block.answer).toBeUndefined();
  });

  it('eth_feeHistory ending at a served block waits instead of "request beyond head block" or a range ending lower', async () => {
    const c = await afterCut();
    const byNumber = start(c, rpc(2, 'eth_feeHistory', ['0x4', '0x67', []]));
    const latest = start(c, rpc(3, 'eth_feeHistory', ['0x4', 'latest', []]));
    await c.clock.advance(1_000);
    expect(byNumber.answer).toBeUndefined();
    expect(latest.answer).toBeUndefined();
  });

  it('eth_getRawTransactionByHash ("other by-hash reads") of a served block waits, not null', async () => {
    const c = await afterCut();
    const raw = start(c, rpc(2, 'eth_getRawTransactionByHash', [txHash(103)]));
    await c.clock.advance(1_000);
    expect(raw.answer).toBeUndefined();
  });

  it('a lower eth_blockNumber is not passed because the batch repeats an id', async () => {
    const c = await afterCut();
    // geth answers each item of the batch, in order: the second says 0x64, below the served 103.
    const batch = start(c, [rpc(7, 'eth_chainId'), rpc(7, 'eth_blockNumber')]);
    await c.clock.advance(1_000);
    expect(batch.answer).toBeUndefined();
  });

  it('EIP-1898 objects, hashes, tags, string/null ids: all wait, then are answered', async () => {
    const c = await afterCut();
    const batch = start(c, [
      rpc('s', 'eth_getBalance', ['0x0', { blockNumber: '0x67' }]),
      rpc(null, 'eth_getBalance', ['0x0', { blockHash: fakeBlockHash(103), requireCanonical: true }]),
      rpc(3, 'eth_getBlockReceipts', [fakeBlockHash(103)]),
      rpc(4, 'eth_getTransactionByBlockHashAndIndex', [fakeBlockHash(103), '0x0']),
      rpc(5, 'eth_getLogs', [{ blockHash: fakeBlockHash(103) }]),
      rpc(6, 'eth_getBlockByNumber', ['pending', false]),
      rpc(7, 'eth_getLogs', [{ fromBlock: 'latest' }]),
      rpc(8, 'eth_getTransactionReceipt', [txHash(103)]),
    ]);
    await c.clock.advance(1_000);
    expect(batch.answer).toBeUndefined();
    c.nodes.b!.advance(3);
    await c.clock.advance(250);
    expect(batch.answer).toMatchObject([
      { id: 's', result: '0x67' },
      { id: null, result: '0x67' },
      { id: 3, result: [{ blockNumber: '0x67' }] },
      { id: 4, result: { blockNumber: '0x67' } },
      { id: 5, result: [] },
      { id: 6, result: { number: '0x68' } },
      { id: 7, result: [] },
      { id: 8, result: { blockNumber: '0x67' } },
    ]);
  });

  it('a batch holding eth_sendRawTransaction and a read behind: the transaction is sent once, and its answer is its hash', async () => {
    const c = await afterCut();
    const batch = start(c, [rpc(2, 'eth_getBlockByNumber', ['0x67', false]), rpc(3, 'eth_sendRawTransaction', ['0x02f86c'])]);
    await c.clock.advance(1_000);
    c.nodes.b!.advance(3);
    await c.clock.advance(250);
    // One geth node would have answered the batch [block 103 or an error, the hash] with one send.
    // The pool sends the whole batch again every poll: b refuses the repeats as "already known",
    // and that refusal is what the client gets for a transaction that was accepted.
    expect({ sends: c.nodes.b!.calls.get('eth_sendRawTransaction'), answer: batch.answer }).toMatchObject({
      sends: 1,
      answer: [{ id: 2 }, { id: 3, result: txHash(999_999) }],
    });
  });
});

describe('pool.request(): an answer is vouched for only by a head known before it', () => {
  it('state at latest computed at the old head is not returned because a probe reported the new head meanwhile', async () => {
    const c = await afterCut();
    const { http, nodes, pool } = c;
    http.route('http://b.test/', async (body, signal, endpoint) => {
      const answer = await nodes.b!.http(body, signal, endpoint); // b answers at 100
      if (body.includes('eth_getBalance') && nodes.b!.head === 100) {
        nodes.b!.advance(3); // …then imports 103, and a health probe reads it before the answer is judged
        pool.update('b', { head: 103 });
      }
      return answer;
    });
    const balance = start(c, rpc(2, 'eth_getBalance', ['0x0', 'latest']));
    await c.clock.advance(250);
    // The geth-ish balance is the number of the block whose state answered.
    expect(balance.answer).toEqual({ jsonrpc: '2.0', id: 2, result: '0x67' });
  });
});

const TX = '0x02f8' + 'ab'.repeat(40);
const HASH = '0x' + '11'.repeat(32);

/**
 * A node whose eth_blockNumber reports `head()`, which accepts a raw transaction the first time it
 * sees it and answers "already known" after that (as geth does), whose filter hands out each change
 * once (polling consumes it), and whose balances are 0x2faf080 (0 for address 0x0 when `zero`).
 */
function chainNode(name: string, head: () => number, log: Received[], clock: FakeClock, { zero = false } = {}) {
  const seenTx = new Set<string>();
  let changes = [`${name}-log-1`];
  return scripted(
    name,
    (r) => {
      switch (r.method) {
        case 'eth_blockNumber':
          return { result: hex(head()) };
        case 'eth_getBalance':
          return { result: zero && (r.params as string[])[0] === '0x0' ? '0x0' : '0x2faf080' };
        case 'eth_sendRawTransaction': {
          const tx = (r.params as string[])[0]!;
          if (seenTx.has(tx)) return { error: { code: -32000, message: 'already known' } };
          seenTx.add(tx);
          return { result: HASH };
        }
        case 'eth_getFilterChanges': {
          const out = changes;
          changes = [];
          return { result: out };
        }
        case 'eth_chainId':
          return { result: '0x1' };
        default:
          return { result: null };
      }
    },
    log,
    clock,
  );
}

describe('pool.request(): a read is judged against the view as it was when it was sent', () => {
  it('the latest block, sent at 100 and answered 101 after another request showed 103, is that answer', async () => {
    // One node; its answer to the block read waits until released, as a slow backend's would.
    let release: (() => void) | undefined;
    const http = new FakeHttpTransport().route('http://a.test/', async (body) => {
      const request = JSON.parse(body) as { id: number; method: string };
      if (request.method === 'eth_getBlockByNumber') await new Promise<void>((resolve) => (release = resolve));
      const result = request.method === 'eth_blockNumber' ? (request.id === 1 ? '0x64' : '0x67') : { number: '0x65', hash: fakeBlockHash(101) };
      return { status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: request.id, result }) };
    });
    const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }], clock: new FakeClock(), httpTransport: http });
    pool.update('a', { status: 'healthy', head: 100 });
    expect(await pool.request(rpc(1, 'eth_blockNumber'))).toMatchObject({ result: '0x64' });
    const latest = pool.request(rpc(2, 'eth_getBlockByNumber', ['latest', false]));
    await Promise.resolve();
    expect(await pool.request(rpc(3, 'eth_blockNumber'))).toMatchObject({ result: '0x67' });
    release!();
    // Sent when the pool had served 100: 101 is newer than what it had seen then.
    expect(await latest).toMatchObject({ id: 2, result: { number: '0x65' } });
    pool.close();
  });
});

describe('pool.request(): a batch held by the view sends what is not behind once', () => {
  it('a batch [eth_sendRawTransaction, eth_getBalance latest] on a node behind the view: the transaction goes to it once, and its hash is the answer', async () => {
    // b has shown the pool block 150; a (preferred) is probed at 100.
    const clock = new FakeClock();
    const log: Received[] = [];
    const { pool } = httpPool({ a: chainNode('a', () => 100, log, clock), b: chainNode('b', () => 150, log, clock) }, {}, { a: 100, b: 150 }, clock);
    expect(pool.preferred()).toBe('a');
    expect(await pool.request(rpc(1, 'eth_blockNumber'), { avoid: ['a'] })).toMatchObject({ result: hex(150) });
    log.length = 0;
    const answer = await pool.request([rpc(2, 'eth_sendRawTransaction', [TX]), rpc(3, 'eth_getBalance', ['0x0', 'latest'])]);
    expect(log.filter((r) => r.method === 'eth_sendRawTransaction').map((r) => r.node)).toEqual(['a']);
    expect(answer.find((r) => r.id === 2)).toEqual({ jsonrpc: '2.0', id: 2, result: HASH });
  });

  it('one node whose head read says it got there: only the read is asked again', async () => {
    // The node's probe says 100, but its eth_blockNumber (a load-balanced endpoint) already says 150.
    const clock = new FakeClock();
    const log: Received[] = [];
    const { pool } = httpPool({ a: chainNode('a', () => 150, log, clock) }, {}, { a: 100 }, clock);
    expect(await pool.request(rpc(1, 'eth_blockNumber'))).toMatchObject({ result: hex(150) });
    log.length = 0;
    const answer = await pool.request([rpc(2, 'eth_sendRawTransaction', [TX]), rpc(3, 'eth_getBalance', ['0x0', 'latest'])]);
    expect(log.filter((r) => r.method === 'eth_sendRawTransaction')).toHaveLength(1);
    expect(answer.find((r) => r.id === 2)).toEqual({ jsonrpc: '2.0', id: 2, result: HASH });
  });

  it('one node behind the view: the transaction in a waiting batch is not sent again every pollMs', async () => {
    let head = 150;
    const clock = new FakeClock();
    const log: Received[] = [];
    const { pool } = httpPool({ a: chainNode('a', () => head, log, clock) }, { consistency: { waitMs: 2_000, pollMs: 250 } }, { a: 100 }, clock);
    expect(await pool.request(rpc(1, 'eth_blockNumber'))).toMatchObject({ result: hex(150) });
    head = 100; // the endpoint's backend now lags
    log.length = 0;
    let answer: unknown;
    void pool.request([rpc(2, 'eth_sendRawTransaction', [TX]), rpc(3, 'eth_getBalance', ['0x0', 'latest'])]).then((a) => (answer = a));
    await clock.advance(2_000);
    expect(answer).toBeDefined();
    expect(log.filter((r) => r.method === 'eth_sendRawTransaction')).toHaveLength(1);
  });

  it('a batch [eth_getFilterChanges, eth_getBalance latest] does not lose the changes the first node handed out', async () => {
    const clock = new FakeClock();
    const log: Received[] = [];
    const { pool } = httpPool({ a: chainNode('a', () => 100, log, clock), b: chainNode('b', () => 150, log, clock) }, {}, { a: 100, b: 150 }, clock);
    expect(await pool.request(rpc(1, 'eth_blockNumber'), { avoid: ['a'] })).toMatchObject({ result: hex(150) });
    log.length = 0;
    const answer = await pool.request([rpc(2, 'eth_getFilterChanges', ['0xf1']), rpc(3, 'eth_getBalance', ['0x0', 'latest'])]);
    expect(log.filter((r) => r.method === 'eth_getFilterChanges').map((r) => r.node)).toEqual(['a']);
    expect(answer.find((r) => r.id === 2)).toEqual({ jsonrpc: '2.0', id: 2, result: ['a-log-1'] });
  });

  it('through serveHttp: a client batch [eth_sendRawTransaction, eth_getBalance latest] gets its hash, not "already known"', async () => {
    // The probe saw 100 a moment ago; the node has since served block 101 (probes lag the chain).
    const clock = new FakeClock();
    const log: Received[] = [];
    const { pool } = httpPool({ a: chainNode('a', () => 101, log, clock) }, {}, { a: 100 }, clock);
    await serveHttp(pool, JSON.stringify(rpc(1, 'eth_blockNumber')));
    const answer = await serveHttp(pool, JSON.stringify([rpc('tx', 'eth_sendRawTransaction', [TX]), rpc('bal', 'eth_getBalance', ['0x0', 'latest'])]));
    expect(JSON.parse(answer.body)[0]).toEqual({ jsonrpc: '2.0', id: 'tx', result: HASH });
  });
});

describe('pool.request(): a batch repeating an id is judged request by request', () => {
  it('a balance sharing an id with eth_blockNumber does not raise the view to 50,000,000', async () => {
    const clock = new FakeClock();
    const log: Received[] = [];
    const { pool } = httpPool({ a: chainNode('a', () => 150, log, clock) }, { consistency: { waitMs: 1_000 } }, { a: 150 }, clock);
    const first = await pool.request([rpc(7, 'eth_blockNumber'), rpc(7, 'eth_getBalance', ['0xabc', 'latest'])]);
    expect(first.map((r) => (r as { result: unknown }).result)).toEqual([hex(150), '0x2faf080']);
    let answer: unknown;
    void pool.request(rpc(8, 'eth_blockNumber')).then((a) => (answer = a));
    await clock.advance(1_000);
    expect(answer).toEqual({ jsonrpc: '2.0', id: 8, result: hex(150) });
  });

  it('a zero balance sharing an id with eth_blockNumber is not judged a block number behind the view', async () => {
    const clock = new FakeClock();
    const log: Received[] = [];
    const { pool } = httpPool({ a: chainNode('a', () => 150, log, clock, { zero: true }) }, { consistency: { waitMs: 1_000 } }, { a: 150 }, clock);
    await pool.request(rpc(1, 'eth_blockNumber')); // the view is 150
    let answer: Array<{ id: unknown; result?: unknown; error?: { code: number } }> | undefined;
    void pool.request([rpc(7, 'eth_blockNumber'), rpc(7, 'eth_getBalance', ['0x0', 'latest'])]).then((a) => (answer = a as never));
    await clock.advance(1_000);
    expect(answer?.[1]).toEqual({ jsonrpc: '2.0', id: 7, result: '0x0' });
    expect(log.filter((r) => r.method === 'eth_getBalance')).toHaveLength(1);
  });
});

describe('pool.request(): the view’s head read is an attempt like any other', () => {
  it('not sent to a node cooling down after a rate limit (here, in part of the very batch it would vouch for)', async () => {
    const clock = new FakeClock();
    const log: Received[] = [];
    const node = scripted(
      'a',
      (r) => {
        if (r.method === 'eth_blockNumber') return { result: hex(150) };
        if (r.method === 'eth_chainId') return { error: { code: -32005, message: 'request rate limited' } };
        return { result: '0x1' };
      },
      log,
      clock,
    );
    const { pool } = httpPool({ a: node }, { consistency: { waitMs: 500 }, rateLimit: { cooldownMs: 1_000 } }, { a: 100 }, clock);
    expect(await pool.request(rpc(1, 'eth_blockNumber'))).toMatchObject({ result: hex(150) }); // the view is 150
    log.length = 0;
    let answer: unknown;
    // The balance at latest is right only if a is at 150: its probe says 100, so the gate would read its head.
    void pool.request([rpc(2, 'eth_getBalance', ['0x0', 'latest']), rpc(3, 'eth_chainId')]).then((a) => (answer = a));
    await clock.advance(500);
    expect(pool.health('a').rateLimitedUntil).toBeGreaterThan(clock.now());
    expect(log.map((r) => r.method)).toEqual(['eth_getBalance', 'eth_chainId']);
    expect(answer).toMatchObject([{ id: 2, error: { code: RpcErrorCode.BEHIND } }, { id: 3, error: { code: -32005 } }]);
  });

  it('its failure counts against the node, as any failed attempt', async () => {
    const clock = new FakeClock();
    const log: Received[] = [];
    const answers = scripted('a', (r) => ({ result: r.method === 'eth_blockNumber' ? hex(150) : '0x1' }), log, clock);
    let headReads = 0;
    const node: FakeHttpHandler = async (body, signal, endpoint) => {
      if (body.includes('eth_blockNumber') && headReads++ > 0) return { status: 503, body: 'busy' };
      return answers(body, signal, endpoint);
    };
    const { pool } = httpPool({ a: node }, { consistency: { waitMs: 100 }, breaker: { failures: 1 } }, { a: 100 }, clock);
    expect(await pool.request(rpc(1, 'eth_blockNumber'))).toMatchObject({ result: hex(150) });
    let answer: unknown;
    void pool.request(rpc(2, 'eth_getBalance', ['0x0', 'latest'])).then((a) => (answer = a));
    await clock.advance(100);
    expect(answer).toMatchObject({ id: 2, error: { code: RpcErrorCode.BEHIND } });
    expect(pool.snapshot().nodes[0]!.circuit).toBe('open');
  });
});
