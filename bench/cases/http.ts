/**
 * Case: the HTTP path (issue 15), against mock upstreams in their own processes.
 *
 * Two paired comparisons, 64 calls in flight, each side run in short slices taken in turn
 * (A B B A A B …) in one process, so both meet the same machine load (on a shared machine, runs
 * made seconds apart differ by 2×; slices made a few hundred ms apart do not):
 * - `pool-vs-fetch`: `pool.request()` (one node, defaults: breaker, rate limits, view) against a
 *   plain `fetch` POST to the same node, the request serialised and the answer parsed per call;
 * - `proxy-vs-direct`: a plain `fetch` to the reference proxy's `POST /` (in its own process) over
 *   the node, against the same `fetch` to the node directly.
 * And the hedging pair, against two mocks where `a` answers every 20th POST 100 ms late, 2 calls
 * in flight (latency, not saturation): `tail-plain` (no hedging) and `tail-hedged`
 * (`hedge: { percentile: 90 }`). `httpRows` turns the runs into report rows.
 */
import { Child } from '../ipc.js';
import { closedLoop, median, summarize, type LoadOptions, type LoadResult } from '../load.js';
import { MockUpstream, startMocks } from '../upstreams.js';
import { NodePool, type HedgeEvent } from 'steadyrpc';
import type { Row } from '../report.js';

export type HttpVariant = 'pool-vs-fetch' | 'proxy-vs-direct' | 'tail-plain' | 'tail-hedged';

/** One side of a paired comparison: its slices together. */
export type SideResult = LoadResult & { slices: number[] };

export type HttpMeasurement =
  | ({ variant: 'tail-plain' | 'tail-hedged'; hedges?: { won: number; lost: number } } & LoadResult)
  | {
      variant: 'pool-vs-fetch' | 'proxy-vs-direct';
      /** The path measured (pool.request(), or the proxy). */
      path: SideResult;
      /** The plain fetch to the node. */
      baseline: SideResult;
      /** path / baseline throughput, slice pair by slice pair (each pair adjacent in time). */
      pairRatios: number[];
      /** Their median: the headline ratio. */
      ratio: number;
      /** path p99 / baseline p99, over all slices. */
      p99Ratio: number;
    };

/** What every call sends: a client builds and serialises it per call, as viem's and ethers' HTTP transports do. */
const request = () => ({ jsonrpc: '2.0' as const, id: 1, method: 'eth_blockNumber', params: [] });
const SLOW_TAIL = { every: 20, delayMs: 100 };
/** Calls in flight in the hedging pair. */
const TAIL_CONCURRENCY = 2;
/** Slices per side of a paired comparison. */
const SLICES = 8;

async function plainFetch(url: string): Promise<unknown> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request()) });
  const answer = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (answer.error) throw new Error(answer.error.message);
  return answer.result;
}

/** `concurrency` calls always in flight for `ms`; the latencies of those that ended in it. */
async function slice(call: () => Promise<unknown>, concurrency: number, ms: number, into: { samples: number[]; errors: number; firstError?: string }): Promise<{ requests: number; seconds: number }> {
  const start = performance.now();
  const end = start + ms;
  let requests = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const started = performance.now();
      try {
        await call();
        into.samples.push(performance.now() - started);
        requests += 1;
      } catch (error) {
        into.errors += 1;
        into.firstError ??= error instanceof Error ? error.message : String(error);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { requests, seconds: (performance.now() - start) / 1000 };
}

/** `path` against `baseline` in alternating slices (A B B A …), `durationMs` each in all. */
async function paired(path: () => Promise<unknown>, baseline: () => Promise<unknown>, load: LoadOptions) {
  const sliceMs = load.durationMs / SLICES;
  const sides = [path, baseline].map((call) => ({ call, samples: [] as number[], errors: 0, firstError: undefined as string | undefined, slices: [] as number[], requests: 0, seconds: 0 }));
  for (const side of sides) await slice(side.call, load.concurrency, load.warmupMs / 2, { samples: [], errors: 0 });
  for (let i = 0; i < SLICES; i++) {
    for (const side of i % 2 === 0 ? sides : [...sides].reverse()) {
      const { requests, seconds } = await slice(side.call, load.concurrency, sliceMs, side);
      side.slices.push(requests / seconds);
      side.requests += requests;
      side.seconds += seconds;
    }
  }
  const [p, b] = sides.map((s): SideResult => ({ ...summarize(s.samples), requests: s.requests, errors: s.errors, firstError: s.firstError, seconds: s.seconds, reqPerSec: s.requests / s.seconds, slices: s.slices }));
  const pairRatios = p!.slices.map((rate, i) => rate / b!.slices[i]!);
  return { path: p!, baseline: b!, pairRatios, ratio: median(pairRatios), p99Ratio: p!.p99Ms / b!.p99Ms };
}

export async function httpCase({ variant, load }: { variant: HttpVariant; load: LoadOptions }): Promise<HttpMeasurement> {
  if (variant === 'tail-plain' || variant === 'tail-hedged') return tailCase(variant, load);
  const [mock] = await startMocks(1);
  const direct = () => plainFetch(mock!.httpUrl);
  try {
    if (variant === 'pool-vs-fetch') {
      const pool = new NodePool({ nodes: [{ name: mock!.name, http: mock!.httpUrl }] });
      const viaPool = async () => {
        const answer = await pool.request(request());
        if ('error' in answer) throw new Error(answer.error.message);
        return answer.result;
      };
      try {
        return { variant, ...(await paired(viaPool, direct, load)) };
      } finally {
        pool.close();
      }
    }
    const server = await Child.start('proxy (HTTP)', './cases/httpProxyServer.ts');
    try {
      const { url } = await server.request<{ url: string }>('start', { name: mock!.name, wsUrl: mock!.wsUrl, httpUrl: mock!.httpUrl });
      return { variant, ...(await paired(() => plainFetch(url), direct, load)) };
    } finally {
      await server.stop();
    }
  } finally {
    await mock!.stop();
  }
}

async function tailCase(variant: 'tail-plain' | 'tail-hedged', load: LoadOptions): Promise<HttpMeasurement> {
  const [a, b] = await Promise.all([
    MockUpstream.start({ name: 'a', balance: '0xa', slowTail: SLOW_TAIL }),
    MockUpstream.start({ name: 'b', balance: '0xb' }),
  ]);
  const pool = new NodePool({
    nodes: [a.node(), b.node()].map(({ name, http }) => ({ name, http })),
    ...(variant === 'tail-hedged' ? { hedge: { percentile: 90 } } : {}),
  });
  const hedges = { won: 0, lost: 0 };
  pool.on('hedged', (event: HedgeEvent) => (event.won ? (hedges.won += 1) : (hedges.lost += 1)));
  try {
    const result = await closedLoop(async () => {
      const answer = await pool.request(request());
      if ('error' in answer) throw new Error(answer.error.message);
    }, { ...load, concurrency: TAIL_CONCURRENCY });
    return { variant, ...result, hedges };
  } finally {
    pool.close();
    await Promise.all([a.stop(), b.stop()]);
  }
}

const fmtMs = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The run with the median headline of a job's runs (the lower of two). */
function medianRun<T>(runs: Array<T | undefined>, key: (run: T) => number): T | undefined {
  const usable = runs.filter((r): r is T => r !== undefined && Number.isFinite(key(r)));
  usable.sort((x, y) => key(x) - key(y));
  return usable[Math.floor((usable.length - 1) / 2)];
}

/** Report rows for the HTTP runs (job ids `http:<variant>`, in round order). */
export function httpRows(runs: Map<string, Array<HttpMeasurement | undefined>>): Row[] {
  const rows: Row[] = [];
  const PAIRS = {
    'pool-vs-fetch': { path: 'pool.request() → upstream', baseline: 'plain fetch → upstream', throughputGoal: 0.9, p99Goal: 1.2 },
    'proxy-vs-direct': { path: 'fetch → proxy POST / → upstream', baseline: 'plain fetch → upstream (the node directly)', throughputGoal: undefined, p99Goal: undefined },
  } as const;
  for (const variant of ['pool-vs-fetch', 'proxy-vs-direct'] as const) {
    const all = (runs.get(`http:${variant}`) ?? []) as Array<Extract<HttpMeasurement, { variant: typeof variant }> | undefined>;
    const r = medianRun(all, (run) => run.ratio);
    if (!r) continue;
    const { path, baseline, throughputGoal, p99Goal } = PAIRS[variant];
    const ratios = all.filter((x) => x !== undefined).map((x) => x!.ratio.toFixed(2)).join(', ');
    rows.push({ group: 'http', case: baseline, metric: 'req/s', value: r.baseline.reqPerSec, display: fmtInt(r.baseline.reqPerSec), unit: 'req/s', ratio: null, baseline: null, goal: null, met: null });
    rows.push({ group: 'http', case: baseline, metric: 'p50 / p99 ms', value: r.baseline.p99Ms, display: `${fmtMs(r.baseline.p50Ms)} / ${fmtMs(r.baseline.p99Ms)}`, unit: 'ms (p99)', ratio: null, baseline: null, goal: null, met: null });
    rows.push({
      group: 'http',
      case: path,
      metric: 'req/s',
      value: r.path.reqPerSec,
      display: fmtInt(r.path.reqPerSec),
      unit: 'req/s',
      ratio: r.ratio,
      baseline: 'plain fetch, in alternating slices',
      goal: throughputGoal === undefined ? null : `≥ ${throughputGoal.toFixed(2)}× plain fetch`,
      met: throughputGoal === undefined ? null : r.ratio >= throughputGoal,
      note: `median of ${r.pairRatios.length} slice pairs (${r.pairRatios.map((x) => x.toFixed(2)).join(' ')}); runs: ${ratios}${r.path.errors ? `; ${r.path.errors} errors (${r.path.firstError})` : ''}`,
    });
    rows.push({
      group: 'http',
      case: path,
      metric: 'p50 / p99 ms',
      value: r.path.p99Ms,
      display: `${fmtMs(r.path.p50Ms)} / ${fmtMs(r.path.p99Ms)}`,
      unit: 'ms (p99)',
      ratio: r.p99Ratio,
      baseline: 'plain fetch (p99)',
      goal: p99Goal === undefined ? null : `p99 ≤ ${p99Goal}× plain fetch`,
      met: p99Goal === undefined ? null : r.p99Ratio <= p99Goal,
    });
  }
  const TAIL = {
    'tail-plain': `pool.request(), a: every ${SLOW_TAIL.every}th ${SLOW_TAIL.delayMs} ms late, no hedging`,
    'tail-hedged': `pool.request(), a: every ${SLOW_TAIL.every}th ${SLOW_TAIL.delayMs} ms late, hedge { percentile: 90 }`,
  } as const;
  const tails = new Map<string, number[]>();
  for (const variant of ['tail-plain', 'tail-hedged'] as const) {
    const all = (runs.get(`http:${variant}`) ?? []) as Array<(LoadResult & { hedges?: { won: number; lost: number } }) | undefined>;
    tails.set(variant, all.map((x) => x?.p99Ms ?? Number.NaN));
    const r = medianRun(all, (run) => run.p99Ms);
    if (!r) continue;
    const plain = tails.get('tail-plain') ?? [];
    const perRound = variant === 'tail-hedged' ? all.map((x, i) => (x?.p99Ms ?? Number.NaN) / (plain[i] ?? Number.NaN)).filter(Number.isFinite) : [];
    rows.push({
      group: 'http hedging',
      case: TAIL[variant],
      metric: 'p50 / p99 ms',
      value: r.p99Ms,
      display: `${fmtMs(r.p50Ms)} / ${fmtMs(r.p99Ms)}`,
      unit: 'ms (p99)',
      ratio: perRound.length > 0 ? median(perRound) : null,
      baseline: variant === 'tail-plain' ? null : 'no hedging (p99)',
      goal: null,
      met: null,
      note: `${fmtInt(r.reqPerSec)} req/s, ${TAIL_CONCURRENCY} in flight; p99 per run: ${all.map((x) => (x ? fmtMs(x.p99Ms) : 'failed')).join(', ')}${r.hedges && variant === 'tail-hedged' ? `; hedges: ${r.hedges.won} won, ${r.hedges.lost} lost` : ''}${r.errors ? `; ${r.errors} errors (${r.firstError})` : ''}`,
    });
  }
  return rows;
}
