/**
 * Issue 13, point 5: past `maxClients` a WebSocket upgrade is refused with HTTP 503 and
 * Retry-After, counted in a metric, never accepted then dropped; the clients already in are served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROXY_LIMIT_DEFAULTS, parseCommandLine } from '../../examples/proxy-server.js';
import { poll } from '../integration/helpers/wsClient.js';
import { TextClient, rawConnect, statusLine, upgradeRequest } from './helpers/raw.js';
import { COUNTS } from './helpers/settings.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(1);
}, 60_000);
afterAll(() => stack?.stop(), 30_000);

const CHAIN_ID = '{"jsonrpc":"2.0","id":7,"method":"eth_chainId","params":[]}';

describe('the max-clients cap', { timeout: 60_000 }, () => {
  it(`refuses ${COUNTS.overCap} upgrades past the cap with 503 + Retry-After, counts them, and keeps serving the clients in`, async () => {
    const proxy = await stack.proxy({ maxClients: 3 });
    const inside = await Promise.all([1, 2, 3].map(() => TextClient.connect(proxy.wsUrl)));
    expect(proxy.clients).toBe(3);

    const refused = await Promise.all(
      Array.from({ length: COUNTS.overCap }, async () => {
        const conn = await rawConnect(proxy.url);
        conn.socket.write(upgradeRequest(proxy.wsUrl));
        return conn.closed;
      }),
    );
    for (const { received, afterMs } of refused) {
      expect(statusLine(received)).toBe('HTTP/1.1 503 Service Unavailable');
      expect(received).toMatch(/\r\nRetry-After: 1\r\n/);
      expect(afterMs).toBeLessThan(2_000);
    }
    expect(proxy.clients).toBe(3);
    const metrics = proxy.metrics.render();
    expect(metrics).toContain(`steadyrpc_proxy_upgrades_refused_total{reason="max-clients"} ${COUNTS.overCap}`);

    // The clients inside are served, and a place freed is a place taken.
    for (const client of inside) expect(JSON.parse(await client.ask(CHAIN_ID))).toMatchObject({ id: 7, result: '0x7a69' });
    inside[0]!.close();
    await poll('a place is free', async () => proxy.clients < 3, 5_000);
    const next = await TextClient.connect(proxy.wsUrl);
    expect(JSON.parse(await next.ask(CHAIN_ID))).toMatchObject({ result: '0x7a69' });
    await proxy.close();
  });

  it('has a safe default and a flag', () => {
    expect(PROXY_LIMIT_DEFAULTS.maxClients).toBe(10_000);
    const options = parseCommandLine(['--upstream', 'a=http://127.0.0.1:1', '--max-clients', '5']);
    expect(options).toMatchObject({ maxClients: 5 });
    expect(() => parseCommandLine(['--upstream', 'a=http://127.0.0.1:1', '--max-clients', 'many'])).toThrow(/--max-clients must be an integer >= 0/);
  });
});
