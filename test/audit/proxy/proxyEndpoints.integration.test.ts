import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine, startProxyServer, type ProxyServerOptions } from '../../../examples/proxy-server.js';
import { TextClient, postText } from '../../adversarial/helpers/raw.js';
import { startStack, type Stack } from '../../adversarial/helpers/stack.js';
import { DEV_ACCOUNT } from '../../integration/helpers/anvil.js';
import { poll } from '../../integration/helpers/wsClient.js';

/**
 * Audit of docs/guides/proxy.md:24-26 (endpoints), 75 (the frame limit's default) and 94-95
 * (what bounds a slow HTTP answer), against the real proxy over one anvil behind a relay.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(1);
}, 60_000);
afterAll(() => stack?.stop(), 30_000);

const MiB = 1024 * 1024;
const balance = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_getBalance', params: [DEV_ACCOUNT, 'latest'] });

/** The proxy as `npm run proxy -- <flags>` starts it (on a free port), over the stack's node a. */
async function fromFlags(...flags: string[]) {
  const { relay } = stack.node('a');
  const options = parseCommandLine(['--upstream', `a=${relay.httpUrl},${relay.wsUrl}`, ...flags]) as ProxyServerOptions;
  const proxy = await startProxyServer({ ...options, listen: { host: '127.0.0.1', port: 0 } });
  await poll('the proxy prefers a', async () => proxy.pool.preferred() === 'a', 15_000);
  return proxy;
}

describe('the endpoints', { timeout: 30_000 }, () => {
  // Found by the audit: /status was matched on req.url, /metrics, /readyz and /livez on the path
  // without its query (pathOf): GET /status?pretty=1 was a 404.
  it('proxy.md:25: GET /status is the pool snapshot as JSON, with a query string too (as GET /metrics, /readyz and /livez are)', async () => {
    const proxy = await stack.proxy();
    try {
      for (const path of ['/metrics?x=1', '/readyz?x=1', '/livez?x=1']) expect((await fetch(`${proxy.url}${path}`)).status, path).toBe(200);
      const status = await fetch(`${proxy.url}/status?pretty=1`);
      expect(status.status).toBe(200);
      expect(await status.json()).toMatchObject({ preferred: 'a', nodes: [expect.objectContaining({ name: 'a' })] });
    } finally {
      await proxy.close();
    }
  });

  it('proxy.md:75: the largest frame or HTTP body is 5 MiB by default: 5 MiB is served, 5 MiB + 1 gets -32054 (HTTP 413)', async () => {
    const proxy = await stack.proxy();
    const client = await TextClient.connect(proxy.wsUrl);
    try {
      const call = '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}';
      const padded = (bytes: number) => call + ' '.repeat(bytes - call.length); // whitespace: still one JSON value
      const atLimit = await postText(proxy.url, padded(5 * MiB));
      expect(atLimit.status).toBe(200);
      expect(JSON.parse(atLimit.text)).toMatchObject({ id: 1, result: '0x7a69' });
      const over = await postText(proxy.url, padded(5 * MiB + 1));
      expect(over.status).toBe(413);
      expect(JSON.parse(over.text)).toMatchObject({ error: { code: -32054, data: { maxFrameBytes: 5 * MiB } } });
      expect(JSON.parse(await client.ask(padded(5 * MiB)))).toMatchObject({ id: 1, result: '0x7a69' });
      expect(JSON.parse(await client.ask(padded(5 * MiB + 1)))).toMatchObject({ error: { code: -32054, data: { maxFrameBytes: 5 * MiB } } });
    } finally {
      client.close();
      await proxy.close();
    }
  });
});

describe('readiness and liveness', { timeout: 30_000 }, () => {
  it('deploy.md:170 and 225: /readyz and /livez are answered from memory: a load balancer checking them never reaches a node', async () => {
    // One probe round brings a up; the next is a minute away, so any call the node sees is the checks'.
    const proxy = await stack.proxy({ health: { intervalMs: 60_000, successesToUp: 1 } });
    const { relay } = stack.node('a');
    try {
      const before = relay.seen.length;
      for (let i = 0; i < 25; i++) {
        expect((await fetch(`${proxy.url}/readyz`)).status).toBe(200);
        expect((await fetch(`${proxy.url}/livez`)).status).toBe(200);
      }
      expect(relay.seen.slice(before)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});

describe('what bounds a slow HTTP answer', { timeout: 30_000 }, () => {
  // Found by the audit: --request-timeout-ms became session.requestTimeoutMs and nothing else; POST /
  // went through pool.request() with the pool's own HTTP deadlines (10 s a try, 3 tries), which no
  // flag set. The flag now also sets upstreamHttp.attemptTimeoutMs (each try's deadline).
  it('proxy.md: --request-timeout-ms bounds each try of a POST / too: with --request-timeout-ms 1000, POST / does not wait 8 s for a node', async () => {
    const proxy = await fromFlags('--request-timeout-ms', '1000');
    const { relay } = stack.node('a');
    relay.misbehave('eth_getBalance', { kind: 'slow', ms: 8_000 });
    try {
      // The same flag over WebSocket: REQUEST_TIMEOUT after 1 s.
      const client = await TextClient.connect(proxy.wsUrl);
      expect(JSON.parse(await client.ask(balance(1), 5_000))).toMatchObject({ id: 1, error: { code: -32052 } });
      client.close();
      const startedAt = Date.now();
      const answer = await postText(proxy.url, balance(2), 15_000);
      const tookMs = Date.now() - startedAt;
      console.log(`POST / with --request-timeout-ms 1000 and a node answering after 8 s: ${tookMs} ms, ${answer.text.slice(0, 100)}`);
      // Even three attempts of 1 s each (with the pool's pauses between them) end well before 5 s.
      expect(tookMs).toBeLessThan(5_000);
      expect(JSON.parse(answer.text)).toMatchObject({ id: 2, error: expect.objectContaining({ code: expect.any(Number) }) });
    } finally {
      relay.misbehave('eth_getBalance', undefined);
      await proxy.close();
    }
  });
});

describe("the proxy's own metrics (proxy.md)", { timeout: 30_000 }, () => {
  const sample = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('client_connections, proxy_http_requests_total{outcome}, proxy_upgrades_refused_total{reason} and proxy_draining, each with its type', async () => {
    const proxy = await fromFlags('--max-clients', '1');
    try {
      const client = await TextClient.connect(proxy.wsUrl);
      expect(JSON.parse(await postText(proxy.url, balance(1), 10_000).then((a) => a.text))).toMatchObject({ id: 1, result: expect.any(String) });
      expect(JSON.parse((await postText(proxy.url, '{', 10_000)).text)).toMatchObject({ error: { code: -32700 } });
      // A second client is one too many.
      await expect(TextClient.connect(proxy.wsUrl)).rejects.toThrow();
      const text = await (await fetch(`${proxy.url}/metrics`)).text();
      for (const [name, type] of [
        ['steadyrpc_client_connections', 'gauge'],
        ['steadyrpc_proxy_http_requests_total', 'counter'],
        ['steadyrpc_proxy_upgrades_refused_total', 'counter'],
        ['steadyrpc_proxy_draining', 'gauge'],
      ]) {
        expect(text, name).toContain(`# TYPE ${name} ${type}`);
      }
      expect(sample(text, 'steadyrpc_client_connections')).toBe(1);
      expect(sample(text, 'steadyrpc_proxy_http_requests_total{outcome="answered"}')).toBe(1);
      expect(sample(text, 'steadyrpc_proxy_http_requests_total{outcome="parse-error"}')).toBe(1);
      expect(sample(text, 'steadyrpc_proxy_upgrades_refused_total{reason="max-clients"}')).toBe(1);
      expect(sample(text, 'steadyrpc_proxy_draining')).toBe(0);
      client.close();
    } finally {
      await proxy.close();
    }
  });
});
