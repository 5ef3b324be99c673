/**
 * A `FakeNode` from `steadyrpc/testing` served for real: HTTP JSON-RPC (POST, single and batch) and
 * WebSocket JSON-RPC on one port, like anvil, mining a block on a real timer. The demo falls back to
 * two of these when anvil cannot run. Only `newHeads` subscriptions are served (all the demo uses).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JsonRpcRequest, JsonRpcResponse } from 'steadyrpc';
import type { FakeNode } from 'steadyrpc/testing';
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeNodeServer {
  readonly port: number;
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** Stops mining, closes every socket and the server. Idempotent. */
  close(): Promise<void>;
}

const PARSE_ERROR = { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } } as const;

export async function serveFakeNode(node: FakeNode, options: { blockTimeMs: number }): Promise<FakeNodeServer> {
  /** Each socket's `newHeads` subscription ids. */
  const subscriptions = new Map<WebSocket, Set<string>>();

  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' });
      return void res.end();
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = answerText(Buffer.concat(chunks).toString('utf8'), (request) => node.answer(request));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answer);
    });
  });

  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    const own = new Set<string>();
    subscriptions.set(ws, own);
    ws.on('message', (data) => {
      const answer = answerText(String(data), (request) => {
        const params = Array.isArray(request.params) ? request.params : [];
        const id = request.id ?? null;
        if (request.method === 'eth_subscribe') {
          if (params[0] !== 'newHeads') return { jsonrpc: '2.0', id, error: { code: -32602, message: `unsupported subscription ${JSON.stringify(params[0])}` } };
          const subscription = `0x${randomBytes(16).toString('hex')}`;
          own.add(subscription);
          return { jsonrpc: '2.0', id, result: subscription };
        }
        if (request.method === 'eth_unsubscribe') return { jsonrpc: '2.0', id, result: own.delete(String(params[0])) };
        return node.answer(request);
      });
      if (ws.readyState === ws.OPEN) ws.send(answer);
    });
    ws.on('close', () => subscriptions.delete(ws));
    ws.on('error', () => ws.terminate());
  });

  const miner = setInterval(() => {
    node.advance(1);
    const head = node.block(node.head);
    for (const [ws, own] of subscriptions) {
      if (ws.readyState !== ws.OPEN) continue;
      for (const subscription of own) ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription, result: head } }));
    }
  }, options.blockTimeMs);

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    close: () =>
      (closing ??= (async () => {
        clearInterval(miner);
        for (const ws of subscriptions.keys()) ws.terminate();
        wss.close();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      })()),
  };
}

/** Answers a JSON-RPC frame (a request or a batch) request by request. */
function answerText(text: string, answer: (request: JsonRpcRequest) => JsonRpcResponse | object): string {
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return JSON.stringify(PARSE_ERROR);
  }
  if (Array.isArray(payload)) return JSON.stringify(payload.map((request) => answer(request as JsonRpcRequest)));
  return JSON.stringify(answer(payload as JsonRpcRequest));
}
