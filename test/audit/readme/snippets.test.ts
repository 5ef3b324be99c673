import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { createPublicClient } from 'viem';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createEip1193Provider, HealthChecker, NodePool, serveHttp, serveSocket, UpstreamSession } from 'steadyrpc';
import { ResilientProvider } from 'steadyrpc/ethers';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from 'steadyrpc/testing';
import { resilientTransport } from 'steadyrpc/viem';
import { FakeServerSocket } from '../../server/FakeServerSocket.js';

// README.md quick-start snippets. The two functions below hold them as written (imports hoisted
// to the top of this file); `npm run typecheck` (tsc over test/) checks them against the current
// exports. They are never called: they would open sockets to 10.0.0.1 and rpc.example.com. The
// tests run the same code over the fakes, the node URLs routed as the README writes them.

// "Use 2: one resilient connection in your own server"
export function readmeUse2(req: IncomingMessage, res: ServerResponse) {
  const pool = new NodePool({
    nodes: [
      { name: 'primary', http: 'http://10.0.0.1:8545', ws: 'ws://10.0.0.1:8546' },
      { name: 'backup', http: 'https://rpc.example.com/v2/KEY', ws: 'wss://rpc.example.com/v2/KEY', tier: 'backup' },
    ],
  });
  new HealthChecker(pool).start();

  // One session per client socket; serveSocket wires it (slow-reader bound, pings, close codes, drain).
  new WebSocketServer({ port: 8080 }).on('connection', (client) => serveSocket(client, new UpstreamSession({ pool })));
  // HTTP JSON-RPC with the same checks, answer for answer (the README's comment, uncommented):
  return (async () => {
    const { status, headers, body } = await serveHttp(pool, req); res.writeHead(status, headers).end(body);
    // "HTTP JSON-RPC through the pool, with failover":
    await pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' });
  })();
}

// "Use 3: keep your viem or ethers code, swap the transport"
export function readmeUse3() {
  const nodes = [
    { name: 'a', http: 'http://10.0.0.1:8545', ws: 'ws://10.0.0.1:8546' },
    { name: 'b', http: 'https://rpc.example.com/v2/KEY', ws: 'wss://rpc.example.com/v2/KEY' },
  ];
  const client = createPublicClient({ transport: resilientTransport({ nodes }) }); // viem
  const provider = new ResilientProvider({ nodes }); // ethers v6
  const eip1193 = createEip1193Provider({ nodes }); // anything that takes an EIP-1193 provider
  return [client.type, provider, eip1193] as const;
}

/** The README's two nodes, each routed at the exact URLs of the snippet. */
function readmeNodes() {
  const clock = new FakeClock();
  const http = new FakeHttpTransport();
  const sockets = new FakeSocketTransport();
  const primary = new FakeNode({ name: 'primary', head: 100, balance: 1n });
  const backup = new FakeNode({ name: 'backup', head: 100, balance: 2n });
  http.route('http://10.0.0.1:8545', primary.http);
  http.route('https://rpc.example.com/v2/KEY', backup.http);
  sockets.route('ws://10.0.0.1:8546', primary.socket);
  sockets.route('wss://rpc.example.com/v2/KEY', backup.socket);
  return { clock, http, sockets, primary, backup };
}

describe('README Use 2, run over the fakes', () => {
  it('the pool, a HealthChecker, serveSocket over a session and serveHttp answer, and fail over to the backup', async () => {
    const { clock, http, sockets, primary } = readmeNodes();
    const pool = new NodePool({
      nodes: [
        { name: 'primary', http: 'http://10.0.0.1:8545', ws: 'ws://10.0.0.1:8546' },
        { name: 'backup', http: 'https://rpc.example.com/v2/KEY', ws: 'wss://rpc.example.com/v2/KEY', tier: 'backup' },
      ],
      clock,
      httpTransport: http,
    });
    const checker = new HealthChecker(pool, { socketTransport: sockets });
    checker.start();
    await clock.advance(1_000);
    expect(pool.preferred()).toBe('primary');

    const client = new FakeServerSocket();
    const served = serveSocket(client.asWebSocket(), new UpstreamSession({ pool, transport: sockets }), { clock });
    client.clientSend({ jsonrpc: '2.0', id: 'x', method: 'eth_getBalance', params: ['0x0000000000000000000000000000000000000001', 'latest'] });
    await clock.flush();
    expect(client.frames()).toEqual([{ jsonrpc: '2.0', id: 'x', result: '0x1' }]);

    const answer = await serveHttp(pool, Readable.from([JSON.stringify([{ jsonrpc: '2.0', id: 7, method: 'eth_blockNumber', params: [] }])]));
    expect(answer.status).toBe(200);
    expect(answer.headers).toMatchObject({ 'content-type': expect.stringContaining('application/json') });
    expect(JSON.parse(answer.body)).toEqual([{ jsonrpc: '2.0', id: 7, result: '0x64' }]);
    expect(await pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' })).toEqual({ jsonrpc: '2.0', id: 1, result: '0x64' });

    primary.setMode('down');
    primary.cut();
    await clock.advance(5_000);
    expect(pool.preferred()).toBe('backup');
    client.clientSend({ jsonrpc: '2.0', id: 'y', method: 'eth_getBalance', params: ['0x0000000000000000000000000000000000000001', 'latest'] });
    await clock.advance(1_000);
    expect(client.frames().at(-1)).toEqual({ jsonrpc: '2.0', id: 'y', result: '0x2' });
    const viaHttp = await serveHttp(pool, JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'eth_getBalance', params: ['0x0000000000000000000000000000000000000001', 'latest'] }));
    expect(JSON.parse(viaHttp.body)).toEqual({ jsonrpc: '2.0', id: 8, result: '0x2' });

    served.close();
    checker.close();
    pool.close();
    await clock.flush();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('README Use 3 type-checks as written', () => {
  it('exports what the snippet imports', () => {
    expect(typeof resilientTransport).toBe('function');
    expect(typeof ResilientProvider).toBe('function');
    expect(typeof createEip1193Provider).toBe('function');
    expect(typeof readmeUse3).toBe('function');
    expect(typeof readmeUse2).toBe('function');
  });
});
