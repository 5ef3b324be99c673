// Found while adding the state check to the session property test: the view gate judged a read by its
// node's head as known when the answer came, so heads the node showed after the read was sent
// vouched for it. A node may write a new head before an answer it made from the one below (geth's
// handlers run concurrently), so an answer made on a node behind the client's view went through.
import { describe, expect, it } from 'vitest';
import { balanceParts, createWorld, FIRST_HEAD, tagHex } from '../helpers/sessionWorld.js';

describe("the view gate and a node's heads that come between a read and its answer", () => {
  it('judges the read by what was known when it was sent: state made below the view is not passed on', async () => {
    const world = createWorld({
      tiers: ['primary', 'backup'],
      seed: 1,
      queueMaxCount: undefined,
      queueMaxWaitMs: undefined,
      requestTimeoutMs: undefined,
      maxFrameBytes: undefined,
      maxInFlight: undefined,
      maxSubscriptions: undefined,
      removedLogs: true,
      logsBeforeHead: false,
      readsInTasks: false,
    });
    const { clock, session, transport, pool } = world;
    const a = world.nodeByName('a');
    const b = world.nodeByName('b');
    const received: any[] = [];
    session.on('message', (text) => received.push(JSON.parse(text)));
    const send = (value: unknown) => session.send(JSON.stringify(value));
    send({ jsonrpc: '2.0', id: 'heads', method: 'eth_subscribe', params: ['newHeads'] });
    await clock.flush();
    // The client sees a at FIRST_HEAD + 2; b is 2 blocks behind.
    a.advance(2);
    send({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] });
    await clock.flush();
    expect(received.find((m) => m.id === 1)?.result).toBe(`0x${(FIRST_HEAD + 2).toString(16)}`);
    // a goes; b takes over, its answers to eth_getBalance slow: the read is made on b's state now.
    pool.update('a', { status: 'unhealthy' });
    await clock.flush();
    expect(session.node).toBe('b');
    transport.setSlowReads('b', 1_000);
    send({ jsonrpc: '2.0', id: 2, method: 'eth_getBalance', params: [tagHex(7n), 'latest'] });
    await clock.flush();
    // Before its answer comes, b catches up and shows its heads (one the client has not seen).
    b.follow(a).advance(1);
    await clock.advance(5_000);
    const answer = received.find((m) => m.id === 2);
    expect(answer).toBeDefined();
    expect(answer.error).toBeUndefined();
    // Whatever it is, it is made from state at or above what the client had seen.
    expect(balanceParts(BigInt(answer.result)).head).toBeGreaterThanOrEqual(FIRST_HEAD + 2);
    session.close();
    pool.close();
  });
});
