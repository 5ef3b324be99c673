import { WebSocket as WsWebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { StandardWebSocketTransport, isSteadyRpcError } from '../../src/index.js';

// README ("In a browser, Bun or Deno"): on Node ≥ 22 `new StandardWebSocketTransport()` uses the
// global WebSocket; Node 20, the oldest Node supported, has none (it is global from Node 22), so
// there it throws ERR_CONFIG unless given a WebSocket class.
const hasGlobal = typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function';

describe(`StandardWebSocketTransport on this Node (${process.version})`, () => {
  it(hasGlobal ? 'uses the global WebSocket' : 'has no global WebSocket: ERR_CONFIG, naming what to pass', () => {
    if (hasGlobal) {
      expect(() => new StandardWebSocketTransport()).not.toThrow();
      return;
    }
    let error: unknown;
    try {
      new StandardWebSocketTransport();
    } catch (caught) {
      error = caught;
    }
    expect(isSteadyRpcError(error, 'ERR_CONFIG')).toBe(true);
    expect((error as Error).message).toMatch(/no global WebSocket, pass one as `WebSocket`/);
  });

  it('takes a WebSocket class (ws has the standard API)', () => {
    expect(() => new StandardWebSocketTransport({ WebSocket: WsWebSocket as never })).not.toThrow();
  });
});
