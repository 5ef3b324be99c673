/**
 * The floor for any WebSocket proxy: one upstream socket per client, frames forwarded untouched
 * both ways (same opcode, same bytes), nothing parsed.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer, type RawData } from 'ws';

export interface Pipe {
  readonly url: string;
  close(): Promise<void>;
}

export async function startPipe(upstreamUrl: string): Promise<Pipe> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  const open = new Set<WebSocket>();
  wss.on('connection', (client) => {
    const upstream = new WebSocket(upstreamUrl, { perMessageDeflate: false });
    open.add(client).add(upstream);
    const early: Array<[RawData, boolean]> = [];
    client.on('message', (data, isBinary) => {
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary: isBinary });
      else early.push([data, isBinary]);
    });
    upstream.on('open', () => {
      for (const [data, isBinary] of early.splice(0)) upstream.send(data, { binary: isBinary });
    });
    upstream.on('message', (data, isBinary) => {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
    const end = () => {
      open.delete(client);
      open.delete(upstream);
      if (client.readyState !== WebSocket.CLOSED) client.terminate();
      if (upstream.readyState !== WebSocket.CLOSED) upstream.terminate();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    async close() {
      for (const socket of open) socket.terminate();
      await new Promise((resolve) => wss.close(resolve));
    },
  };
}
