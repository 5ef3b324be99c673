import { describe, expect, it } from 'vitest';
import type { JsonRpcRequest, NodePoolOptions } from '../../../src/index.js';
import { RpcErrorCode } from '../../../src/index.js';
import { FakeClock, type FakeHttpHandler } from '../../../src/testing/index.js';
import { httpPool } from '../../helpers/scriptedHttp.js';

/**
 * Audit of docs/guides/http.md:39-54 ("What is retried on another node, and why writes never are")
 * from the seat of a trading system. Every behaviour below is what the code does today
 * (src/session/repeatable.ts:39-42, src/pool/HttpDispatcher.ts:203-209, NodeQueue.ts:110-121); the
 * tests pin it, because the guide's wording lets a reader expect otherwise:
 *
 * - "safe to repeat (reads, `eth_sendRawTransaction`: the same signed transaction has the same
 *   hash) | anything | the next node is tried": true, but the caller then gets the NEXT node's
 *   answer, which for a transaction the first node took is an error ("already known", "nonce too
 *   low"), not the hash. A bot that reads that error as "not sent" and signs again with a new
 *   nonce trades twice.
 * - with the retry pause (http.md:16-18: "a, b, the pause, then a once more") one signed
 *   transaction is submitted up to `http.maxAttempts` times, to every node configured: a private
 *   relay's transaction reaches a public node the moment the relay times out or answers 5xx.
 * - `isRepeatable` is a deny-list: a method it does not name is "safe to repeat", so a state-
 *   changing method of a provider or chain of its own (here `tenderly_addBalance`) IS sent to a
 *   second node after a timeout. The guide names the methods that act twice (http.md:44-45) but
 *   never says that every other method counts as safe.
 */

const call = (id: number, method: string, params: unknown[] = []): JsonRpcRequest => ({ jsonrpc: '2.0', id, method, params });
const RAW_TX = `0x02f8${'ab'.repeat(60)}`;
const TX_HASH = `0x${'cd'.repeat(32)}`;

type Behaviour = 'hang' | 'accept' | 'already-known' | 'http-502' | 'http-429';

/** A node that logs every method it receives and then behaves as `behaviour()` says at that moment. */
function node(name: string, log: string[], behaviour: () => Behaviour): FakeHttpHandler {
  return (body, signal) => {
    const request = JSON.parse(body) as JsonRpcRequest;
    log.push(`${name}:${request.method}`);
    const now = behaviour();
    if (now === 'hang') return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    if (now === 'http-502') return Promise.resolve({ status: 502, body: '<html>Bad Gateway</html>' });
    if (now === 'http-429') return Promise.resolve({ status: 429, body: 'Too Many Requests' });
    const answer = now === 'accept' ? { result: TX_HASH } : { error: { code: -32000, message: 'already known' } };
    return Promise.resolve({ status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: request.id, ...answer }) });
  };
}

function rig(a: () => Behaviour, b: () => Behaviour, options: Partial<NodePoolOptions> = {}) {
  const log: string[] = [];
  const clock = new FakeClock();
  const { pool } = httpPool({ a: node('a', log, a), b: node('b', log, b) }, { http: { attemptTimeoutMs: 1_000 }, consistency: { monotonic: false }, ...options }, {}, clock);
  return { pool, clock, log };
}

describe('audit http.md:52: eth_sendRawTransaction is "safe to repeat", so it is sent again elsewhere', () => {
  it('a takes the transaction but does not answer in time: b gets it too, and the caller gets b’s "already known" error, not the hash', async () => {
    const { pool, clock, log } = rig(() => 'hang', () => 'already-known');
    let answer: unknown;
    void pool.request(call(1, 'eth_sendRawTransaction', [RAW_TX])).then((x) => (answer = x));
    await clock.advance(1_000);
    expect(log).toEqual(['a:eth_sendRawTransaction', 'b:eth_sendRawTransaction']);
    // An error answer, although the transaction is in a's pool: no NOT_RESENT, no hint that a has it.
    expect(answer).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'already known' } });
  });

  it('both nodes silent: one signed transaction goes out three times with the defaults (a, b, the 250 ms pause, a)', async () => {
    const { pool, clock, log } = rig(() => 'hang', () => 'hang');
    let answer: unknown;
    void pool.request(call(1, 'eth_sendRawTransaction', [RAW_TX])).catch((e: unknown) => (answer = e));
    await clock.advance(1_000 + 1_000 + 250 + 1_000);
    expect(log).toEqual(['a:eth_sendRawTransaction', 'b:eth_sendRawTransaction', 'a:eth_sendRawTransaction']);
    expect(answer).toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE' });
  });

  it.each(['eth_sendRawTransaction', 'eth_sendPrivateTransaction', 'eth_sendBundle'])(
    'a private relay (a) answering HTTP 502 to %s: the submission goes on to the public node (b)',
    async (method) => {
      const { pool, log } = rig(() => 'http-502', () => 'accept');
      expect(await pool.request(call(1, method, [RAW_TX]))).toEqual({ jsonrpc: '2.0', id: 1, result: TX_HASH });
      expect(log).toEqual([`a:${method}`, `b:${method}`]);
    },
  );

  // http.md:169-173: "The request that met the limit: a read is answered by the next node. A write is
  // not sent again ... A 429 proves nothing about delivery, so the write rule holds." For the guide a
  // "write" is a method not safe to repeat; a trader's transaction (eth_sendRawTransaction) is not one.
  it('a raw transaction answered HTTP 429 (which "proves nothing about delivery") is sent on to the next node', async () => {
    const { pool, log } = rig(() => 'http-429', () => 'accept');
    expect(await pool.request(call(1, 'eth_sendRawTransaction', [RAW_TX]))).toEqual({ jsonrpc: '2.0', id: 1, result: TX_HASH });
    expect(log).toEqual(['a:eth_sendRawTransaction', 'b:eth_sendRawTransaction']);
  });

  it('contrast: eth_sendTransaction (on the deny-list) answered 502 is NOT_RESENT and b never sees it', async () => {
    const { pool, log } = rig(() => 'http-502', () => 'accept');
    expect(await pool.request(call(1, 'eth_sendTransaction', [{}]))).toMatchObject({ id: 1, error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a', reason: 'http-status' } } });
    expect(log).toEqual(['a:eth_sendTransaction']);
  });
});

describe('audit http.md:47-48: isRepeatable is a deny-list; a method it does not name counts as safe to repeat', () => {
  it('a state-changing method not on the list (tenderly_addBalance) that timed out on a is sent to b as well', async () => {
    const { pool, clock, log } = rig(() => 'hang', () => 'accept');
    let answer: unknown;
    void pool.request(call(1, 'tenderly_addBalance', [['0x01'], '0x1'])).then((x) => (answer = x));
    await clock.advance(1_000);
    expect(log).toEqual(['a:tenderly_addBalance', 'b:tenderly_addBalance']);
    expect(answer).toEqual({ jsonrpc: '2.0', id: 1, result: TX_HASH });
  });

  it('contrast: named in NodePoolOptions.isRepeatable, the same method is answered NOT_RESENT and b never sees it', async () => {
    const { pool, clock, log } = rig(() => 'hang', () => 'accept', { isRepeatable: (method) => method !== 'tenderly_addBalance' });
    let answer: unknown;
    void pool.request(call(1, 'tenderly_addBalance', [['0x01'], '0x1'])).then((x) => (answer = x));
    await clock.advance(1_000);
    expect(log).toEqual(['a:tenderly_addBalance']);
    expect(answer).toMatchObject({ id: 1, error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a', reason: 'timeout' } } });
  });
});
