/**
 * Shared by the adapter integration tests (test/integration/adapters.*.test.ts): node settings
 * over the two-anvil cluster, and the "cut the primary for 5 s, then restore it" scenario with its
 * measurements. Real time, every wait bounded.
 */
import type { HealthCheckerOptions, NodeConfig } from '../../src/index.js';
import type { Cluster } from '../integration/helpers/cluster.js';
import { DEV_ACCOUNT } from '../integration/helpers/cluster.js';

export { DEV_ACCOUNT };

/** Fast health rounds, so a cut primary is marked down within ~1 s and back within ~0.5 s. */
export const FAST_HEALTH: HealthCheckerOptions = Object.freeze({ intervalMs: 250, timeoutMs: 500 });

export const CUT_MS = 5_000;

/** `a` then `b`, in preference order, through their fault proxies. */
export function clusterNodes(cluster: Cluster): NodeConfig[] {
  return [
    { name: 'a', http: cluster.a.proxy.httpUrl, ws: cluster.a.proxy.wsUrl },
    { name: 'b', http: cluster.b.proxy.httpUrl, ws: cluster.b.proxy.wsUrl },
  ];
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Rejects if `promise` has not settled within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

let nextId = 1;

/** A plain JSON-RPC call over HTTP, for driving a node directly (not through steadyrpc). */
export async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
    signal: AbortSignal.timeout(3_000),
  });
  const body = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** The topic of `event Ping()` (keccak256 of "Ping()"). */
/** anvil's second dev account: sends the test transactions, so {@link DEV_ACCOUNT}'s balance never moves. */
export const SENDER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

export const LOG_TOPIC = '0xca6e822df923f741dfe968d15d80a18abd25bd1e748bcb9ad81fea5bbb7386af';

/**
 * Sends a contract creation whose init code emits one log (`LOG1` with {@link LOG_TOPIC}, no data)
 * straight to a node; it is mined in the node's next block.
 */
export async function emitLog(url: string): Promise<string> {
  // PUSH32 topic, PUSH1 0 (size), PUSH1 0 (offset), LOG1, STOP
  const data = `0x7f${LOG_TOPIC.slice(2)}60006000a100`;
  return (await rpc(url, 'eth_sendTransaction', [{ from: SENDER, data, gas: '0x186a0' }])) as string;
}

export interface BlockEvent {
  at: number;
  number: number;
}

export interface CutReport {
  /** Balances answered for calls made while the primary was cut. */
  balancesDuringCut: bigint[];
  /** Block numbers delivered between cut and restore. */
  blocksDuringCut: number[];
  /** From restore to the first balance call that answered the primary's balance, in ms. */
  failbackMs: number;
  /** Block numbers delivered from restore until the end of the scenario (failback, then 2 more blocks). */
  blocksAfterRestore: number[];
  /** Every balance call made during the cut, settled (or the scenario fails). */
  settledDuringCut: PromiseSettledResult<bigint>[];
}

/**
 * Cuts the primary (`a`) for {@link CUT_MS}, calling `getBalance` every 250 ms meanwhile without
 * waiting for answers; restores it and calls `getBalance` until it answers `a`'s balance; then waits
 * for two more block events. `blockEvents` is the list the test pushes `{ at: Date.now(), number }`
 * onto per block event.
 */
export async function cutAndRestore(options: {
  cluster: Cluster;
  getBalance: () => Promise<bigint>;
  blockEvents: BlockEvent[];
  /** Runs once, 1 s into the cut (e.g. emitting a log on the backup). */
  duringCut?: () => Promise<void>;
}): Promise<CutReport> {
  const { cluster, getBalance, blockEvents, duringCut } = options;
  const cutAt = Date.now();
  await cluster.a.proxy.cut();
  const calls: Array<Promise<bigint>> = [];
  const balancesDuringCut: bigint[] = [];
  let ranDuringCut = false;
  while (Date.now() - cutAt < CUT_MS) {
    const call = getBalance();
    calls.push(call);
    call.then((balance) => balancesDuringCut.push(balance), () => {});
    if (!ranDuringCut && duringCut && Date.now() - cutAt >= 1_000) {
      ranDuringCut = true;
      await duringCut();
    }
    await sleep(250);
  }
  await cluster.a.proxy.restore();
  const restoredAt = Date.now();
  const settledDuringCut = await within(Promise.allSettled(calls), 5_000, 'the balance calls made during the cut');
  const failbackMs = await waitFor(
    'a balance answered by the primary after restore',
    async () => ((await getBalance()) === cluster.a.anvil.balanceWei ? Date.now() - restoredAt : undefined),
    10_000,
  );
  const seen = blockEvents.length;
  await waitFor('two blocks after failback', () => blockEvents.length >= seen + 2, 5_000);
  return {
    balancesDuringCut,
    blocksDuringCut: blockEvents.filter(({ at }) => at >= cutAt && at < restoredAt).map(({ number }) => number),
    failbackMs,
    blocksAfterRestore: blockEvents.filter(({ at }) => at >= restoredAt).map(({ number }) => number),
    settledDuringCut,
  };
}

/** One line for the test log: what the library delivered, and how fast it came back. */
export function describeReport(library: string, report: CutReport): string {
  return (
    `${library}: ${report.blocksDuringCut.length} blocks during the ${CUT_MS / 1000} s cut [${report.blocksDuringCut.join(', ')}], ` +
    `${report.blocksAfterRestore.length} after restore [${report.blocksAfterRestore.join(', ')}], failback ${report.failbackMs} ms ` +
    `(restore → first balance from the primary), ${report.settledDuringCut.length} balance calls during the cut, all settled`
  );
}
