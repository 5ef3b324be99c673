import { describe, expect, it } from 'vitest';
import { HealthChecker, NodePool } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeSocketTransport } from '../../src/testing/index.js';

/**
 * Found in review (docs/guides/health.md: each probe has its own timeoutMs; close() leaves nothing
 * behind). The default probe sends eth_blockNumber and eth_chainId at once: when one failed first,
 * the probe was over but the other call was never aborted, holding a socket (or a request) with no
 * deadline, outside the checker's concurrency, past close().
 */
describe('what a probe leaves running', () => {
  it('ends with it: eth_blockNumber fails at once while eth_chainId hangs, and no probe socket stays open', async () => {
    const clock = new FakeClock();
    const sockets = new FakeSocketTransport();
    sockets.route('ws://w.test/', (socket) => {
      socket.accept();
      socket.onSend((text) => {
        const request = JSON.parse(text) as { id: number; method: string };
        if (request.method === 'eth_blockNumber') {
          socket.receiveJson({ jsonrpc: '2.0', id: request.id, error: { code: -32603, message: 'internal error' } });
        }
        // eth_chainId: never answered (a stuck backend).
      });
    });
    const pool = new NodePool({ nodes: [{ name: 'w', ws: 'ws://w.test/' }], clock, httpTransport: new FakeHttpTransport() });
    const checker = new HealthChecker(pool, { socketTransport: sockets, intervalMs: 1_000, timeoutMs: 2_000 });
    const probes: boolean[] = [];
    checker.on('probe', (e) => probes.push(e.ok));
    checker.start();
    await clock.advance(0);
    await clock.advance(10);
    expect(probes).toEqual([false]); // the first probe is over (failed)
    expect(sockets.openSockets).toHaveLength(0); // the eth_chainId call ended with its probe
    await clock.advance(9_990); // 10 rounds, each probe long over
    expect(probes.length).toBeGreaterThanOrEqual(10);
    checker.close();
    pool.close();
    await clock.advance(60_000);
    // Every probe is over and the checker is closed: no probe socket may be left open.
    expect(sockets.openSockets.map((s) => s.endpoint.url)).toEqual([]);
  });
});
