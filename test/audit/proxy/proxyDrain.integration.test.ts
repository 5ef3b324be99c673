import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TextClient, postText, rawConnect, statusLine, upgradeRequest } from '../../adversarial/helpers/raw.js';
import { startStack, type Stack } from '../../adversarial/helpers/stack.js';
import { DEV_ACCOUNT } from '../../integration/helpers/anvil.js';

/**
 * Audit of docs/guides/proxy.md:121-140 (Readiness and drain) and deploy.md:193-204, the claims
 * test/adversarial/readiness.test.ts and drain.test.ts leave open. Real proxy, one anvil behind a
 * relay that can hold answers (test/adversarial/helpers). Every wait is bounded.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(1);
}, 60_000);
afterAll(() => stack?.stop(), 30_000);

const balance = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_getBalance', params: [DEV_ACCOUNT, 'latest'] });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** POST / on a keep-alive connection of `agent` (`false`: a new connection); the status, the `connection` header and the body. */
function post(url: string, body: string, agent: http.Agent | false): Promise<{ status: number; connection: string | undefined; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' }, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, text }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.end(body);
  });
}

describe('a drain (close({ drainMs }))', { timeout: 30_000 }, () => {
  it('proxy.md:127-131: HTTP requests that come during the drain are served, answered with Connection: close', async () => {
    const proxy = await stack.proxy();
    const agent = new http.Agent({ keepAlive: true });
    const before = await post(proxy.url, balance(1), agent);
    expect(before.connection).toBe('keep-alive');
    const closing = proxy.close({ drainMs: 5_000 });
    const during = await post(proxy.url, balance(2), agent);
    expect(during.status).toBe(200);
    expect(JSON.parse(during.text)).toMatchObject({ id: 2, result: expect.stringMatching(/^0x/) });
    expect(during.connection).toBe('close');
    agent.destroy();
    await closing;
  });

  it('proxy.md:127-128 and deploy.md:169: readiness checks on the client port are no client requests: a balancer polling /readyz does not hold the listener open', async () => {
    const proxy = await stack.proxy();
    const startedAt = Date.now();
    let polling = true;
    const statuses: number[] = [];
    const poller = (async () => {
      while (polling) {
        try {
          statuses.push((await fetch(`${proxy.url}/readyz`, { signal: AbortSignal.timeout(1_000) })).status);
        } catch {
          statuses.push(0); // refused: the listener is closed
        }
        await sleep(100);
      }
    })();
    await sleep(50);
    await proxy.close({ drainMs: 10_000 });
    const tookMs = Date.now() - startedAt;
    polling = false;
    await poller;
    // The listener closes 1 s after the last client request, not at the 10 s deadline.
    expect(tookMs).toBeLessThan(3_000);
    expect(statuses).toContain(503);
    expect(statuses.every((s) => s === 503 || s === 0 || s === 200)).toBe(true);
  });

  it('proxy.md:127-128: requests that never stop keep the port accepting only until the deadline, not past it', async () => {
    const proxy = await stack.proxy();
    const startedAt = Date.now();
    let refusedAt: number | undefined;
    const sender = (async () => {
      // Each request on a new connection, every 200 ms, until one is refused: the port has closed.
      for (let id = 0; refusedAt === undefined && Date.now() - startedAt < 8_000; id++) {
        await post(proxy.url, balance(id), false).catch(() => (refusedAt = Date.now() - startedAt));
        await sleep(200);
      }
    })();
    await proxy.close({ drainMs: 2_000 });
    await sender;
    console.log(`requests every 200 ms during a 2 s drain: refused from ${refusedAt} ms`);
    expect(refusedAt).toBeGreaterThanOrEqual(1_900);
    expect(refusedAt).toBeLessThan(2_800);
  });

  // Found by the audit: Node's server.close() leaves a connection that has sent nothing, or only
  // part of its request, open (verified on Node 20.20); the proxy closed it only at the very end of
  // the drain (closeAllConnections), here when the WebSocket answer comes 5 s later, and served its
  // request if it completed meanwhile. It now closes such connections as the port stops accepting
  // (UnstartedConnections, examples/proxy/listeners.ts).
  it('proxy.md:130-131: when the port stops accepting, a connection that has not sent a whole request yet is closed', async () => {
    const proxy = await stack.proxy();
    const { relay } = stack.node('a');
    relay.misbehave('eth_getBalance', { kind: 'slow', ms: 5_000 });
    try {
      // A WebSocket client owed an answer for 5 s keeps the drain going after the port closes.
      const client = await TextClient.connect(proxy.wsUrl);
      client.send(balance(1));
      const silent = await rawConnect(proxy.url);
      const partial = await rawConnect(proxy.url);
      partial.socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n');
      await sleep(200);
      const startedAt = Date.now();
      const closing = proxy.close({ drainMs: 10_000 });
      // The port stops accepting 1 s into the drain (no client request came).
      const closedAt = await Promise.all([silent.closed, partial.closed].map((c) => c.then(() => Date.now() - startedAt)));
      console.log(`connections without a whole request closed ${closedAt.join(' and ')} ms into the drain`);
      for (const ms of closedAt) expect(ms).toBeLessThan(2_500);
      await closing;
      expect((await client.closed).code).toBe(1012);
    } finally {
      relay.misbehave('eth_getBalance', undefined);
    }
  });

  // Found by the audit, same root: the end of the drain answered HTTP requests still in progress
  // (settle: the pool's close) only if one was in progress when it checked. A request that
  // completed on such a connection after that check went to the node, and closeAllConnections then
  // cut it unanswered: a write carried out, and the client cannot tell. settle() now always runs.
  it('proxy.md:133-137: a write on a connection the port accepted before it closed is never cut after it went out', async () => {
    const proxy = await stack.proxy();
    const { relay } = stack.node('a');
    relay.misbehave('eth_sendTransaction', { kind: 'slow', ms: 5_000 });
    try {
      // A WebSocket client that never answers the close frame: the drain's last second is spent waiting for it.
      const ws = await rawConnect(proxy.url);
      ws.socket.write(upgradeRequest(proxy.wsUrl));
      await sleep(300);
      const conn = await rawConnect(proxy.url);
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendTransaction', params: [{ from: DEV_ACCOUNT, to: DEV_ACCOUNT, value: '0x1' }] });
      conn.socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n`);
      const before = relay.count('eth_sendTransaction');
      const closing = proxy.close({ drainMs: 2_000 });
      await sleep(3_400); // past drainMs + 1 s, before the last second is over
      conn.socket.write(`\r\n${body}`);
      const { received } = await conn.closed;
      await closing;
      const reachedNode = relay.count('eth_sendTransaction') - before;
      console.log(`late write: the node got it ${reachedNode} time(s); the client got ${JSON.stringify(received.slice(0, 60))}`);
      // Either it never went out (closed before), or its client has an answer (NOT_RESENT).
      expect({ reachedNode, answered: statusLine(received) === 'HTTP/1.1 200 OK' && received.includes('"id":1') }).not.toEqual({ reachedNode: 1, answered: false });
    } finally {
      relay.misbehave('eth_sendTransaction', undefined);
    }
  });
});

describe('close() without drainMs', { timeout: 30_000 }, () => {
  it('proxy.md:138-140: answers every HTTP request still owed first (a write that went out -32053, a read -32050), at once', async () => {
    const proxy = await stack.proxy();
    const { relay } = stack.node('a');
    relay.misbehave('eth_sendTransaction', { kind: 'slow', ms: 8_000 });
    relay.misbehave('eth_getBalance', { kind: 'slow', ms: 8_000 });
    try {
      const [writes, reads] = [relay.count('eth_sendTransaction'), relay.count('eth_getBalance')];
      const write = postText(proxy.url, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_sendTransaction', params: [{ from: DEV_ACCOUNT, to: DEV_ACCOUNT, value: '0x1' }] }));
      const read = postText(proxy.url, balance(2));
      const deadline = Date.now() + 5_000;
      while (relay.count('eth_sendTransaction') === writes || relay.count('eth_getBalance') === reads) {
        if (Date.now() > deadline) throw new Error('the calls never reached the node');
        await sleep(20);
      }
      const startedAt = Date.now();
      await proxy.close();
      expect(Date.now() - startedAt).toBeLessThan(2_000);
      const [w, r] = [await write, await read];
      expect(w.status).toBe(200);
      expect(JSON.parse(w.text)).toMatchObject({ id: 1, error: { code: -32053 } });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.text)).toMatchObject({ id: 2, error: { code: -32050 } });
    } finally {
      relay.misbehave('eth_sendTransaction', undefined);
      relay.misbehave('eth_getBalance', undefined);
    }
  });
});
