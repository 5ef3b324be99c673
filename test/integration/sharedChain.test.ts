/**
 * Self-test of the SharedChain harness: real anvil nodes with byte-identical history that lag, fork
 * and rejoin on demand. Also records what anvil itself sends to subscribers when a node forks.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOG_TOPIC, rpc, SharedChain, TICKS } from './helpers/sharedChain.js';
import { WsClient } from './helpers/wsClient.js';

interface Log {
  blockHash: string;
  blockNumber: string;
  transactionHash: string;
  data: string;
  topics: string[];
  removed?: boolean;
}

let chain: SharedChain;
const sockets: WsClient[] = [];

beforeEach(async () => {
  chain = await SharedChain.start();
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.close();
  await chain?.stop();
});

const url = (name: string) => chain.nodes[name]!.anvil.httpUrl;
const hashAt = async (name: string, number: number) =>
  (await rpc<{ hash: string } | null>(url(name), 'eth_getBlockByNumber', [`0x${number.toString(16)}`, false]))?.hash;
const hashes = (name: string, upTo: number) => Promise.all(Array.from({ length: upTo + 1 }, (_, n) => hashAt(name, n)));
const logsOf = (name: string, filter: object) => rpc<Log[]>(url(name), 'eth_getLogs', [{ address: chain.logger, ...filter }]);

describe('SharedChain', () => {
  it('mines byte-identical blocks on every node, the logger deployed in block 1', async () => {
    expect(await chain.head('a')).toEqual(chain.canonical(1));
    for (let i = 0; i < 3; i++) await chain.mine();
    const head = await chain.mine();
    expect(head.number).toBe(5);
    expect(await chain.head('a')).toEqual(head);
    expect(await chain.head('b')).toEqual(head);
    expect(await hashes('b', 5)).toEqual(await hashes('a', 5));
    expect(await rpc(url('b'), 'eth_getCode', [chain.logger, 'latest'])).toMatch(/^0x[0-9a-f]{20}$/);
  });

  it('lag then catchUp (partial, then full) replays the very same blocks', async () => {
    await chain.mine();
    chain.lag('b');
    for (let i = 0; i < 4; i++) await chain.mine({ logs: 1 });
    expect((await chain.head('a')).number).toBe(6);
    expect(await chain.head('b')).toEqual(chain.canonical(2));

    await chain.catchUp('b', 4);
    expect(await chain.head('b')).toEqual(chain.canonical(4));
    await chain.mine(); // b still lags
    expect(await chain.head('b')).toEqual(chain.canonical(4));

    await chain.catchUp('b');
    expect(await chain.head('b')).toEqual(chain.canonical(7));
    expect(await hashes('b', 7)).toEqual(await hashes('a', 7));
    const head = await chain.mine(); // in sync again
    expect(await chain.head('b')).toEqual(head);
  });

  it('fork diverges above the common ancestor only; mine() skips the forked node; rejoin makes them identical', async () => {
    for (let i = 0; i < 4; i++) await chain.mine({ logs: 1 }); // head 5
    await chain.fork('b', 2, { blocks: 3, logs: 2 }); // b: 1..3 canonical, 4'..6' its own
    const b = await chain.head('b');
    expect(b.number).toBe(6);
    for (let n = 0; n <= 3; n++) expect(await hashAt('b', n)).toBe(chain.canonical(n).hash);
    for (let n = 4; n <= 5; n++) expect(await hashAt('b', n)).not.toBe(chain.canonical(n).hash);
    const forkLogs = await logsOf('b', { fromBlock: '0x4', toBlock: '0x6' });
    expect(forkLogs).toHaveLength(6);
    expect(forkLogs.every((log) => BigInt(log.data) >> 255n === 1n)).toBe(true); // tagged fork data

    const canonicalHead = await chain.mine();
    expect(canonicalHead.number).toBe(6);
    expect(canonicalHead.hash).not.toBe(b.hash);
    expect(await chain.head('b')).toEqual(b); // untouched

    await chain.rejoin('b');
    expect(await chain.head('b')).toEqual(canonicalHead);
    expect(await hashes('b', 6)).toEqual(await hashes('a', 6));
    expect(await logsOf('b', { fromBlock: '0x0', toBlock: 'latest' })).toEqual(await logsOf('a', { fromBlock: '0x0', toBlock: 'latest' }));
    expect(await chain.mine()).toEqual(await chain.head('b'));
  });

  it('three nodes: a lagging node forks, refuses catchUp, and rejoins; concurrent calls are serialized', async () => {
    await chain.stop();
    chain = await SharedChain.start({ names: ['a', 'b', 'c'] });
    await chain.mine();
    chain.lag('c'); // c at 2
    const mined = await Promise.all([chain.mine(), chain.mine({ logs: 2 }), chain.mine()]);
    expect(mined.map((b) => b.number)).toEqual([3, 4, 5]);
    await chain.fork('c', 1, { blocks: 2, logs: 1 }); // c: 1 canonical, then 2', 3'
    expect((await chain.head('c')).number).toBe(3);
    expect(await hashAt('c', 1)).toBe(chain.canonical(1).hash);
    expect(await hashAt('c', 2)).not.toBe(chain.canonical(2).hash);
    await expect(chain.catchUp('c')).rejects.toThrow(/forked/);
    await chain.mine();
    await chain.rejoin('c');
    expect(await hashes('c', 6)).toEqual(await hashes('a', 6));
    expect(await hashes('b', 6)).toEqual(await hashes('a', 6));
    expect(await chain.mine()).toEqual(await chain.head('c'));
  });

  it('with ticks, the balance of TICKS at a block is its number, on a fork branch too; headChanges records every move of a head', async () => {
    await chain.stop();
    chain = await SharedChain.start({ ticks: true });
    const ticksAt = async (name: string, at: string) => Number(await rpc<string>(url(name), 'eth_getBalance', [TICKS, at]));
    for (let i = 0; i < 3; i++) await chain.mine({ logs: i }); // 4
    expect(await ticksAt('a', 'latest')).toBe(4);
    expect(await ticksAt('b', '0x2')).toBe(2);
    await chain.fork('b', 2, { blocks: 1, logs: 1 }); // b: 3' on top of 2, its own txs
    expect(await ticksAt('b', 'latest')).toBe(3);
    await chain.fork('b', 0, { blocks: 2 }); // b: 4', 5'
    await chain.mine(); // the canonical 5, on a
    await chain.rejoin('b');
    expect(await ticksAt('a', 'latest')).toBe(5);
    expect(await ticksAt('b', 'latest')).toBe(5);
    expect(await ticksAt('b', '0x3')).toBe(3);
    // b went 4 → 2 (rollback) → 3' 4' 5' → 2 (rejoin's rollback) → 3 4 5.
    const moves = chain.headChanges.filter((c) => c.node === 'b').map((c) => c.head);
    expect(moves).toEqual([0, 1, 2, 3, 4, 2, 3, 4, 5, 2, 3, 4, 5]);
    expect(chain.headChanges.every((c) => c.from <= c.to)).toBe(true);
  });

  it('logs of canonical blocks are the same on every node (blockHash, tx, distinct data)', async () => {
    const block = await chain.mine({ logs: 3 });
    const [a, b] = await Promise.all([logsOf('a', { blockHash: block.hash }), logsOf('b', { blockHash: block.hash })]);
    expect(a).toHaveLength(3);
    expect(b).toEqual(a);
    expect(a.every((log) => log.blockHash === block.hash && log.topics[0] === LOG_TOPIC && log.removed === false)).toBe(true);
    expect(new Set(a.map((log) => log.data)).size).toBe(3);
  });

  it('records what anvil sends to subscribers (through the FaultProxy) on fork and rejoin: new heads, no removed logs', async () => {
    for (let i = 0; i < 2; i++) await chain.mine(); // head 3
    const ws = await WsClient.connect(chain.nodes.b!.proxy.wsUrl);
    sockets.push(ws);
    const heads = (await ws.call('eth_subscribe', ['newHeads'])).result as string;
    const logs = (await ws.call('eth_subscribe', ['logs', { address: chain.logger }])).result as string;
    const seenHeads = () => ws.notifications(heads).map((n) => n.frame.params!.result as { number: string; hash: string; parentHash: string });
    const seenLogs = () => ws.notifications(logs).map((n) => n.frame.params!.result as Log);
    const waitForHead = (hash: string) => ws.waitFor(`head ${hash}`, () => seenHeads().some((h) => h.hash === hash), 5_000);

    await chain.mine({ logs: 1 }); // 4
    const five = await chain.mine({ logs: 1 }); // 5
    await waitForHead(five.hash);
    // The head may come before its block's log (a busy machine): both logs in before counting.
    await ws.waitFor('the logs of 4 and 5', () => seenLogs().length >= 2, 5_000);
    const before = { heads: seenHeads().length, logs: seenLogs().length };

    await chain.fork('b', 2, { blocks: 3, logs: 1 }); // b: 4', 5', 6' on top of 3
    const forkHead = await chain.head('b');
    await waitForHead(forkHead.hash);
    await ws.waitFor('3 fork logs', () => seenLogs().length >= before.logs + 3, 5_000);
    const forkHeads = seenHeads().slice(before.heads);
    // anvil re-emits the new branch from the fork point, each head linked to its parent ...
    expect(forkHeads.map((h) => Number(h.number))).toEqual([4, 5, 6]);
    expect(forkHeads[0]!.parentHash).toBe(chain.canonical(3).hash);
    for (let i = 1; i < forkHeads.length; i++) expect(forkHeads[i]!.parentHash).toBe(forkHeads[i - 1]!.hash);
    // ... and sends the new branch's logs, but nothing for the dropped blocks 4 and 5.
    const forkLogs = seenLogs().slice(before.logs);
    expect(forkLogs.map((log) => Number(log.blockNumber))).toEqual([4, 5, 6]);
    expect(forkLogs.map((log) => log.blockHash)).toEqual(forkHeads.map((h) => h.hash));

    const six = await chain.mine({ logs: 1 }); // canonical 6 on a only
    const mid = { heads: seenHeads().length, logs: seenLogs().length };
    await chain.rejoin('b'); // b: back to 3, replays canonical 4, 5, 6
    await waitForHead(six.hash);
    await ws.waitFor('3 rejoin logs', () => seenLogs().length >= mid.logs + 3, 5_000);
    expect(seenHeads().slice(mid.heads).map((h) => h.hash)).toEqual([4, 5, 6].map((n) => chain.canonical(n).hash));
    expect(seenLogs().slice(mid.logs).map((log) => log.blockHash)).toEqual([4, 5, 6].map((n) => chain.canonical(n).hash));

    // Give any late frame a moment, then: not one `removed: true` log, on fork or on rejoin.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seenLogs().filter((log) => log.removed !== false)).toEqual([]);
    expect(seenLogs()).toHaveLength(2 + 3 + 3);
  });
});
