import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import { sessionHarness } from '../helpers/session.js';

const BIG = '9007199254740993'; // 2^53 + 1: JSON.parse reads it as …992
const BIG2 = '9007199254740995';

const request = (idText: string, method: string, params: unknown[] = []) =>
  `{"jsonrpc":"2.0","id":${idText},"method":"${method}","params":${JSON.stringify(params)}}`;

/** A harness that also keeps the client's frames as text, where big ids survive. */
async function harness(options: Parameters<typeof sessionHarness>[0] = {}) {
  const h = await sessionHarness(options);
  const texts: string[] = [];
  h.session.on('message', (text) => texts.push(text));
  /** The frames whose id reads exactly `idText`. */
  const withId = (idText: string) => texts.filter((text) => text.startsWith(`{"jsonrpc":"2.0","id":${idText},`));
  return { ...h, texts, withId };
}

describe('ids above 2^53 come back exactly as sent', () => {
  it('on the fast answer path and the parsed one', async () => {
    const h = await harness();
    h.session.send(request(BIG, 'eth_chainId')); // re-addressed in place
    h.session.send(request(BIG2, 'eth_getBalance', ['0x0', 'latest'])); // read in full (the view judges it)
    h.session.send(request('-' + BIG, 'eth_doesNotExist')); // the node's error
    await h.settle();
    expect(h.withId(BIG)).toEqual([`{"jsonrpc":"2.0","id":${BIG},"result":"0x1"}`]);
    expect(h.withId(BIG2)).toHaveLength(1);
    expect(JSON.parse(h.withId(`-${BIG}`)[0]!).error.code).toBe(-32601);
    expect(h.texts).toHaveLength(3);
  });

  it('in a batch, two distinct big ids stay distinct', async () => {
    const h = await harness();
    h.session.send(`[${request(BIG, 'eth_chainId')},${request(BIG2, 'eth_chainId')},{"jsonrpc":"1.0","id":9007199254740997,"method":"x"}]`);
    await h.settle();
    expect(h.texts).toEqual([
      `[{"jsonrpc":"2.0","id":${BIG},"result":"0x1"},{"jsonrpc":"2.0","id":${BIG2},"result":"0x1"},{"jsonrpc":"2.0","id":9007199254740997,"error":{"code":-32600,"message":"Invalid request: jsonrpc must be \\"2.0\\""}}]`,
    ]);
  });

  it('on a subscribe answer and an unsubscribe answered locally', async () => {
    const h = await harness();
    h.session.send(request(BIG, 'eth_subscribe', ['newHeads']));
    h.session.send(request(BIG2, 'eth_unsubscribe', ['0xdead']));
    await h.settle();
    expect(JSON.parse(h.withId(BIG)[0]!).result).toMatch(/^0x/);
    expect(h.withId(BIG2)).toEqual([`{"jsonrpc":"2.0","id":${BIG2},"result":false}`]);
  });

  it('on the errors the session makes itself: NOT_RESENT, REQUEST_TIMEOUT, QUEUE_FULL', async () => {
    const h = await harness({ queue: { maxCount: 1, maxWaitMs: 1_000 }, connectTimeoutMs: 60_000 });
    h.nodes.a!.blackhole();
    h.session.send(request(BIG, 'eth_sendTransaction', [{}]));
    await h.settle();
    h.nodes.b!.blackhole();
    h.sockets.sockets[0]!.serverClose(1006);
    await h.settle();
    expect(JSON.parse(h.withId(BIG)[0]!).error.code).toBe(RpcErrorCode.NOT_RESENT);
    h.session.send(request(BIG2, 'eth_chainId')); // queued
    h.session.send(request('12345678901234567890', 'eth_chainId')); // over the queue's bound
    expect(JSON.parse(h.withId('12345678901234567890')[0]!).error.code).toBe(RpcErrorCode.QUEUE_FULL);
    await h.clock.advance(1_000);
    expect(JSON.parse(h.withId(BIG2)[0]!).error.code).toBe(RpcErrorCode.REQUEST_TIMEOUT);
  });

  it('on a call in flight that times out, and on close', async () => {
    const h = await harness({ requestTimeoutMs: 1_000, keepaliveIntervalMs: 60_000 });
    h.nodes.a!.blackhole();
    h.session.send(request(BIG, 'eth_chainId'));
    await h.clock.advance(1_000);
    expect(JSON.parse(h.withId(BIG)[0]!).error.code).toBe(RpcErrorCode.REQUEST_TIMEOUT);
    h.session.send(request(BIG2, 'eth_chainId'));
    h.session.close();
    expect(JSON.parse(h.withId(BIG2)[0]!).error.code).toBe(RpcErrorCode.UPSTREAM_UNAVAILABLE);
  });
});
