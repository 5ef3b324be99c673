import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { NodePool, UpstreamSession, type SessionSwitchEvent } from '../../src/index.js';

// A node that sends a text frame that is not UTF-8 (RFC 6455: the connection must fail, 1007)
// through the session's default transport on Node (WsSocketTransport, which checks UTF-8 itself
// since 5bbdf32): the session leaves that node, and the client sees nothing of the frame, keeps
// its subscription id, and gets every answer once.

interface FakeWsNode {
  name: string;
  url: string;
  sockets: WebSocket[];
  /** The next frame to this node's sockets is these bytes, as a text frame. */
  sendRaw(bytes: Buffer): void;
  close(): Promise<void>;
}

async function startNode(name: string, head: number): Promise<FakeWsNode> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const sockets: WebSocket[] = [];
  let subscriptions = 0;
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('message', (data) => {
      const request = JSON.parse(String(data)) as { id: number; method: string };
      const result =
        request.method === 'eth_subscribe' ? `0x${name}${++subscriptions}` : request.method === 'eth_chainId' ? '0x1' : request.method === 'eth_blockNumber' ? `0x${head.toString(16)}` : `${name}-answer`;
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: request.id, result }));
    });
  });
  const { port } = wss.address() as AddressInfo;
  return {
    name,
    url: `ws://127.0.0.1:${port}/`,
    sockets,
    sendRaw: (bytes) => {
      for (const ws of sockets) ws.send(bytes, { binary: false });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const nextSwitch = (session: UpstreamSession) => new Promise<SessionSwitchEvent>((resolve) => session.once('switch', resolve));

describe('a node that sends a text frame that is not UTF-8', { timeout: 20_000 }, () => {
  it('is left: the session moves to the other node, the client keeps its subscription id and gets each answer once, and nothing of the frame', async () => {
    const a = await startNode('a', 100);
    const b = await startNode('b', 100);
    cleanups.push(() => a.close(), () => b.close());
    const pool = new NodePool({ nodes: [{ name: 'a', ws: a.url }, { name: 'b', ws: b.url, tier: 'backup' }] });
    const session = new UpstreamSession({ pool });
    cleanups.push(() => pool.close(), () => session.close());
    const received: string[] = [];
    const errors: Error[] = [];
    session.on('message', (text) => received.push(text));
    session.on('error', (error) => errors.push(error));
    if (session.state !== 'ready') await nextSwitch(session);
    expect(session.node).toBe('a');

    session.send('{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const subscribed = JSON.parse(received[0]!) as { id: number; result: string };
    expect(subscribed).toMatchObject({ id: 1, result: '0xa1' });

    const switched = nextSwitch(session);
    // `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xa1","result":"<bad>"}}`
    // with a lone continuation byte and an overlong '/': neither decodes.
    a.sendRaw(Buffer.concat([Buffer.from('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xa1","result":"'), Buffer.from([0x80, 0xc0, 0xaf]), Buffer.from('"}}')]));
    expect((await switched).to).toBe('b');
    // The session's error names the node; its cause, the transport's, says why.
    expect(errors.map((e) => [e.message, String((e as { cause?: { details?: unknown } }).cause?.details)])).toContainEqual(['Socket error on node "a"', 'Invalid WebSocket frame: invalid UTF-8 sequence']);

    session.send('{"jsonrpc":"2.0","id":2,"method":"eth_getBalance","params":["0x0000000000000000000000000000000000000001","latest"]}');
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The subscription lives on b under the id the client has.
    b.sockets.at(-1)!.send('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xb1","result":{"number":"0x65"}}}');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const frames = received.map((text) => JSON.parse(text) as { id?: number; method?: string; params?: { subscription: string; result: unknown } });
    expect(frames.filter((f) => f.id === 2)).toEqual([{ jsonrpc: '2.0', id: 2, result: 'b-answer' }]);
    const notifications = frames.filter((f) => f.method === 'eth_subscription');
    expect(notifications).toEqual([{ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: '0xa1', result: { number: '0x65' } } }]);
    expect(received.some((text) => text.includes('\uFFFD'))).toBe(false);
  });
});
