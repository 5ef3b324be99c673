/**
 * A misbehaving node: a relay on a free loopback port in front of a real node (anvil), forwarding
 * HTTP JSON-RPC and WebSocket frames both ways, that counts every method it receives and, for the
 * methods it is told to, misbehaves:
 * - `garbage`: answers `{"jsonrpc":"2.0","id":<id>,"result":"0x1"}{"leak":"x"}` (one frame or body,
 *   trailing garbage after a valid answer) without asking the node;
 * - `slow`: forwards, and holds the node's answer `ms` before passing it on;
 * - `status`: HTTP only: forwards (the node gets the request), then answers HTTP `status` with a
 *   non-JSON body instead of the node's answer;
 * - `flood`: WebSocket `eth_subscribe` only: after the node's answer, pushes notifications of
 *   `bytes` each for that subscription as fast as the socket to the proxy takes them.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export type Misbehaviour = { kind: 'garbage' } | { kind: 'slow'; ms: number } | { kind: 'status'; status: number } | { kind: 'flood'; bytes: number };

interface Target {
  httpUrl: string;
  wsUrl: string;
}

type Request = { id?: unknown; method?: unknown };

/** The frame a node sends when it appends garbage to a valid answer (issue 13, point 7). */
export const garbageAnswer = (id: unknown) => `{"jsonrpc":"2.0","id":${JSON.stringify(id ?? null)},"result":"0x1"}{"leak":"x"}`;

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
const requestsOf = (value: unknown): Request[] => (Array.isArray(value) ? value : value && typeof value === 'object' ? [value] : []) as Request[];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The relay's own bound on what it queues for the proxy while flooding. */
const FLOOD_HIGH_WATER = 4 * 1024 * 1024;

export class RelayNode {
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** Every method received, in order, with the way it came. */
  readonly seen: Array<{ via: 'http' | 'ws'; method: string }> = [];
  readonly #server: http.Server;
  readonly #wss: WebSocketServer;
  readonly #target: Target;
  readonly #rules = new Map<string, Misbehaviour>();
  #closing = false;

  private constructor(server: http.Server, wss: WebSocketServer, target: Target) {
    const { port } = server.address() as AddressInfo;
    this.httpUrl = `http://127.0.0.1:${port}`;
    this.wsUrl = `ws://127.0.0.1:${port}`;
    this.#server = server;
    this.#wss = wss;
    this.#target = target;
  }

  static async start(target: Target): Promise<RelayNode> {
    const server = http.createServer();
    const wss = new WebSocketServer({ server, maxPayload: 64 * 1024 * 1024 });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const relay = new RelayNode(server, wss, target);
    server.on('request', (req, res) => void relay.#onHttp(req, res));
    wss.on('connection', (ws) => relay.#onSocket(ws));
    return relay;
  }

  /** Misbehaves for `method` from now on (`undefined`: behaves again). */
  misbehave(method: string, behaviour: Misbehaviour | undefined): void {
    if (behaviour === undefined) this.#rules.delete(method);
    else this.#rules.set(method, behaviour);
  }

  /** WebSocket connections open from the proxy now. */
  get openSockets(): number {
    return this.#wss.clients.size;
  }

  /** How many times `method` was received (over both ways). */
  count(method: string): number {
    return this.seen.filter((s) => s.method === method).length;
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  async #onHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString('utf8');
    const value = parse(body);
    const requests = requestsOf(value);
    for (const r of requests) this.seen.push({ via: 'http', method: String(r.method) });
    // A batch misbehaves as its first item with a rule (garbage: single requests only).
    const rule = requests.map((r) => this.#rules.get(String(r.method))).find((r) => r !== undefined && !(Array.isArray(value) && r.kind === 'garbage'));
    const reply = (status: number, text: string, type = 'application/json') => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': type });
      res.end(text);
    };
    try {
      if (rule?.kind === 'garbage') return reply(200, garbageAnswer(requests[0]?.id));
      const answer = await fetch(this.#target.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await answer.text();
      if (rule?.kind === 'slow') await sleep(rule.ms);
      if (rule?.kind === 'status') return reply(rule.status, 'Internal Server Error', 'text/plain');
      reply(answer.status, text);
    } catch {
      res.destroy();
    }
  }

  #onSocket(client: WebSocket): void {
    const upstream = new WebSocket(this.#target.wsUrl);
    const early: string[] = [];
    /** Upstream ids of requests whose answer must be changed, with how. */
    const pending = new Map<string, Misbehaviour>();
    const flooding = new Set<string>();
    const toClient = (text: string) => {
      if (client.readyState === WebSocket.OPEN) client.send(text);
    };
    client.on('message', (data) => {
      const text = String(data);
      const value = parse(text);
      const requests = requestsOf(value);
      for (const r of requests) this.seen.push({ via: 'ws', method: String(r.method) });
      const rule = Array.isArray(value) ? undefined : this.#rules.get(String(requests[0]?.method));
      if (rule?.kind === 'garbage') return toClient(garbageAnswer(requests[0]?.id));
      if (rule !== undefined) pending.set(JSON.stringify(requests[0]?.id), rule);
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
      else early.push(text);
    });
    upstream.on('open', () => {
      for (const text of early.splice(0)) upstream.send(text);
    });
    upstream.on('message', (data) => {
      const text = String(data);
      const value = parse(text) as { id?: unknown; result?: unknown } | undefined;
      const key = value && !Array.isArray(value) && 'id' in value ? JSON.stringify(value.id) : undefined;
      const rule = key === undefined ? undefined : pending.get(key);
      if (key !== undefined) pending.delete(key);
      if (rule?.kind === 'slow') return void sleep(rule.ms).then(() => toClient(text));
      toClient(text);
      if (rule?.kind === 'flood' && typeof value?.result === 'string') this.#flood(client, value.result, rule.bytes, flooding);
    });
    const end = () => {
      flooding.clear();
      client.terminate();
      upstream.terminate();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  }

  /** Pushes notifications for `subscription` while the proxy takes them, until either side closes. */
  #flood(client: WebSocket, subscription: string, bytes: number, flooding: Set<string>): void {
    flooding.add(subscription);
    const frame = JSON.stringify({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription, result: `0x${'ab'.repeat(Math.max(1, bytes >> 1))}` } });
    const pump = () => {
      if (this.#closing || !flooding.has(subscription) || client.readyState !== WebSocket.OPEN) return;
      while (client.bufferedAmount < FLOOD_HIGH_WATER) client.send(frame);
      setTimeout(pump, 5);
    };
    pump();
  }
}
