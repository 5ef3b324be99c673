/**
 * Issue 16, points 3 and 4: clients through HAProxy while each of 3 proxy replicas in turn gets
 * SIGTERM, drains, exits and starts again; then one replica is SIGKILLed. steadyrpc-based clients
 * (viem with resilientTransport, ethers with ResilientProvider, whose one node is the load
 * balancer) lose no call and see no error, and their block streams flow with no duplicate; plain
 * `ws` clients get every answer owed before their 1012 close; HTTP clients see no failed request.
 */
import { Network } from 'ethers';
import { createPublicClient, type PublicClient } from 'viem';
import { watchBlockNumber } from 'viem/actions';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResilientProvider } from '../../src/ethers.js';
import { resilientTransport, type ResilientTransport } from '../../src/viem.js';
import { DEV_ACCOUNT } from '../integration/helpers/anvil.js';
import { sleep } from '../integration/helpers/wsClient.js';
import { startFleet, type Fleet } from './fleet.js';

const PLAIN_WS_CLIENTS = 6;
const HTTP_CLIENTS = 3;
const CALL_EVERY_MS = 50;
const SETTLE_MS = 3_000;

let fleet: Fleet;
beforeAll(async () => {
  fleet = await startFleet({ replicaArgs: ['--drain-ms', '5000'] });
}, 60_000);
afterAll(() => fleet?.stop(), 30_000);

interface Tally {
  ok: number;
  failed: string[];
}
const tally = (): Tally => ({ ok: 0, failed: [] });

/** Runs `call` back to back (with a pause) until `stop` says so. */
async function loop(stop: () => boolean, t: Tally, call: () => Promise<unknown>): Promise<void> {
  while (!stop()) {
    try {
      await call();
      t.ok++;
    } catch (error) {
      t.failed.push(error instanceof Error ? error.message.split('\n')[0]! : String(error));
    }
    await sleep(CALL_EVERY_MS);
  }
}

/** A plain `ws` client that reconnects on close and counts answers owed when each socket closed. */
class PlainClient {
  answered = 0;
  sent = 0;
  /** Calls sent before the drain began that had no answer when the socket closed: lost. */
  owedAtClose = 0;
  /** Calls sent after a SIGTERM (the draining replica no longer reads) with no answer at the close: resent by a real client. */
  unreadAtClose = 0;
  heads = 0;
  closes: number[] = [];
  #socket: WebSocket | undefined;
  #pending = new Map<number, number>();
  #next = 0;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly url: string, private readonly lastSignalAt: () => number) {}

  async start(): Promise<void> {
    await this.#connect();
    this.#timer = setInterval(() => this.#call(), CALL_EVERY_MS * 2);
  }

  #connect(): Promise<void> {
    return new Promise((resolve) => {
      const socket = new WebSocket(this.url);
      this.#socket = socket;
      socket.on('open', () => {
        socket.send(JSON.stringify({ jsonrpc: '2.0', id: 'sub', method: 'eth_subscribe', params: ['newHeads'] }));
        resolve();
      });
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as { id?: unknown; method?: string };
        if (frame.method === 'eth_subscription') this.heads++;
        else if (typeof frame.id === 'number' && this.#pending.delete(frame.id)) this.answered++;
      });
      socket.on('error', () => undefined);
      socket.on('close', (code) => {
        this.closes.push(code);
        const signalledAt = this.lastSignalAt();
        for (const sentAt of this.#pending.values()) {
          if (sentAt < signalledAt) this.owedAtClose++;
          else this.unreadAtClose++;
        }
        this.#pending.clear();
        this.#socket = undefined;
        if (!this.#stopped) void sleep(20).then(() => this.#connect()).then(resolve);
      });
    });
  }

  #call(): void {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const id = this.#next++;
    this.#pending.set(id, Date.now());
    this.sent++;
    socket.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_getBalance', params: [DEV_ACCOUNT, 'latest'] }));
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await sleep(1_000); // the last answers
    this.#stopped = true;
    this.#socket?.close(1000);
  }
}

function checkStream(name: string, blocks: number[], errors: unknown[]): { name: string; blocks: number; duplicates: number; missed: number } {
  const duplicates = blocks.length - new Set(blocks).size;
  let missed = 0;
  for (let i = 1; i < blocks.length; i++) missed += Math.max(0, blocks[i]! - blocks[i - 1]! - 1);
  expect(errors, `${name} errors`).toEqual([]);
  return { name, blocks: blocks.length, duplicates, missed };
}

/** viem (resilientTransport) and ethers (ResilientProvider) clients of the load balancer, each recording the block numbers it is told of. */
async function steadyClients() {
  const node = { name: 'lb', http: fleet.httpUrl, ws: fleet.wsUrl };
  const viem: PublicClient<ResilientTransport> = createPublicClient({ transport: resilientTransport({ nodes: [node] }) });
  const viemBlocks: number[] = [];
  const viemErrors: unknown[] = [];
  const unwatch = watchBlockNumber(viem, { poll: false, onBlockNumber: (n) => viemBlocks.push(Number(n)), onError: (e) => viemErrors.push(e) });
  const ethers = new ResilientProvider({ nodes: [node] }, Network.from(31337), { cacheTimeout: -1 });
  const ethersBlocks: number[] = [];
  await ethers.on('block', (n: number) => ethersBlocks.push(n));
  return { viem, viemBlocks, viemErrors, unwatch, ethers, ethersBlocks };
}

describe('a fleet of 3 proxy replicas behind HAProxy', () => {
  it('a rolling restart (SIGTERM, drain, start again, one replica at a time) loses nothing', async () => {
    let stopped = false;
    let signalledAt = Infinity;
    const stop = () => stopped;

    const { viem, viemBlocks, viemErrors, unwatch, ethers, ethersBlocks } = await steadyClients();

    const plain = Array.from({ length: PLAIN_WS_CLIENTS }, () => new PlainClient(fleet.wsUrl, () => signalledAt));
    await Promise.all(plain.map((c) => c.start()));
    const viemCalls = tally();
    const ethersCalls = tally();
    const httpCalls = Array.from({ length: HTTP_CLIENTS }, tally);
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: [DEV_ACCOUNT, 'latest'] });
    const loops = [
      loop(stop, viemCalls, () => viem.getBalance({ address: DEV_ACCOUNT })),
      loop(stop, ethersCalls, () => ethers.getBalance(DEV_ACCOUNT)),
      ...httpCalls.map((t) =>
        loop(stop, t, async () => {
          const res = await fetch(fleet.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          const text = await res.text();
          if (res.status !== 200 || !/"result":"0x/.test(text)) throw new Error(`HTTP ${res.status}: ${text.slice(0, 120)}`);
        }),
      ),
    ];

    await sleep(SETTLE_MS);
    const restarts: Array<{ replica: string; exit: string; drainMs: number; downMs: number; upMs: number }> = [];
    for (let i = 0; i < 3; i++) {
      signalledAt = Date.now();
      const stopping = fleet.stopReplica(i, 'SIGTERM');
      const downMs = await fleet.waitState(i, 'DOWN');
      const exit = await stopping;
      const from = Date.now();
      await fleet.startReplica(i);
      await fleet.waitState(i, 'UP');
      restarts.push({ replica: fleet.replicas[i]!.name, exit: exit.signal ?? `code ${exit.code}`, drainMs: exit.ms, downMs, upMs: Date.now() - from });
      await sleep(1_500);
    }
    await sleep(SETTLE_MS);

    stopped = true;
    await Promise.all(loops);
    await Promise.all(plain.map((c) => c.stop()));
    unwatch();
    viem.transport.close();
    ethers.destroy();

    console.table(restarts);
    const streams = [checkStream('viem watchBlockNumber', viemBlocks, viemErrors), checkStream("ethers on('block')", ethersBlocks, [])];
    console.table(streams);
    const calls = [
      { client: 'viem resilientTransport', ok: viemCalls.ok, failed: viemCalls.failed.length },
      { client: 'ethers ResilientProvider', ok: ethersCalls.ok, failed: ethersCalls.failed.length },
      ...httpCalls.map((t, i) => ({ client: `HTTP ${i + 1}`, ok: t.ok, failed: t.failed.length })),
      ...plain.map((c, i) => ({ client: `plain ws ${i + 1}`, ok: c.answered, failed: c.owedAtClose, unread: c.unreadAtClose, closes: c.closes.join(' '), heads: c.heads })),
    ];
    console.table(calls);

    for (const r of restarts) expect(r.exit).toBe('code 0');
    expect(viemCalls.failed).toEqual([]);
    expect(ethersCalls.failed).toEqual([]);
    for (const t of httpCalls) expect(t.failed).toEqual([]);
    for (const s of streams) expect(s.duplicates, s.name).toBe(0);
    for (const c of plain) {
      expect(c.owedAtClose).toBe(0);
      // Each socket was on one replica, so it saw at most one 1012 per restart; and its last close is ours.
      expect(c.closes.slice(0, -1).every((code) => code === 1012)).toBe(true);
      expect(c.heads).toBeGreaterThan(0);
    }
    expect(viemBlocks.length).toBeGreaterThan(5);
    expect(ethersBlocks.length).toBeGreaterThan(5);
  });

  it('a crash (SIGKILL) of each replica in turn: steadyrpc clients lose no repeatable call and keep their block streams', async () => {
    let stopped = false;
    const stop = () => stopped;
    const { viem, viemBlocks, viemErrors, unwatch, ethers, ethersBlocks } = await steadyClients();
    const viemCalls = tally();
    const ethersCalls = tally();
    const httpCalls = tally();
    const okAt: Record<string, number[]> = { viem: [], ethers: [], http: [] };
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: [DEV_ACCOUNT, 'latest'] });
    const timed = (name: string, call: () => Promise<unknown>) => async () => {
      await call();
      okAt[name]!.push(Date.now());
    };
    const loops = [
      loop(stop, viemCalls, timed('viem', () => viem.getBalance({ address: DEV_ACCOUNT }))),
      loop(stop, ethersCalls, timed('ethers', () => ethers.getBalance(DEV_ACCOUNT))),
      loop(stop, httpCalls, timed('http', async () => {
        const res = await fetch(fleet.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const text = await res.text();
        if (res.status !== 200 || !/"result":"0x/.test(text)) throw new Error(`HTTP ${res.status}: ${text.slice(0, 120)}`);
      })),
    ];
    await sleep(SETTLE_MS);

    const crashes: Array<{ replica: string; exit: string; downMs: number; maxGapViemMs: number; maxGapEthersMs: number; maxGapHttpMs: number }> = [];
    for (let i = 0; i < 3; i++) {
      const killedAt = Date.now();
      const exit = await fleet.stopReplica(i, 'SIGKILL');
      const downMs = await fleet.waitState(i, 'DOWN');
      await sleep(2_000);
      const gap = (name: string) => {
        const times = [killedAt, ...okAt[name]!.filter((t) => t > killedAt)];
        let max = 0;
        for (let k = 1; k < times.length; k++) max = Math.max(max, times[k]! - times[k - 1]!);
        return max;
      };
      crashes.push({ replica: fleet.replicas[i]!.name, exit: exit.signal ?? `code ${exit.code}`, downMs, maxGapViemMs: gap('viem'), maxGapEthersMs: gap('ethers'), maxGapHttpMs: gap('http') });
      await fleet.startReplica(i);
      await fleet.waitState(i, 'UP');
      await sleep(1_000);
    }
    await sleep(SETTLE_MS);
    stopped = true;
    await Promise.all(loops);
    unwatch();
    viem.transport.close();
    ethers.destroy();

    console.table(crashes);
    const streams = [checkStream('viem watchBlockNumber', viemBlocks, viemErrors), checkStream("ethers on('block')", ethersBlocks, [])];
    console.table(streams);
    console.table([
      { client: 'viem resilientTransport', ok: viemCalls.ok, failed: viemCalls.failed.length, first: viemCalls.failed[0] ?? '' },
      { client: 'ethers ResilientProvider', ok: ethersCalls.ok, failed: ethersCalls.failed.length, first: ethersCalls.failed[0] ?? '' },
      { client: 'HTTP (not asserted: a request on the killed replica may fail)', ok: httpCalls.ok, failed: httpCalls.failed.length, first: httpCalls.failed[0] ?? '' },
    ]);
    expect(viemCalls.failed).toEqual([]);
    expect(ethersCalls.failed).toEqual([]);
    for (const s of streams) expect(s.duplicates, s.name).toBe(0);
    expect(viemBlocks.length).toBeGreaterThan(5);
    expect(ethersBlocks.length).toBeGreaterThan(5);
  });

  it('probe cost: each node sees every replica probe it (measured from steadyrpc_probes_total)', async () => {
    const read = async () => {
      const perNode: Record<string, number> = {};
      for (const replica of fleet.replicas) {
        const text = await (await fetch(`http://127.0.0.1:${replica.port}/metrics`)).text();
        for (const m of text.matchAll(/^steadyrpc_probes_total\{([^}]*)\} (\d+)/gm)) {
          const nodeName = /node="([^"]+)"/.exec(m[1]!)![1]!;
          perNode[nodeName] = (perNode[nodeName] ?? 0) + Number(m[2]);
        }
      }
      return perNode;
    };
    const before = await read();
    const from = Date.now();
    await sleep(10_000);
    const after = await read();
    const minutes = (Date.now() - from) / 60_000;
    const rows = Object.keys(after).map((n) => ({ node: n, replicas: 3, probesPerMinute: Math.round((after[n]! - (before[n] ?? 0)) / minutes) }));
    console.table(rows);
    expect(rows.length).toBe(2);
    // docs/guides/deploy.md: N × 60000 / interval calls a minute on each node, 360 for 3 replicas
    // at the default 500 ms (runs gave 359–365).
    const expected = (fleet.replicas.length * 60_000) / 500;
    for (const r of rows) expect(Math.abs(r.probesPerMinute - expected), `${r.node}: ${r.probesPerMinute} a minute`).toBeLessThan(expected * 0.1);
  });
});
