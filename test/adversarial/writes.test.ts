/**
 * Issue 13, point 1: over HTTP (POST / of the proxy), a call that is not safe to repeat reaches one
 * node, even when that node answers HTTP 500 or too slowly; the client gets NOT_RESENT (-32053).
 * A read still fails over. Each relay counts what its node received.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProxyServer } from '../../examples/proxy-server.js';
import { DEV_ACCOUNT } from '../integration/helpers/anvil.js';
import { postText } from './helpers/raw.js';
import type { Misbehaviour } from './helpers/RelayNode.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let proxy: ProxyServer;
beforeAll(async () => {
  stack = await startStack(2);
}, 60_000);
afterAll(() => stack?.stop(), 30_000);
// A proxy of its own for each probe, with the defaults: each probe fails `a` once on purpose, and
// after three failures in a row a's circuit would open and send the next write to b alone (still
// once, but not the case a probe is about; test/pool/httpBreaker.test.ts covers the breaker).
beforeEach(async () => {
  // One attempt may take 1 s, so a node slower than that is a timeout.
  proxy = await stack.proxy({ upstreamHttp: { attemptTimeoutMs: 1_000 } });
}, 30_000);
afterEach(() => proxy?.close(), 30_000);

const NOT_RESENT = -32053;
const a = () => stack.node('a').relay;
const b = () => stack.node('b').relay;

const WRITES: Array<[method: string, params: unknown[]]> = [
  ['eth_sendTransaction', [{ from: DEV_ACCOUNT, to: DEV_ACCOUNT, value: '0x1' }]],
  ['evm_mine', []],
  ['anvil_setBalance', [DEV_ACCOUNT, '0x21e19e0c9bab2400000']] // 10,000 ETH, as it was,
];
const FAULTS: Array<[string, Misbehaviour]> = [
  ['HTTP 500', { kind: 'status', status: 500 }],
  ['an answer slower than the attempt deadline', { kind: 'slow', ms: 2_000 }],
];

describe('writes over HTTP reach one node', { timeout: 30_000 }, () => {
  for (const [fault, behaviour] of FAULTS) {
    for (const [method, params] of WRITES) {
      it(`${method}, first node answering with ${fault}: sent once, answered NOT_RESENT`, async () => {
        const before = { a: a().count(method), b: b().count(method) };
        a().misbehave(method, behaviour);
        try {
          const { status, text } = await postText(proxy.url, JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }));
          expect(status).toBe(200);
          expect(JSON.parse(text)).toMatchObject({ id: 1, error: { code: NOT_RESENT } });
          if (behaviour.kind === 'slow') await new Promise((resolve) => setTimeout(resolve, behaviour.ms)); // any late resend would have landed
          expect({ a: a().count(method) - before.a, b: b().count(method) - before.b }).toEqual({ a: 1, b: 0 });
        } finally {
          a().misbehave(method, undefined);
        }
      });
    }
  }

  it('a batch holding a write, first node answering HTTP 500: sent once', async () => {
    const before = { a: a().count('evm_mine'), b: b().count('evm_mine') };
    a().misbehave('evm_mine', { kind: 'status', status: 500 });
    try {
      const body = JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] },
        { jsonrpc: '2.0', id: 2, method: 'evm_mine', params: [] },
      ]);
      const answers = JSON.parse((await postText(proxy.url, body)).text) as Array<{ id: number; error?: { code: number } }>;
      expect(answers.map((x) => x.id).sort()).toEqual([1, 2]);
      expect(answers.find((x) => x.id === 2)).toMatchObject({ error: { code: NOT_RESENT } });
      expect({ a: a().count('evm_mine') - before.a, b: b().count('evm_mine') - before.b }).toEqual({ a: 1, b: 0 });
    } finally {
      a().misbehave('evm_mine', undefined);
    }
  });

  it('a read still fails over to the next node', async () => {
    a().misbehave('eth_getBalance', { kind: 'status', status: 500 });
    try {
      const { text } = await postText(proxy.url, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: [DEV_ACCOUNT, 'latest'] }));
      const wei = BigInt(JSON.parse(text).result);
      expect(wei / 10n ** 18n).toBeGreaterThan(15_000n); // b's balance (20,000 ETH), not a's
    } finally {
      a().misbehave('eth_getBalance', undefined);
    }
  });
});
