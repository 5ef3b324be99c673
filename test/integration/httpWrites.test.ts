/**
 * Invariant 12 over HTTP, on two real anvil nodes: a write reaches at most one node. Node `a` sits
 * behind a small HTTP proxy that forwards every request to it (so anvil carries it out) and then
 * answers late (past the pool's attempt timeout) or with HTTP 500; `b` is served directly. After
 * `eth_sendTransaction` and `evm_mine` through `serveHttp` and `pool.request()`, `a` has the
 * transaction and the block, `b` has neither; a refused connection to `a` does send the write to
 * `b`; reads still fail over; and a pool closed while `a` holds the write answers it `NOT_RESENT`
 * at once, sending nothing to `b`.
 *
 * Real time, every wait bounded (anvil mines only on demand: block time one hour).
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NodePool, RpcErrorCode, serveHttp } from '../../src/index.js';
import { DEV_ACCOUNT, freePort, startAnvil, type AnvilNode } from './helpers/anvil.js';

type Behaviour = 'pass' | 'late' | '500';

/** An HTTP proxy to `target` that forwards each POST, waits for the node's answer, then behaves. */
async function frontProxy(target: string): Promise<{ url: string; behave(b: Behaviour): void; forwarded: string[]; close(): Promise<void> }> {
  let behaviour: Behaviour = 'pass';
  const forwarded: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      forwarded.push(body);
      const mode = behaviour;
      void fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        .then((r) => r.text())
        .then((answer) => {
          if (mode === '500') return void res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal Server Error');
          const send = () => !res.destroyed && res.writeHead(200, { 'content-type': 'application/json' }).end(answer);
          if (mode === 'pass') return void send();
          const timer = setTimeout(() => {
            timers.delete(timer);
            send();
          }, 3_000);
          timers.add(timer);
        })
        .catch(() => !res.destroyed && res.writeHead(502).end());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    behave: (b) => (behaviour = b),
    forwarded,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function rpc(url: string, method: string, params: unknown[] = []): Promise<any> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  const answer = (await response.json()) as { result?: unknown; error?: unknown };
  if (answer.error) throw new Error(`${method}: ${JSON.stringify(answer.error)}`);
  return answer.result;
}

/** What a node holds: pending transactions of the dev account, and its block number. */
async function state(url: string): Promise<{ nonce: number; block: number }> {
  return { nonce: Number(await rpc(url, 'eth_getTransactionCount', [DEV_ACCOUNT, 'pending'])), block: Number(await rpc(url, 'eth_blockNumber')) };
}

const transfer = (id: number) => ({ jsonrpc: '2.0' as const, id, method: 'eth_sendTransaction', params: [{ from: DEV_ACCOUNT, to: '0x000000000000000000000000000000000000dEaD', value: '0x1' }] });

let a: AnvilNode;
let b: AnvilNode;
let front: Awaited<ReturnType<typeof frontProxy>>;
let pool: NodePool;

beforeAll(async () => {
  [a, b] = await Promise.all([startAnvil({ blockTimeSec: 3_600 }), startAnvil({ blockTimeSec: 3_600 })]);
  front = await frontProxy(a.httpUrl);
  // No circuit breaker: each test sends to a failing `a` on purpose, and after three failures an
  // open circuit would send the next request straight to b (never to a: still sent once, but not
  // the case these tests are about; test/pool/httpBreaker.test.ts covers the breaker).
  pool = new NodePool({ nodes: [{ name: 'a', http: front.url }, { name: 'b', http: b.httpUrl }], http: { attemptTimeoutMs: 1_000 }, breaker: false });
}, 60_000);

afterAll(async () => {
  pool?.close();
  await front?.close();
  await Promise.all([a?.stop(), b?.stop()]);
});

beforeEach(() => front.behave('pass'));

describe('HTTP writes reach exactly one node (real anvil)', { timeout: 30_000 }, () => {
  it('eth_sendTransaction answered late by a: NOT_RESENT from serveHttp, the transaction only in a', async () => {
    const before = { a: await state(a.httpUrl), b: await state(b.httpUrl) };
    front.behave('late');
    const answer = await serveHttp(pool, JSON.stringify(transfer(9)));
    expect(answer.outcome).toBe('not-resent');
    const body = JSON.parse(answer.body);
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 9, error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a', reason: 'timeout' } } });
    expect(body.error.message).toBe('Node "a" did not answer within 1000 ms; eth_sendTransaction is not safe to send twice, so it was not sent to another node');
    expect(answer.body).not.toContain('127.0.0.1');
    expect(await state(a.httpUrl)).toEqual({ nonce: before.a.nonce + 1, block: before.a.block });
    expect(await state(b.httpUrl)).toEqual(before.b);
  });

  it('eth_sendTransaction and evm_mine answered HTTP 500 by a: not resent, only a changed', async () => {
    const before = { a: await state(a.httpUrl), b: await state(b.httpUrl) };
    front.behave('500');
    const send = await pool.request(transfer(1));
    expect(send).toMatchObject({ id: 1, error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a', reason: 'http-status' } } });
    const mine = await serveHttp(pool, '{"jsonrpc":"2.0","id":9007199254740993,"method":"evm_mine","params":[]}');
    expect(mine.body).toMatch(/^\{"jsonrpc":"2\.0","id":9007199254740993,"error":\{"code":-32053,"message":"Node \\"a\\" answered HTTP 500; evm_mine is not safe/);
    // a mined the pending transactions into one block; b saw nothing.
    expect(await state(a.httpUrl)).toEqual({ nonce: before.a.nonce + 1, block: before.a.block + 1 });
    expect(await state(b.httpUrl)).toEqual(before.b);
  });

  it('a batch holding a write is not resent either; reads alone still fail over to b', async () => {
    const before = { a: await state(a.httpUrl), b: await state(b.httpUrl) };
    front.behave('500');
    const batch = JSON.parse((await serveHttp(pool, JSON.stringify([{ jsonrpc: '2.0', id: 'n', method: 'eth_blockNumber' }, transfer(2)]))).body);
    expect(batch.map((r: { error?: { code: number } }) => r.error?.code)).toEqual([RpcErrorCode.NOT_RESENT, RpcErrorCode.NOT_RESENT]);
    expect(await state(b.httpUrl)).toEqual(before.b);
    expect(await state(a.httpUrl)).toMatchObject({ nonce: before.a.nonce + 1 });
    const forwardedBefore = front.forwarded.length;
    const read = JSON.parse((await serveHttp(pool, '{"jsonrpc":"2.0","id":"r","method":"eth_getTransactionCount","params":["' + DEV_ACCOUNT + '","pending"]}')).body);
    expect(read).toEqual({ jsonrpc: '2.0', id: 'r', result: `0x${before.b.nonce.toString(16)}` });
    expect(front.forwarded.length).toBe(forwardedBefore + 1);
  });

  it('a refused connection proves a never got the write: it goes to b', async () => {
    const refusing = new NodePool({ nodes: [{ name: 'a', http: `http://127.0.0.1:${await freePort()}` }, { name: 'b', http: b.httpUrl }], http: { attemptTimeoutMs: 1_000 } });
    const before = await state(b.httpUrl);
    const answer = JSON.parse((await serveHttp(refusing, JSON.stringify(transfer(3)))).body);
    expect(answer.result).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await state(b.httpUrl)).toEqual({ nonce: before.nonce + 1, block: before.block });
    refusing.close();
  });

  it('a pool closed while a carries out the write: NOT_RESENT (reason closed) at once, only a has it, nothing goes to b', async () => {
    // Its own pool (with its own HTTP agents), closed below; the attempt timeout is the default 10 s.
    const closing = new NodePool({ nodes: [{ name: 'a', http: front.url }, { name: 'b', http: b.httpUrl }], breaker: false });
    const before = { a: await state(a.httpUrl), b: await state(b.httpUrl) };
    front.behave('late'); // a gets it now, and answers 3 s later
    const forwardedBefore = front.forwarded.length;
    const write = closing.request(transfer(4));
    const read = closing.request({ jsonrpc: '2.0', id: 5, method: 'eth_blockNumber', params: [] }).catch((e: unknown) => e);
    await expect.poll(() => front.forwarded.length, { timeout: 5_000 }).toBe(forwardedBefore + 2);
    closing.close();
    // Answered by close(), not by a's late answer (which would be the transaction's hash).
    expect(await write).toMatchObject({ id: 4, error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a', reason: 'closed' } } });
    expect(await read).toMatchObject({ code: 'ERR_CLOSED' });
    expect(await state(a.httpUrl)).toEqual({ nonce: before.a.nonce + 1, block: before.a.block });
    expect(await state(b.httpUrl)).toEqual(before.b);
  });
});
