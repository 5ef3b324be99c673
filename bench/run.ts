/**
 * `npm run bench [-- --quick] [-- --only requests,proxy] [-- --rounds 3] [-- --duration 3000]`
 *
 * Runs every case in its own worker process against mock upstreams in their own processes (all on
 * 127.0.0.1, port 0), prints a table (case, metric, value, ratio to baseline, goal, met?) and writes
 * everything to bench/results/<ISO timestamp>.json. Compare numbers within one run only.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { PROXY_HEALTH_DEFAULTS } from '../examples/proxy-server.js';
import { CLIENT_LABELS, type ClientKind } from './clients.js';
import { ensureBuilt } from './built.js';
import { Child, REPO_ROOT } from './ipc.js';
import { buildRows, renderTable, type Measurements } from './report.js';
import type { HopKind } from './hopServer.js';
import { NOTIFICATION_CONSUMERS, type NotificationConsumer, type NotificationsRun } from './cases/notifications.js';
import { median } from './load.js';
import type { RetentionVariant } from './cases/retention.js';
import type { Job } from './worker.js';
import { httpRows, type HttpMeasurement } from './cases/http.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    concurrency: { type: 'string' },
  },
});
const quick = flags.quick;
const settings = {
  mode: quick ? 'quick' : 'full',
  /** Requests in flight in the request and proxy cases. */
  concurrency: Number(flags.concurrency ?? 64),
  durationMs: Number(flags.duration ?? (quick ? 300 : 3_000)),
  warmupMs: quick ? 300 : 500,
  /**
   * Throughput cases run this many times, interleaved; the median run (by rate) is reported, and
   * ratios are the median of the per-round ratios.
   */
  rounds: Number(flags.rounds ?? (quick ? 1 : 3)),
  cuts: quick ? 5 : 20,
  failbackRuns: quick ? 1 : 3,
  blackholeRuns: quick ? 1 : 2,
  scaleSessions: quick ? 1_000 : 10_000,
  scaleTimeoutMs: quick ? 15_000 : 30_000,
};
for (const [key, value] of Object.entries(settings)) {
  if (typeof value === 'number' && !(Number.isInteger(value) && value > 0)) throw new Error(`--${key} must be a positive integer, got ${value}`);
}
const load = { concurrency: settings.concurrency, durationMs: settings.durationMs, warmupMs: settings.warmupMs };
const only = flags.only?.split(',').map((s) => s.trim()).filter(Boolean);

interface Planned {
  id: string;
  title: string;
  job: Job;
  timeoutMs: number;
  /** Throughput jobs are repeated with --rounds. */
  repeat: boolean;
}

const CLIENTS: ClientKind[] = ['raw-ws', 'session', 'session-shared', 'viem', 'viem-resilient', 'viem-resilient-batch', 'ethers', 'ethers-resilient'];
const loadTimeout = settings.warmupMs + settings.durationMs + 60_000;
const planned: Planned[] = [
  ...CLIENTS.map((kind): Planned => ({ id: `requests:${kind}`, title: `requests · ${CLIENT_LABELS[kind]}`, job: { case: 'requests', args: { kind, load } }, timeoutMs: loadTimeout, repeat: true })),
  ...(['pool-vs-fetch', 'proxy-vs-direct', 'tail-plain', 'tail-hedged'] as const).map((variant): Planned => ({ id: `http:${variant}`, title: `http · ${variant}`, job: { case: 'http', args: { variant, load } }, timeoutMs: loadTimeout, repeat: true })),
  ...(['pipe', 'proxy'] as const).map((hop): Planned => ({ id: `proxy:${hop}`, title: `proxy hop · ${hop}`, job: { case: 'proxy', args: { hop, load } }, timeoutMs: loadTimeout, repeat: true })),
  {
    id: 'notifications',
    title: 'notifications · raw ws, session, session {continuity: off} in alternating slices',
    // Ten slices of each consumer even with --quick (1 s, not 0.3 s): with three, CI's figure swung
    // from 0.62× to 1.13× between slices.
    job: { case: 'notifications', args: { durationMs: flags.duration === undefined && quick ? 1_000 : settings.durationMs, warmupMs: settings.warmupMs } },
    timeoutMs: loadTimeout + 60_000,
    repeat: true,
  },
  { id: 'failover:cut', title: `failover · ${settings.cuts} cuts`, job: { case: 'cut', args: { cuts: settings.cuts } }, timeoutMs: 30_000 + settings.cuts * 10_000, repeat: false },
  {
    id: 'failover:failback-proxy',
    title: 'failover · failback (proxy health defaults)',
    job: { case: 'failback', args: { iterations: settings.failbackRuns, health: { ...PROXY_HEALTH_DEFAULTS } } },
    timeoutMs: 30_000 + settings.failbackRuns * 45_000,
    repeat: false,
  },
  ...(quick
    ? []
    : [
        {
          id: 'failover:failback-checker',
          title: 'failover · failback (HealthChecker defaults)',
          job: { case: 'failback', args: { iterations: settings.failbackRuns, health: {} } },
          timeoutMs: 30_000 + settings.failbackRuns * 45_000,
          repeat: false,
        } satisfies Planned,
      ]),
  { id: 'failover:blackhole', title: 'failover · blackhole', job: { case: 'blackhole', args: { iterations: settings.blackholeRuns } }, timeoutMs: 30_000 + settings.blackholeRuns * 25_000, repeat: false },
  ...(['defaults', 'logs-off'] as const).map((variant): Planned => ({
    id: `retention:${variant}`,
    title: `retention · busy logs subscription, ${variant}`,
    job: { case: 'retention', args: { variant, blocks: quick ? 32 : 200, logsPerBlock: 200 } },
    timeoutMs: 120_000,
    repeat: false,
  })),
  ...(['own', 'shared'] as const).map((transport): Planned => ({
    id: transport === 'own' ? 'scale' : 'scale:shared',
    title: `scale · ${settings.scaleSessions.toLocaleString('en-US')} sessions × 5 subscriptions, ${transport === 'own' ? 'a socket each' : 'SharedSocketTransport'}`,
    job: { case: 'scale', args: { sessions: settings.scaleSessions, timeoutMs: settings.scaleTimeoutMs, transport } },
    timeoutMs: settings.scaleTimeoutMs + 240_000,
    repeat: false,
  })),
  { id: 'size', title: 'size · browser bundles (npm run size)', job: { case: 'size', args: {} }, timeoutMs: 60_000, repeat: false },
];
const plan = only ? planned.filter((p) => only.some((o) => p.id.includes(o))) : planned;

const queue: Planned[] = [];
for (let round = 0; round < settings.rounds; round++) queue.push(...plan.filter((p) => p.repeat));
queue.push(...plan.filter((p) => !p.repeat));

interface JobOutcome {
  id: string;
  seconds: number;
  measurement?: unknown;
  error?: string;
  leftovers?: string[];
  exitedCleanly?: boolean;
}

async function runOne(planned: Planned): Promise<JobOutcome> {
  const started = performance.now();
  const outcome: JobOutcome = { id: planned.id, seconds: 0 };
  let worker: Child | undefined;
  try {
    worker = await Child.start(planned.id, './worker.ts', { nodeFlags: ['--expose-gc'] });
    const { measurement, leftovers } = await worker.request<{ measurement: unknown; leftovers: string[] }>('run', planned.job, planned.timeoutMs);
    outcome.measurement = measurement;
    if (leftovers.length > 0) outcome.leftovers = leftovers;
  } catch (error) {
    outcome.error = error instanceof Error ? error.message : String(error);
  } finally {
    if (worker) outcome.exitedCleanly = (await worker.stop(5_000)).clean;
  }
  outcome.seconds = (performance.now() - started) / 1000;
  return outcome;
}

function summary(outcome: JobOutcome): string {
  if (outcome.error) return `FAILED: ${outcome.error.split('\n')[0]}`;
  const m = outcome.measurement as Record<string, any>;
  if (m.unavailable) return `n/a (${m.unavailable})`;
  if (typeof m.reqPerSec === 'number') return `${Math.round(m.reqPerSec).toLocaleString('en-US')} req/s, p50 ${m.p50Ms.toFixed(2)} ms, p99 ${m.p99Ms.toFixed(2)} ms${m.errors ? `, ${m.errors} errors` : ''}`;
  if (m.consumers !== undefined && m.ratios !== undefined) {
    const { consumers, ratios } = m as NotificationsRun;
    const rate = (c: NotificationConsumer) => `${c} ${Math.round(consumers[c].perSec).toLocaleString('en-US')}/s (${consumers[c].delivered}/${consumers[c].sent})`;
    return `${NOTIFICATION_CONSUMERS.map(rate).join(', ')}; session ${median(ratios.session).toFixed(2)}×, plain ${median(ratios['session-plain']).toFixed(2)}× raw (median of ${ratios.session.length} slices)`;
  }
  if (Array.isArray(m.closeToFirstAnswerMs)) return `close → first answer: ${m.closeToFirstAnswerMs.map((x: number) => x.toFixed(1)).join(' ')} ms`;
  if (Array.isArray(m.restoreToTrafficMs)) return `restore → traffic: ${m.restoreToTrafficMs.map((x: number) => x.toFixed(0)).join(' ')} ms`;
  if (Array.isArray(m.detectMs)) return `detected after ${m.detectMs.map((x: number) => x.toFixed(0)).join(' ')} ms`;
  if (Array.isArray(m.entries)) return m.entries.map((e: { entry: string; gzipBytes: number }) => `${e.entry} ${(e.gzipBytes / 1024).toFixed(1)} KB`).join(', ') + ' gzipped';
  if (typeof m.heapPerSessionBytes === 'number') return `${(m.heapPerSessionBytes / 1024).toFixed(1)} KB heap/session, replay all ${m.replayAllMs === null ? 'timed out' : `${Math.round(m.replayAllMs)} ms`}, max ${m.connect.maxAttemptsPerWindow} connects/100 ms`;
  return 'done';
}

async function packageVersion(name: string): Promise<string | undefined> {
  try {
    const path = name === 'steadyrpc' ? `${REPO_ROOT}package.json` : `${REPO_ROOT}node_modules/${name}/package.json`;
    return (JSON.parse(await readFile(path, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  ensureBuilt();
  const startedAt = new Date();
  const cpus = os.cpus();
  const machine = {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim(),
    totalMemoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    loadAverageAtStart: os.loadavg(),
    node: process.version,
    v8: process.versions.v8,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
  const versions = Object.fromEntries(await Promise.all(['steadyrpc', 'ws', 'viem', 'ethers', 'tsx'].map(async (n) => [n, await packageVersion(n)] as const)));
  process.stderr.write(`steadyrpc bench (${settings.mode}): ${queue.length} jobs, ${machine.cpus} × ${machine.cpuModel}, node ${machine.node}, load ${machine.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}\n`);

  const outcomes: JobOutcome[] = [];
  for (const [index, planned] of queue.entries()) {
    process.stderr.write(`[${String(index + 1).padStart(2)}/${queue.length}] ${planned.title} … `);
    const outcome = await runOne(planned);
    outcomes.push(outcome);
    const hygiene = [outcome.exitedCleanly === false ? 'worker had to be killed' : '', outcome.leftovers ? `left open: ${outcome.leftovers.join(', ')}` : ''].filter(Boolean).join('; ');
    process.stderr.write(`${summary(outcome)} (${outcome.seconds.toFixed(1)} s)${hygiene ? ` [${hygiene}]` : ''}\n`);
  }

  const measurements = collect(outcomes);
  const rows = [...buildRows(measurements), ...httpRows(runsOf(outcomes, 'http:'))];
  const finishedAt = new Date();
  const problems = outcomes.filter((o) => o.error || o.leftovers || o.exitedCleanly === false);
  const table = renderTable(rows);
  process.stdout.write(`\nsteadyrpc bench, ${settings.mode} run of ${startedAt.toISOString()} on ${machine.cpus} × ${machine.cpuModel}, node ${machine.node} (${machine.os})\n`);
  process.stdout.write(`${settings.concurrency} requests in flight, ${settings.durationMs} ms per throughput case (after ${settings.warmupMs} ms warm-up), ${settings.rounds} round(s) (value: the median run; ratio: the median of per-round ratios); compare within this run only\n\n`);
  process.stdout.write(`${table}\n`);
  for (const p of problems) {
    process.stdout.write(`- ${p.id}: ${p.error ? `FAILED: ${p.error.split('\n')[0]}` : ''}${p.leftovers ? ` left open after close: ${p.leftovers.join(', ')}` : ''}${p.exitedCleanly === false ? ' (worker did not exit on its own)' : ''}\n`);
  }

  const file = `${startedAt.toISOString().replace(/:/g, '-')}.json`;
  const dir = new URL('./results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    argv: process.argv.slice(2),
    settings,
    machine: { ...machine, loadAverageAtEnd: os.loadavg() },
    versions,
    rows,
    measurements,
    http: Object.fromEntries(runsOf(outcomes, 'http:')),
    jobs: outcomes.map(({ measurement: _m, ...rest }) => rest),
  };
  await writeFile(new URL(file, dir), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\nwrote bench/results/${file} (${report.seconds.toFixed(0)} s)\n`);
}

/** Every run of the jobs whose id starts with `prefix`, by id, in round order. */
function runsOf(outcomes: JobOutcome[], prefix: string): Map<string, Array<HttpMeasurement | undefined>> {
  const runs = new Map<string, Array<HttpMeasurement | undefined>>();
  for (const o of outcomes) if (o.id.startsWith(prefix)) runs.set(o.id, [...(runs.get(o.id) ?? []), o.measurement as HttpMeasurement | undefined]);
  return runs;
}

/** Gathers the measurements; with several rounds, keeps the median run of each throughput case. */
function collect(outcomes: JobOutcome[]): Measurements {
  const m: Measurements = { requests: {}, proxy: {}, notifications: [], failback: {}, retention: {}, rounds: {} };
  const byId = new Map<string, any[]>();
  for (const o of outcomes) {
    byId.set(o.id, [...(byId.get(o.id) ?? []), o.measurement]);
  }
  /** The run with the median `key` (the lower one of two). */
  const pick = (runs: any[], key: string) => {
    const usable = runs.filter((r) => typeof r?.[key] === 'number');
    if (usable.length === 0) return runs.find((r) => r !== undefined);
    usable.sort((x, y) => x[key] - y[key]);
    return usable[Math.floor((usable.length - 1) / 2)];
  };
  for (const [id, runs] of byId) {
    const [group, name] = id.split(':') as [string, string | undefined];
    const first = runs.find((r) => r !== undefined);
    if (first === undefined) continue;
    if (group === 'requests' || group === 'proxy') m.rounds[id] = runs;
    if (group === 'requests') m.requests[name as ClientKind] = pick(runs, 'reqPerSec');
    else if (group === 'proxy') m.proxy[name as HopKind] = pick(runs, 'reqPerSec');
    else if (id === 'notifications') m.notifications = runs.filter((r): r is NotificationsRun => r !== undefined);
    else if (id === 'failover:cut') m.cut = first;
    else if (id === 'failover:failback-proxy') m.failback['proxy defaults'] = first;
    else if (id === 'failover:failback-checker') m.failback['HealthChecker defaults'] = first;
    else if (id === 'failover:blackhole') m.blackhole = first;
    else if (id === 'scale') m.scale = first;
    else if (id === 'scale:shared') m.scaleShared = first;
    else if (group === 'retention') m.retention[name as RetentionVariant] = first;
    else if (id === 'size') m.size = first;
  }
  return m;
}

await main();
