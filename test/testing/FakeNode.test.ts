import { describe, expect, it } from 'vitest';
import { isSteadyRpcError } from '../../src/errors.js';
import type { FakeBlockHeader, FakeLog } from '../../src/testing/index.js';
import { FakeChain, FakeClock, FakeNode, FakeSocketTransport, fakeBlockHash } from '../../src/testing/index.js';
import { classifyNodeError } from '../../src/pool/nodeErrors.js';

const clock = new FakeClock();
const hex = (n: number) => `0x${n.toString(16)}`;
const ADDRESS = '0x00000000000000000000000000000000000000aa';
const OTHER = '0x00000000000000000000000000000000000000bb';

/** Calls `method` on `node` and returns the result (throws on an error answer). */
function call(node: FakeNode, method: string, params: unknown[] = []): any {
  const answer = node.answer({ jsonrpc: '2.0', id: 1, method, params });
  if ('error' in answer) throw new Error(`${method}: ${answer.error!.message}`);
  return answer.result;
}

/** A socket to `node` subscribed to `newHeads` and to `logs`: what each subscription got, in order. */
async function watch(node: FakeNode, logFilter: object = {}): Promise<{ heads: FakeBlockHeader[]; logs: FakeLog[]; all: Array<FakeBlockHeader | FakeLog> }> {
  const transport = new FakeSocketTransport();
  transport.route('ws://node/', node.socket);
  const got = { heads: [] as FakeBlockHeader[], logs: [] as FakeLog[], all: [] as Array<FakeBlockHeader | FakeLog> };
  const ids = new Map<number, string>();
  const kinds = new Map<string, 'heads' | 'logs'>();
  const socket = transport.open(
    { url: 'ws://node/' },
    {
      onOpen: () => {},
      onMessage: (text) => {
        const frame = JSON.parse(text);
        if (frame.method !== 'eth_subscription') return void ids.set(frame.id, frame.result);
        const kind = kinds.get(frame.params.subscription)!;
        got[kind].push(frame.params.result);
        got.all.push(frame.params.result);
      },
      onClose: () => {},
      onError: () => {},
    },
  );
  await clock.flush();
  socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
  socket.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'eth_subscribe', params: ['logs', logFilter] }));
  await clock.flush();
  kinds.set(ids.get(1)!, 'heads');
  kinds.set(ids.get(2)!, 'logs');
  return got;
}

const numbers = (items: ReadonlyArray<{ number: string } | { blockNumber: string }>) => items.map((i) => Number('number' in i ? i.number : i.blockNumber));

/** A block as eth_getBlockByNumber and eth_getBlockByHash give it (without full transactions). */
const asBlock = (header: FakeBlockHeader, transactions: string[] = []) => ({ ...header, baseFeePerGas: '0x3b9aca00', transactions });

/** Every head links to the one before it. */
function expectLinked(heads: readonly FakeBlockHeader[]): void {
  for (let i = 1; i < heads.length; i++) expect(heads[i]!.parentHash).toBe(heads[i - 1]!.hash);
}

describe('FakeNode without a chain (as before)', () => {
  it('hashes every height with its fork, and reorg() gives the whole chain new hashes', () => {
    const node = new FakeNode({ head: 10 });
    expect(node.block(10)).toEqual({ number: '0xa', hash: fakeBlockHash(10, 0), parentHash: fakeBlockHash(9, 0), timestamp: hex(120) });
    node.reorg();
    expect(node.fork).toBe(1);
    expect(node.block(5).hash).toBe(fakeBlockHash(5, 1));
    node.head = 3;
    expect(call(node, 'eth_blockNumber')).toBe('0x3');
    expect(node.chain).toBeUndefined();
  });

  it('keeps emitted logs in `logs` and answers eth_getLogs and eth_getBlockByHash from them', () => {
    const node = new FakeNode({ head: 10 });
    node.emitLog(ADDRESS, '0x01').advance(1).emitLog(OTHER, '0x02');
    expect(node.logs.map((l) => [l.blockNumber, l.logIndex, l.data])).toEqual([['0xa', '0x0', '0x01'], ['0xb', '0x0', '0x02']]);
    expect(call(node, 'eth_getLogs', [{ fromBlock: '0xb', address: OTHER }])).toEqual([node.logs[1]]);
    expect(call(node, 'eth_getBlockByHash', [fakeBlockHash(11), false])).toEqual(asBlock(node.block(11), [node.logs[1]!.transactionHash]));
    expect(call(node, 'eth_getBlockByHash', [fakeBlockHash(12), false])).toBeNull();
  });
});

describe('FakeNodes on one FakeChain share its history', () => {
  it('a node behind follows the blocks already mined (identical hashes); one at the tip mines new ones', async () => {
    const chain = new FakeChain({ genesis: 100 });
    const a = new FakeNode({ name: 'a', chain, head: 102 });
    const b = new FakeNode({ name: 'b', chain });
    expect([a.head, b.head, b.tip]).toEqual([102, 100, 102]);
    const seen = await watch(b);
    a.advance(2); // 103, 104: new
    b.advance(3); // 101..103: a's
    expect(seen.heads).toEqual([101, 102, 103].map((n) => a.block(n)));
    b.advance(2); // 104 (a's), 105 (new)
    expect(b.block(104)).toEqual(a.block(104));
    a.advance(1); // 105: b's
    expect(a.block(105)).toEqual(b.block(105));
    expect(numbers(seen.heads)).toEqual([101, 102, 103, 104, 105]);
    expectLinked([b.block(100), ...seen.heads]);
    expect(chain.branches).toBe(1);
  });

  it('links every block to its parent and answers blocks from the node’s own height only', () => {
    const chain = new FakeChain({ genesis: 100 });
    const a = new FakeNode({ chain, head: 104 });
    const b = new FakeNode({ chain, head: 102 });
    const blocks = [100, 101, 102, 103, 104].map((n) => a.block(n));
    expectLinked(blocks);
    expect(blocks[0]!.parentHash).toBe(fakeBlockHash(99, 0));
    expect(chain.block(blocks[3]!.hash)).toEqual(blocks[3]);
    expect(call(b, 'eth_blockNumber')).toBe(hex(102));
    expect(call(b, 'eth_getBlockByNumber', ['latest', false])).toEqual(asBlock(blocks[2]!));
    expect(call(b, 'eth_getBlockByNumber', [hex(103), false])).toBeNull();
    expect(call(b, 'eth_getBlockByNumber', [hex(99), false])).toBeNull();
    expect(call(b, 'eth_getBlockByNumber', ['earliest', false])).toEqual(asBlock(blocks[0]!));
    expect(call(b, 'eth_getBlockByHash', [blocks[1]!.hash, false])).toEqual(asBlock(blocks[1]!));
    expect(call(b, 'eth_getBlockByHash', [blocks[3]!.hash, false])).toBeNull(); // above its head
    expect(new FakeNode({ chain: new FakeChain() }).block(0).parentHash).toBe(`0x${'0'.repeat(64)}`);
  });

  it('two chains never share a hash', () => {
    const one = new FakeNode({ chain: new FakeChain({ genesis: 5 }), head: 5 });
    const two = new FakeNode({ chain: new FakeChain({ genesis: 5, id: 1 }), head: 5 });
    expect(one.block(5).hash).not.toBe(two.block(5).hash);
  });
});

describe('logs belong to the block they were emitted in', () => {
  it('every node that has the block tells its subscribers; one that gets there later tells them then', async () => {
    const chain = new FakeChain({ genesis: 100 });
    const a = new FakeNode({ name: 'a', chain, head: 101 });
    const b = new FakeNode({ name: 'b', chain, head: 101 });
    const c = new FakeNode({ name: 'c', chain, head: 100 });
    const [seenA, seenB, seenC] = [await watch(a), await watch(b, { address: ADDRESS }), await watch(c)];
    a.emitLog(ADDRESS, '0x01').emitLog(OTHER, '0x02');
    const logs = a.logs;
    expect(logs.map((l) => [l.blockNumber, l.logIndex, l.blockHash])).toEqual([
      [hex(101), '0x0', a.block(101).hash],
      [hex(101), '0x1', a.block(101).hash],
    ]);
    expect(seenA.logs).toEqual(logs);
    expect(seenB.logs).toEqual([logs[0]]); // its filter
    expect(seenC.logs).toEqual([]); // c has not got block 101 yet
    c.advance(1);
    expect(seenC.all).toEqual([a.block(101), ...logs]);
    expect(chain.logsOf(a.block(101).hash)).toEqual(logs);
  });

  it('eth_getLogs answers from the node’s branch up to its head; by hash only for a block it has', () => {
    const chain = new FakeChain({ genesis: 100 });
    const a = new FakeNode({ chain, head: 100 });
    const b = new FakeNode({ chain, head: 100 });
    a.advance(1).emitLog(ADDRESS, '0x01').advance(1).emitLog(OTHER, '0x02');
    expect(call(a, 'eth_getLogs', [{ fromBlock: hex(100), toBlock: 'latest' }]).map((l: FakeLog) => l.data)).toEqual(['0x01', '0x02']);
    expect(call(a, 'eth_getLogs', [{ fromBlock: hex(102), toBlock: hex(200) }]).map((l: FakeLog) => l.data)).toEqual(['0x02']);
    expect(call(a, 'eth_getLogs', [{ fromBlock: hex(100), address: ADDRESS }]).map((l: FakeLog) => l.data)).toEqual(['0x01']);
    expect(call(a, 'eth_getLogs', [{ address: OTHER }]).map((l: FakeLog) => l.data)).toEqual(['0x02']); // from 'latest'
    expect(call(a, 'eth_getLogs', [{ blockHash: a.block(102).hash }]).map((l: FakeLog) => l.data)).toEqual(['0x02']);
    expect(call(b, 'eth_getLogs', [{ fromBlock: hex(100) }])).toEqual([]); // b is still at 100
    expect(() => call(b, 'eth_getLogs', [{ blockHash: a.block(102).hash }])).toThrow(/unknown block/);
    a.forkAt(2);
    expect(call(a, 'eth_getLogs', [{ fromBlock: hex(100) }])).toEqual([]);
    expect(a.logs).toEqual([]);
  });

  // Found in review: an `address` list (ethers always sends one) matched no log, with no error, and
  // `topics` were not read at all.
  it('reads a filter as geth does: an address or a list of them, in any case; topics by position', async () => {
    const chain = new FakeChain({ genesis: 100 });
    const a = new FakeNode({ chain, head: 100 });
    const filters = [{ address: [ADDRESS] }, { address: [OTHER.toUpperCase().replace('0X', '0x'), ADDRESS] }, { topics: [] }, { topics: [null] }, { address: ADDRESS, topics: [] }];
    const seen = await Promise.all(filters.map((filter) => watch(a, filter)));
    a.advance(1).emitLog(ADDRESS, '0x01').emitLog(OTHER, '0x02');
    const data = (logs: readonly FakeLog[]) => logs.map((l) => l.data);
    expect(seen.map((s) => data(s.logs))).toEqual([['0x01'], ['0x01', '0x02'], ['0x01', '0x02'], [], ['0x01']]);
    for (const [i, filter] of filters.entries()) expect(data(call(a, 'eth_getLogs', [{ fromBlock: hex(100), ...filter }]))).toEqual(data(seen[i]!.logs));
  });
});

describe('forkAt: a node’s own reorg', () => {
  it('new hashes above the common ancestor, the same at and below; other nodes stay on the old branch', () => {
    const chain = new FakeChain({ genesis: 100 });
    const a = new FakeNode({ chain, head: 105 });
    const b = new FakeNode({ chain, head: 105 });
    const before = [103, 104, 105].map((n) => a.block(n));
    b.forkAt(2, 3); // leaves 104, 105; mines 104', 105', 106'
    expect(b.head).toBe(106);
    expect(b.block(103)).toEqual(before[0]);
    expect(b.block(104).hash).not.toBe(before[1]!.hash);
    expect(b.block(104).parentHash).toBe(before[0]!.hash);
    expectLinked([103, 104, 105, 106].map((n) => b.block(n)));
    expect(a.block(105)).toEqual(before[2]);
    expect(b.fork).not.toBe(a.fork);
    expect(chain.branches).toBe(2);
    expect(chain.block(before[1]!.hash)).toEqual(before[1]); // the left block is still in the tree
    a.advance(1); // mines on the old branch
    expect(a.block(106).hash).not.toBe(b.block(106).hash);
    expect(() => a.block(107)).toThrow(RangeError);
    expect(chain.height).toBe(106);
  });

  it('like geth: the left blocks’ logs with removed: true (in chain order), then the new heads from the fork point', async () => {
    const chain = new FakeChain({ genesis: 100 });
    const node = new FakeNode({ chain, head: 101 });
    node.advance(1).emitLog(ADDRESS, '0x01').advance(1).emitLog(ADDRESS, '0x02').emitLog(ADDRESS, '0x03');
    const seen = await watch(node);
    const dropped = node.logs;
    node.forkAt(2, 3);
    expect(seen.all).toEqual([...dropped.map((log) => ({ ...log, removed: true })), node.block(102), node.block(103), node.block(104)]);
    expect(seen.heads[0]!.parentHash).toBe(node.block(101).hash);
    expectLinked(seen.heads);
  });

  it('sends no removed logs when announceRemovedLogs is off (as anvil)', async () => {
    const chain = new FakeChain({ genesis: 100 });
    const node = new FakeNode({ chain, head: 101, announceRemovedLogs: false });
    node.emitLog(ADDRESS, '0x01');
    const seen = await watch(node);
    node.forkAt(1);
    expect(seen.all).toEqual([node.block(101)]);
  });

  it('rejects a fork below the genesis, and every chain move on a node without a chain', () => {
    const chain = new FakeChain({ genesis: 100 });
    const node = new FakeNode({ chain, head: 102 });
    const config = (f: () => unknown) => {
      try {
        f();
        expect.unreachable();
      } catch (error) {
        expect(isSteadyRpcError(error, 'ERR_CONFIG')).toBe(true);
      }
    };
    config(() => node.forkAt(3));
    config(() => node.forkAt(1, -1));
    config(() => (node.head = 5));
    config(() => (node.fork = 5));
    config(() => node.reorg());
    config(() => new FakeNode({ chain, head: 99 }));
    config(() => new FakeNode().forkAt(1));
    config(() => new FakeNode().follow(node));
    config(() => node.follow(new FakeNode({ chain: new FakeChain({ genesis: 100 }) })));
    config(() => node.follow(new FakeNode({ chain, head: 100 }), 103));
  });
});

describe('follow: a node moves to another node’s branch', () => {
  it('a forked node rejoins: its fork’s logs removed, then the other branch’s heads from the ancestor, with their logs', async () => {
    const chain = new FakeChain({ genesis: 100 });
    const a = new FakeNode({ name: 'a', chain, head: 102 });
    const b = new FakeNode({ name: 'b', chain, head: 102 });
    b.forkAt(1).emitLog(ADDRESS, '0xf0'); // b's 102'
    a.advance(1).emitLog(ADDRESS, '0xa0'); // a's 103
    const seen = await watch(b);
    const forkLogs = b.logs;
    b.follow(a);
    expect(b.head).toBe(103);
    expect([102, 103].map((n) => b.block(n))).toEqual([102, 103].map((n) => a.block(n)));
    expect(seen.all).toEqual([{ ...forkLogs[0]!, removed: true }, a.block(102), a.block(103), ...a.logs.filter((l) => l.data === '0xa0')]);
    expect(seen.heads[0]!.parentHash).toBe(a.block(101).hash);
    expectLinked(seen.heads);
    b.advance(1);
    a.advance(1);
    expect(a.block(104)).toEqual(b.block(104)); // one branch again
  });

  it('following a node ahead on the same branch is catching up; up to a given head', async () => {
    const chain = new FakeChain({ genesis: 100 });
    const a = new FakeNode({ chain, head: 105 });
    const b = new FakeNode({ chain, head: 101 });
    const seen = await watch(b);
    b.follow(a, 103);
    expect(numbers(seen.heads)).toEqual([102, 103]);
    b.follow(a);
    expect(numbers(seen.heads)).toEqual([102, 103, 104, 105]);
    expect(b.tip).toBe(105);
  });

  it('following a node behind on the same path rolls back, with no new head', async () => {
    const chain = new FakeChain({ genesis: 100 });
    const a = new FakeNode({ chain, head: 101 });
    const b = new FakeNode({ chain, head: 101 });
    b.advance(1).emitLog(ADDRESS, '0x01');
    const seen = await watch(b);
    const log = b.logs[0]!;
    b.follow(a);
    expect(b.head).toBe(101);
    expect(seen.all).toEqual([{ ...log, removed: true }]);
  });
});

describe('FakeNode: geth orders and batch imports', () => {
  it('logsBeforeHead: a block announced on a reorg sends its logs before its head, as geth does', async () => {
    const chain = new FakeChain({ genesis: 100 });
    const a = new FakeNode({ name: 'a', chain, head: 102, logsBeforeHead: true });
    const seen = await watch(a);
    a.forkAt(1, 2, { logs: 2 }); // 102', 103', two logs each
    const order = seen.all.map((item) => ('parentHash' in item ? `head ${Number(item.number)}` : `log ${Number(item.blockNumber)}${item.removed ? ' removed' : ''}`));
    expect(order).toEqual(['log 102', 'log 102', 'head 102', 'log 103', 'log 103', 'head 103']);
    expectLinked([a.block(101), ...seen.heads]);
    const b = new FakeNode({ name: 'b', chain, head: 100 }); // head first (the default)
    const seenB = await watch(b);
    b.follow(a);
    expect(seenB.all.map((item) => ('parentHash' in item ? 'head' : 'log'))).toEqual(['head', 'head', 'log', 'log', 'head', 'log', 'log']);
  });

  it('batch: every block\'s logs but only the last head, a gap in newHeads; forkAt({ logs }) gives each new block its logs', async () => {
    const chain = new FakeChain({ genesis: 100 });
    const a = new FakeNode({ name: 'a', chain, head: 100 });
    const seen = await watch(a);
    a.advance(1);
    a.emitLog();
    a.advance(3, { batch: true }); // 102..104, one head
    expect(numbers(seen.heads)).toEqual([101, 104]);
    a.forkAt(2, 3, { batch: true, logs: 1 }); // 103'..105', one head, a log each
    expect(numbers(seen.heads)).toEqual([101, 104, 105]);
    expect(seen.logs.filter((log) => !log.removed).map((log) => Number(log.blockNumber))).toEqual([101, 103, 104, 105]);
    expect(call(a, 'eth_getLogs', [{ fromBlock: hex(103), toBlock: hex(105) }])).toHaveLength(3);
    expect(() => a.forkAt(1, 1, { logs: -1 })).toThrow(/logs/);
  });
});

describe('subscription ids', () => {
  /** The ids `node` gives `count` subscribes on each of `sockets` new sockets, socket by socket. */
  async function idsOf(node: FakeNode, sockets: number, count: number): Promise<string[][]> {
    const transport = new FakeSocketTransport();
    transport.route('ws://node/', node.socket);
    const all: string[][] = [];
    for (let s = 0; s < sockets; s++) {
      const ids: string[] = [];
      const socket = transport.open({ url: 'ws://node/' }, { onOpen: () => {}, onMessage: (text) => void ids.push(JSON.parse(text).result), onClose: () => {}, onError: () => {} });
      await clock.flush();
      for (let i = 0; i < count; i++) socket.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'eth_subscribe', params: ['newHeads'] }));
      await clock.flush();
      all.push(ids);
      socket.close();
    }
    return all;
  }

  it("random (the default): 128-bit quantities, none given twice by a node, none shared by nodes of other names, the same on every run", async () => {
    const a = (await idsOf(new FakeNode({ name: 'a' }), 3, 50)).flat();
    const b = (await idsOf(new FakeNode({ name: 'b' }), 3, 50)).flat();
    for (const id of [...a, ...b]) expect(id).toMatch(/^0x[1-9a-f][0-9a-f]{0,31}$/);
    expect(new Set(a).size).toBe(150);
    expect(new Set([...a, ...b]).size).toBe(300);
    // Long ones, as a node's random ids are (a few are shorter, as quantities with leading zeros cut).
    expect(a.filter((id) => id.length >= 30).length).toBeGreaterThan(140);
    expect((await idsOf(new FakeNode({ name: 'a' }), 3, 50)).flat()).toEqual(a);
  });

  it("per-socket: 0x1, 0x2, … counted again on every socket, the same on every node", async () => {
    expect(await idsOf(new FakeNode({ name: 'a', subscriptionIds: 'per-socket' }), 2, 3)).toEqual([
      ['0x1', '0x2', '0x3'],
      ['0x1', '0x2', '0x3'],
    ]);
    expect(await idsOf(new FakeNode({ name: 'b', subscriptionIds: 'per-socket' }), 1, 2)).toEqual([['0x1', '0x2']]);
  });

  it('refuses another value', () => {
    expect(isSteadyRpcError(thrownBy(() => new FakeNode({ subscriptionIds: 'counter' as never })), 'ERR_CONFIG')).toBe(true);
  });
});

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('answers as geth and anvil give them', () => {
  /** The error `node` answers `method` with (throws on a result). */
  function errorOf(node: FakeNode, method: string, params: unknown[]): { code: number; message: string } {
    const answer = node.answer({ jsonrpc: '2.0', id: 1, method, params });
    if (!('error' in answer)) throw new Error(`${method}: expected an error, got ${JSON.stringify(answer.result)}`);
    return answer.error!;
  }

  it('a transaction for every log: its receipt and itself by hash, while the node has its block; null otherwise', () => {
    const chain = new FakeChain({ genesis: 100 });
    const a = new FakeNode({ name: 'a', chain, head: 100 });
    const b = new FakeNode({ name: 'b', chain, head: 100 });
    a.advance(1).emitLog(ADDRESS, '0x01').emitLog(OTHER, '0x02');
    const [first, second] = a.logs as [FakeLog, FakeLog];
    expect([first.transactionIndex, second.transactionIndex, first.topics]).toEqual(['0x0', '0x1', []]);
    expect(first.transactionHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(second.transactionHash).not.toBe(first.transactionHash);
    expect(call(a, 'eth_getTransactionReceipt', [second.transactionHash])).toMatchObject({
      transactionHash: second.transactionHash,
      transactionIndex: '0x1',
      blockHash: a.block(101).hash,
      blockNumber: hex(101),
      status: '0x1',
      logs: [second],
    });
    expect(call(a, 'eth_getTransactionByHash', [first.transactionHash])).toMatchObject({ hash: first.transactionHash, blockNumber: hex(101), to: ADDRESS, input: '0x01' });
    expect(call(a, 'eth_getBlockByNumber', [hex(101), false]).transactions).toEqual([first.transactionHash, second.transactionHash]);
    expect(call(a, 'eth_getBlockByNumber', [hex(101), true]).transactions.map((t: { hash: string }) => t.hash)).toEqual([first.transactionHash, second.transactionHash]);
    // b has not got block 101 yet: null, as a lagging node answers.
    expect(call(b, 'eth_getTransactionReceipt', [first.transactionHash])).toBeNull();
    b.advance(1);
    expect(call(b, 'eth_getTransactionReceipt', [first.transactionHash])).toMatchObject({ blockNumber: hex(101) });
    // A read backend that lags: null too.
    b.readLagBlocks = 1;
    expect(call(b, 'eth_getTransactionReceipt', [first.transactionHash])).toBeNull();
    // A reorg dropped it: null.
    a.forkAt(1, 2);
    expect(call(a, 'eth_getTransactionReceipt', [first.transactionHash])).toBeNull();
    expect(call(a, 'eth_getTransactionByHash', [`0x${'ab'.repeat(32)}`])).toBeNull();
    expect(errorOf(a, 'eth_getTransactionReceipt', ['0x1234']).code).toBe(-32602);
  });

  it("'pending' is the block after the head with no hash yet; 'safe' and 'finalized' are 32 and 64 blocks down (anvil's epochs), not below the genesis", () => {
    const chain = new FakeChain({ genesis: 100 });
    const node = new FakeNode({ chain, head: 100 });
    node.advance(70);
    expect(call(node, 'eth_getBlockByNumber', ['pending', false])).toMatchObject({ number: hex(171), hash: null, parentHash: node.block(170).hash, transactions: [] });
    expect(call(node, 'eth_getBlockByNumber', ['safe', false]).number).toBe(hex(138));
    expect(call(node, 'eth_getBlockByNumber', ['finalized', false]).number).toBe(hex(106));
    node.forkAt(60, 0);
    expect(call(node, 'eth_getBlockByNumber', ['finalized', false]).number).toBe(hex(100));
  });

  it('a read backend that lags (readLagBlocks) still has the genesis block, however large the lag', () => {
    const node = new FakeNode({ chain: new FakeChain({ genesis: 100 }), head: 100 });
    node.advance(1);
    node.readLagBlocks = 5;
    expect(call(node, 'eth_getBlockByNumber', [hex(101), false])).toBeNull();
    expect(call(node, 'eth_getBlockByNumber', [hex(100), false])).toMatchObject({ number: hex(100), hash: node.block(100).hash });
    expect(call(node, 'eth_getBlockByNumber', ['latest', false]).number).toBe(hex(100));
  });

  it('malformed params are -32602, as geth and anvil answer them', () => {
    const node = new FakeNode({ head: 10 });
    expect(errorOf(node, 'eth_getBlockByNumber', ['bogus', false]).code).toBe(-32602);
    expect(errorOf(node, 'eth_getBlockByNumber', ['0x5']).code).toBe(-32602);
    expect(errorOf(node, 'eth_getBlockByHash', ['0x1234', false]).code).toBe(-32602);
    expect(errorOf(node, 'eth_getBlockByHash', [fakeBlockHash(5)]).code).toBe(-32602);
    expect(errorOf(node, 'eth_getLogs', []).code).toBe(-32602);
    expect(errorOf(node, 'eth_getLogs', [{ fromBlock: 'soon' }]).code).toBe(-32602);
    expect(errorOf(node, 'eth_getLogs', [{ blockHash: fakeBlockHash(5), fromBlock: '0x1' }]).code).toBe(-32602);
    // 0X5, a leading zero and a JSON number are still block 5, as anvil reads them.
    for (const tag of ['0X5', '0x05', 5]) expect(call(node, 'eth_getBlockByNumber', [tag, false]).number).toBe('0x5');
  });

  it("a range above the head is geth's error, which steadyrpc reads as 'ask a node that has it'", () => {
    const node = new FakeNode({ head: 10 });
    const logs = errorOf(node, 'eth_getLogs', [{ fromBlock: '0xb', toBlock: '0xc' }]);
    expect(logs).toEqual({ code: -32602, message: 'block range extends beyond current head block' });
    expect(classifyNodeError(logs, 'eth_getLogs')).toBe('retry');
    expect(call(node, 'eth_getLogs', [{ fromBlock: '0xa', toBlock: '0xc' }])).toEqual([]); // toBlock clamped, as anvil does
    const fees = errorOf(node, 'eth_feeHistory', ['0x3', '0x64', []]);
    expect(fees).toEqual({ code: -32000, message: 'request beyond head block: requested 100, head 10' });
    expect(classifyNodeError(fees, 'eth_feeHistory')).toBe('retry');
    expect(call(node, 'eth_feeHistory', ['0x0', 'latest', []])).toEqual({ oldestBlock: '0x0', gasUsedRatio: null });
    // Only `pending` reaches the block after the head; that block by number is beyond it (geth's resolveBlockRange).
    expect(call(node, 'eth_feeHistory', ['0x1', 'pending', []]).oldestBlock).toBe('0xb');
    expect(errorOf(node, 'eth_feeHistory', ['0x1', '0xb', []]).message).toBe('request beyond head block: requested 11, head 10');
  });

  it('without a chain, reorg() replaces every block: the transactions of the old ones are gone with them', () => {
    const node = new FakeNode({ head: 100 });
    node.advance(1).emitLog();
    const [log] = node.logs as [FakeLog];
    expect(call(node, 'eth_getTransactionReceipt', [log.transactionHash])).toMatchObject({ blockHash: log.blockHash });
    node.reorg();
    expect(call(node, 'eth_getBlockByHash', [log.blockHash, false])).toBeNull();
    expect(call(node, 'eth_getTransactionReceipt', [log.transactionHash])).toBeNull();
    expect(call(node, 'eth_getBlockByNumber', ['0x65', false]).transactions).toEqual([]);
    expect(call(node, 'eth_getLogs', [{ fromBlock: '0x65' }])).toEqual([]);
  });

  it("transaction hashes differ from every block hash and from each other where steadyrpc compares hashes (first 8 and last 5 hex digits)", () => {
    const chain = new FakeChain({ genesis: 100 });
    const a = new FakeNode({ chain, head: 100 });
    const b = new FakeNode({ chain, head: 100 });
    a.advance(3, {}).emitLog().emitLog();
    a.advance(1).emitLog();
    b.advance(2).forkAt(0, 2, { logs: 2 });
    const digest = (hash: string) => `${hash.slice(2, 10)}:${hash.slice(-5)}`;
    const hashes = [...a.logs, ...b.logs].flatMap((log) => [log.transactionHash, log.blockHash]);
    const txs = new Set([...a.logs, ...b.logs].map((log) => log.transactionHash));
    const blocks = new Set([...a.logs, ...b.logs].map((log) => log.blockHash));
    expect(new Set([...txs].map(digest)).size).toBe(txs.size);
    expect([...txs].some((tx) => [...blocks].some((block) => digest(block) === digest(tx)))).toBe(false);
    expect(hashes.length).toBeGreaterThan(10);
  });
});
