/**
 * Type tests for the public adapter entries: checked by `tsc --noEmit` (this file is part of the
 * project), no-ops when vitest runs it.
 */
import type { AbstractProvider, Provider, SocketProvider } from 'ethers';
import { createPublicClient, custom, http, type PublicClient, type Transport } from 'viem';
import { watchBlockNumber } from 'viem/actions';
import { describe, expectTypeOf, it } from 'vitest';
import { ResilientProvider } from '../../src/ethers.js';
import {
  createEip1193Provider,
  NodePool,
  ProviderRpcError,
  type Eip1193Provider,
  type ResilientOptions,
} from '../../src/index.js';
import { resilientTransport, type ResilientTransport } from '../../src/viem.js';

describe('steadyrpc/viem', () => {
  it('resilientTransport returns a viem Transport of type webSocket', () => {
    expectTypeOf(resilientTransport).returns.toEqualTypeOf<ResilientTransport>();
    expectTypeOf<ResilientTransport>().toExtend<Transport>();
    expectTypeOf<ResilientTransport>().toExtend<Transport<'webSocket'>>();
    expectTypeOf<ReturnType<ResilientTransport>['config']['type']>().toEqualTypeOf<'webSocket'>();
  });

  it('lets watch actions take poll: false, which viem allows only for socket transports', () => {
    const typeOnly = (client: PublicClient<ResilientTransport>, plain: PublicClient<ReturnType<typeof http>>) => {
      // viem 2.57 types the client method `watchBlockNumber` without the client's transport, so
      // `poll: false` type-checks there for no transport (not even viem's own webSocket); the
      // standalone action from 'viem/actions' is typed by the transport.
      watchBlockNumber(client, { poll: false, onBlockNumber: () => {} });
      // @ts-expect-error viem 2.57: the client method does not see the transport (docs/guides/viem.md)
      client.watchBlockNumber({ poll: false, onBlockNumber: () => {} });
      client.watchBlockNumber({ onBlockNumber: () => {} });
      client.watchBlocks({ poll: false, onBlock: () => {} });
      client.watchEvent({ poll: false, onLogs: () => {} });
      client.watchContractEvent({ poll: false, abi: [], onLogs: () => {} });
      // @ts-expect-error an http transport cannot subscribe
      watchBlockNumber(plain, { poll: false, onBlockNumber: () => {} });
      // @ts-expect-error an http transport cannot subscribe
      plain.watchBlocks({ poll: false, onBlock: () => {} });
      client.transport.close();
      expectTypeOf(client.transport.subscribe).returns.resolves.toHaveProperty('subscriptionId').toEqualTypeOf<string>();
    };
    expectTypeOf(typeOnly).toBeFunction();
  });

  it('accepts nodes or a pool, plus transport settings', () => {
    expectTypeOf(resilientTransport).toBeCallableWith({ nodes: [{ name: 'a', http: 'http://a', ws: 'ws://a' }], batch: true, retryCount: 1 });
    expectTypeOf(resilientTransport).toBeCallableWith({ pool: {} as NodePool, session: { requestTimeoutMs: 1 } });
    expectTypeOf(createPublicClient<ResilientTransport>).toBeFunction();
  });
});

describe('steadyrpc/ethers', () => {
  it('ResilientProvider is an ethers Provider (a SocketProvider)', () => {
    expectTypeOf<ResilientProvider>().toExtend<SocketProvider>();
    expectTypeOf<ResilientProvider>().toExtend<AbstractProvider>();
    expectTypeOf<ResilientProvider>().toExtend<Provider>();
    expectTypeOf(ResilientProvider).constructorParameters.toExtend<[ResilientOptions, ...unknown[]]>();
  });
});

describe('steadyrpc (EIP-1193)', () => {
  it('createEip1193Provider returns a provider with request and typed events', () => {
    expectTypeOf(createEip1193Provider).returns.toEqualTypeOf<Eip1193Provider>();
    expectTypeOf<Eip1193Provider['request']>().returns.toEqualTypeOf<Promise<unknown>>();
    const typeOnly = (provider: Eip1193Provider) => {
      provider.on('connect', ({ chainId }) => expectTypeOf(chainId).toEqualTypeOf<string>());
      provider.on('disconnect', (error) => expectTypeOf(error).toEqualTypeOf<ProviderRpcError>());
      provider.on('chainChanged', (chainId) => expectTypeOf(chainId).toEqualTypeOf<string>());
      provider.on('message', ({ type, data }) => {
        expectTypeOf(type).toEqualTypeOf<'eth_subscription'>();
        expectTypeOf(data.subscription).toEqualTypeOf<string>();
      });
      // @ts-expect-error not an event of this provider
      provider.on('accountsChanged', () => {});
      // viem's `custom` transport takes it as an EIP-1193 provider.
      return custom(provider);
    };
    expectTypeOf(typeOnly).toBeFunction();
  });
});
