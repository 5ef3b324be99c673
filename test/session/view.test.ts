import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

/** On a (head 103, the client saw it), then a is cut: the session is on b, 3 blocks behind. */
async function onLaggingBackup(options: Parameters<typeof sessionHarness>[0] = {}) {
  const h = await sessionHarness(options);
  h.nodes.a!.advance(3);
  h.send(rpc('seen', 'eth_blockNumber'));
  await h.settle();
  expect(h.answers('seen')).toEqual([{ jsonrpc: '2.0', id: 'seen', result: '0x67' }]);
  h.nodes.a!.cut();
  await h.settle();
  expect(h.session.node).toBe('b');
  return h;
}

describe('a session never shows the client the chain going back (invariant 10)', () => {
  it('eth_blockNumber from a node behind what the client saw waits until the node has caught up', async () => {
    const h = await onLaggingBackup();
    const behind: unknown[] = [];
    h.session.on('behind', (event) => behind.push(event));
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(1)).toEqual([]);
    expect(behind).toEqual([{ node: 'b', method: 'eth_blockNumber', need: 103, outcome: 'held' }]);
    await h.clock.advance(1_000);
    expect(h.answers(1)).toEqual([]); // b is still at 100
    h.nodes.b!.advance(3);
    await h.clock.advance(250);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x67' }]);
    expect(h.session.stats()).toMatchObject({ highestBlock: 103, heldBehind: 1, failedBehind: 0 });
  });

  it('gets BEHIND (-32055) when no node catches up within waitMs, and nothing else', async () => {
    const h = await onLaggingBackup({ consistency: { waitMs: 2_000 } });
    h.send(rpc(1, 'eth_blockNumber'));
    h.send(rpc(2, 'eth_getBlockByNumber', ['0x67', false]));
    await h.clock.advance(1_999);
    expect(h.received.filter((m) => m.id === 1 || m.id === 2)).toEqual([]);
    await h.clock.advance(1);
    for (const id of [1, 2]) {
      expect(h.answers(id)).toEqual([{ jsonrpc: '2.0', id, error: { code: RpcErrorCode.BEHIND, message: expect.stringContaining('block 103') } }]);
    }
    await h.clock.advance(10_000);
    expect(h.received.filter((m) => m.id === 1 || m.id === 2)).toHaveLength(2);
    expect(h.session.stats()).toMatchObject({ heldBehind: 2, failedBehind: 2 });
  });

  it('a block the client has seen is never answered null by a node that has not got there', async () => {
    const h = await onLaggingBackup();
    h.send(rpc(1, 'eth_getBlockByNumber', ['0x67', false]));
    h.send(rpc(2, 'eth_getBlockByNumber', ['0x64', false])); // 100: b has it
    h.send(rpc(3, 'eth_getBlockByNumber', ['0x68', false])); // 104: nobody has it, and the client has not seen it
    await h.settle();
    expect(h.answers(1)).toEqual([]);
    expect(h.answers(2)[0].result).toMatchObject({ number: '0x64' });
    expect(h.answers(3)).toEqual([{ jsonrpc: '2.0', id: 3, result: null }]);
    h.nodes.b!.advance(3);
    await h.clock.advance(250);
    expect(h.answers(1)[0].result).toMatchObject({ number: '0x67' });
  });

  it('state at latest and logs up to latest wait for the node to reach the view', async () => {
    const h = await onLaggingBackup();
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    h.send(rpc(2, 'eth_getLogs', [{ fromBlock: '0x60' }]));
    h.send(rpc(3, 'eth_getBalance', ['0x0', '0x60'])); // a block b has
    await h.settle();
    expect(h.answers(1)).toEqual([]);
    expect(h.answers(2)).toEqual([]);
    expect(h.answers(3)).toHaveLength(1);
    h.nodes.b!.advance(3);
    await h.clock.advance(250);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x2' }]);
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: [] }]);
  });

  it('a simulation or a traced call at latest (eth_simulateV1, debug_traceCall) waits too: it runs on the state of the node\'s head', async () => {
    const h = await onLaggingBackup();
    h.send(rpc(1, 'eth_simulateV1', [{ blockStateCalls: [] }, 'latest']));
    h.send(rpc(2, 'debug_traceCall', [{ to: '0x0000000000000000000000000000000000000001' }, 'latest', {}]));
    h.send(rpc(3, 'eth_simulateV1', [{ blockStateCalls: [] }, '0x60'])); // a block b has
    await h.settle();
    expect(h.answers(1)).toEqual([]);
    expect(h.answers(2)).toEqual([]);
    expect(h.answers(3)).toHaveLength(1);
    const asked = h.nodes.b!.calls.get('eth_simulateV1') ?? 0;
    h.nodes.b!.advance(3);
    await h.clock.advance(250);
    // Asked again of b once it reached the view (the fake node knows neither method: its error is the answer).
    expect(h.nodes.b!.calls.get('eth_simulateV1')).toBe(asked + 1);
    expect(h.answers(1)).toHaveLength(1);
    expect(h.answers(2)).toHaveLength(1);
  });

  it('a read of a block the lagging node has is answered at once', async () => {
    const h = await onLaggingBackup();
    const held: string[] = [];
    h.sockets.last()!.onSend((text) => held.push(text)); // b answers nothing for now
    h.send(rpc(1, 'eth_getBalance', ['0x0', '0x64']));
    await h.settle();
    expect(h.session.stats().highestBlock).toBe(103);
    // b at 100 answers for block 100, which it has.
    const { id } = JSON.parse(held.find((t) => t.includes('eth_getBalance'))!) as { id: number };
    h.sockets.last()!.receiveJson({ jsonrpc: '2.0', id, result: '0x2' });
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x2' }]);
  });

  it('with consistency.monotonic off, answers pass as the node gives them', async () => {
    const h = await onLaggingBackup({ consistency: { monotonic: false } });
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x64' }]);
  });

  it('close() answers what waits and leaves no timer behind', async () => {
    const h = await onLaggingBackup();
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    h.session.close();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, error: { code: RpcErrorCode.UPSTREAM_UNAVAILABLE, message: 'Session closed' } }]);
    expect(h.clock.pendingTimers).toBe(0);
  });
});

describe('switches respect the client view (invariant 10)', () => {
  it('does not fail back to a node whose head is below what the client has seen, and does once it has caught up', async () => {
    const h = await sessionHarness();
    h.nodes.b!.advance(3); // the pool's probes have not seen it yet: both heads read 100 there
    h.mark('a', 'unhealthy');
    await h.settle();
    expect(h.session.node).toBe('b');
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(1)[0].result).toBe('0x67');
    h.pool.update('a', { status: 'healthy', head: 100 }); // back, but 3 blocks behind what the client saw
    expect(h.pool.preferred()).toBe('a');
    await h.clock.advance(10_000);
    expect(h.session.node).toBe('b');
    h.nodes.a!.advance(3);
    h.pool.update('a', { head: 103 });
    await h.clock.advance(2_000); // the keepalive tick tries the preferred node again
    expect(h.session.node).toBe('a');
    h.send(rpc(2, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(2)[0].result).toBe('0x67');
  });

  it('after a cut, opens the node that has caught up with the view rather than the first one behind it', async () => {
    const h = await sessionHarness({ names: [['a', 'primary'], ['b', 'backup'], ['c', 'backup']] });
    h.nodes.a!.advance(3);
    h.nodes.c!.advance(3);
    h.pool.update('a', { head: 103 });
    h.pool.update('c', { head: 103 });
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    h.nodes.a!.cut();
    await h.settle();
    expect(h.session.node).toBe('c');
  });
});

describe('a held read is bounded by its first deadline (invariant 10)', () => {
  it('a node that reports a head it then answers below does not keep a read waiting past waitMs', async () => {
    const h = await sessionHarness({ consistency: { waitMs: 2_000 } });
    h.nodes.a!.advance(3);
    h.send(rpc('seen', 'eth_blockNumber'));
    await h.settle();
    h.nodes.a!.cut();
    await h.settle();
    // b's answers to eth_blockNumber flip between 100 and 103: each time the session sees 103 and
    // sends the read again, the read is answered 100.
    const b = h.sockets.last()!;
    let answers = 0;
    b.onSend((text) => {
      const { id, method } = JSON.parse(text) as { id: number; method: string };
      const result = method === 'eth_blockNumber' ? (answers++ % 2 === 0 ? '0x64' : '0x67') : '0x1';
      b.receiveJson({ jsonrpc: '2.0', id, result });
    });
    h.send(rpc(1, 'eth_blockNumber'));
    await h.clock.advance(1_999);
    expect(h.answers(1)).toEqual([]);
    await h.clock.advance(1);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, error: { code: RpcErrorCode.BEHIND, message: expect.any(String) } }]);
  });
});

describe('an answer from before the node caught up is not vouched for by a head read after it (invariant 10)', () => {
  it('null for a block the client has, from a node that catches up in the meantime, is asked again', async () => {
    const h = await onLaggingBackup();
    const hash103 = h.nodes.a!.block(103).hash;
    const b = h.sockets.last()!;
    let first = true;
    b.onSend((text) => {
      const request = JSON.parse(text) as { id: number; method: string; params: unknown[] };
      b.receiveJson(h.nodes.b!.answer(request as never));
      if (first && request.method === 'eth_getBlockByHash') {
        first = false;
        h.nodes.b!.advance(3); // b answered null at 100, and reaches 103 right after
      }
    });
    h.send(rpc(1, 'eth_getBlockByHash', [hash103, false]));
    await h.clock.advance(0);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: expect.objectContaining({ number: '0x67', hash: hash103 }) }]);
  });
});
