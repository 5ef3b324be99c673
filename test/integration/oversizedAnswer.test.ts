// The case of test/session/oversizedAnswer.test.ts over a real socket: a ws server whose answer to
// eth_getLogs (2 MiB) is past the transport's maxPayload (1 MiB here). Before, the session sent the
// call again on every new socket until its deadline (6 connections in 12 s, no answer); now the call
// goes on a socket of its own, gets FRAME_TOO_LARGE once that one failed too, and the session
// serves the next call. A slow call that was in flight beside it gets its own answer.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { NodePool, RpcErrorCode, UpstreamSession, WsSocketTransport } from '../../src/index.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('an answer past maxPayload, over a real socket', { timeout: 20_000 }, () => {
  it('FRAME_TOO_LARGE once it failed a socket of its own; the slow call beside it is answered; then the session answers the next call', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => new Promise((resolve) => wss.close(resolve)));
    await once(wss, 'listening');
    let connections = 0;
    const huge = 'ab'.repeat(1024 * 1024);
    wss.on('connection', (ws) => {
      connections++;
      ws.on('message', (data) => {
        const { id, method } = JSON.parse(String(data)) as { id: number; method: string };
        const answer = () => ws.send(JSON.stringify({ jsonrpc: '2.0', id, result: method === 'eth_getLogs' ? [huge] : '0x1' }));
        // A trace, say: the node takes its time over it, and the socket is gone before it answers.
        if (method === 'eth_getBalance') setTimeout(answer, 300);
        else answer();
      });
    });
    const url = `127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const pool = new NodePool({ nodes: [{ name: 'a', ws: `ws://${url}`, http: `http://${url}` }] });
    const session = new UpstreamSession({ pool, transport: new WsSocketTransport({ maxPayload: 1024 * 1024 }) });
    cleanups.push(() => pool.close(), () => session.close());
    const answers = new Map<number, { result?: unknown; error?: { code: number; message: string } }>();
    session.on('message', (text) => {
      const frame = JSON.parse(text) as { id: number; result?: unknown; error?: { code: number; message: string } };
      answers.set(frame.id, frame);
    });
    const started = Date.now();
    session.send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'eth_getBalance', params: ['0x0000000000000000000000000000000000000001', 'latest'] }));
    session.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getLogs', params: [{ fromBlock: '0x0' }] }));
    while (!(answers.has(1) && answers.has(3)) && Date.now() - started < 15_000) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answers.get(1)?.error?.code).toBe(RpcErrorCode.FRAME_TOO_LARGE);
    expect(answers.get(3)).toEqual({ jsonrpc: '2.0', id: 3, result: '0x1' });
    // The session's socket that failed, the next one, and one for each call sent again apart.
    expect(connections).toBe(4);
    session.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'eth_chainId', params: [] }));
    while (!answers.has(2) && Date.now() - started < 15_000) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answers.get(2)).toEqual({ jsonrpc: '2.0', id: 2, result: '0x1' });
    expect(connections).toBe(4);
  });
});
