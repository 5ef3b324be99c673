import { describe, expect, it } from 'vitest';
import { serveHttp } from '../../../src/index.js';
import { fakeCluster } from '../../helpers/pool.js';
import { rpc, sessionHarness } from '../../helpers/session.js';

/**
 * Audit of the "default" column of docs/guides/proxy.md:69-77 (Limits) for the per-client limits
 * the proxy leaves to the library (the proxy passes no value of its own unless a flag is given:
 * examples/proxy/commandLine.ts:153-161). The adversarial suite runs each limit with small values
 * (test/adversarial/caps.test.ts, parity.test.ts); nothing pinned the defaults themselves:
 * - `--max-in-flight` 4,096: that call gets -32005 `{ limit: 'maxInFlight', max }`, the socket stays;
 * - `--max-subscriptions` 1,024: that eth_subscribe gets -32005 `{ limit: 'maxSubscriptions', max }`;
 * - `session.maxBatchSize` 1,000: -32600 for the batch, on both ways (parity.test.ts only checks
 *   that a batch of 1,001 gets the same answer on both ways, which any shared default would pass);
 * - `--queue-max` 1,000: -32051 per message.
 */

const balance = (id: number) => rpc(id, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest']);

describe('per-client limits with the defaults', () => {
  it('maxInFlight is 4,096: the 4,097th unanswered call gets -32005 { limit: "maxInFlight", max: 4096 }; the session stays open', async () => {
    const h = await sessionHarness();
    h.nodes.a!.blackhole(); // nothing comes back: every call stays in flight
    for (let id = 1; id <= 4_096; id++) h.send(balance(id));
    await h.settle();
    expect(h.received).toEqual([]);
    h.send(balance(4_097));
    await h.settle();
    expect(h.answers(4_097)).toEqual([{ jsonrpc: '2.0', id: 4_097, error: expect.objectContaining({ code: -32005, data: { limit: 'maxInFlight', max: 4_096 } }) }]);
    expect(h.received).toHaveLength(1);
    expect(h.session.state).not.toBe('closed');
    h.session.close();
  });

  it('maxSubscriptions is 1,024: the 1,025th eth_subscribe gets -32005 { limit: "maxSubscriptions", max: 1024 }', async () => {
    const h = await sessionHarness();
    for (let id = 1; id <= 1_024; id++) h.send(rpc(id, 'eth_subscribe', ['newHeads']));
    await h.settle();
    expect(h.received.filter((m) => typeof m.result === 'string')).toHaveLength(1_024);
    h.send(rpc(1_025, 'eth_subscribe', ['newHeads']));
    await h.settle();
    expect(h.answers(1_025)).toEqual([{ jsonrpc: '2.0', id: 1_025, error: expect.objectContaining({ code: -32005, data: { limit: 'maxSubscriptions', max: 1_024 } }) }]);
    h.session.close();
  });

  it('maxBatchSize is 1,000 over WebSocket: a batch of 1,000 is served, one of 1,001 gets -32600 for the batch', async () => {
    const h = await sessionHarness();
    h.send(Array.from({ length: 1_000 }, (_, i) => rpc(i, 'eth_chainId')));
    await h.settle();
    expect(h.received).toHaveLength(1);
    expect(h.received[0]).toHaveLength(1_000);
    h.send(Array.from({ length: 1_001 }, (_, i) => rpc(i, 'eth_chainId')));
    await h.settle();
    expect(h.received[1]).toEqual({ jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: -32600, data: { maxBatchSize: 1_000 } }) });
    h.session.close();
  });

  it('maxBatchSize is 1,000 over HTTP (serveHttp, as POST / calls it without the option): 1,000 served, 1,001 gets -32600', async () => {
    const { pool } = fakeCluster([{ name: 'a' }]);
    pool.update('a', { status: 'healthy', head: 100 });
    const batch = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => rpc(i, 'eth_chainId')));
    const served = await serveHttp(pool, batch(1_000));
    expect(served.status).toBe(200);
    expect(JSON.parse(served.body)).toHaveLength(1_000);
    const refused = await serveHttp(pool, batch(1_001));
    expect(refused.status).toBe(200);
    expect(JSON.parse(refused.body)).toEqual({ jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: -32600, data: { maxBatchSize: 1_000 } }) });
    pool.close();
  });

  it('the reconnect queue holds 1,000 messages: the 1,001st gets -32051, the ones before it nothing yet', async () => {
    const h = await sessionHarness();
    h.nodes.a!.blackhole();
    h.nodes.b!.blackhole();
    h.sockets.last()!.serverClose(1006); // no upstream: messages wait in the queue
    await h.settle();
    for (let id = 1; id <= 1_000; id++) h.send(rpc(id, 'eth_chainId'));
    await h.settle();
    expect(h.received).toEqual([]);
    expect(h.session.stats().queued).toBe(1_000);
    h.send(rpc(1_001, 'eth_chainId'));
    h.send(rpc(1_002, 'eth_chainId'));
    await h.settle();
    expect(h.received.map((m) => [m.id, m.error?.code])).toEqual([
      [1_001, -32051],
      [1_002, -32051],
    ]);
    h.session.close();
  });
});
