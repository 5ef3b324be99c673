/**
 * The fault scenario both adapter pages go through in the browser: the primary (`a`) is cut for
 * 5 s, restored, then blackholed (a zombie: the connection stays open and goes silent) for 5 s and
 * restored, while the page calls `getBalance` every 250 ms and watches blocks. Everything is
 * measured from the page's own report; every wait is bounded.
 *
 * The blackhole holds bytes (a partition under TCP: they flow on at restore) rather than dropping
 * them. A blackhole that drops them leaves the node unreachable from the page after it recovers,
 * whatever steadyrpc does: the health probes are cross-origin POSTs with a JSON body, so Chromium
 * sends a CORS preflight once its preflight cache (5 s when the node sends no
 * `Access-Control-Max-Age`, as anvil does) has expired, an aborted fetch does not cancel its
 * preflight, and the preflights that never get an answer keep all six of the origin's HTTP/1.1
 * connections busy until the server closes them (observed with Chromium 153; see
 * docs/guides/browser.md).
 */
import type { Cluster } from '../../integration/helpers/cluster.js';
import { sleep, waitFor } from '../../adapters/realNodes.js';
import type { CallRecord, PageSnapshot } from '../pages/pageKit.js';
import type { TestPage } from './chromium.js';

export const FAULT_MS = 5_000;
export const CALL_INTERVAL_MS = 250;

export type Fault = 'cut' | 'blackhole';

export interface PhaseReport {
  fault: Fault;
  /** Block numbers the page saw while `a` was faulty (a switch re-emits heads, as a reorg does). */
  blocksDuring: number[];
  /** Of those, how many were higher than any the page had seen before: new blocks. */
  newBlocksDuring: number;
  /** From the fault to the session's switch away from `a`, in ms. */
  leftMs: number | undefined;
  /** From restore to the session's switch back to `a`, in ms. */
  failbackMs: number;
  /** How the session came back to `a`. */
  failbackReason: string;
  /** Calls made while `a` was faulty, and how many of them `b` answered. */
  callsDuring: number;
  answeredByB: number;
  /** Block numbers seen from the failback to the end of the phase (two more at least). */
  blocksAfter: number[];
}

export interface ScenarioReport {
  phases: PhaseReport[];
  calls: CallRecord[];
  snapshot: PageSnapshot;
}

/** Waits for the first block on `a`, runs a cut then a blackhole of `a`, and settles every call. */
export async function runFaultScenario(page: TestPage, cluster: Cluster): Promise<ScenarioReport> {
  const openedAt = Date.now();
  await waitForPage(page, openedAt, 'the first block in the page', async () => (await page.snapshot()).ready, 10_000);
  const balanceOf = { a: cluster.a.anvil.balanceWei.toString(), b: cluster.b.anvil.balanceWei.toString() };
  await page.page.evaluate((ms) => window.steadyPage!.startCalls(ms), CALL_INTERVAL_MS);
  const phases: PhaseReport[] = [];
  for (const fault of ['cut', 'blackhole'] as const) phases.push(await phase(page, cluster, fault, balanceOf));
  await page.page.evaluate(() => window.steadyPage!.stopCalls());
  const snapshot = await waitForPage(
    page,
    openedAt,
    'every call the page made to be answered',
    async () => {
      const s = await page.snapshot();
      return s.calls.every((call) => call.settledAt !== undefined) && s;
    },
    10_000,
  );
  return { phases, calls: snapshot.calls, snapshot };
}

/** What the page looks like now, for a failed wait's message. */
export async function describePage(page: TestPage, since: number): Promise<string> {
  const s = await page.snapshot();
  // A plain fetch from the page to each node, outside steadyrpc: can the browser reach it now?
  const reach = await page.page.evaluate(
    (nodes) =>
      Promise.all(
        nodes.map(async ({ name, http }) => {
          const started = Date.now();
          try {
            const response = await fetch(http, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}', signal: AbortSignal.timeout(1_000) });
            return `${name} ${response.status} ${(await response.text()).slice(0, 50)} in ${Date.now() - started} ms`;
          } catch (error) {
            return `${name} ${String(error)} after ${Date.now() - started} ms`;
          }
        }),
      ),
    page.config.nodes.map(({ name, http }) => ({ name, http: http as string })),
  );
  const rel = (at: number) => `+${at - since}ms`;
  return [
    `node ${s.node}, state ${s.state}, onLine ${s.onLine}, ${s.blocks.length} blocks (last ${s.blocks.at(-1)?.number} at ${s.blocks.at(-1) ? rel(s.blocks.at(-1)!.at) : '-'})`,
    `a plain fetch from the page now: ${reach.join('; ')}; from node: ${await fromNode(page.config.nodes[0]!.http as string)}`,
    `pool prefers ${s.pool.preferred}: ${s.pool.nodes.map((n) => `${n.name} ${n.status} head ${n.head}${n.lastError ? ` (${n.lastError})` : ''}`).join(', ')}`,
    `probes of a: ${s.probes.filter((e) => e.at >= since && e.name === 'a').map((e) => `${rel(e.at)} ${e.status} ${e.ok ? `ok ${e.head}` : e.error}`).join('; ')}`,
    `pool switches: ${s.poolSwitches.filter((e) => e.at >= since).map((e) => `${rel(e.at)} ${e.from}→${e.to} (${e.reason})`).join('; ')}`,
    `switches: ${s.switches.filter((e) => e.at >= since).map((e) => `${rel(e.at)} ${e.from}→${e.to} (${e.reason})`).join('; ')}`,
    `reconnecting: ${s.reconnecting.filter((e) => e.at >= since).map((e) => `${rel(e.at)} #${e.attempt} ${e.delayMs}ms`).join('; ')}`,
    `upstream closes: ${s.upstreamCloses.filter((e) => e.at >= since).map((e) => `${rel(e.at)} ${e.node} ${e.code}`).join('; ')}`,
    `sockets: ${s.sockets.filter((e) => e.at >= since).map((e) => `${rel(e.at)} ${e.url}`).join('; ')}`,
    `calls: ${s.calls.filter((c) => c.at >= since).map((c) => `${rel(c.at)}→${c.settledAt === undefined ? 'pending' : (c.value ?? c.error)}`).join('; ')}`,
    `session errors: ${s.sessionErrors.filter((e) => e.at >= since).map((e) => `${rel(e.at)} ${e.code} ${e.message}`).join('; ')}`,
    `page errors: ${s.errors.join('; ')}; browser: ${page.errors().join('; ')}`,
  ].join('\n');
}

async function fromNode(url: string): Promise<string> {
  try {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}', signal: AbortSignal.timeout(1_000) });
    return `${response.status} ${await response.text()}`;
  } catch (error) {
    return String(error);
  }
}

/** `waitFor`, with what the page looks like in the error when it times out. */
export async function waitForPage<T>(page: TestPage, since: number, what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  try {
    return await waitFor(what, probe, timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await describePage(page, since)}`);
  }
}

async function phase(page: TestPage, cluster: Cluster, fault: Fault, balanceOf: { a: string; b: string }): Promise<PhaseReport> {
  await waitForPage(page, Date.now(), `${fault}: the page on a before the fault`, async () => (await page.snapshot()).node === 'a', 10_000);
  const faultAt = Date.now();
  if (fault === 'cut') await cluster.a.proxy.cut();
  // Bytes held, not dropped: see the note at the top for why not `discard`.
  else await cluster.a.proxy.blackhole();
  await sleep(FAULT_MS);
  const restoredAt = Date.now();
  await cluster.a.proxy.restore();
  const back = await waitForPage(
    page,
    faultAt,
    `${fault}: failback: the session on a, and a call answered by a`,
    async () => {
      const s = await page.snapshot();
      const switched = s.switches.find((event) => event.at >= restoredAt && event.to === 'a');
      const answered = s.calls.some((call) => call.at > (switched?.at ?? Infinity) && call.value === balanceOf.a);
      return s.node === 'a' && switched !== undefined && answered && switched;
    },
    10_000,
  );
  const blocksBefore = (await page.snapshot()).blocks.length;
  await waitForPage(page, faultAt, `${fault}: two blocks after the failback`, async () => (await page.snapshot()).blocks.length >= blocksBefore + 2, 5_000);
  const s = await page.snapshot();
  const callsDuring = s.calls.filter((call) => call.at >= faultAt && call.at < restoredAt);
  const left = s.switches.find((event) => event.at >= faultAt && event.from === 'a');
  const blocksDuring = s.blocks.filter(({ at }) => at >= faultAt && at < restoredAt).map(({ number }) => number);
  let highest = Math.max(-1, ...s.blocks.filter(({ at }) => at < faultAt).map(({ number }) => number));
  let newBlocksDuring = 0;
  for (const number of blocksDuring) {
    if (number > highest) newBlocksDuring++;
    highest = Math.max(highest, number);
  }
  return {
    fault,
    blocksDuring,
    newBlocksDuring,
    leftMs: left && left.at - faultAt,
    failbackMs: back.at - restoredAt,
    failbackReason: back.reason,
    callsDuring: callsDuring.length,
    answeredByB: callsDuring.filter((call) => call.value === balanceOf.b).length,
    blocksAfter: s.blocks.filter(({ at }) => at >= back.at).map(({ number }) => number),
  };
}

/** One line per phase for the test log. */
export function describeScenario(library: string, report: ScenarioReport): string {
  const lines = report.phases.map(
    (p) =>
      `${library} ${p.fault} of a for ${FAULT_MS / 1000} s: left a after ${p.leftMs ?? '-'} ms, ${p.blocksDuring.length} blocks during [${p.blocksDuring.join(', ')}] (${p.newBlocksDuring} new), ` +
      `${p.answeredByB}/${p.callsDuring} calls answered by b, failback (${p.failbackReason}) ${p.failbackMs} ms after restore, ${p.blocksAfter.length} blocks after`,
  );
  const answered = report.calls.filter((call) => call.value !== undefined).length;
  lines.push(`${library}: ${answered}/${report.calls.length} calls answered, ${report.snapshot.blocks.length} blocks, ${report.snapshot.sockets.length} sockets opened, ${report.snapshot.switches.length} switches`);
  return lines.join('\n');
}
