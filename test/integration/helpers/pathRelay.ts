/**
 * A relay that takes JSON-RPC on any path (HTTP POST and WebSocket) and forwards it to a node that
 * serves only `/` (anvil), recording what each request carried: so a test can give nodes URLs with
 * provider-style keys in the path, query and userinfo, and check they were used as configured.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

export interface RelayedRequest {
  kind: 'http' | 'ws';
  /** Path and query, as the client sent them. */
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface PathRelay {
  port: number;
  readonly requests: RelayedRequest[];
  close(): Promise<void>;
}

export async function startPathRelay(target: { httpUrl: string; wsUrl: string }): Promise<PathRelay> {
  const requests: RelayedRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ kind: 'http', url: req.url ?? '', headers: req.headers });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      fetch(target.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks), signal: AbortSignal.timeout(5_000) })
        .then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(await answer.text());
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (client, req) => {
    requests.push({ kind: 'ws', url: req.url ?? '', headers: req.headers });
    const upstream = new WebSocket(target.wsUrl);
    const held: string[] = [];
    client.on('message', (data) => (upstream.readyState === WebSocket.OPEN ? upstream.send(String(data)) : held.push(String(data))));
    upstream.on('open', () => held.splice(0).forEach((text) => upstream.send(text)));
    upstream.on('message', (data) => client.readyState === WebSocket.OPEN && client.send(String(data)));
    const closeBoth = () => {
      client.terminate();
      upstream.terminate();
    };
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
