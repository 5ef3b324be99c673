/**
 * Readiness, liveness, the admin listener (issue 13 point 2, issue 16 point 1) and the drain of
 * `close({ drainMs })` (issue 13 point 9), against the real proxy over anvil.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine, startProxyServer } from '../../examples/proxy-server.js';
import { DEV_ACCOUNT, freePort } from '../integration/helpers/anvil.js';
import { TextClient, postText, rawConnect, statusLine, upgradeRequest } from './helpers/raw.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(1);
}, 60_000);
afterAll(() => stack?.stop(), 30_000);

const get = async (url: string) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, text: await response.text() };
};
const balance = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_getBalance', params: [DEV_ACCOUNT, 'latest'] });

describe('readiness and liveness', { timeout: 30_000 }, () => {
  it('/readyz is 503 while no node is usable, /livez 200', async () => {
    const proxy = await startProxyServer({ listen: { port: 0 }, upstreams: [{ name: 'gone', http: `http://127.0.0.1:${await freePort()}` }] });
    try {
      expect(await get(`${proxy.url}/readyz`)).toEqual({ status: 503, text: '{"ready":false,"reason":"no usable node"}' });
      expect(await get(`${proxy.url}/livez`)).toEqual({ status: 200, text: '{"live":true}' });
    } finally {
      await proxy.close();
    }
  });

  it('/readyz is 200 once a node is usable', async () => {
    const proxy = await stack.proxy();
    expect(await get(`${proxy.url}/readyz`)).toEqual({ status: 200, text: '{"ready":true}' });
    await proxy.close();
  });
});

describe('the admin listener', { timeout: 30_000 }, () => {
  it('serves /status, /metrics, /readyz and /livez; the client port keeps only /readyz and /livez', async () => {
    const proxy = await stack.proxy({ adminListen: { host: '127.0.0.1', port: 0 } });
    const admin = proxy.adminUrl!;
    expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await get(`${admin}/status`)).status).toBe(200);
    expect((await get(`${admin}/metrics`)).text).toContain('steadyrpc_node_up');
    for (const base of [admin, proxy.url]) {
      expect(await get(`${base}/readyz`)).toEqual({ status: 200, text: '{"ready":true}' });
      expect(await get(`${base}/livez`)).toEqual({ status: 200, text: '{"live":true}' });
    }
    expect((await get(`${proxy.url}/status`)).status).toBe(404);
    expect((await get(`${proxy.url}/metrics`)).status).toBe(404);
    expect((await get(`${admin}/anything`)).status).toBe(404);
    // The client port still serves clients.
    expect(JSON.parse((await postText(proxy.url, balance(1))).text)).toMatchObject({ id: 1 });
    await proxy.close();
  });

  it('is set by --admin-listen HOST:PORT', () => {
    expect(parseCommandLine(['--upstream', 'a=http://127.0.0.1:1', '--admin-listen', '127.0.0.1:9090'])).toMatchObject({ adminListen: { host: '127.0.0.1', port: 9090 } });
    expect(() => parseCommandLine(['--upstream', 'a=http://127.0.0.1:1', '--admin-listen', 'nowhere'])).toThrow(/--admin-listen must be HOST:PORT/);
  });
});

describe('the client port', { timeout: 30_000 }, () => {
  it('serves WebSocket JSON-RPC on any path', async () => {
    const proxy = await stack.proxy();
    const client = await TextClient.connect(`${proxy.wsUrl}/some/path?key=x`);
    expect(JSON.parse(await client.ask(balance(1)))).toMatchObject({ id: 1, result: expect.stringMatching(/^0x/) });
    client.close();
    await proxy.close();
  });

  it('refuses an upgrade during a drain with 503 and Retry-After, counted as draining', async () => {
    const proxy = await stack.proxy({ adminListen: { port: 0 } });
    const closing = proxy.close({ drainMs: 3_000 });
    const conn = await rawConnect(proxy.url);
    conn.socket.write(upgradeRequest(proxy.wsUrl));
    const { received } = await conn.closed;
    expect(statusLine(received)).toBe('HTTP/1.1 503 Service Unavailable');
    expect(received).toMatch(/\r\nRetry-After: 1\r\n/i);
    expect(proxy.metrics.render()).toContain('steadyrpc_proxy_upgrades_refused_total{reason="draining"} 1');
    await closing;
  });
});

describe('close({ drainMs })', { timeout: 30_000 }, () => {
  it('turns /readyz 503 first, stops accepting, answers what is owed (HTTP and WebSocket), then closes clients with 1012', async () => {
    const proxy = await stack.proxy({ adminListen: { port: 0 } });
    stack.node('a').relay.misbehave('eth_getBalance', { kind: 'slow', ms: 1_500 });
    try {
      const clients = await Promise.all([1, 2, 3].map(() => TextClient.connect(proxy.wsUrl)));
      clients.forEach((client, i) => client.send(balance(i)));
      const http = postText(proxy.url, balance(10));
      await new Promise((resolve) => setTimeout(resolve, 200)); // the calls are on their way upstream
      const startedAt = Date.now();
      const closing = proxy.close({ drainMs: 5_000 });
      expect(await get(`${proxy.adminUrl}/readyz`)).toEqual({ status: 503, text: '{"ready":false,"reason":"draining"}' });
      expect(proxy.readiness()).toEqual({ ready: false, reason: 'draining' });
      await expect(TextClient.connect(proxy.wsUrl)).rejects.toThrow();

      const closes = await Promise.all(clients.map((c) => c.closed));
      for (const [i, client] of clients.entries()) {
        expect(client.texts.map((t) => JSON.parse(t))).toEqual([expect.objectContaining({ id: i, result: expect.stringMatching(/^0x/) })]);
        expect(closes[i]!.code).toBe(1012);
      }
      const answer = await http;
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toMatchObject({ id: 10, result: expect.stringMatching(/^0x/) });
      await closing;
      const tookMs = Date.now() - startedAt;
      console.log(`drain with 1.5 s answers owed: ${tookMs} ms`);
      expect(tookMs).toBeLessThan(4_000);
    } finally {
      stack.node('a').relay.misbehave('eth_getBalance', undefined);
    }
  });

  it('a connection still sending its upgrade request when the drain starts is closed, never upgraded', async () => {
    const proxy = await stack.proxy();
    const conn = await rawConnect(proxy.url);
    conn.socket.write(upgradeRequest(proxy.wsUrl).slice(0, -2)); // the headers are under way
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = proxy.close({ drainMs: 2_000 });
    conn.socket.write('\r\n');
    const { received, afterMs } = await conn.closed;
    expect(statusLine(received)).not.toBe('HTTP/1.1 101 Switching Protocols');
    expect(afterMs).toBeLessThan(1_000);
    expect(proxy.clients).toBe(0);
    await closing;
  });

  it('past the deadline, what remains is answered with an error and closed with 1012', async () => {
    const proxy = await stack.proxy();
    stack.node('a').relay.misbehave('eth_getBalance', { kind: 'slow', ms: 8_000 });
    try {
      const client = await TextClient.connect(proxy.wsUrl);
      client.send(balance(1));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const startedAt = Date.now();
      await proxy.close({ drainMs: 1_000 });
      const tookMs = Date.now() - startedAt;
      expect(tookMs).toBeGreaterThanOrEqual(950);
      expect(tookMs).toBeLessThan(3_000);
      expect((await client.closed).code).toBe(1012);
      // UPSTREAM_UNAVAILABLE: the call was never answered; the client may send it again elsewhere.
      expect(client.texts.map((t) => JSON.parse(t))).toEqual([expect.objectContaining({ id: 1, error: expect.objectContaining({ code: -32050 }) })]);
    } finally {
      stack.node('a').relay.misbehave('eth_getBalance', undefined);
    }
  });

  it('past the deadline, an HTTP request still in progress is answered, never cut: a write that went out NOT_RESENT, a read UPSTREAM_UNAVAILABLE', async () => {
    const proxy = await stack.proxy();
    const { relay } = stack.node('a');
    relay.misbehave('eth_sendTransaction', { kind: 'slow', ms: 8_000 });
    relay.misbehave('eth_getBalance', { kind: 'slow', ms: 8_000 });
    try {
      const writesBefore = relay.count('eth_sendTransaction');
      const write = postText(proxy.url, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendTransaction', params: [{ from: DEV_ACCOUNT, to: DEV_ACCOUNT, value: '0x1' }] }));
      const read = postText(proxy.url, balance(2));
      await new Promise((resolve) => setTimeout(resolve, 300)); // both are at the node
      expect(relay.count('eth_sendTransaction') - writesBefore).toBe(1);
      const startedAt = Date.now();
      await proxy.close({ drainMs: 1_000 });
      expect(Date.now() - startedAt).toBeLessThan(3_000);
      const [w, r] = [await write, await read];
      expect(w.status).toBe(200);
      // The node may have carried it out: the client must not send it again blindly.
      expect(JSON.parse(w.text)).toMatchObject({ id: 1, error: { code: -32053 } });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text)).toMatchObject({ id: 2, error: { code: -32050 } });
      expect(relay.count('eth_sendTransaction') - writesBefore).toBe(1);
    } finally {
      relay.misbehave('eth_sendTransaction', undefined);
      relay.misbehave('eth_getBalance', undefined);
    }
  });

  it('keeps serving HTTP requests that arrive after the drain began (a load balancer has not read the 503 yet), and stops accepting once they stop', async () => {
    const proxy = await stack.proxy();
    const startedAt = Date.now();
    const closing = proxy.close({ drainMs: 10_000 });
    // Requests keep coming for 1.5 s: each is served.
    for (let i = 0; i < 6; i++) {
      const answer = await postText(proxy.url, balance(i));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toMatchObject({ id: i, result: expect.stringMatching(/^0x/) });
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // An upgrade is refused with 503 (a balancer retries it on another replica).
    await expect(TextClient.connect(proxy.wsUrl)).rejects.toThrow(/503/);
    // One second without a request: the listener closes, and a connect is refused.
    await closing;
    const tookMs = Date.now() - startedAt;
    console.log(`drain with requests for 1.5 s: listener closed, drain done after ${tookMs} ms`);
    expect(tookMs).toBeGreaterThanOrEqual(2_400);
    expect(tookMs).toBeLessThan(5_000);
    await expect(postText(proxy.url, balance(9), 2_000)).rejects.toThrow();
  });

  it('a close() without drainMs during a drain cuts it short: 1001', async () => {
    const proxy = await stack.proxy();
    stack.node('a').relay.misbehave('eth_getBalance', { kind: 'slow', ms: 8_000 });
    try {
      const client = await TextClient.connect(proxy.wsUrl);
      client.send(balance(1));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const draining = proxy.close({ drainMs: 20_000 });
      const startedAt = Date.now();
      await proxy.close();
      await draining;
      expect(Date.now() - startedAt).toBeLessThan(2_000);
      expect((await client.closed).code).toBe(1001);
    } finally {
      stack.node('a').relay.misbehave('eth_getBalance', undefined);
    }
  });
});
