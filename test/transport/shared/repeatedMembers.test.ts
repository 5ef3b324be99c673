import { describe, expect, it } from 'vitest';
import type { SocketListener } from '../../../src/index.js';
import { SharedSocketTransport } from '../../../src/index.js';
import { FakeClock, FakeSocketTransport } from '../../../src/testing/index.js';

function listener(texts: string[]): SocketListener {
  return { onOpen: () => {}, onMessage: (text) => texts.push(text), onClose: () => {}, onError: () => {} };
}

async function twoOpen() {
  const clock = new FakeClock();
  const fake = new FakeSocketTransport();
  const shared = new SharedSocketTransport({ transport: fake, clock });
  const a: string[] = [];
  const b: string[] = [];
  const sa = shared.open({ url: 'ws://a.test/' }, listener(a));
  const sb = shared.open({ url: 'ws://a.test/' }, listener(b));
  await clock.flush();
  const server = fake.last()!;
  server.accept();
  return { clock, server, a, b, sa, sb };
}

/** The node reads a frame as JSON.parse (and Go's encoding/json) do, and answers under the id it read. */
function answerAll(server: { sent: string[]; receiveJson(v: unknown): void }, from: number) {
  for (const text of server.sent.slice(from)) {
    const request = JSON.parse(text) as { id: number; method: string };
    server.receiveJson({ jsonrpc: '2.0', id: request.id, result: `answer to ${request.method}` });
  }
}

// Found in review: the fast path re-addressed a user's frame by its first "id" and "method" and
// passed the rest on as it was; a node reads the last of a repeated member. Only code that writes
// to the transport's sockets itself can send such frames (a session writes its own).
describe('a frame with a repeated "id" or "method" member on the shared real socket', () => {
  it('a frame with a repeated "id" member cannot take another session\'s id on the real socket', async () => {
    const { server, a, b, sa, sb } = await twoOpen();
    sb.send('{"jsonrpc":"2.0","id":7,"method":"eth_getBalance","params":["0xb0b","latest"]}');
    const bUpstreamId = (JSON.parse(server.sent[0]!) as { id: number }).id;
    // A's own frame, in the shape a session writes, with a second "id" member after its method.
    sa.send(`{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[],"id":${bUpstreamId}}`);
    const ids = server.sent.map((text) => (JSON.parse(text) as { id: number }).id);
    expect.soft(new Set(ids).size).toBe(ids.length);
    answerAll(server, 1); // the node answers A's call only
    expect.soft(b).toEqual([]);
    expect(a).toEqual(['{"jsonrpc":"2.0","id":1,"result":"answer to eth_blockNumber"}']);
  });

  it('a frame with a repeated "method" member cannot set the eth_chainId every other session is answered with', async () => {
    const { server, b, sa, sb } = await twoOpen();
    // A's frame reads as eth_chainId to the transport and as eth_blockNumber to the node.
    sa.send('{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[],"method":"eth_blockNumber"}');
    const upstream = JSON.parse(server.sent[0]!) as { id: number; method: string };
    expect(upstream.method).toBe('eth_blockNumber');
    server.receiveJson({ jsonrpc: '2.0', id: upstream.id, result: '0x1234567' }); // the node's block number
    // B's keepalive, within the liveness window: answered from what the transport remembered.
    sb.send('{"jsonrpc":"2.0","id":5,"method":"eth_chainId","params":[]}');
    await Promise.resolve();
    server.receiveJson({ jsonrpc: '2.0', id: (JSON.parse(server.sent.at(-1)!) as { id: number }).id, result: '0x1' });
    await Promise.resolve();
    expect(b).toEqual(['{"jsonrpc":"2.0","id":5,"result":"0x1"}']);
  });

  it('a frame with a repeated "method" member cannot unsubscribe upstream a subscription another session holds', async () => {
    const { server, a, b, sa, sb } = await twoOpen();
    sa.send('{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}');
    sb.send('{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}');
    server.receiveJson({ jsonrpc: '2.0', id: (JSON.parse(server.sent[0]!) as { id: number }).id, result: '0x1' }); // anvil counts from 0x1
    expect(a.length + b.length).toBe(2); // both subscribed, one upstream subscription
    const before = server.sent.length;
    // A's frame reads as eth_blockNumber to the transport and as eth_unsubscribe("0x1") to the node.
    sa.send('{"jsonrpc":"2.0","id":2,"method":"eth_blockNumber","params":["0x1"],"method":"eth_unsubscribe"}');
    const written = server.sent.slice(before).map((text) => JSON.parse(text) as { method: string; params: unknown[] });
    expect(written.filter((m) => m.method === 'eth_unsubscribe')).toEqual([]);
  });
});

