/**
 * The demo's three clients, each calling `eth_getBalance(DEV_ACCOUNT)` on a timer without waiting
 * for answers (the balance says which node answered) and counting `newHeads` blocks:
 * - `ws`: a plain `ws` WebSocket through the reference proxy, JSON-RPC by hand;
 * - `viem`: `createPublicClient` with steadyrpc's `resilientTransport`, straight to the two nodes;
 * - `ethers`: steadyrpc's `ResilientProvider`, straight to the two nodes.
 */
import { Network } from 'ethers';
import type { HealthCheckerOptions, NodeConfig, NodePool, UpstreamSession } from 'steadyrpc';
import { ResilientProvider } from 'steadyrpc/ethers';
import { resilientTransport } from 'steadyrpc/viem';
import { createPublicClient } from 'viem';
import { watchBlockNumber } from 'viem/actions';
import WebSocket from 'ws';
import type { ClientTrace } from './ClientTrace.js';
import type { DemoNodes } from './nodes.js';
import { DEV_ACCOUNT } from './nodes.js';

export interface DemoClient {
  readonly trace: ClientTrace;
  /** The adapter's own pool and session (the `ws` client's live inside the proxy). */
  readonly pool?: NodePool;
  readonly session?: UpstreamSession;
  /** Stops sending; calls in flight still settle. */
  stopPolling(): void;
  close(): Promise<void>;
}

export interface ClientSetup {
  trace: ClientTrace;
  nodes: DemoNodes;
  /** Time between balance calls, in ms. */
  intervalMs: number;
}

/** Calls `call` every `intervalMs` without waiting for the previous call. */
function pollEvery(intervalMs: number, call: () => void): () => void {
  call();
  const timer = setInterval(call, intervalMs);
  return () => clearInterval(timer);
}

export async function startWsClient(proxyWsUrl: string, { trace, nodes, intervalMs }: ClientSetup): Promise<DemoClient> {
  const ws = new WebSocket(proxyWsUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => {});
  const calls = new Map<number, number>(); // JSON-RPC id → trace token
  let subscription: string | undefined;
  let nextId = 1;
  const send = (frame: object) => {
    const text = JSON.stringify(frame);
    trace.audit.outgoing(text);
    ws.send(text);
  };
  ws.on('message', (data) => {
    const text = String(data);
    trace.audit.incoming(text);
    const frame = JSON.parse(text) as { id?: unknown; result?: any; error?: { message: string }; method?: string; params?: { subscription: string; result: { number: string } } };
    if (frame.method === 'eth_subscription') {
      if (frame.params?.subscription === subscription) trace.block(Number(frame.params!.result.number));
      return;
    }
    if (frame.id === 'heads') {
      subscription = frame.result as string;
      return;
    }
    const token = calls.get(frame.id as number);
    if (token === undefined) return;
    calls.delete(frame.id as number);
    if (frame.error) trace.fail(token, new Error(frame.error.message));
    else trace.answer(token, nodes.nodeOf(BigInt(frame.result as string)));
  });
  send({ jsonrpc: '2.0', id: 'heads', method: 'eth_subscribe', params: ['newHeads'] });
  const stop = pollEvery(intervalMs, () => {
    const id = nextId++;
    calls.set(id, trace.send());
    send({ jsonrpc: '2.0', id, method: 'eth_getBalance', params: [DEV_ACCOUNT, 'latest'] });
  });
  return {
    trace,
    stopPolling: stop,
    close: async () => {
      stop();
      ws.close();
    },
  };
}

export function startViemClient(nodeConfigs: NodeConfig[], health: HealthCheckerOptions, { trace, nodes, intervalMs }: ClientSetup): DemoClient {
  const client = createPublicClient({ transport: resilientTransport({ nodes: nodeConfigs, health }) });
  const { session, pool } = client.transport;
  audit(session, trace);
  // poll: false: a newHeads subscription (the transport is of type 'webSocket'), not eth_blockNumber polling.
  const unwatch = watchBlockNumber(client, {
    poll: false,
    onBlockNumber: (number) => trace.block(Number(number)),
    onError: (error) => trace.problem('watchBlockNumber', error),
  });
  const stop = pollEvery(intervalMs, () => {
    const token = trace.send();
    client.getBalance({ address: DEV_ACCOUNT }).then(
      (balance) => trace.answer(token, nodes.nodeOf(balance)),
      (error: unknown) => trace.fail(token, error),
    );
  });
  return {
    trace,
    pool,
    session,
    stopPolling: stop,
    close: async () => {
      stop();
      unwatch();
      client.transport.close();
    },
  };
}

export async function startEthersClient(nodeConfigs: NodeConfig[], health: HealthCheckerOptions, { trace, nodes, intervalMs }: ClientSetup): Promise<DemoClient> {
  // cacheTimeout -1: no 250 ms result cache, so every balance shows the node that answered it.
  const provider = new ResilientProvider({ nodes: nodeConfigs, health }, Network.from(31337), { staticNetwork: true, cacheTimeout: -1 });
  audit(provider.session, trace);
  await provider.on('error', (error: unknown) => trace.problem("provider 'error' event", error));
  await provider.on('block', (number: number) => trace.block(number));
  const stop = pollEvery(intervalMs, () => {
    const token = trace.send();
    provider.getBalance(DEV_ACCOUNT).then(
      (balance) => trace.answer(token, nodes.nodeOf(balance)),
      (error: unknown) => trace.fail(token, error),
    );
  });
  return {
    trace,
    pool: provider.pool,
    session: provider.session,
    stopPolling: stop,
    close: async () => {
      stop();
      provider.destroy();
    },
  };
}

/**
 * Lets the client's {@link FrameAudit} see the raw frames between an adapter and its session. The
 * adapters drop answers they did not ask for silently, so a leak would otherwise go unseen here.
 * (Demo instrumentation: applications do not need this.)
 */
function audit(session: UpstreamSession, trace: ClientTrace): void {
  const send = session.send.bind(session);
  session.send = (text: string) => {
    trace.audit.outgoing(text);
    send(text);
  };
  session.on('message', (text) => trace.audit.incoming(text));
}
