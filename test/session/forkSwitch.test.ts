import { describe, expect, it } from 'vitest';
import { NodePool, UpstreamSession } from '../../src/index.js';
import { FakeChain, FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';
import { rpc } from '../helpers/session.js';

/** Nodes a (primary) and b (backup) of one network at head 100, a session subscribed to newHeads and logs on a. */
async function network(options: { announceRemovedLogs?: boolean } = {}) {
  const clock = new FakeClock();
  const sockets = new FakeSocketTransport();
  const chain = new FakeChain({ genesis: 90 });
  const nodes = {
    a: new FakeNode({ name: 'a', chain, head: 90, ...options }),
    b: new FakeNode({ name: 'b', chain, head: 90, ...options }),
  };
  for (const node of Object.values(nodes)) sockets.route(`ws://${node.name}.test/`, node.socket);
  const pool = new NodePool({ nodes: ['a', 'b'].map((name, i) => ({ name, ws: `ws://${name}.test/`, tier: i === 0 ? 'primary' : 'backup' })), clock, httpTransport: new FakeHttpTransport() });
  for (const name of ['a', 'b']) pool.update(name, { status: 'healthy', head: 90 });
  const session = new UpstreamSession({ pool, transport: sockets, clock });
  const received: any[] = [];
  session.on('message', (text) => received.push(JSON.parse(text)));
  const reorgs: unknown[] = [];
  session.on('reorg', (event) => reorgs.push(event));
  await clock.flush();
  session.send(JSON.stringify(rpc(1, 'eth_subscribe', ['newHeads'])));
  session.send(JSON.stringify(rpc(2, 'eth_subscribe', ['logs', {}])));
  await clock.flush();
  const [heads, logs] = [1, 2].map((id) => received.find((m) => m.id === id).result as string) as [string, string];
  const mine = async (blocks: number, on: FakeNode[] = [nodes.a, nodes.b]) => {
    for (let i = 0; i < blocks; i++) {
      for (const node of on) node.advance(1);
      on[0]!.emitLog(); // the log belongs to the block: every node on it has it
    }
    await clock.flush();
  };
  const notes = (subscription: string) => received.filter((m) => m.method === 'eth_subscription' && m.params.subscription === subscription).map((m) => m.params.result);
  return { clock, chain, nodes, pool, session, received, reorgs, heads, logs, mine, notes };
}

describe('a switch onto another branch is announced like one node\'s reorg (invariant 11)', () => {
  it.each([1, 2, 3])('fork of depth %i at the switch: logs retracted, then the new branch; heads from the ancestor, linked', async (depth) => {
    const n = await network();
    await n.mine(10);
    const delivered = n.notes(n.logs);
    expect(delivered).toHaveLength(10);
    n.nodes.b.forkAt(depth, depth + 1); // b leaves the shared chain `depth` blocks down, one block longer
    n.nodes.b.emitLog();
    n.pool.update('b', { head: n.nodes.b.head });
    const before = { heads: n.notes(n.heads).length, logs: n.notes(n.logs).length };
    n.nodes.a.cut();
    await n.clock.flush();
    expect(n.session.node).toBe('b');
    expect(n.reorgs).toEqual([{ ancestor: 100 - depth, depth, deep: false, from: 'a', to: 'b' }]);
    const logs = n.notes(n.logs).slice(before.logs);
    const retracted = logs.filter((log) => log.removed);
    expect(retracted).toEqual(delivered.slice(10 - depth).map((log) => ({ ...log, removed: true })));
    expect(logs.slice(0, depth)).toEqual(retracted); // first
    const fresh = logs.slice(depth);
    expect(fresh.every((log) => !log.removed && Number(log.blockNumber) > 100 - depth)).toBe(true);
    const heads = n.notes(n.heads).slice(before.heads);
    expect(heads.map((h) => Number(h.number))).toEqual(Array.from({ length: depth + 1 }, (_, i) => 101 - depth + i));
    const all = n.notes(n.heads);
    expect(heads[0].parentHash).toBe(all.find((h) => Number(h.number) === 100 - depth).hash);
    for (let i = 1; i < heads.length; i++) expect(heads[i].parentHash).toBe(heads[i - 1].hash);
    // Live heads go on from b, linked.
    n.nodes.b.advance(1);
    await n.clock.flush();
    const last = n.notes(n.heads).at(-1);
    expect(last.parentHash).toBe(heads.at(-1).hash);
  });

  it('the same holds on failback to a node on another branch, and a switch on the same chain announces nothing', async () => {
    const n = await network();
    await n.mine(5);
    n.nodes.a.cut();
    await n.clock.flush();
    expect(n.session.node).toBe('b');
    expect(n.reorgs).toEqual([]); // same chain: no reorg
    n.nodes.a.restore();
    n.nodes.a.forkAt(2, 3); // a comes back on another branch
    n.pool.update('a', { status: 'healthy', head: n.nodes.a.head });
    n.pool.update('b', { head: n.nodes.b.head });
    await n.clock.advance(3_000);
    expect(n.session.node).toBe('a');
    expect(n.reorgs).toEqual([{ ancestor: 93, depth: 2, deep: false, from: 'b', to: 'a' }]);
    expect(n.notes(n.logs).filter((log) => log.removed).map((log) => Number(log.blockNumber))).toEqual([94, 95]);
  });

  it('a node that reorgs under the session without removed logs (anvil) has its old logs retracted by the session', async () => {
    const n = await network({ announceRemovedLogs: false });
    await n.mine(5);
    const delivered = n.notes(n.logs);
    n.nodes.a.forkAt(2, 2);
    n.nodes.a.emitLog();
    await n.clock.flush();
    // a re-emitted head 94 (another hash than the 94 delivered) shows the reorg: logs from 94 up are retracted
    const after = n.notes(n.logs).slice(delivered.length);
    expect(after.slice(0, 2)).toEqual([{ ...delivered[3], removed: true }, { ...delivered[4], removed: true }]);
    expect(after.slice(2).every((log) => !log.removed)).toBe(true);
    expect(after.filter((log) => log.removed)).toHaveLength(2);
  });

  it('a node that announces its reorg (geth) has each old log retracted once', async () => {
    const n = await network({ announceRemovedLogs: true });
    await n.mine(5);
    const delivered = n.notes(n.logs);
    n.nodes.a.forkAt(2, 2);
    n.nodes.a.emitLog();
    await n.clock.flush();
    const removed = n.notes(n.logs).slice(delivered.length).filter((log) => log.removed);
    expect(removed).toEqual([{ ...delivered[3], removed: true }, { ...delivered[4], removed: true }]);
    // The node announced it: passed on, not counted as a reorg of the session's making.
    expect(n.reorgs).toEqual([]);
  });
});
