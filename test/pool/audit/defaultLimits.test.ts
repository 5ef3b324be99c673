import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { isNotDelivered, isSteadyRpcError, serveHttp } from '../../../src/index.js';
import { FakeClock } from '../../../src/testing/index.js';
import { NodeHttpTransport } from '../../../src/transport/NodeHttpTransport.js';
import { stuckAgent } from '../../helpers/localServers.js';
import { fakeCluster } from '../../helpers/pool.js';

/**
 * Audit of two documented defaults no test pins at their boundary (a changed default went unnoticed
 * by the whole unit suite):
 * - docs/guides/http.md:346 and docs/reference.md:477: serveHttp answers "an empty batch or one over
 *   1,000 items (`-32600`)" (`maxBatchSize`, 1,000; src/server/serveHttp.ts:25-28). The existing
 *   tests pass `maxBatchSize` explicitly (test/server/serveHttp.test.ts:125, serveHttpParity).
 * - docs/guides/http.md:326-327: NodeHttpTransport marks "its connect timeout (`connectTimeoutMs`,
 *   10 s, on the injected `clock`)" as never sent (src/transport/NodeHttpTransport.ts:38). The
 *   existing test (test/transport/NodeHttpTransport.test.ts:181) passes `connectTimeoutMs: 2_000`.
 */

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const call = (id: number) => ({ jsonrpc: '2.0', id, method: 'eth_chainId' });

describe('audit http.md:346: serveHttp maxBatchSize defaults to 1,000', () => {
  function pool() {
    const c = fakeCluster([{ name: 'a' }]);
    c.pool.update('a', { status: 'healthy', head: 100 });
    return c;
  }

  it('a batch of exactly 1,000 calls is answered, item by item', async () => {
    const { pool: p } = pool();
    const answer = await serveHttp(p, JSON.stringify(Array.from({ length: 1_000 }, (_, i) => call(i))));
    expect(answer).toMatchObject({ status: 200, outcome: 'answered' });
    const items = JSON.parse(answer.body) as { id: number; result?: string }[];
    expect(items).toHaveLength(1_000);
    expect(items.every((item, i) => item.id === i && item.result === '0x1')).toBe(true);
  });

  it('a batch of 1,001 calls gets one -32600 naming the limit, and nothing goes upstream', async () => {
    const { pool: p, http: transport } = pool();
    const answer = await serveHttp(p, JSON.stringify(Array.from({ length: 1_001 }, (_, i) => call(i))));
    expect(answer).toMatchObject({ status: 200, outcome: 'invalid' });
    expect(JSON.parse(answer.body)).toMatchObject({ id: null, error: { code: -32600, data: { maxBatchSize: 1_000 } } });
    expect(transport.requests).toHaveLength(0);
  });
});

describe('audit http.md:326-327: NodeHttpTransport connectTimeoutMs defaults to 10 s, on the injected clock', () => {
  it('a connection not made fails as never sent at 10,000 ms, not 1 ms before', async () => {
    const clock = new FakeClock();
    const { agent, lookedUp } = stuckAgent(cleanups);
    const transport = new NodeHttpTransport({ clock, agents: { http: agent } });
    cleanups.push(() => transport.close());
    let settled = false;
    const pending = transport
      .post({ url: 'http://node.test:8545/' }, '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}', new AbortController().signal)
      .then(
        () => undefined,
        (e: unknown) => e,
      )
      .finally(() => (settled = true));
    await lookedUp;
    await clock.advance(9_999);
    expect(settled).toBe(false);
    await clock.advance(1);
    // One turn of the event loop for the destroyed request's 'error' event (no real time passes).
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(settled).toBe(true);
    const error = await pending;
    expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
    expect(isNotDelivered(error)).toBe(true);
    expect((error as Error).message).toMatch(/Connect timeout after 10000 ms/);
  });
});
