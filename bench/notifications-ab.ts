/**
 * `tsx bench/notifications-ab.ts --base <dir> [--slices 40] [--slice-ms 100]`
 *
 * The notifications case of `npm run bench` with two builds side by side: a raw `ws` client, a
 * session of this build (`dist/`) and a session of another (`<dir>`: a copy of an earlier build's
 * `dist/` inside the repository, where it finds `ws`, made with `cp -r dist bench/results/base`
 * before the change (git ignores it), then `npm run build`), each on its own socket to the one mock,
 * in alternating slices (raw, this, base, then base, this, raw, …), every consumer JSON.parsing
 * every frame. Prints, for each, the CPU per notification and the median of its per-slice rate
 * ratios to raw. Unlike `frames-ab.ts`, which times a session's own work alone, this includes what
 * only shows with sockets and a client: how the session's work and the client's share the
 * processor's caches.
 */
import { once } from 'node:events';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { ensureBuilt } from './built.js';
import { REPO_ROOT, sleep } from './ipc.js';
import { median } from './load.js';
import { RpcPeer } from './rpc.js';
import { startMocks, type MockUpstream } from './upstreams.js';

const { values } = parseArgs({ options: { base: { type: 'string' }, slices: { type: 'string', default: '40' }, 'slice-ms': { type: 'string', default: '100' } } });
if (values.base === undefined) throw new Error('--base <dir>: the dist/ of the build to compare with');
ensureBuilt();
const SLICES = Number(values.slices);
const SLICE_MS = Number(values['slice-ms']);

interface Steadyrpc {
  NodePool: new (options: object) => { close(): void };
  UpstreamSession: new (options: object) => {
    state: string;
    on(event: string, listener: (value: never) => void): void;
    once(event: string, listener: () => void): void;
    send(text: string): void;
    close(): void;
  };
}

type Consumer = 'raw ws' | 'this build' | 'base';
interface Opened {
  peer: RpcPeer;
  close(): void;
}

const [mock] = await startMocks(1);
const url = (consumer: Consumer) => `${mock!.wsUrl}/?peer=${encodeURIComponent(consumer)}`;

async function openRaw(): Promise<Opened> {
  const ws = new WebSocket(url('raw ws'), { perMessageDeflate: false });
  const peer = new RpcPeer((text) => ws.send(text));
  ws.on('message', (data) => peer.receive(String(data)));
  ws.on('error', () => {});
  await once(ws, 'open');
  return { peer, close: () => ws.close() };
}

async function openSession(lib: Steadyrpc, consumer: Consumer): Promise<Opened> {
  const pool = new lib.NodePool({ nodes: [{ ...mock!.node(), ws: url(consumer) }] });
  const session = new lib.UpstreamSession({ pool });
  const peer = new RpcPeer((text) => session.send(text));
  session.on('message', (text: string) => peer.receive(text));
  session.on('error', () => {});
  if (session.state !== 'ready') await new Promise<void>((done) => session.once('switch', done));
  return {
    peer,
    close() {
      session.close();
      pool.close();
    },
  };
}

interface Slice {
  delivered: number;
  rate: number;
  cpuUs: number;
}

/** One slice: the mock pushes to `consumer` for `ms`; then what it sent is let in. */
async function measure(opened: Opened, consumer: Consumer, ms: number): Promise<Slice> {
  let delivered = 0;
  let first = 0;
  let last = 0;
  opened.peer.onNotification = () => {
    const now = performance.now();
    if (delivered === 0) first = now;
    last = now;
    delivered += 1;
  };
  const cpuBefore = process.cpuUsage();
  const { sent } = await mock!.push(ms, consumer);
  let seen = -1;
  while (delivered < sent && seen !== delivered) {
    seen = delivered;
    await sleep(30);
  }
  opened.peer.onNotification = undefined;
  const cpu = process.cpuUsage(cpuBefore);
  return { delivered, rate: last > first ? delivered / ((last - first) / 1000) : 0, cpuUs: cpu.user + cpu.system };
}

const thisBuild = (await import(pathToFileURL(resolve(REPO_ROOT, 'dist/index.js')).href)) as Steadyrpc;
const base = (await import(pathToFileURL(resolve(values.base, 'index.js')).href)) as Steadyrpc;
const consumers: Consumer[] = ['raw ws', 'this build', 'base'];
const opened: Record<Consumer, Opened> = {
  'raw ws': await openRaw(),
  'this build': await openSession(thisBuild, 'this build'),
  base: await openSession(base, 'base'),
};
try {
  for (const consumer of consumers) {
    await opened[consumer].peer.call('eth_subscribe', '["newHeads"]');
    await measure(opened[consumer], consumer, 300); // warm-up
  }
  const slices = new Map<Consumer, Slice[]>(consumers.map((c) => [c, []]));
  for (let i = 0; i < SLICES; i++) {
    for (const consumer of i % 2 === 0 ? consumers : [...consumers].reverse()) slices.get(consumer)!.push(await measure(opened[consumer], consumer, SLICE_MS));
  }
  const raw = slices.get('raw ws')!;
  for (const consumer of consumers) {
    const own = slices.get(consumer)!;
    const delivered = own.reduce((sum, s) => sum + s.delivered, 0);
    const cpu = own.reduce((sum, s) => sum + s.cpuUs, 0) / delivered;
    const ratio = median(own.map((s, i) => (raw[i]!.rate > 0 ? s.rate / raw[i]!.rate : 0)));
    console.log(`${consumer.padEnd(10)}  ${delivered} notifications, ${cpu.toFixed(2)} µs CPU each, median rate ratio to raw ws ${ratio.toFixed(3)}`);
  }
} finally {
  for (const consumer of consumers) opened[consumer].close();
  await mock!.stop();
}
