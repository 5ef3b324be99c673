import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../../src/index.js';
import { rpc, sessionHarness, type SessionHarness } from '../../helpers/session.js';

// docs/reference.md, `new UpstreamSession(options)`: defaults test/defaults/session.test.ts does not
// pin at their boundary (drainTimeoutMs, queue.maxWaitMs, queue.maxBytes, keepaliveMethod), each
// used without passing the option. The harness draws random() = 0.5: delays are exact.

const MiB = 1024 * 1024;

/** No upstream at all: both nodes swallow everything and never open a socket, so calls wait in the queue. */
async function noUpstream(): Promise<SessionHarness> {
  const h = await sessionHarness();
  h.nodes.a!.blackhole();
  h.nodes.b!.blackhole();
  h.sockets.last()!.serverClose(1006);
  await h.settle();
  return h;
}

describe('drainTimeoutMs defaults to 5 s', () => {
  it('a socket left for the recovered preferred node delivers what it owes until exactly 5 000 ms, then is closed', async () => {
    const h = await sessionHarness();
    h.nodes.a!.cut();
    h.mark('a', 'unhealthy');
    await h.settle();
    expect(h.session.node).toBe('b');
    const b = h.sockets.sockets.at(-1)!;
    b.onSend(() => {}); // b owes the call below and never answers it
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    await h.settle();
    h.nodes.a!.restore();
    h.mark('a', 'healthy'); // failback, make-before-break: b drains
    await h.settle();
    expect(h.session.node).toBe('a');
    await h.clock.advance(5_000 - 1);
    expect(b.state).not.toBe('closed');
    expect(h.answers(1)).toEqual([]);
    await h.clock.advance(1);
    expect(b.state).toBe('closed');
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x1' }]); // re-sent on a
    h.session.close();
  });
});

describe('queue.maxWaitMs defaults to 10 s', () => {
  it('a call queued while no upstream is ready gets REQUEST_TIMEOUT at exactly 10 000 ms, not 1 ms before', async () => {
    const h = await noUpstream();
    h.send(rpc(1, 'eth_chainId'));
    await h.settle();
    expect(h.session.stats().queued).toBe(1);
    await h.clock.advance(10_000 - 1);
    expect(h.answers(1)).toEqual([]);
    await h.clock.advance(1);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, error: expect.objectContaining({ code: RpcErrorCode.REQUEST_TIMEOUT }) }]);
    h.session.close();
  });
});

describe('queue.maxBytes defaults to 4 MiB', () => {
  /** A call of `bytes` bytes (ASCII), padded inside its params. */
  const callOf = (id: number, bytes: number) => {
    const empty = JSON.stringify(rpc(id, 'eth_call', ['']));
    return JSON.stringify(rpc(id, 'eth_call', ['x'.repeat(bytes - empty.length)]));
  };

  it('queued calls fill exactly 4 MiB; one more byte is refused with QUEUE_FULL', async () => {
    const h = await noUpstream();
    const first = callOf(1, 3 * MiB);
    const second = callOf(2, MiB);
    expect(first.length + second.length).toBe(4 * MiB);
    h.session.send(first);
    h.session.send(second);
    await h.settle();
    expect(h.session.stats()).toMatchObject({ queued: 2, queuedBytes: 4 * MiB });
    expect(h.received).toEqual([]);
    h.send(rpc(3, 'eth_chainId')); // any further byte is too many
    await h.settle();
    expect(h.answers(3)).toEqual([{ jsonrpc: '2.0', id: 3, error: expect.objectContaining({ code: RpcErrorCode.QUEUE_FULL }) }]);
    h.session.close();
  });

  it('one call of exactly 4 MiB is queued in an empty queue; one of 4 MiB + 1 byte is refused with QUEUE_FULL', async () => {
    const h = await noUpstream();
    h.session.send(callOf(1, 4 * MiB + 1));
    h.session.send(callOf(2, 4 * MiB));
    await h.settle();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, error: expect.objectContaining({ code: RpcErrorCode.QUEUE_FULL }) }]);
    expect(h.answers(2)).toEqual([]);
    expect(h.session.stats()).toMatchObject({ queued: 1, queuedBytes: 4 * MiB });
    h.session.close();
  });
});

describe("keepaliveMethod defaults to 'eth_chainId'", () => {
  it('after 2 s without a frame, the session calls eth_chainId on its node, and the client sees nothing of it', async () => {
    const h = await sessionHarness();
    const a = h.sockets.sockets[0]!;
    const methods = () => (a.sentJson() as Array<{ method: string }>).map((f) => f.method);
    const before = methods().length;
    await h.clock.advance(2_000 - 1);
    expect(methods().length).toBe(before);
    await h.clock.advance(1);
    expect(methods().slice(before)).toEqual(['eth_chainId']);
    await h.settle();
    expect(h.received).toEqual([]);
    h.session.close();
  });
});
