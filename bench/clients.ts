/**
 * The clients the request cases compare, each opened against one upstream and ready to call
 * `eth_blockNumber`. viem, ethers and steadyrpc's adapters are imported dynamically: a client
 * whose module is missing is reported as not available instead of failing the run.
 */
import { once } from 'node:events';
import WebSocket from 'ws';
import { NodePool, SharedSocketTransport, UpstreamSession, type NodeConfig, type UpstreamSessionOptions } from 'steadyrpc';
import { RpcPeer } from './rpc.js';

export type ClientKind = 'raw-ws' | 'session' | 'session-shared' | 'viem' | 'viem-resilient' | 'viem-resilient-batch' | 'ethers' | 'ethers-resilient';

export const CLIENT_LABELS: Record<ClientKind, string> = {
  'raw-ws': 'raw ws',
  session: 'UpstreamSession (in process)',
  'session-shared': 'UpstreamSession on SharedSocketTransport',
  viem: 'viem webSocket',
  'viem-resilient': 'viem + resilientTransport',
  'viem-resilient-batch': 'viem + resilientTransport {batch:true}',
  ethers: 'ethers WebSocketProvider',
  'ethers-resilient': 'ethers + ResilientProvider',
};

export interface BenchClient {
  call(): Promise<unknown>;
  close(): Promise<void>;
}

export interface Unavailable {
  unavailable: string;
}

export interface UpstreamUrls {
  name: string;
  wsUrl: string;
  httpUrl: string;
}

/** A plain `ws` socket speaking JSON-RPC through an {@link RpcPeer}. */
export async function openRawWs(url: string): Promise<{ peer: RpcPeer; ws: WebSocket; close(): Promise<void> }> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const peer = new RpcPeer((text) => ws.send(text));
  ws.on('message', (data) => peer.receive(String(data)));
  ws.on('close', () => peer.failAll(new Error('socket closed')));
  ws.on('error', () => {});
  await once(ws, 'open');
  return {
    peer,
    ws,
    async close() {
      if (ws.readyState === ws.CLOSED) return;
      const closed = once(ws, 'close');
      ws.close();
      await closed;
    },
  };
}

/** An UpstreamSession fed with text frames through an {@link RpcPeer}; resolves once it is ready. */
export async function openSession(
  nodes: NodeConfig[],
  options: Omit<UpstreamSessionOptions, 'pool'> & { pool?: NodePool } = {},
): Promise<{ peer: RpcPeer; session: UpstreamSession; pool: NodePool; close(): void }> {
  const ownPool = options.pool === undefined;
  const pool = options.pool ?? new NodePool({ nodes });
  const session = new UpstreamSession({ ...options, pool });
  const peer = new RpcPeer((text) => session.send(text));
  session.on('message', (text) => peer.receive(text));
  session.on('error', () => {}); // transport errors during cuts are expected; the cases watch events
  if (session.state !== 'ready') await nextEvent(session, 'switch');
  return {
    peer,
    session,
    pool,
    close() {
      session.close();
      if (ownPool) pool.close();
    },
  };
}

/**
 * The next `name` event. Unlike `events.once`, an `error` event does not reject it: sessions
 * report errors they recover from.
 */
export function nextEvent(emitter: { once(name: string, listener: (...args: any[]) => void): unknown }, name: string): Promise<unknown> {
  return new Promise((resolve) => emitter.once(name, resolve));
}

type ViemModule = typeof import('viem');
type EthersModule = typeof import('ethers');

/** What bench needs of `steadyrpc/viem` (see {@link importAdapter}). */
interface ResilientViemModule {
  resilientTransport(options: { nodes: NodeConfig[]; batch?: boolean }): Parameters<ViemModule['createPublicClient']>[0]['transport'];
}

/** What bench needs of `steadyrpc/ethers`. */
interface ResilientEthersModule {
  ResilientProvider: new (
    options: { nodes: NodeConfig[] },
    network?: number,
    providerOptions?: { staticNetwork?: boolean },
  ) => {
    send(method: string, params: unknown[]): Promise<unknown>;
    destroy(): void;
  };
}

async function importOptional<T>(specifier: string, exportName: string): Promise<T | Unavailable> {
  try {
    const module = (await import(specifier)) as Record<string, unknown>;
    if (module[exportName] === undefined) return { unavailable: `${specifier} has no export ${exportName}` };
    return module as T;
  } catch (error) {
    return { unavailable: `cannot import ${specifier}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
  }
}

/** steadyrpc's adapter entries, by name like the `steadyrpc` import (the build: bench/built.ts). */
function importAdapter<T>(entry: 'viem' | 'ethers', exportName: string): Promise<T | Unavailable> {
  return importOptional<T>(`steadyrpc/${entry}`, exportName);
}

const isUnavailable = (value: unknown): value is Unavailable => typeof value === 'object' && value !== null && 'unavailable' in value;

export async function openClient(kind: ClientKind, upstream: UpstreamUrls): Promise<BenchClient | Unavailable> {
  const nodes: NodeConfig[] = [{ name: upstream.name, ws: upstream.wsUrl, http: upstream.httpUrl }];
  switch (kind) {
    case 'raw-ws': {
      const { peer, close } = await openRawWs(upstream.wsUrl);
      return { call: () => peer.call('eth_blockNumber'), close };
    }
    case 'session':
    case 'session-shared': {
      const { peer, close } = await openSession(nodes, kind === 'session-shared' ? { transport: new SharedSocketTransport() } : {});
      return { call: () => peer.call('eth_blockNumber'), close: async () => close() };
    }
    case 'viem': {
      const viem = await importOptional<ViemModule>('viem', 'webSocket');
      if (isUnavailable(viem)) return viem;
      const transport = viem.webSocket(upstream.wsUrl);
      const client = viem.createPublicClient({ transport });
      await client.request({ method: 'eth_blockNumber' });
      return {
        call: () => client.request({ method: 'eth_blockNumber' }),
        async close() {
          (await client.transport.getRpcClient()).close();
        },
      };
    }
    case 'viem-resilient':
    case 'viem-resilient-batch': {
      const viem = await importOptional<ViemModule>('viem', 'createPublicClient');
      if (isUnavailable(viem)) return viem;
      const adapter = await importAdapter<ResilientViemModule>('viem', 'resilientTransport');
      if (isUnavailable(adapter)) return adapter;
      const transport = adapter.resilientTransport({ nodes, ...(kind === 'viem-resilient-batch' ? { batch: true } : {}) });
      const client = viem.createPublicClient({ transport });
      await client.request({ method: 'eth_blockNumber' });
      return {
        call: () => client.request({ method: 'eth_blockNumber' }),
        async close() {
          (client.transport as unknown as { close(): void }).close();
        },
      };
    }
    case 'ethers': {
      const ethers = await importOptional<EthersModule>('ethers', 'WebSocketProvider');
      if (isUnavailable(ethers)) return ethers;
      const provider = new ethers.WebSocketProvider(upstream.wsUrl, 1, { staticNetwork: true });
      await provider.send('eth_blockNumber', []);
      return {
        call: () => provider.send('eth_blockNumber', []),
        async close() {
          await provider.destroy();
        },
      };
    }
    case 'ethers-resilient': {
      const adapter = await importAdapter<ResilientEthersModule>('ethers', 'ResilientProvider');
      if (isUnavailable(adapter)) return adapter;
      const provider = new adapter.ResilientProvider({ nodes }, 1, { staticNetwork: true });
      await provider.send('eth_blockNumber', []);
      return {
        call: () => provider.send('eth_blockNumber', []),
        async close() {
          provider.destroy();
        },
      };
    }
  }
}

export { isUnavailable };
