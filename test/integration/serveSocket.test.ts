/**
 * serveSocket over real sockets: a real `ws` server on loopback, sessions on a mock upstream (its
 * own process) that pushes newHeads as fast as the sockets take them, and two raw `ws` clients:
 * one that subscribes and stops reading, one that keeps reading. Bounded in time; the assertions
 * are on bytes, not timings.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { MockUpstream } from '../../bench/upstreams.js';
import type { ServedSocket, ServedSocketClose } from '../../src/index.js';
import { CloseCode, Metrics, NodePool, UpstreamSession, serveSocket } from '../../src/index.js';

const MiB = 1024 * 1024;

let mock: MockUpstream;
beforeAll(async () => {
  mock = await MockUpstream.start({ name: 'a', balance: '0xa' });
}, 60_000);
afterAll(async () => {
  await mock?.stop();
}, 30_000);

interface Server {
  url: string;
  served: ServedSocket[];
  metrics: Metrics;
  close(): Promise<void>;
}

/** A ws server on loopback that serves every client with `serve` (serveSocket, or a naive wiring). */
async function startServer(serve: (ws: WebSocket, session: UpstreamSession) => ServedSocket | undefined): Promise<Server> {
  const pool = new NodePool({ nodes: [mock.node()] });
  pool.update('a', { status: 'healthy', head: 20_000_000 });
  const metrics = new Metrics();
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  const served: ServedSocket[] = [];
  const sessions = new Set<UpstreamSession>();
  wss.on('connection', (ws) => {
    const session = new UpstreamSession({ pool });
    sessions.add(session);
    const s = serve(ws, session);
    if (s) {
      served.push(s);
      metrics.trackServedSocket(s);
    }
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    served,
    metrics,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      for (const session of sessions) session.close();
      await new Promise((resolve) => wss.close(resolve));
      pool.close();
    },
  };
}

/** A raw client; with `subscribe`, to newHeads. Counts notifications without parsing them. */
async function client(url: string, subscribe: boolean) {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await once(ws, 'open');
  const state = { notifications: 0, answers: new Map<number, string>(), closed: undefined as number | undefined };
  ws.on('message', (data: Buffer) => {
    if (data.includes('"eth_subscription"')) state.notifications += 1;
    else {
      const { id } = JSON.parse(data.toString()) as { id: number };
      state.answers.set(id, data.toString());
    }
  });
  ws.on('close', (code) => (state.closed = code));
  ws.on('error', () => {});
  let nextId = 100;
  const self = {
    ws,
    state,
    /** Sends a call and waits for its answer. */
    async call(method: string, params: unknown[] = []): Promise<string> {
      const id = nextId++;
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      await until(() => state.answers.has(id), 10_000, `the answer to ${method}`);
      return state.answers.get(id)!;
    },
  };
  if (subscribe) await self.call('eth_subscribe', ['newHeads']);
  return self;
}

async function until(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Samples `read` every few ms until `stop` resolves; returns the largest value seen. */
async function peak(read: () => number, stop: Promise<unknown>): Promise<number> {
  let max = read();
  const timer = setInterval(() => (max = Math.max(max, read())), 2);
  await stop;
  clearInterval(timer);
  return Math.max(max, read());
}

/** heapUsed + external (Buffers): where queued frames live. */
const memory = () => {
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
};

describe('serveSocket against a client that stops reading', { timeout: 60_000 }, () => {
  it('closes the slow reader with 1013, keeps its buffer within the bound, and answers a good client meanwhile', async () => {
    const bound = 2 * MiB;
    const server = await startServer((ws, session) => serveSocket(ws, session, { maxBufferedBytes: bound, closeGraceMs: 1_000 }));
    try {
      // The good client calls (a subscriber in this same process could fall behind the push on a
      // busy machine, and rightly be closed as a slow reader too).
      const good = await client(server.url, false);
      const slow = await client(server.url, true);
      const [goodServed, slowServed] = server.served as [ServedSocket, ServedSocket];
      slow.ws.pause(); // stops reading: the kernel buffers fill, then the server's
      const before = memory();
      let slowClose: ServedSocketClose | undefined;
      void slowServed.closed.then((info) => (slowClose = info));

      // Push until the slow reader is closed (at most 20 s on a busy machine), then 1 s more.
      const pushing = (async () => {
        for (let round = 0; round < 20 && slowClose === undefined; round++) await mock.push(1_000);
        await mock.push(1_000);
      })();
      let answered = 0;
      const calling = (async () => {
        let done = false;
        void pushing.then(() => (done = true));
        while (!done) {
          expect(await good.call('eth_getBalance', ['0x0', 'latest'])).toContain('"0xa"');
          answered += 1;
        }
      })();
      const slowPeak = await peak(() => slowServed.bufferedAmount, pushing);
      await calling;
      const grown = memory() - before;

      // The server never queued more than the bound (plus one frame) for the stalled client...
      expect(slowPeak).toBeLessThanOrEqual(bound + 64 * 1024);
      expect(slowPeak).toBeGreaterThan(bound / 2); // (it did get there)
      // ...closed it as a slow reader and, since it reads nothing, cut it after the grace.
      expect(slowClose).toMatchObject({ cause: 'slow-reader', terminated: true });
      expect(slowServed.session.state).toBe('closed');
      expect(slowServed.bufferedAmount).toBe(0);
      // Nothing else held it either (loose: the good client's traffic makes garbage).
      expect(grown).toBeLessThan(64 * MiB);

      // The good client kept being served, and still is.
      expect(good.state.closed).toBeUndefined();
      expect(goodServed.session.state).not.toBe('closed');
      expect(answered).toBeGreaterThan(10);

      // The stalled client, reading again, finds its connection gone.
      slow.ws.resume();
      await until(() => slow.state.closed !== undefined, 5_000, 'the slow client to see the close');
      expect([CloseCode.TRY_AGAIN_LATER, CloseCode.ABNORMAL]).toContain(slow.state.closed);

      const text = server.metrics.render();
      expect(text).toContain('steadyrpc_client_slow_reader_closes_total 1');
      expect(text).toContain('steadyrpc_client_closes_total{cause="slow-reader"} 1');
      good.ws.close();
      await until(() => good.state.closed !== undefined, 5_000, 'the good client to close');
      await goodServed.closed;
      expect(goodServed.session.state).toBe('closed');
    } finally {
      await server.close();
    }
  });

  it('(the check above can fail) without serveSocket, the stalled client’s buffer grows past the bound', async () => {
    const bound = 2 * MiB;
    const naive: WebSocket[] = [];
    const server = await startServer((ws, session) => {
      naive.push(ws);
      session.on('message', (text) => ws.readyState === ws.OPEN && ws.send(text));
      ws.on('message', (data) => session.send(String(data)));
      ws.on('close', () => session.close());
      return undefined;
    });
    try {
      const slow = await client(server.url, true);
      slow.ws.pause();
      // Stops as soon as it is past 4× the bound: the point is made, and memory stays reasonable.
      let past = false;
      const pushing = (async () => {
        for (let round = 0; round < 20 && !past; round++) await mock.push(500);
      })();
      await until(() => (past = naive[0]!.bufferedAmount > 4 * bound), 20_000, 'the naive buffer to grow');
      slow.ws.terminate();
      await pushing;
    } finally {
      await server.close();
    }
  });
});

describe('serveSocket pings and drain over real sockets', { timeout: 30_000 }, () => {
  it('terminates a client that stopped reading (no pong), keeps one that answers pings on its own', async () => {
    const server = await startServer((ws, session) => serveSocket(ws, session, { pingIntervalMs: 100 }));
    try {
      const idle = await client(server.url, false);
      const dead = await client(server.url, false);
      const [idleServed, deadServed] = server.served as [ServedSocket, ServedSocket];
      dead.ws.pause(); // reads nothing, so answers no ping: a dead peer, as far as the server can tell
      await expect(deadServed.closed).resolves.toMatchObject({ cause: 'ping-timeout', terminated: true });
      expect(idle.state.closed).toBeUndefined(); // ws clients answer pings by themselves
      expect(await idle.call('eth_chainId')).toContain('"0x1"');
      expect(server.metrics.render()).toContain('steadyrpc_client_ping_timeouts_total 1');
      idle.ws.close();
      await idleServed.closed;
    } finally {
      await server.close();
    }
  });

  it('drain answers what the client was owed, then closes with 1012 and a reason the client sees', async () => {
    const server = await startServer((ws, session) => serveSocket(ws, session));
    try {
      const c = await client(server.url, true);
      const [served] = server.served as [ServedSocket];
      const reason = new Promise<string>((resolve) => c.ws.once('close', (_code, why: Buffer) => resolve(why.toString())));
      await served.drain(2_000);
      expect(await reason).toBe('steadyrpc: service restart');
      expect(c.state.closed).toBe(CloseCode.SERVICE_RESTART);
      await expect(served.closed).resolves.toMatchObject({ cause: 'drained', code: CloseCode.SERVICE_RESTART, terminated: false });
      expect(served.session.state).toBe('closed');
      expect(server.metrics.render()).toContain('steadyrpc_client_drains_total{outcome="answered"} 1');
    } finally {
      await server.close();
    }
  });
});
