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
