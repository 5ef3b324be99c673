/**
 * `tsx bench/frames-ab.ts --base <dir> [--rounds 4000] [--continuity off]`
 *
 * What a pushed newHeads notification costs a session, in this build (`dist/`) and in another
 * (`<dir>`: a copy of an earlier build's `dist/` inside the repository, where it finds `ws`, made
 * with `cp -r dist bench/results/base` before the change (git ignores it), then `npm run build`),
 * in one process: each build's session gets its frames straight at its socket listener (text and
 * bytes, as WsSocketTransport hands them over; no sockets, no client parsing),
 * in batches of 256 that take turns, so a machine whose speed drifts slows both alike. Prints the
 * wall time per notification of each (the first quarter of the rounds is warm-up). This is the
 * session's own share of the notifications case of `npm run bench`, where ws's receive and the
 * client's JSON.parse (about 4.5 µs) come on top and machine noise is several times larger than a
 * change of a few tens of ns.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { ensureBuilt } from './built.js';
import { headJson } from './mockChain.js';
import { REPO_ROOT } from './ipc.js';

const { values } = parseArgs({ options: { base: { type: 'string' }, rounds: { type: 'string', default: '4000' }, continuity: { type: 'string', default: 'on' } } });
if (values.base === undefined) throw new Error('--base <dir>: the dist/ of the build to compare with');
ensureBuilt();
const ROUNDS = Number(values.rounds);
const BATCH = 256;
const ID = '0xd31bd78e000000000000000000000001';
const PREFIX = `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"${ID}","result":`;

interface Steadyrpc {
  NodePool: new (options: object) => { close(): void };
  UpstreamSession: new (options: object) => { on(event: string, listener: (value: never) => void): void; send(text: string): void; close(): void };
}
interface Listener {
  onOpen(): void;
  onMessage(text: string, bytes?: Uint8Array): void;
}

/** A session on a transport that answers at once, subscribed to newHeads; its socket's listener. */
async function subscribed(lib: Steadyrpc): Promise<{ listener: Listener; delivered: () => number; close(): void }> {
  let listener: Listener | undefined;
  const transport = {
    open(_endpoint: unknown, l: Listener) {
      listener = l;
      queueMicrotask(() => l.onOpen());
      return {
        send(text: string) {
          const { id, method } = JSON.parse(text) as { id: number; method: string };
          const result = { eth_subscribe: ID, eth_chainId: '0x1', eth_blockNumber: '0x3e8', eth_getBlockByNumber: JSON.parse(headJson(1000)) as unknown }[method] ?? null;
          queueMicrotask(() => l.onMessage(JSON.stringify({ jsonrpc: '2.0', id, result })));
        },
        close() {},
        terminate() {},
        ping() {},
      };
    },
  };
  const pool = new lib.NodePool({ nodes: [{ name: 'a', ws: 'ws://127.0.0.1:1', http: 'http://127.0.0.1:1' }], healthCheck: false });
  const session = new lib.UpstreamSession({ pool, transport, ...(values.continuity === 'off' ? { continuity: { newHeads: false, logs: false } } : {}) });
  let delivered = 0;
  session.on('message', (text: string) => void (text.length > 500 && (delivered += 1)));
  session.on('error', () => {});
  await new Promise((done) => setTimeout(done, 50));
  session.send('{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}');
  await new Promise((done) => setTimeout(done, 50));
  return { listener: listener!, delivered: () => delivered, close: () => (session.close(), pool.close()) };
}

const builds = {
  this: (await import(pathToFileURL(resolve(REPO_ROOT, 'dist/index.js')).href)) as Steadyrpc,
  base: (await import(pathToFileURL(resolve(values.base, 'index.js')).href)) as Steadyrpc,
};
const names = ['this', 'base'] as const;
const subjects = { this: await subscribed(builds.this), base: await subscribed(builds.base) };
const next = { this: 1001, base: 1001 };
const ns = { this: 0n, base: 0n };
let timed = 0;
for (let round = 0; round < ROUNDS; round++) {
  for (const name of round % 2 === 0 ? names : [...names].reverse()) {
    const bytes = Array.from({ length: BATCH }, () => Buffer.from(`${PREFIX}${headJson(next[name]++)}}}`));
    const texts = bytes.map((b) => b.toString('latin1'));
    const { listener } = subjects[name];
    const started = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) listener.onMessage(texts[i]!, bytes[i]!);
    if (round >= ROUNDS / 4) ns[name] += process.hrtime.bigint() - started;
  }
  if (round >= ROUNDS / 4) timed += BATCH;
  if (round % 8 === 0) await new Promise((done) => setImmediate(done));
}
process.stdout.write(`newHeads notifications through a session (continuity ${values.continuity}), ${timed} timed of ${ROUNDS * BATCH} each, ns per notification\n`);
for (const name of names) {
  const { delivered, close } = subjects[name];
  if (delivered() !== ROUNDS * BATCH) throw new Error(`${name}: ${delivered()} of ${ROUNDS * BATCH} notifications delivered`);
  process.stdout.write(`  ${name.padEnd(5)} ${(Number(ns[name]) / timed).toFixed(0).padStart(5)} ns\n`);
  close();
}
