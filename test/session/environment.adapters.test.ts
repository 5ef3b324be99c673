import { Network } from 'ethers';
import { describe, expect, it } from 'vitest';
import { ResilientProvider } from '../../src/ethers.js';
import { createEip1193Provider } from '../../src/index.js';
import { FakeEnvironment } from '../../src/testing/index.js';
import { resilientTransport } from '../../src/viem.js';
import { adapterWorld } from '../adapters/world.js';

describe('adapters pass the environment to the session they own', () => {
  it('an EIP-1193 provider over nodes reconnects when the device comes back online, and lets go of the events on close', async () => {
    const world = adapterWorld();
    const environment = new FakeEnvironment();
    const options = world.nodesOptions();
    const provider = createEip1193Provider({ ...options, session: { ...options.session, environment, backoff: { initialDelayMs: 10_000, jitter: 0 } } });
    await world.settle();
    expect(environment.listenerCount()).toBe(3);
    world.nodes.a.cut();
    world.nodes.b.cut();
    await world.settle();
    environment.goOffline();
    await world.clock.advance(60_000);
    const opened = world.sockets.sockets.length;
    world.nodes.a.restore();
    environment.goOnline();
    await world.settle();
    expect(world.sockets.sockets.length).toBe(opened + 1);
    await expect(provider.request({ method: 'eth_blockNumber' })).resolves.toBe('0x64');
    provider.close();
    expect(environment.listenerCount()).toBe(0);
  });

  it('a viem transport over a pool does too', async () => {
    const world = adapterWorld();
    const environment = new FakeEnvironment();
    const options = world.poolOptions();
    const transport = resilientTransport({ ...options, session: { ...options.session, environment } })({});
    await expect(transport.request({ method: 'eth_blockNumber' })).resolves.toBe('0x64');
    expect(environment.listenerCount()).toBe(3);
    transport.value!.close();
    expect(environment.listenerCount()).toBe(0);
    options.pool.close();
  });

  it('a viem transport over nodes lets go of the events on close', async () => {
    const world = adapterWorld();
    const environment = new FakeEnvironment();
    const options = world.nodesOptions();
    const transport = resilientTransport({ ...options, session: { ...options.session, environment } })({});
    const call = transport.request({ method: 'eth_blockNumber' });
    await world.settle();
    await expect(call).resolves.toBe('0x64');
    expect(environment.listenerCount()).toBe(3);
    transport.value!.close();
    expect(environment.listenerCount()).toBe(0);
    expect(world.clock.pendingTimers).toBe(0);
  });

  it('an ethers ResilientProvider over nodes lets go of the events on destroy()', async () => {
    const world = adapterWorld();
    const environment = new FakeEnvironment();
    const options = world.nodesOptions();
    const provider = new ResilientProvider({ ...options, session: { ...options.session, environment } }, Network.from(1), { cacheTimeout: -1 });
    await world.settle();
    expect(environment.listenerCount()).toBe(3);
    provider.destroy();
    expect(environment.listenerCount()).toBe(0);
  });
});
