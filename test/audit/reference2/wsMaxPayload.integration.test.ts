import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { WebSocket as ServerSocket } from 'ws';
import type { SocketCloseInfo, SocketListener } from '../../../src/index.js';
import { WsSocketTransport } from '../../../src/index.js';

// docs/reference.md, WsSocketTransport, maxPayload: "a bigger one fails the socket (`onError`,
// then `onClose` 1006; the node is sent 1009)". test/transport/WsSocketTransport.test.ts checks the
// local side; this checks what the node receives.

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('WsSocketTransport maxPayload', () => {
  it('a message past maxPayload: onError, onClose 1006 locally, and the node is sent close 1009', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const client of wss.clients) client.terminate();
          wss.close(() => resolve());
        }),
    );
    const connection = once(wss, 'connection') as Promise<[ServerSocket]>;
    const events: string[] = [];
    let closeInfo: SocketCloseInfo | undefined;
    const opened = new Promise<void>((resolve) => {
      const listener: SocketListener = {
        onOpen: () => {
          events.push('open');
          resolve();
        },
        onMessage: () => events.push('message'),
        onError: () => events.push('error'),
        onClose: (info) => {
          events.push('close');
          closeInfo = info;
        },
      };
      const socket = new WsSocketTransport({ maxPayload: 1_024 }).open({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/` }, listener);
      cleanups.push(() => socket.terminate());
    });
    const [serverSocket] = await connection;
    await opened;
    const serverClosed = once(serverSocket, 'close') as Promise<[number, Buffer]>;
    serverSocket.send('x'.repeat(1_025));
    const [code] = await serverClosed;
    expect(code).toBe(1009);
    for (let i = 0; i < 100 && closeInfo === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual(['open', 'error', 'close']);
    expect(closeInfo?.code).toBe(1006);
  });
});
