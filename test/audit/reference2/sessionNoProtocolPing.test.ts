import { describe, expect, it } from 'vitest';
import { rpc, sessionHarness } from '../../helpers/session.js';

// docs/guides/browser.md, "What differs from Node": "Liveness | the keepalive call (the session
// sends no protocol ping upstream on either)"; docs/reference.md, defaultSocketTransport: "sessions
// judge liveness by their keepalive call on every transport". The ws transport has a ping(); the
// session must not use it.

describe('a session never pings its upstream at the protocol level', () => {
  it('over a minute of idle and busy time with the defaults: keepalive calls go out, no ping', async () => {
    const h = await sessionHarness();
    const socket = h.sockets.last()!;
    expect(socket.state).toBe('open');
    for (let i = 0; i < 30; i++) {
      if (i % 3 === 0) h.send(rpc(i, 'eth_blockNumber'));
      await h.clock.advance(2_000);
    }
    const keepalives = (socket.sentJson() as Array<{ method: string }>).filter((m) => m.method === 'eth_chainId');
    expect(keepalives.length).toBeGreaterThan(5); // liveness is judged by the call
    expect(socket.pings).toBe(0);
    expect(h.sockets.sockets.every((s) => s.pings === 0)).toBe(true);
    h.session.close();
  });
});
