import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { NodePool, UpstreamSession } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeSocketTransport, type FakeSocket } from '../../src/testing/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A session subscribed to `kind` on one fake node, and a way to push raw notification frames. */
async function subscribed(kind: 'newHeads' | 'logs') {
  const clock = new FakeClock();
  const sockets = new FakeSocketTransport();
  let server: FakeSocket | undefined;
  sockets.route('ws://a.test/', (socket) => {
    server = socket;
    socket.accept();
  });
  sockets.onSend((text, socket) => {
    const { id, method } = JSON.parse(text);
    if (id === undefined) return;
    socket.receive(JSON.stringify({ jsonrpc: '2.0', id, result: method === 'eth_subscribe' ? '0xfeed' : '0x1' }));
  });
  const pool = new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.test/' }], clock, httpTransport: new FakeHttpTransport() });
  pool.update('a', { status: 'healthy', head: 1 });
  const session = new UpstreamSession({ pool, transport: sockets, clock });
  let delivered = 0;
  session.on('message', () => void (delivered += 1));
  await clock.flush();
  session.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: kind === 'newHeads' ? ['newHeads'] : ['logs', {}] }));
  await clock.flush();
  return {
    push: (result: string) => server!.receive(`{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xfeed","result":${result}}}`),
    delivered: () => delivered - 1, // the subscribe answer
    close() {
      session.close();
      pool.close();
    },
  };
}

const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;
const padding = (n: number) => `0x${n.toString(16).padStart(8, '0')}${'ab'.repeat(50_000)}`; // 100 KB, distinct

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('what the dedupe window keeps alive', () => {
  // The window remembers 256 keys read from the notifications' text. Were they slices of their
  // frames, 256 frames of 100 KB (25 MB) would stay alive; copies keep a few dozen bytes each.
  it.each(['newHeads', 'logs'] as const)('%s: keys remembered for duplicates do not keep their 100 KB frames alive', async (kind) => {
    const s = await subscribed(kind);
    const result = (n: number) =>
      kind === 'newHeads'
        ? `{"extraData":"${padding(n)}","number":"0x${n.toString(16)}","hash":"${hash(n)}"}`
        : `{"data":"${padding(n)}","blockNumber":"0x${n.toString(16)}","blockHash":"${hash(n)}","logIndex":"0x0","removed":false}`;
    for (let n = 1; n <= 50; n++) s.push(result(n)); // warm up
    const before = heapAfterGc();
    for (let n = 51; n <= 350; n++) s.push(result(n));
    const grown = heapAfterGc() - before;
    expect(s.delivered()).toBe(350);
    expect(grown).toBeLessThan(5_000_000);
    s.close();
  });
});
