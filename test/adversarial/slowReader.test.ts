/**
 * Issue 13, point 3: a client that subscribes and stops reading, under a flood of notifications,
 * is closed with 1013 once more than `--max-buffered-bytes` is queued for it, counted in a metric;
 * the proxy process's memory stays bounded and other clients are served meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { poll } from '../integration/helpers/wsClient.js';
import { spawnProxy } from './helpers/childProxy.js';
import { TextClient } from './helpers/raw.js';
import { COUNTS, LONG } from './helpers/settings.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(1);
}, 60_000);
afterAll(() => stack?.stop(), 30_000);

const MiB = 1024 * 1024;
/** The long run uses the default (16 MiB); the short one a smaller bound, to be quick. */
const MAX_BUFFERED = LONG ? 16 * MiB : 4 * MiB;

describe('a stalled reader', { timeout: 90_000 }, () => {
  it(`is closed with 1013 past ${MAX_BUFFERED / MiB} MiB queued, and the proxy's memory stays bounded for ${COUNTS.stallMs / 1000} s`, async () => {
    const { relay } = stack.node('a');
    const proxy = await spawnProxy(['--upstream', `a=${relay.httpUrl},${relay.wsUrl}`, ...(LONG ? [] : ['--max-buffered-bytes', String(MAX_BUFFERED)])], { admin: true });
    const metric = async (name: string) => Number(new RegExp(`^steadyrpc_${name} (\\d+)$`, 'm').exec(await (await fetch(`${proxy.adminUrl}/metrics`)).text())?.[1] ?? NaN);
    relay.misbehave('eth_subscribe', { kind: 'flood', bytes: 64 * 1024 });
    try {
      await poll('ready', async () => (await fetch(`${proxy.url}/readyz`)).ok, 15_000);
      const bystander = await TextClient.connect(proxy.wsUrl);
      const stalled = await TextClient.connect(proxy.wsUrl);
      const baseline = proxy.rssBytes();
      let peak = baseline;
      const sampler = setInterval(() => (peak = Math.max(peak, proxy.rssBytes())), 100);
      const startedAt = Date.now();
      try {
        stalled.send('{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newPendingTransactions"]}');
        await stalled.next((t) => t.includes('"id":1'));
        stalled.ws.pause();
        // Closing the client closes its session, and so its socket to the node.
        await poll('the slow reader is closed', async () => relay.openSockets === 1, COUNTS.stallMs + 10_000, 20);
        const closedAfterMs = Date.now() - startedAt;
        // Reading again (within the close grace), it finds what was queued for it, then the close frame.
        stalled.ws.resume();
        const { code, reason } = await stalled.closed;
        expect({ code, reason }).toEqual({ code: 1013, reason: 'steadyrpc: slow reader' });
        await poll('counted', async () => (await metric('client_slow_reader_closes_total')) === 1, 5_000);
        // The proxy keeps serving while (and after) the reader stalls.
        expect(JSON.parse(await bystander.ask('{"jsonrpc":"2.0","id":2,"method":"eth_chainId","params":[]}'))).toMatchObject({ result: '0x7a69' });
        const left = COUNTS.stallMs - (Date.now() - startedAt);
        if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
        const growth = peak - baseline;
        console.log(`slow reader closed after ${closedAfterMs} ms; proxy RSS ${(baseline / MiB).toFixed(0)} MiB, peak +${(growth / MiB).toFixed(1)} MiB over ${COUNTS.stallMs / 1000} s`);
        expect(growth).toBeLessThan(64 * MiB + 2 * MAX_BUFFERED);
        expect(await metric('client_connections')).toBe(1);
      } finally {
        clearInterval(sampler);
        bystander.close();
      }
    } finally {
      relay.misbehave('eth_subscribe', undefined);
      await proxy.stop();
    }
  });
});
