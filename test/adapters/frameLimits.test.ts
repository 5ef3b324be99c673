import { Network } from 'ethers';
import { createPublicClient, RpcRequestError } from 'viem';
import { describe, expect, it } from 'vitest';
import { ResilientProvider } from '../../src/ethers.js';
import { createEip1193Provider, ProviderRpcError, UpstreamSession } from '../../src/index.js';
import { SessionClient } from '../../src/adapters/SessionClient.js';
import { resilientTransport, type ResilientTransportOptions } from '../../src/viem.js';
import { adapterWorld as baseWorld, extend, settlesSoon, turns, until } from './world.js';

const ADDRESS = '0x0000000000000000000000000000000000000001';
const big = `0x${'ab'.repeat(2_000)}`; // a 4 kB call (think: a large eth_call or raw transaction)
const twoMiB = `0x${'ab'.repeat(1024 * 1024)}` as `0x${string}`;

/** The adapter world, with nodes that answer eth_call (with `0x`). */
function adapterWorld() {
  const world = baseWorld();
  for (const node of [world.nodes.a, world.nodes.b]) extend(node, (r) => (r.method === 'eth_call' ? { result: '0x' } : undefined));
  return world;
}

/** Records the frames handed to `session.send`: how many calls each held, and its size. */
function recordFrames(session: UpstreamSession): Array<{ calls: number; bytes: number }> {
  const frames: Array<{ calls: number; bytes: number }> = [];
  const send = session.send.bind(session);
  session.send = (text: string) => {
    const value: unknown = JSON.parse(text);
    frames.push({ calls: Array.isArray(value) ? value.length : 1, bytes: Buffer.byteLength(text) });
    send(text);
  };
  return frames;
}

/**
 * The session answers a frame it cannot read at all (over `maxFrameBytes`, a batch over
 * `maxBatchSize`) with one error whose id is null, which no call can be matched to. So the adapters
 * never build one: batches are split at the session's limits, and a call too large for a frame of
 * its own is rejected at once with FRAME_TOO_LARGE (-32054). No call hangs.
 */
describe('viem: frames within the session\'s limits', () => {
  it('a call larger than session.maxFrameBytes rejects at once with FRAME_TOO_LARGE (-32054), unsent', async () => {
    const world = adapterWorld();
    const options = world.nodesOptions();
    const transport = resilientTransport({ ...options, session: { ...options.session, maxFrameBytes: 1_024 } } as ResilientTransportOptions);
    const client = createPublicClient({ transport });
    await world.settle();
    const frames = recordFrames(client.transport.session);
    const call = client.call({ to: ADDRESS, data: big as `0x${string}` }).catch((e: unknown) => e);
    expect(await settlesSoon(world, call)).toBe(true);
    const error = (await call) as any;
    const rpc = error.walk((e: unknown) => e instanceof RpcRequestError) as RpcRequestError;
    expect(rpc.code).toBe(-32054);
    expect(rpc.details).toMatch(/eth_call call is \d+ bytes, over the session's limit of 1024 bytes \(session\.maxFrameBytes\)/);
    expect(frames).toEqual([]);
    expect(world.nodes.a.calls.get('eth_call')).toBeUndefined();
    client.transport.close();
  });

  it('batch: 1,001 calls with batchSize 5,000 go out as frames of at most maxBatchSize (1,000) and are all answered', async () => {
    const world = adapterWorld();
    const transport = resilientTransport({ ...world.nodesOptions(), batch: { batchSize: 5_000 } } as ResilientTransportOptions);
    const client = createPublicClient({ transport });
    await world.settle();
    const frames = recordFrames(client.transport.session);
    const calls = Promise.all(Array.from({ length: 1_001 }, () => client.request({ method: 'eth_blockNumber' }).catch((e: unknown) => e)));
    await world.clock.advance(0);
    expect(await settlesSoon(world, calls)).toBe(true);
    expect(new Set(await calls)).toEqual(new Set(['0x64']));
    expect(frames.map((f) => f.calls)).toEqual([1_000, 1]);
    client.transport.close();
  });

  it('batch, all defaults: three 2 MiB eth_calls (together over the 5 MiB frame limit) go out in two frames and are answered', async () => {
    const world = adapterWorld();
    const transport = resilientTransport({ ...world.nodesOptions(), batch: true } as ResilientTransportOptions);
    const client = createPublicClient({ transport });
    await world.settle();
    const frames = recordFrames(client.transport.session);
    const calls = Promise.all([1, 2, 3].map(() => client.request({ method: 'eth_call', params: [{ to: ADDRESS, data: twoMiB }, 'latest'] }).catch((e: unknown) => e)));
    await world.clock.advance(0);
    expect(await settlesSoon(world, calls)).toBe(true);
    expect(await calls).toEqual(['0x', '0x', '0x']);
    expect(frames.map((f) => f.calls)).toEqual([2, 1]);
    for (const frame of frames) expect(frame.bytes).toBeLessThanOrEqual(5 * 1024 * 1024);
    client.transport.close();
  });

  it('batch: a frame is filled up to exactly maxFrameBytes, and a call too large alone fails without holding back the rest', async () => {
    const world = adapterWorld();
    const options = world.nodesOptions();
    const transport = resilientTransport({ ...options, batch: true, session: { ...options.session, maxFrameBytes: 1_024 } } as ResilientTransportOptions);
    const client = createPublicClient({ transport });
    await world.settle();
    const frames = recordFrames(client.transport.session);
    const call = (data: string) => client.request({ method: 'eth_call', params: [{ to: ADDRESS, data: data as `0x${string}` }, 'latest'] }).catch((e: unknown) => e);
    // A call with id `id` whose frame is `bytes` long (1-digit ids: ids 1 to 4 here).
    const overhead = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_call', params: [{ to: ADDRESS, data: '' }, 'latest'] }).length;
    const fill = (bytes: number) => `0x${'a'.repeat(bytes - overhead - 2)}`;
    const first = call(fill(510)); // ids 1, 2: `[` 510 `,` 511 `]` = 1,024 bytes
    const second = call(fill(511));
    const tooLarge = call(big);
    const last = call('0x');
    await world.clock.advance(0);
    expect(await settlesSoon(world, Promise.all([first, second, tooLarge, last]))).toBe(true);
    expect((await tooLarge) as any).toMatchObject({ code: -32054 });
    expect([await first, await second, await last]).toEqual(['0x', '0x', '0x']);
    expect(frames).toEqual([
      { calls: 2, bytes: 1_024 },
      { calls: 1, bytes: expect.any(Number) },
    ]);
    client.transport.close();
  });

  it('control: one 2 MiB eth_call alone (no batch) is answered', async () => {
    const world = adapterWorld();
    const client = createPublicClient({ transport: resilientTransport(world.nodesOptions()) });
    await world.settle();
    const call = client.request({ method: 'eth_call', params: [{ to: ADDRESS, data: twoMiB }, 'latest'] }).catch((e: unknown) => e);
    expect(await settlesSoon(world, call)).toBe(true);
    expect(await call).toBe('0x');
    client.transport.close();
  });
});

describe('SessionClient: a frame the session refuses whole', () => {
  it('rejects every call of that frame with the session\'s error (limits looser than the session\'s)', async () => {
    const world = adapterWorld();
    const { pool, session: options } = world.poolOptions();
    const session = new UpstreamSession({ ...options, pool, maxBatchSize: 2, maxFrameBytes: 1_024 });
    const client = new SessionClient(session, { limits: { maxFrameBytes: 1_000_000, maxBatchSize: 1_000 } });
    await world.settle();
    const batch = client.batch([{ method: 'eth_blockNumber' }, { method: 'eth_blockNumber' }, { method: 'eth_blockNumber' }]).map((p) => p.catch((e: unknown) => e));
    const large = client.request('eth_call', [{ to: ADDRESS, data: big }, 'latest']).catch((e: unknown) => e);
    const fine = client.request('eth_blockNumber');
    expect(await settlesSoon(world, Promise.all([...batch, large, fine]))).toBe(true);
    for (const result of await Promise.all(batch)) {
      expect(result).toBeInstanceOf(ProviderRpcError);
      expect(result).toMatchObject({ code: -32600, data: { maxBatchSize: 2 } });
    }
    expect(await large).toMatchObject({ code: -32054, data: { maxFrameBytes: 1_024 } });
    expect(await fine).toBe('0x64');
    expect(client.pending).toBe(0);
    client.close();
    session.close();
    pool.close();
  });
});

describe('ethers and EIP-1193: a call over session.maxFrameBytes', () => {
  it('ethers: rejects at once with SERVER_ERROR carrying FRAME_TOO_LARGE (-32054), unsent', async () => {
    const world = adapterWorld();
    const options = world.nodesOptions();
    const p = new ResilientProvider({ ...options, session: { ...options.session, maxFrameBytes: 1_024 } }, Network.from(1));
    await turns(world);
    const frames = recordFrames(p.session);
    const call = p.send('eth_call', [{ to: ADDRESS, data: big }, 'latest']).catch((e: unknown) => e);
    expect(await settlesSoon(world, call)).toBe(true);
    expect(await call).toMatchObject({ code: 'SERVER_ERROR', info: { error: { code: -32054, data: { maxFrameBytes: 1_024 } } } });
    expect(frames).toEqual([]);
    expect(await until(world, p.send('eth_blockNumber', []))).toBe('0x64');
    p.destroy();
  });

  it('ethers: a request the session refuses whole (id null) is answered under its own id', async () => {
    const world = adapterWorld();
    const p = new ResilientProvider(world.nodesOptions(), Network.from(1));
    await turns(world);
    const errors: unknown[] = [];
    void p.on('error', (e: unknown) => errors.push(e));
    const send = p.session.send.bind(p.session);
    p.session.send = () => void p.session.emit('message', JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid request: refused' } }));
    const call = p.send('eth_blockNumber', []).catch((e: unknown) => e);
    expect(await settlesSoon(world, call)).toBe(true);
    // A code ethers does not know: UNKNOWN_ERROR, with the error on `error.error`.
    expect(await call).toMatchObject({ code: 'UNKNOWN_ERROR', error: { code: -32600, message: 'Invalid request: refused' } });
    p.session.send = send;
    expect(await until(world, p.send('eth_blockNumber', []))).toBe('0x64');
    expect(errors).toEqual([]);
    p.destroy();
  });

  it('eip1193: rejects at once with -32054, unsent', async () => {
    const world = adapterWorld();
    const options = world.nodesOptions();
    const p = createEip1193Provider({ ...options, session: { ...options.session, maxFrameBytes: 1_024 } });
    await world.settle();
    const frames = recordFrames(p.session);
    const call = p.request({ method: 'eth_call', params: [{ to: ADDRESS, data: big }, 'latest'] }).catch((e: unknown) => e);
    expect(await settlesSoon(world, call)).toBe(true);
    expect(await call).toBeInstanceOf(ProviderRpcError);
    expect(await call).toMatchObject({ code: -32054, data: { maxFrameBytes: 1_024 } });
    expect(frames).toEqual([]);
    p.close();
  });
});
