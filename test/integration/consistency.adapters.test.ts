/**
 * Invariant 11 through the adapters, with real client libraries on real nodes: two SharedChain
 * nodes, `b` forked on its last 2 blocks, `a` (preferred) cut while a logs watcher runs. Each
 * library must see the switch as it sees a node's reorg, by its own definition of `removed` logs:
 *
 * - viem (`watchEvent({ poll: false })` over `resilientTransport`): the subscription path passes
 *   every log through `formatLog` (`...log`) to `onLogs`, so the retracted logs reach `onLogs` with
 *   `removed: true` (node_modules/viem/_esm/actions/public/watchEvent.js).
 * - ethers v6 (`provider.on({ address, topics }, listener)` on `ResilientProvider`): `emit()` sends a
 *   log with `removed === true` NOT to the filter's listeners but to the orphan event
 *   `{ orphan: 'drop-log', log }` (`#hasSub` in lib.esm/providers/abstract-provider.js), matched by
 *   the tag of that object (the log's `toJSON()`, keys sorted). So the filter listener sees only
 *   live logs (a's, then b's at the same heights), and a listener on the orphan event of each
 *   retracted log hears it exactly once.
 * - EIP-1193 (`createEip1193Provider`): `message` events carry the notifications as the node would,
 *   the retractions with `removed: true`.
 *
 * Real time, every wait bounded. Key figures are printed (console.log) for quoting.
 */
import { Network, type Log as EthersLog } from 'ethers';
import { createPublicClient, type Log as ViemLog, type PublicClient } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { createEip1193Provider, type Eip1193Provider } from '../../src/index.js';
import { ResilientProvider } from '../../src/ethers.js';
import { resilientTransport, type ResilientTransport } from '../../src/viem.js';
import { blockOf, chainNodes, FAST_HEALTH, headViolations, isForkLog, logKey, logsOf, logViolations, num, sleep, until, type Head, type Log } from './helpers/consistency.js';
import { LOG_TOPIC, SharedChain } from './helpers/sharedChain.js';

let chain: SharedChain | undefined;
const cleanups: Array<() => void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await chain?.stop();
  chain = undefined;
});

/** Mines 2..6 (2 logs each) on both nodes and waits until the client has `seen()` their 10 logs. */
async function mineShared(c: SharedChain, seen: () => number): Promise<void> {
  for (let i = 0; i < 5; i++) await c.mine({ logs: 2 });
  await until('10 logs from a', () => seen() >= 10, 5_000);
}

/**
 * Forks b on 5..6; cuts a; waits until the client has `forkLogs()` of b's branch; then mines 7 on
 * b's branch and waits until `seen()` counts its log. Returns what the client must have got, read
 * straight from the nodes.
 */
async function forkAndCut(c: SharedChain, seen: () => number, forkLogs: () => number) {
  await c.fork('b', 2, { blocks: 2, logs: 2 });
  const orphaned = await logsOf(c, 'a', 5, 6);
  const branch = await logsOf(c, 'b', 5, 6);
  const cutAt = Date.now();
  await c.nodes.a!.proxy.cut();
  await until("b's 4 branch logs", () => forkLogs() >= 4, 10_000);
  await c.fork('b', 0, { blocks: 1, logs: 1 });
  const seven = await blockOf(c, 'b', 7);
  await until('the log of block 7', () => seen() >= 10 + 4 + 1, 5_000);
  await sleep(200);
  return { orphaned, branch, seven, cutAt };
}

async function forkAtSwitch(c: SharedChain, seen: () => number, forkLogs: () => number) {
  await mineShared(c, seen);
  return forkAndCut(c, seen, forkLogs);
}

describe('adapters see a switch onto a fork as their library sees a reorg', { timeout: 30_000 }, () => {
  it('viem watchEvent({ poll: false }): onLogs gets the orphaned logs again with removed: true, then the new branch', async () => {
    const c = (chain = await SharedChain.start());
    const client: PublicClient<ResilientTransport> = createPublicClient({ transport: resilientTransport({ nodes: chainNodes(c), health: FAST_HEALTH }) });
    cleanups.push(() => client.transport.close());
    const got: Array<ViemLog & { at: number }> = [];
    const errors: unknown[] = [];
    const unwatch = client.watchEvent({ address: c.logger, poll: false, onLogs: (batch) => got.push(...batch.map((log) => ({ ...log, at: Date.now() }))), onError: (e) => errors.push(e) });
    cleanups.push(unwatch);
    await until('the watcher subscribed on a', () => client.transport.session.stats().subscriptions === 1 && client.transport.session.node === 'a', 5_000);

    const live = () => got.filter((l) => !l.removed).length;
    const { orphaned, branch, seven, cutAt } = await forkAtSwitch(c, live, () => got.filter((l) => !l.removed && isForkLog(l)).length);

    const asLog = (l: ViemLog) => ({ blockHash: l.blockHash!, blockNumber: String(l.blockNumber), logIndex: String(l.logIndex), removed: l.removed });
    expect(logViolations(got.map(asLog))).toEqual([]);
    expect(got.slice(0, 10).every((l) => l.removed === false)).toBe(true);
    const retracted = got.slice(10, 14);
    expect(retracted.map((l) => [logKey(l), l.removed, l.data, l.blockNumber])).toEqual(orphaned.map((l) => [logKey(l), true, l.data, BigInt(l.blockNumber)]));
    expect(got.slice(14).map((l) => [logKey(l), l.removed])).toEqual([...branch.map((l) => [logKey(l), false]), [`${seven.hash}:0`, false]]);
    expect(errors).toEqual([]);
    expect(client.transport.session.stats()).toMatchObject({ reorgs: 1, retracted: 4 });
    console.log(`viem watchEvent: ${retracted.length} logs with removed: true in onLogs, the first ${retracted[0]!.at - cutAt} ms after the cut; then b's ${branch.length} logs`);
  });

  it("ethers v6 event filter: the listener sees only live logs (a's, then b's at the same heights); each retracted log is emitted as ethers' orphan 'drop-log' event, once", async () => {
    const c = (chain = await SharedChain.start());
    const provider = new ResilientProvider({ nodes: chainNodes(c), health: FAST_HEALTH }, Network.from(31337), { cacheTimeout: -1 });
    cleanups.push(() => provider.destroy());
    const filterLogs: EthersLog[] = [];
    const errors: unknown[] = [];
    await provider.on('error', (e: unknown) => errors.push(e));
    await provider.on({ address: c.logger, topics: [LOG_TOPIC] }, (log: EthersLog) => filterLogs.push(log));
    // What reached ethers from the session, before ethers routed it.
    const raw: Log[] = [];
    provider.session.on('message', (text) => {
      const frame = JSON.parse(text) as { method?: string; params?: { result: Log } };
      if (frame.method === 'eth_subscription') raw.push(frame.params!.result);
    });
    await until('the filter subscribed on a', () => provider.session.stats().subscriptions === 1 && provider.session.node === 'a', 5_000);

    await mineShared(c, () => raw.filter((l) => !l.removed).length);
    await until('the filter listener has the 10 logs', () => filterLogs.length === 10, 5_000);

    // One orphan listener per delivered log of blocks 5 and 6, tagged as ethers tags the orphan event it emits.
    const orphanEvents: Array<{ key: string; removed: boolean; at: number }> = [];
    const removedEventFired: string[] = [];
    for (const log of filterLogs.filter((l) => l.blockNumber >= 5)) {
      await provider.on({ orphan: 'drop-log', log: { ...log.toJSON(), removed: true } } as never, (dropped: EthersLog) =>
        orphanEvents.push({ key: logKey({ blockHash: dropped.blockHash, logIndex: dropped.index }), removed: dropped.removed, at: Date.now() }),
      );
      // ethers' own helper builds a differently shaped filter (no _type/removed/transactionIndex): recorded, not asserted.
      const key = logKey({ blockHash: log.blockHash, logIndex: log.index });
      await provider.on(log.removedEvent() as never, () => removedEventFired.push(key));
    }
    const { orphaned, branch, seven, cutAt } = await forkAndCut(
      c,
      () => raw.filter((l) => !l.removed).length,
      () => filterLogs.filter((l) => isForkLog(l)).length,
    );

    expect(filterLogs.every((l) => l.removed === false)).toBe(true);
    expect(filterLogs.map((l) => logKey({ blockHash: l.blockHash, logIndex: l.index }))).toEqual([
      ...(await logsOf(c, 'a', 2, 4)).map(logKey),
      ...orphaned.map(logKey),
      ...branch.map(logKey),
      `${seven.hash}:0`,
    ]);
    expect(raw.filter((l) => l.removed === true).map(logKey)).toEqual(orphaned.map(logKey));
    expect(orphanEvents.map((e) => [e.key, e.removed])).toEqual(orphaned.map((l) => [logKey(l), true]));
    expect(errors).toEqual([]);
    console.log(`ethers v6 event filter: listener got ${filterLogs.length} live logs, none removed; ${orphanEvents.length} orphan 'drop-log' events, the first ${(orphanEvents[0]?.at ?? NaN) - cutAt} ms after the cut; log.removedEvent() listeners fired ${removedEventFired.length} times`);
  });

  it('EIP-1193 message events: the orphaned logs come again with removed: true, then the new branch; newHeads re-emitted from the ancestor', async () => {
    const c = (chain = await SharedChain.start());
    const provider: Eip1193Provider = createEip1193Provider({ nodes: chainNodes(c), health: FAST_HEALTH });
    cleanups.push(() => provider.close());
    const messages: Array<{ subscription: string; result: any; at: number }> = [];
    provider.on('message', ({ data }) => messages.push({ ...data, at: Date.now() }));
    const headsId = await provider.request<string>({ method: 'eth_subscribe', params: ['newHeads'] });
    const logsId = await provider.request<string>({ method: 'eth_subscribe', params: ['logs', { address: c.logger }] });
    expect(provider.session.node).toBe('a');
    const logs = () => messages.filter((m) => m.subscription === logsId).map((m) => m.result as Log);
    const heads = () => messages.filter((m) => m.subscription === headsId).map((m) => m.result as Head);

    const { orphaned, branch, seven, cutAt } = await forkAtSwitch(c, () => logs().filter((l) => !l.removed).length, () => logs().filter(isForkLog).length);
    const bHeads = await Promise.all([5, 6].map((n) => blockOf(c, 'b', n)));

    expect(logViolations(logs())).toEqual([]);
    expect(logs().slice(10, 14).map((l) => [logKey(l), l.removed])).toEqual(orphaned.map((l) => [logKey(l), true]));
    expect(logs().slice(14).map((l) => [logKey(l), l.removed])).toEqual([...branch.map((l) => [logKey(l), false]), [`${seven.hash}:0`, false]]);
    expect(heads().map((h) => num(h.number))).toEqual([2, 3, 4, 5, 6, 5, 6, 7]);
    expect(heads().slice(5).map((h) => h.hash)).toEqual([...bHeads.map((h) => h.hash), seven.hash]);
    expect(heads()[5]!.parentHash).toBe(c.canonical(4).hash);
    expect(headViolations(heads())).toEqual([]);
    const firstRetraction = messages.find((m) => m.result.removed === true)!;
    console.log(`EIP-1193: first removed log ${firstRetraction.at - cutAt} ms after the cut; ${logs().filter((l) => l.removed).length} retracted, heads ${heads().map((h) => num(h.number)).join(',')}`);
  });
});
