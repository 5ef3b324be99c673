import { NodePool, UpstreamSession } from '../../../src/index.js';
import type { UpstreamSessionOptions } from '../../../src/index.js';
import { FakeChain, FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../../src/testing/index.js';

export const rpc = (id: unknown, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0', id, method, params });
export const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * Fake nodes (first is primary, others backup) on one FakeChain, all at `head`, and a session on them.
 * `subscribe(params)` returns the client's subscription id; `notes(id)` what that subscription received.
 */
export async function network(
  options: {
    names?: string[];
    genesis?: number;
    announceRemovedLogs?: boolean;
    session?: Partial<UpstreamSessionOptions>;
  } = {},
) {
  const { names = ['a', 'b'], genesis = 90, announceRemovedLogs = true, session: sessionOptions = {} } = options;
  const clock = new FakeClock();
  const sockets = new FakeSocketTransport();
  const chain = new FakeChain({ genesis });
  const nodes: Record<string, FakeNode> = {};
  for (const name of names) {
    nodes[name] = new FakeNode({ name, chain, head: genesis, announceRemovedLogs });
    sockets.route(`ws://${name}.test/`, nodes[name]!.socket);
  }
  const pool = new NodePool({
    nodes: names.map((name, i) => ({ name, ws: `ws://${name}.test/`, tier: i === 0 ? 'primary' : 'backup' })),
    clock,
    httpTransport: new FakeHttpTransport(),
  });
  for (const name of names) pool.update(name, { status: 'healthy', head: genesis });
  const session = new UpstreamSession({ pool, transport: sockets, clock, random: () => 0.5, ...sessionOptions });
  const received: any[] = [];
  session.on('message', (text) => received.push(JSON.parse(text)));
  const reorgs: any[] = [];
  session.on('reorg', (event) => reorgs.push(event));
  const backfills: any[] = [];
  session.on('backfill', (event) => backfills.push(event));
  await clock.flush();
  let nextId = 1000;
  const subscribe = async (params: unknown[]): Promise<string> => {
    const id = nextId++;
    session.send(JSON.stringify(rpc(id, 'eth_subscribe', params)));
    await clock.flush();
    const answer = received.find((m) => m.id === id);
    if (!answer || typeof answer.result !== 'string') throw new Error(`subscribe failed: ${JSON.stringify(answer)}`);
    return answer.result as string;
  };
  const notes = (subscription: string) =>
    received.filter((m) => m.method === 'eth_subscription' && m.params.subscription === subscription).map((m) => m.params.result);
  /** Every node in `on` mines one block per step, and the first emits `logsPerBlock` logs in it. */
  const mine = async (blocks: number, on: FakeNode[] = Object.values(nodes), logsPerBlock = 1, address?: string) => {
    for (let i = 0; i < blocks; i++) {
      for (const node of on) node.advance(1);
      for (let j = 0; j < logsPerBlock; j++) on[0]!.emitLog(address);
    }
    await clock.flush();
  };
  const syncPool = () => {
    for (const name of names) pool.update(name, { head: nodes[name]!.head });
  };
  return { clock, chain, nodes, pool, session, received, reorgs, backfills, subscribe, notes, mine, syncPool };
}

export type Net = Awaited<ReturnType<typeof network>>;

/** Logs as `blockNumber/logIndex[removed]` strings, for readable comparisons. */
export const logKeys = (logs: any[]) => logs.map((l) => `${Number(l.blockNumber)}:${l.blockHash.slice(2, 10)}:${Number(l.logIndex)}${l.removed ? ':removed' : ''}`);

/** What the client holds after replaying its logs stream (removed ones taken out), as keys. */
export function heldLogs(logs: any[]): string[] {
  const held = new Map<string, any>();
  for (const log of logs) {
    const key = `${log.blockHash}:${log.logIndex}`;
    if (log.removed) held.delete(key);
    else held.set(key, log);
  }
  return logKeys([...held.values()]).sort();
}

/** What a node's chain has up to its head, as keys. */
export const chainLogs = (node: FakeNode, address?: string) => logKeys(node.logs.filter((l) => address === undefined || l.address === address)).sort();
