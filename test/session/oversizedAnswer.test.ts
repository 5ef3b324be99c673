import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import type { FakeSocket } from '../../src/testing/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

// Found in review: an answer larger than the socket takes (WsSocketTransport's maxPayload, 64 MiB:
// an eth_getLogs over a wide range, a block trace) fails the socket before anyone can tell whose
// answer it was. The session then sent every call the socket owed again, that one included, whose
// answer failed the next socket too, and so on until the call's deadline (30 s): the socket was
// torn down about every two seconds, and with it every other call in flight and every
// subscription (replayed each time; with SharedSocketTransport, every session on the socket).
// A real ws server and `maxPayload: 1 MiB` showed 6 connections in 12 s. Each call that was in
// flight on a socket that failed so is sent again on a socket of its own: one whose answer fails
// that one too gets FRAME_TOO_LARGE instead of a third try (see oversizedInnocent.test.ts for the
// calls beside it).

/** A session on a and b with a newHeads subscription; `on` lists the nodes whose eth_getLogs answer is too big. */
async function oversizedLogs(on: readonly string[]) {
  const h = await sessionHarness();
  const closes: Array<{ node: string; code: number }> = [];
  h.session.on('upstreamClose', ({ node, code }) => closes.push({ node, code }));
  h.send(rpc('s', 'eth_subscribe', ['newHeads']));
  await h.settle();
  for (const name of on) h.nodes[name]!.oversized.add('eth_getLogs');
  return { h, closes };
}

describe('a call whose answer is larger than the socket takes', () => {
  it('on every node: FRAME_TOO_LARGE once it failed a socket of its own, and the session goes on', async () => {
    const { h, closes } = await oversizedLogs(['a', 'b']);
    const apart: unknown[] = [];
    h.session.on('apart', (event) => apart.push(event));
    h.send(rpc(1, 'eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]));
    await h.settle();
    await h.clock.advance(5_000);
    const [answer] = h.answers(1);
    expect(answer.error.code).toBe(RpcErrorCode.FRAME_TOO_LARGE);
    expect(answer.error.message).toMatch(/eth_getLogs .*larger than the socket takes.*alone in flight/);
    // Two sockets, not one every couple of seconds until the call's deadline: the session's, and
    // the one the call went on alone (the session's next socket is not failed again).
    const failed = () => h.sockets.sockets.filter((s) => s.closeInfo?.messageTooBig === true);
    expect(failed().length).toBe(2);
    expect(failed()[1]!.sentJson()).toEqual([expect.objectContaining({ method: 'eth_getLogs' })]);
    expect(closes.length).toBe(1);
    const on = failed()[1]!.endpoint.url === 'ws://a.test/' ? 'a' : 'b';
    expect(apart).toEqual([
      { node: on, method: 'eth_getLogs', outcome: 'sent' },
      { node: on, method: 'eth_getLogs', outcome: 'too-large' },
    ]);
    await h.clock.advance(10_000);
    expect(failed().length).toBe(2);
    expect(closes.length).toBe(1);
    expect(h.sockets.openSockets.length).toBe(1);
    h.send(rpc(2, 'eth_chainId'));
    await h.settle();
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: expect.any(String) }]);
    const node = h.nodes[h.session.node!]!;
    node.advance(1);
    await h.settle();
    expect(h.notifications().at(-1).params.result.number).toBe(`0x${node.head.toString(16)}`);
  });

  it('on one node only: sent again to the next, and answered there', async () => {
    const { h, closes } = await oversizedLogs(['a']);
    h.send(rpc(1, 'eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]));
    await h.settle();
    await h.clock.advance(5_000);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: expect.any(Array) }]);
    expect(closes.length).toBe(1);
  });

  it('is sent again on a socket of its own, and only it: a new call is not', async () => {
    const { h } = await oversizedLogs(['a']);
    h.send(rpc(1, 'eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]));
    await h.settle();
    await h.clock.advance(5_000);
    h.send(rpc(2, 'eth_blockNumber'));
    await h.settle();
    const methods = (s: FakeSocket) => s.sentJson().map((frame) => (frame as { method: string }).method);
    // The session's first socket (to a) failed; after it, one socket carried eth_getLogs, alone
    // (to b, where the session went), and no socket of the session's did.
    const [first, ...after] = h.sockets.sockets;
    expect(methods(first!)).toContain('eth_getLogs');
    const carrying = after.filter((s) => methods(s).includes('eth_getLogs'));
    expect(carrying.map((s) => [s.endpoint.url, methods(s)])).toEqual([['ws://b.test/', ['eth_getLogs']]]);
    const apart = carrying[0];
    expect(h.sockets.sockets.some((s) => s.isolated.length > 0)).toBe(false);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: expect.any(Array) }]);
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: expect.any(String) }]);
    // Answered, it lets its socket go.
    expect(apart!.state).toBe('closed');
  });
});

// Found by the chaos suite: with shared upstream sockets, one client's oversized call closes the
// socket every session is on, twice. Each close counted as the node failing, so a session whose
// sockets did not stay up `stableAfterMs` between such calls kept the backoff grown by real
// failures, and it grew to its cap: one client could keep every session of a proxy off its nodes.
describe('sockets closed by answers too large for them', () => {
  it('are not the nodes failing: the backoff starts over', async () => {
    const { h } = await oversizedLogs(['a', 'b']);
    const waits: number[] = [];
    h.session.on('reconnecting', ({ attempt }) => waits.push(attempt));
    // Both nodes down for 5 s, then back: on one again as soon as the backoff lets it.
    const cutBoth = async () => {
      h.nodes.a!.cut();
      h.nodes.b!.cut();
      await h.clock.advance(5_000);
      h.nodes.a!.restore();
      h.nodes.b!.restore();
      for (let ms = 0; h.session.state !== 'ready' && ms < 60_000; ms += 100) await h.clock.advance(100);
      expect(h.session.state).toBe('ready');
    };
    // Two rounds of real failures grow the backoff.
    await cutBoth();
    await cutBoth();
    const grown = waits.at(-1)!;
    expect(grown).toBeGreaterThan(1);
    // Sockets closed by an answer too large for them, well within `stableAfterMs` of opening.
    h.send(rpc(1, 'eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]));
    await h.settle();
    await h.clock.advance(1_000);
    expect(h.answers(1)[0].error.code).toBe(RpcErrorCode.FRAME_TOO_LARGE);
    waits.length = 0;
    await cutBoth();
    expect(waits[0]).toBe(1);
  });
});

describe('the socket a call is sent on apart', () => {
  const methods = (s: FakeSocket) => s.sentJson().map((frame) => (frame as { method: string }).method);
  /** Node a answers eth_getLogs too large; node b takes its time over it (never answers). */
  async function heldOnB() {
    const { h } = await oversizedLogs(['a']);
    h.sockets.route('ws://b.test/', (socket: FakeSocket) => {
      const set = socket.onSend.bind(socket);
      socket.onSend = (handler) => set(handler && ((text, s) => (text.includes('"eth_getLogs"') ? undefined : handler(text, s))));
      h.nodes.b!.socket(socket);
    });
    h.send(rpc(1, 'eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]));
    await h.settle();
    await h.clock.advance(100);
    const apart = h.sockets.sockets.filter((s) => s.state === 'open' && methods(s).join() === 'eth_getLogs');
    expect(apart.map((s) => s.endpoint.url)).toEqual(['ws://b.test/']);
    return { h, apart: apart[0]! };
  }

  it('lost otherwise than as too big, takes its session socket with it: the call is sent again, apart again', async () => {
    const { h, apart } = await heldOnB();
    const sessionSocket = h.sockets.openSockets.find((s) => s !== apart)!;
    apart.serverClose(1011, 'node restarting');
    await h.settle();
    expect(sessionSocket.closedWith).toMatchObject({ code: 1000, reason: 'steadyrpc: closed' });
    await h.clock.advance(5_000);
    const sentApart = h.sockets.sockets.filter((s) => methods(s).join() === 'eth_getLogs');
    expect(sentApart.length).toBe(2);
    // Never on a socket with other calls in flight after the first failed under it.
    expect(h.sockets.sockets.slice(1).filter((s) => methods(s).includes('eth_getLogs') && methods(s).length > 1)).toEqual([]);
  });

  it('is closed with the session, and the call answered', async () => {
    const { h, apart } = await heldOnB();
    h.session.close();
    await h.settle();
    expect(apart.state).toBe('closed');
    expect(h.sockets.openSockets).toEqual([]);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, error: expect.objectContaining({ code: RpcErrorCode.UPSTREAM_UNAVAILABLE }) }]);
  });
});

describe('a transport that says it isolates calls, or is multiplexed', () => {
  it.each([['isolates'], ['multiplexed']] as const)('%s: is sent the call again with isolate; the session opens no socket of its own', async (flag) => {
    const h = await sessionHarness({ transportOver: (sockets) => ({ [flag]: true, open: (endpoint, listener) => sockets.open(endpoint, listener) }) });
    h.nodes.a!.oversized.add('eth_getLogs');
    h.send(rpc(1, 'eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]));
    await h.settle();
    await h.clock.advance(1_000);
    // FakeSocket records what it was sent with isolate (it puts it on the socket, as it cannot do otherwise).
    const isolated = h.sockets.sockets.flatMap((s) => s.isolated.map((text) => (JSON.parse(text) as { method: string }).method));
    expect(isolated).toEqual(['eth_getLogs']);
    // The session's socket to a, which failed, and its socket to b, which was sent the call with
    // isolate: none of the session's own for it.
    expect(h.sockets.sockets.map((s) => [s.endpoint.url, s.isolated.length])).toEqual([['ws://a.test/', 0], ['ws://b.test/', 1]]);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: expect.any(Array) }]);
  });
});

describe('found in review of the sockets of their own', () => {
  const methods = (s: FakeSocket) => s.sentJson().map((frame) => (frame as { method: string }).method);

  it('a transport that says it isolates calls but does not: FRAME_TOO_LARGE after two sockets it was on beside others, not a socket after socket', async () => {
    const h = await sessionHarness({ transportOver: (sockets) => ({ isolates: true, open: (endpoint, listener) => sockets.open(endpoint, listener) }) });
    h.nodes.a!.oversized.add('eth_getLogs');
    h.nodes.b!.oversized.add('eth_getLogs');
    h.send(rpc(1, 'eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]));
    await h.settle();
    await h.clock.advance(5_000);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, error: expect.objectContaining({ code: RpcErrorCode.FRAME_TOO_LARGE, message: expect.stringMatching(/on two sockets .*did not send it apart/) }) }]);
    expect(h.sockets.sockets.filter((s) => s.closeInfo?.messageTooBig === true)).toHaveLength(2);
  });

  /** Six calls on a socket an answer too large failed, sent apart to node b, which takes its time over them. */
  async function sixHeld(requestTimeoutMs: number) {
    const h = await sessionHarness({ requestTimeoutMs });
    h.nodes.a!.oversized.add('eth_getLogs');
    h.sockets.route('ws://b.test/', (socket: FakeSocket) => {
      const set = socket.onSend.bind(socket);
      socket.onSend = (handler) => set(handler && ((text, s) => (text.includes('"eth_getLogs"') ? undefined : handler(text, s))));
      h.nodes.b!.socket(socket);
    });
    await sendSixApartToB(h);
    const apart = () => h.sockets.sockets.filter((s) => s.endpoint.url === 'ws://b.test/' && methods(s).length > 0 && methods(s).every((m) => m === 'eth_getLogs'));
    // Four at once; two wait their turn.
    expect(apart()).toHaveLength(4);
    return { h, apart };
  }

  it('a call the session timed out is not sent apart any more', async () => {
    const { h, apart } = await sixHeld(10_000);
    await h.clock.advance(10_000);
    for (let id = 1; id <= 6; id++) expect(h.answers(id)).toEqual([{ jsonrpc: '2.0', id, error: expect.objectContaining({ code: RpcErrorCode.REQUEST_TIMEOUT }) }]);
    await h.clock.advance(5_000);
    expect(apart()).toHaveLength(4);
    expect(apart().flatMap(methods)).toHaveLength(4);
    expect(apart().every((s) => s.state === 'closed')).toBe(true);
  });

  it('the loss of the socket of a call no longer owed leaves the session socket be', async () => {
    const { h, apart } = await sixHeld(10_000);
    await h.clock.advance(10_000);
    const sessionSocket = h.sockets.openSockets.find((s) => !apart().includes(s))!;
    apart()[0]!.serverClose(1001);
    await h.settle();
    expect(sessionSocket.state).toBe('open');
    expect(h.session.state).toBe('ready');
  });
});

describe('answers on a socket of their own', () => {
  it("are no sign of life of the session's socket: a silent one is still found out by its keepalive", async () => {
    const h = await sessionHarness();
    h.nodes.a!.oversized.add('eth_getLogs');
    let silent: FakeSocket | undefined;
    const held: Array<{ socket: FakeSocket; id: number }> = [];
    h.sockets.route('ws://b.test/', (socket: FakeSocket) => {
      const set = socket.onSend.bind(socket);
      socket.onSend = (handler) =>
        set(handler && ((text, s) => {
          if (s === silent) return undefined;
          // Held, to be answered one by one below.
          if (text.includes('"eth_getLogs"')) return void held.push({ socket: s, id: (JSON.parse(text) as { id: number }).id });
          return handler(text, s);
        }));
      h.nodes.b!.socket(socket);
    });
    await sendSixApartToB(h);
    // The session's socket to b goes silent; its calls sent apart are answered, one a second.
    silent = h.sockets.openSockets.find((s) => s.endpoint.url === 'ws://b.test/' && !held.some((c) => c.socket === s))!;
    for (let second = 1; second <= 8; second++) {
      await h.clock.advance(1_000);
      const next = held.shift();
      if (next) next.socket.receive(`{"jsonrpc":"2.0","id":${next.id},"result":[]}`);
    }
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: [] }]);
    // Found out within keepaliveIntervalMs + keepaliveTimeoutMs (2 + 4 s) and a tick, as any
    // silent socket: the answers beside it did not put its keepalive off.
    expect(silent.state).not.toBe('open');
  });
});

/**
 * Six eth_getLogs calls to node a, whose answer is too large: its socket fails, and the session,
 * on b now, sends them apart there. It stays on b (no failback to a, which would take them over).
 */
async function sendSixApartToB(h: Awaited<ReturnType<typeof sessionHarness>>): Promise<void> {
  for (let id = 1; id <= 6; id++) h.send(rpc(id, 'eth_getLogs', [{ fromBlock: `0x${id}`, toBlock: 'latest' }]));
  await h.settle();
  h.pool.update('a', { status: 'unhealthy' });
  await h.clock.advance(100);
  expect(h.session.node).toBe('b');
}
