/**
 * A fast mock Ethereum node for the benchmarks, in its own process (started by `upstreams.ts`).
 * One port serves JSON-RPC over WebSocket and over HTTP POST (for health probes), on 127.0.0.1.
 *
 * Answers at once: eth_blockNumber (a constant head, so two mocks never lag each other),
 * eth_chainId, net_version, eth_getBalance (a per-node value, so a client can tell which node
 * answered), eth_getBlockByNumber and eth_getLogs (empty; both for steadyrpc's backfills),
 * eth_subscribe newHeads/logs (ids per socket) and eth_unsubscribe. Pushed heads have distinct
 * numbers and hashes (eth_blockNumber stays constant, so two mocks never lag each other). Answers are built
 * from string templates: the mock should cost as little as possible next to what it measures.
 *
 * Controlled over IPC: `push` notifications as fast as the sockets take them for N ms (to every
 * subscription, or to those of the sockets that connected with `?peer=<tag>`), `cut` (reset
 * every connection and refuse new ones), `blackhole` (keep connections, answer nothing, hold new
 * ones), `restore`, `stats`, `connectLog`.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { serve, wallNow } from './ipc.js';
import { headJson, logJson } from './mockChain.js';

export interface MockOptions {
  /** Shown in errors. */
  name: string;
  /** What eth_getBalance answers (a hex quantity): tells the nodes apart. */
  balance: string;
  /** Listen backlog. @default 511 (Node's default) */
  backlog?: number;
  /** A slow tail over HTTP: every `every`-th POST is answered `delayMs` late. @default none */
  slowTail?: { every: number; delayMs: number };
}

export interface MockStats {
  state: 'up' | 'cut' | 'blackhole';
  /** WebSocket clients connected now. */
  sockets: number;
  subscriptions: number;
  /** WebSocket upgrades accepted since start. */
  upgrades: number;
  httpRequests: number;
  wsRequests: number;
}

const HOST = '127.0.0.1';
const HEAD = 20_000_000;
const HEAD_HEX = `"0x${HEAD.toString(16)}"`;
/** Frames sent to one subscription per turn of the push loop. */
const BURST = 32;
/** A socket with more than this buffered is skipped until it drains. */
const HIGH_WATER = 1024 * 1024;

const options = JSON.parse(process.argv[2] ?? '{}') as MockOptions;
const balance = JSON.stringify(options.balance ?? '0x0');
const backlog = options.backlog ?? 511;
const { slowTail } = options;
let posts = 0;

interface Peer {
  readonly ws: WebSocket;
  readonly socket: Socket;
  /** Frames sent in one turn go out in one write (see {@link send}). */
  corked: boolean;
  /** The client's name for itself: the `peer` parameter of the URL it connected to (`push` can pick one). */
  readonly tag: string | null;
  /** Subscription id (as JSON string) → notification prefix for it. */
  readonly subs: Map<string, { kind: 'newHeads' | 'logs'; prefix: string }>;
}

const peers = new Set<Peer>();
const sockets = new Set<Socket>();
/** Work held while blackholed, done (answered late) on restore. */
let held: Array<() => void> = [];
let state: MockStats['state'] = 'up';
let connectLog: number[] = [];
let upgrades = 0;
let httpRequests = 0;
let wsRequests = 0;
let subSeq = 0;
let headNumber = HEAD;
const subPrefix = Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0');

// ---- JSON-RPC -----------------------------------------------------------------------------------

const ok = (id: string, result: string) => `{"jsonrpc":"2.0","id":${id},"result":${result}}`;
const fail = (id: string, code: number, message: string) => `{"jsonrpc":"2.0","id":${id},"error":{"code":${code},"message":${JSON.stringify(message)}}}`;

function answerOne(request: unknown, peer: Peer | undefined): string | undefined {
  if (typeof request !== 'object' || request === null) return fail('null', -32600, 'Invalid request');
  const { id: rawId, method, params } = request as { id?: unknown; method?: unknown; params?: unknown };
  if (rawId === undefined) return undefined; // a notification: no answer
  const id = JSON.stringify(rawId);
  switch (method) {
    case 'eth_blockNumber':
      return ok(id, HEAD_HEX);
    case 'eth_chainId':
      return ok(id, '"0x1"');
    case 'net_version':
      return ok(id, '"1"');
    case 'eth_getBalance':
      return ok(id, balance);
    case 'eth_getBlockByNumber': {
      // For steadyrpc's newHeads backfill after a switch.
      const tag = Array.isArray(params) ? params[0] : undefined;
      const n = typeof tag === 'string' && tag.startsWith('0x') ? Number.parseInt(tag, 16) : HEAD;
      return ok(id, headJson(n));
    }
    case 'eth_getLogs':
      return ok(id, '[]');
    case 'eth_subscribe': {
      if (!peer) return fail(id, -32601, 'Notifications not supported over HTTP');
      const kind = Array.isArray(params) ? params[0] : undefined;
      if (kind !== 'newHeads' && kind !== 'logs') return fail(id, -32602, `Unsupported subscription ${String(kind)}`);
      const subId = `"0x${subPrefix}${(++subSeq).toString(16).padStart(24, '0')}"`;
      peer.subs.set(subId, { kind, prefix: `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":${subId},"result":` });
      return ok(id, subId);
    }
    case 'eth_unsubscribe': {
      const subId = Array.isArray(params) ? JSON.stringify(params[0]) : '';
      return ok(id, peer?.subs.delete(subId) ? 'true' : 'false');
    }
    default:
      return fail(id, -32601, `Method ${String(method)} not found`);
  }
}

function answer(text: string, peer: Peer | undefined): string | undefined {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch {
    return fail('null', -32700, 'Parse error');
  }
  if (!Array.isArray(request)) return answerOne(request, peer);
  const answers = request.map((item) => answerOne(item, peer)).filter((a) => a !== undefined);
  return answers.length > 0 ? `[${answers.join(',')}]` : undefined;
}

/**
 * Sends a frame; every frame sent to a peer in the same turn goes out in one write. The mock has
 * one core at most: a syscall per answer would make it the bottleneck of what it measures.
 */
function send(peer: Peer, text: string): void {
  if (!peer.corked) {
    peer.corked = true;
    peer.socket.cork();
    process.nextTick(() => {
      peer.corked = false;
      peer.socket.uncork();
    });
  }
  peer.ws.send(text);
}

// ---- notifications ------------------------------------------------------------------------------

/**
 * Sends notifications to every subscription as fast as the sockets take them, for `ms`; with
 * `peer`, only to the subscriptions of the sockets that connected with that `?peer=` tag.
 */
function push(ms: number, only?: string): Promise<{ sent: number; ms: number }> {
  const started = performance.now();
  const until = started + ms;
  let sent = 0;
  return new Promise((resolve) => {
    const turn = () => {
      if (performance.now() >= until || state !== 'up') return resolve({ sent, ms: performance.now() - started });
      let wrote = false;
      for (const peer of peers) {
        if (peer.subs.size === 0 || (only !== undefined && peer.tag !== only) || peer.ws.readyState !== peer.ws.OPEN || peer.ws.bufferedAmount > HIGH_WATER) continue;
        wrote = true;
        for (let i = 0; i < BURST; i++) {
          const head = `${headJson(++headNumber)}}}`;
          for (const sub of peer.subs.values()) {
            send(peer, sub.prefix + (sub.kind === 'newHeads' ? head : `${logJson(headNumber)}}}`));
            sent += 1;
          }
        }
      }
      // Every socket full: wait a little instead of spinning (the receiver needs the CPU).
      if (wrote) setImmediate(turn);
      else setTimeout(turn, 1);
    };
    turn();
  });
}

// ---- servers ------------------------------------------------------------------------------------

function toText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const reply = () => {
      httpRequests += 1;
      const body = answer(Buffer.concat(chunks).toString('utf8'), undefined) ?? '';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    };
    if (state === 'blackhole') held.push(reply);
    else if (slowTail && (++posts % slowTail.every === 0)) setTimeout(reply, slowTail.delayMs);
    else reply();
  });
});
server.on('connection', (socket: Socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
  socket.on('error', () => {});
});

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false, maxPayload: 64 * 1024 * 1024 });

function accept(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  wss.handleUpgrade(req, socket, head, (ws) => {
    upgrades += 1;
    connectLog.push(wallNow());
    const tag = new URL(req.url ?? '/', 'http://mock').searchParams.get('peer');
    const peer: Peer = { ws, tag, socket: socket as Socket, corked: false, subs: new Map() };
    peers.add(peer);
    ws.on('message', (data) => {
      const handle = () => {
        wsRequests += 1;
        const reply = answer(toText(data), peer);
        if (reply !== undefined && ws.readyState === ws.OPEN) send(peer, reply);
      };
      if (state === 'blackhole') held.push(handle);
      else handle();
    });
    ws.on('close', () => peers.delete(peer));
    ws.on('error', () => ws.terminate());
  });
}

server.on('upgrade', (req, socket, head) => {
  if (state === 'blackhole') held.push(() => accept(req, socket, head));
  else accept(req, socket, head);
});

server.listen(0, HOST, backlog);
await once(server, 'listening');
const { port } = server.address() as { port: number };

// ---- control ------------------------------------------------------------------------------------

async function cut(): Promise<void> {
  if (state === 'cut') return;
  state = 'cut';
  held = [];
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const socket of sockets) socket.resetAndDestroy();
  peers.clear();
  await closed;
}

function blackhole(): void {
  if (state !== 'up') throw new Error(`Cannot blackhole while ${state}`);
  state = 'blackhole';
  // Upgraded sockets are read as streams: pausing them stops even ws' automatic pongs.
  for (const peer of peers) peer.socket.pause();
}

async function restore(): Promise<void> {
  if (state === 'cut') {
    server.listen(port, HOST, backlog);
    await once(server, 'listening');
  } else if (state === 'blackhole') {
    for (const peer of peers) peer.socket.resume();
  }
  state = 'up';
  const work = held;
  held = [];
  for (const job of work) job();
}

function stats(): MockStats {
  let subscriptions = 0;
  for (const peer of peers) subscriptions += peer.subs.size;
  return { state, sockets: peers.size, subscriptions, upgrades, httpRequests, wsRequests };
}

serve(
  {
    push: ({ ms, peer }: { ms: number; peer?: string }) => push(ms, peer),
    cut,
    blackhole,
    restore,
    stats,
    /** Wall-clock times of the WebSocket upgrades accepted since the last `connectLog` with `clear`. */
    connectLog: ({ clear = false }: { clear?: boolean }) => {
      const times = connectLog;
      if (clear) connectLog = [];
      return times;
    },
  },
  { port, wsUrl: `ws://${HOST}:${port}`, httpUrl: `http://${HOST}:${port}` },
  () => process.exit(0),
);
