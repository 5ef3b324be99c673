import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { NodePool, RpcErrorCode, UpstreamSession, type SessionSwitchEvent } from '../../src/index.js';

// A node that sends frames nested 10,000 levels deep (an answer and a notification) through the
// session's default transport on Node (WsSocketTransport over ws). JSON.parse reads them, but
// JSON.stringify overflowed the stack on the way to the client; a throw out of ws's 'message'
// listener is an uncaught exception, which ends a process that has no handler for it.

const DEEP = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;

async function startNode(): Promise<{ url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const { id, method } = JSON.parse(String(data)) as { id: number; method: string };
      if (method === 'eth_call') return ws.send(`{"jsonrpc":"2.0","id":${id},"result":${DEEP}}`);
      if (method !== 'eth_subscribe') return ws.send(JSON.stringify({ jsonrpc: '2.0', id, result: method === 'eth_blockNumber' ? '0x64' : '0x1' }));
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, result: '0xs1' }));
      const notification = (result: string) => `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xs1","result":${result}}}`;
      ws.send(notification(`{"hash":"0xaa","extra":${DEEP}}`));
      ws.send(notification('"0xbb"'));
    });
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
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

describe('a node that sends frames nested too deep to serialise again, over ws', { timeout: 20_000 }, () => {
  it('raises no uncaught exception: the call gets its error answer, the notification is dropped, and the session goes on', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    cleanups.push(() => process.off('uncaughtException', onUncaught));
    const node = await startNode();
    cleanups.push(() => node.close());
    const pool = new NodePool({ nodes: [{ name: 'a', ws: node.url }] });
    const session = new UpstreamSession({ pool });
    cleanups.push(() => pool.close(), () => session.close());
    const received: any[] = [];
    session.on('message', (text) => received.push(JSON.parse(text)));
    session.on('error', () => {});
    if (session.state !== 'ready') await new Promise<SessionSwitchEvent>((resolve) => session.once('switch', resolve));

    session.send('{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newPendingTransactions"]}');
    session.send('{"jsonrpc":"2.0","id":2,"method":"eth_call","params":[{},"latest"]}');
    // Without an uncaught exception first: waiting for the answers would only time out.
    const answered = (count: number) => () => {
      expect(uncaught).toEqual([]);
      expect(received).toHaveLength(count);
    };
    await vi.waitFor(answered(3), { timeout: 5_000 });
    session.send('{"jsonrpc":"2.0","id":3,"method":"eth_chainId","params":[]}');
    await vi.waitFor(answered(4), { timeout: 5_000 });

    expect(received).toEqual([
      { jsonrpc: '2.0', id: 1, result: '0xs1' },
      { jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: '0xs1', result: '0xbb' } },
      { jsonrpc: '2.0', id: 2, error: { code: RpcErrorCode.INTERNAL_ERROR, message: expect.stringContaining('could not be passed on') } },
      { jsonrpc: '2.0', id: 3, result: '0x1' },
    ]);
    expect(session.stats()).toMatchObject({ state: 'ready', node: 'a', upstreamGarbage: 2, reconnects: 0 });
  });
});
