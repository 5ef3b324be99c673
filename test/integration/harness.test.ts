/**
 * Tests of the integration harness itself: real anvil nodes behind FaultProxy instances.
 * Real time, but every wait is bounded.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEV_ACCOUNT, startCluster, CLUSTER_BALANCES_ETH, type Cluster } from './helpers/cluster.js';
import { FaultProxy } from './helpers/FaultProxy.js';

interface JsonRpcMessage {
  jsonrpc: '2.0';
  id?: number;
  method?: string;
  result?: unknown;
  error?: { code: number; message: string };
  params?: { subscription: string; result: { number: string; hash: string } };
}

let nextId = 1;

async function rpc(url: string, method: string, params: unknown[] = [], signal?: AbortSignal): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
    signal: signal ?? AbortSignal.timeout(3_000),
  });
  const body = (await response.json()) as JsonRpcMessage;
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

const blockNumber = async (url: string) => Number(BigInt((await rpc(url, 'eth_blockNumber')) as string));

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A minimal JSON-RPC client over `ws` that records everything it receives. */
class WsClient {
  readonly messages: JsonRpcMessage[] = [];
  readonly closed: Promise<number>;
  closeCode: number | undefined;

  private constructor(readonly socket: WebSocket) {
    socket.on('error', () => {}); // ECONNRESET on cut: the 'close' event is what we check
    socket.on('message', (data) => this.messages.push(JSON.parse(data.toString()) as JsonRpcMessage));
    this.closed = new Promise((resolve) =>
      socket.once('close', (code) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
  }

  static async open(url: string): Promise<WsClient> {
    const socket = new WebSocket(url);
    const client = new WsClient(socket);
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  send(method: string, params: unknown[] = []): number {
    const id = nextId++;
    this.socket.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    return id;
  }

  async request(method: string, params: unknown[] = [], timeoutMs = 2_000): Promise<unknown> {
    const id = this.send(method, params);
    const reply = await waitFor(`${method} reply`, () => this.messages.find((m) => m.id === id), timeoutMs);
    if (reply.error) throw new Error(`${method}: ${reply.error.message}`);
    return reply.result;
  }

  heads(subscription?: string): Array<{ number: string; hash: string }> {
    return this.messages
      .filter((m) => m.method === 'eth_subscription' && (subscription === undefined || m.params?.subscription === subscription))
      .map((m) => m.params!.result);
  }
}

const clients: WsClient[] = [];

function fetchErrorCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code;
}

describe('integration harness (real anvil + FaultProxy)', { timeout: 30_000 }, () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster();
  }, 30_000);

  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.terminate();
    await cluster.a.proxy.pass();
    await cluster.b.proxy.pass();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('answers eth_chainId and eth_blockNumber over HTTP through the proxy', async () => {
    for (const member of [cluster.a, cluster.b]) {
      expect(await rpc(member.proxy.httpUrl, 'eth_chainId')).toBe('0x7a69');
      expect(await rpc(member.proxy.httpUrl, 'eth_blockNumber')).toMatch(/^0x[0-9a-f]+$/);
      expect(member.proxy.httpUrl).not.toBe(member.anvil.httpUrl);
    }
    expect(cluster.a.proxy.stats().accepted).toBeGreaterThan(0);
  });

  it('answers over ws through the proxy, including eth_subscribe newHeads', async () => {
    const client = await WsClient.open(cluster.a.proxy.wsUrl);
    expect(await client.request('eth_chainId')).toBe('0x7a69');
    expect(await client.request('eth_blockNumber')).toMatch(/^0x[0-9a-f]+$/);
    const subscription = (await client.request('eth_subscribe', ['newHeads'])) as string;
    // anvil: 0x + 32 hex digits (16 random alphanumeric ASCII bytes, hex-encoded)
    expect(subscription).toMatch(/^0x[0-9a-f]{32}$/);
    const [head] = await waitFor('a newHeads notification', () => {
      const heads = client.heads(subscription);
      return heads.length > 0 ? heads : undefined;
    }, 2_500);
    expect(head!.hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(head!.number).toMatch(/^0x[0-9a-f]+$/);
  });

  it('runs two distinguishable nodes: same chainId, different balances and block hashes', async () => {
    const [balanceA, balanceB] = await Promise.all([
      rpc(cluster.a.proxy.httpUrl, 'eth_getBalance', [DEV_ACCOUNT, 'latest']),
      rpc(cluster.b.proxy.httpUrl, 'eth_getBalance', [DEV_ACCOUNT, 'latest']),
    ]);
    expect(BigInt(balanceA as string)).toBe(cluster.a.anvil.balanceWei);
    expect(BigInt(balanceB as string)).toBe(cluster.b.anvil.balanceWei);
    expect(cluster.a.anvil.balanceWei).toBe(BigInt(CLUSTER_BALANCES_ETH.a) * 10n ** 18n);
    expect(balanceA).not.toBe(balanceB);

    expect(await rpc(cluster.a.proxy.httpUrl, 'eth_chainId')).toBe(await rpc(cluster.b.proxy.httpUrl, 'eth_chainId'));
    // Block 1 commits each node's own state, so hashes differ even if the timestamps match.
    await waitFor('block 1 on both nodes', async () => ((await blockNumber(cluster.a.anvil.httpUrl)) >= 1 && (await blockNumber(cluster.b.anvil.httpUrl)) >= 1) || undefined, 3_000);
    const block1 = async (url: string) => ((await rpc(url, 'eth_getBlockByNumber', ['0x1', false])) as { hash: string }).hash;
    expect(await block1(cluster.a.proxy.httpUrl)).not.toBe(await block1(cluster.b.proxy.httpUrl));
  });

  it('cut() refuses new connections, drops open ones, and restore() brings the same URL back', async () => {
    const { proxy, anvil } = cluster.a;
    const client = await WsClient.open(proxy.wsUrl);
    expect(await client.request('eth_chainId')).toBe('0x7a69');
    await rpc(proxy.httpUrl, 'eth_chainId'); // leaves a keep-alive connection in fetch's pool
    expect(proxy.stats().connections).toBeGreaterThan(0);

    await proxy.cut();
    expect(proxy.mode).toBe('cut');
    await withTimeout(client.closed, 1_000, 'ws close after cut');
    expect(client.closeCode).toBe(1006); // abnormal closure: no close frame, the TCP connection was reset
    expect(proxy.stats().connections).toBe(0);

    const error = await rpc(proxy.httpUrl, 'eth_chainId').then(() => undefined, (e: unknown) => e);
    expect(fetchErrorCode(error)).toBe('ECONNREFUSED');
    await expect(WsClient.open(proxy.wsUrl)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    // The node behind the cut proxy keeps mining.
    const before = await blockNumber(anvil.httpUrl);
    await waitFor('a new block behind the cut proxy', async () => (await blockNumber(anvil.httpUrl)) > before || undefined, 2_500);

    await proxy.restore();
    expect(proxy.mode).toBe('pass');
    expect(await rpc(proxy.httpUrl, 'eth_chainId')).toBe('0x7a69');
    const again = await WsClient.open(proxy.wsUrl);
    expect(await again.request('eth_chainId')).toBe('0x7a69');
  });

  it('blackhole() makes HTTP hang and ws go silent without closing; bytes flow on after pass()', async () => {
    const { proxy } = cluster.b;
    const client = await WsClient.open(proxy.wsUrl);
    const subscription = (await client.request('eth_subscribe', ['newHeads'])) as string;
    await waitFor('a first head', () => client.heads(subscription).length > 0 || undefined, 2_500);

    await proxy.blackhole();
    await sleep(50); // let anything written before the switch arrive
    const seen = client.messages.length;
    const pendingId = client.send('eth_chainId');

    const started = Date.now();
    const error = await rpc(proxy.httpUrl, 'eth_chainId', [], AbortSignal.timeout(500)).then(() => undefined, (e: unknown) => e);
    expect((error as Error).name).toBe('TimeoutError');
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);

    await sleep(1_200 - (Date.now() - started)); // > one block time: anvil has sent a head meanwhile
    expect(client.messages.length).toBe(seen);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    expect(client.closeCode).toBeUndefined();

    await proxy.pass();
    const reply = await waitFor('the held eth_chainId reply', () => client.messages.find((m) => m.id === pendingId), 1_000);
    expect(reply.result).toBe('0x7a69');
    expect(client.heads(subscription).length).toBeGreaterThan(1);
  });

  it('blackhole({ discard: true }) drops what arrives meanwhile', async () => {
    const { proxy } = cluster.b;
    const client = await WsClient.open(proxy.wsUrl);
    expect(await client.request('eth_chainId')).toBe('0x7a69');
    await proxy.blackhole({ discard: true });
    await sleep(50);
    // A whole ws frame is one chunk on loopback here, so dropping it leaves the stream parseable.
    const lostId = client.send('eth_chainId');
    await sleep(200);
    await proxy.pass();
    expect(await client.request('eth_chainId')).toBe('0x7a69');
    expect(client.messages.find((m) => m.id === lostId)).toBeUndefined();
  });

  it('slow(300) adds at least 300 ms to a round trip, both over HTTP and ws', async () => {
    const { proxy } = cluster.a;
    const client = await WsClient.open(proxy.wsUrl);
    await client.request('eth_chainId');
    await rpc(proxy.httpUrl, 'eth_chainId');

    const time = async (fn: () => Promise<unknown>) => {
      const started = performance.now();
      await fn();
      return performance.now() - started;
    };
    const baseline = await time(() => rpc(proxy.httpUrl, 'eth_chainId'));
    expect(baseline).toBeLessThan(250);

    await proxy.slow(300);
    const slowHttp = await time(() => rpc(proxy.httpUrl, 'eth_chainId'));
    const slowWs = await time(() => client.request('eth_chainId'));
    expect(slowHttp).toBeGreaterThanOrEqual(300);
    expect(slowWs).toBeGreaterThanOrEqual(300);
    expect(slowHttp).toBeLessThan(2_000);

    await proxy.pass();
    expect(await time(() => rpc(proxy.httpUrl, 'eth_chainId'))).toBeLessThan(250);
  });

  it('a proxy in front of a dead target resets its clients', async () => {
    // Uses a private proxy in front of a closed port, so the shared cluster keeps running.
    const dead = createServer();
    const port = await new Promise<number>((resolve) => dead.listen({ host: '127.0.0.1', port: 0 }, () => resolve((dead.address() as { port: number }).port)));
    await new Promise((resolve) => dead.close(resolve));
    const proxy = await FaultProxy.start({ host: '127.0.0.1', port });
    try {
      const error = await rpc(proxy.httpUrl, 'eth_chainId').then(() => undefined, (e: unknown) => e);
      expect(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']).toContain(fetchErrorCode(error));
      await waitFor('connection cleanup', () => proxy.stats().connections === 0 || undefined, 1_000);
    } finally {
      await proxy.close();
      await proxy.close(); // idempotent
    }
  });
});

describe('FaultProxy on a raw TCP echo server', { timeout: 10_000 }, () => {
  let echo: Server;
  let proxy: FaultProxy;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    echo = createServer((socket) => {
      socket.on('error', () => {});
      socket.on('data', (chunk) => socket.write(chunk));
    });
    const port = await new Promise<number>((resolve) => echo.listen({ host: '127.0.0.1', port: 0 }, () => resolve((echo.address() as { port: number }).port)));
    proxy = await FaultProxy.start({ host: '127.0.0.1', port });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await proxy.close();
    await new Promise((resolve) => echo.close(resolve));
  });

  const open = async () => {
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    sockets.push(socket);
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    const errors: string[] = [];
    socket.on('error', (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return { socket, received: () => received, errors };
  };

  it('keeps byte order when the delay changes mid-stream, and buffers while connecting', async () => {
    await proxy.slow(150);
    const c = await open();
    c.socket.write('a'); // written while the upstream connect may still be pending
    await sleep(20);
    c.socket.write('b');
    await proxy.pass(); // later chunks are not allowed to overtake the delayed ones
    c.socket.write('c');
    await waitFor('abc echoed', () => (c.received() === 'abc' ? true : undefined), 2_000);
    expect(c.received()).toBe('abc');
  });

  it('cut() resets open connections (RST) and re-listens on the same port', async () => {
    const c = await open();
    c.socket.write('x');
    await waitFor('x echoed', () => (c.received() === 'x' ? true : undefined), 1_000);
    const closed = new Promise((resolve) => c.socket.once('close', resolve));
    const accepted = proxy.stats().accepted;
    await proxy.cut();
    await withTimeout(closed, 1_000, 'close after cut');
    expect(c.errors).toContain('ECONNRESET');
    await expect(open()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(proxy.stats()).toEqual({ connections: 0, accepted });
    await proxy.pass();
    const d = await open();
    d.socket.write('y');
    await waitFor('y echoed', () => (d.received() === 'y' ? true : undefined), 1_000);
    expect(proxy.stats().accepted).toBe(accepted + 1);
  });
});

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
