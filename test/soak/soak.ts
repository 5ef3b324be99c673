/**
 * Soak: the reference proxy in front of two real anvil nodes, steady traffic from a few clients,
 * and a forced reconnect every 10 s (the primary is cut and restored). Samples heap (after a forced
 * GC) and active handles; reports growth after warm-up, and handles after everything is closed.
 *
 *   npm run test:soak                 # 10 minutes
 *   SOAK_MINUTES=2 npm run test:soak  # shorter
 */
import assert from 'node:assert/strict';
import { DEV_ACCOUNT, startCluster, startProxyOver } from '../integration/helpers/cluster.js';
import { WsClient, sleep } from '../integration/helpers/wsClient.js';

const minutes = Number(process.env.SOAK_MINUTES ?? 10);
const gc = (globalThis as { gc?: () => void }).gc;
assert.ok(gc, 'run with --expose-gc (npm run test:soak does)');

const handles = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
const heapMb = () => {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

const baselineHandles = handles();
const cluster = await startCluster();
const proxy = await startProxyOver(cluster);
const clients = await Promise.all(Array.from({ length: 10 }, () => WsClient.connect(proxy.wsUrl)));
for (const client of clients) await client.call('eth_subscribe', ['newHeads'], 'sub');
let sent = 0;
const traffic = setInterval(() => {
  for (const client of clients) {
    client.send({ jsonrpc: '2.0', id: sent % 7, method: 'eth_getBalance', params: [DEV_ACCOUNT, 'latest'] });
    sent += 1;
  }
}, 50);

const samples: Array<{ minute: number; heapMb: number; handles: number; answers: number }> = [];
const start = Date.now();
let reconnects = 0;
while (Date.now() - start < minutes * 60_000) {
  await sleep(7_000);
  await cluster.a.proxy.cut();
  await sleep(3_000);
  await cluster.a.proxy.restore();
  reconnects += 1;
  if (reconnects % 3 === 0) {
    // Frames received by clients are the test's own memory, not the library's: drop them.
    const answers = clients.reduce((n, c) => n + c.frames.length, 0);
    for (const client of clients) client.frames.length = 0;
    samples.push({ minute: (Date.now() - start) / 60_000, heapMb: heapMb(), handles: handles(), answers });
    const s = samples.at(-1)!;
    console.log(`soak ${s.minute.toFixed(1)} min: heap ${s.heapMb.toFixed(1)} MB, handles ${s.handles}, frames in last 30 s ${s.answers}, reconnects ${reconnects}`);
  }
}
clearInterval(traffic);
for (const client of clients) client.close();
await proxy.close();
await cluster.stop();
await sleep(500);

// Warm-up lasts until the bounded caches are full: the largest is each newHeads subscription's
// dedupe window (256 hashes at one block a second, about 4.3 min). Growth after that is a leak;
// growth before it is the caches filling. Both are printed.
const last = samples.at(-1)!;
const growthFrom = (sample: { heapMb: number }) => ((last.heapMb - sample.heapMb) / sample.heapMb) * 100;
const pct = (n: number) => `${n >= 0 ? '+' : ''}${n.toFixed(1)} %`;
const oneMinute = samples.find((s) => s.minute >= 1) ?? samples[0]!;
const warm = samples.find((s) => s.minute >= Math.min(5, minutes / 2)) ?? samples[0]!;
const growth = growthFrom(warm);
const finalHandles = handles();
console.log(`soak: ${minutes} min, ${reconnects} forced reconnects, ${sent} requests`);
console.log(`soak: heap at 1 min ${oneMinute.heapMb.toFixed(1)} MB -> at the end ${last.heapMb.toFixed(1)} MB (${pct(growthFrom(oneMinute))}, caches still filling)`);
console.log(`soak: heap after warm-up (${warm.minute.toFixed(1)} min) ${warm.heapMb.toFixed(1)} MB -> at the end ${last.heapMb.toFixed(1)} MB (${pct(growth)}, goal <= 5 %)`);
console.log(`soak: active handles before ${baselineHandles}, after close ${finalHandles} (goal: back to baseline)`);
process.exitCode = growth <= 5 && finalHandles <= baselineHandles ? 0 : 1;
