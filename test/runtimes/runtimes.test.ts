/**
 * The session scenario under other runtimes (issue 14): an UpstreamSession on a NodePool of two
 * real anvil nodes behind fault proxies, run in a child process by Bun, by Deno and by Node 22 with
 * its global WebSocket. The nodes and proxies live here (Node 20, vitest); the child subscribes to
 * newHeads and calls eth_getBalance every 200 ms while this test cuts the preferred node and
 * restores it (driveChild.ts), then reports everything it saw as JSON.
 *
 * Which runtimes: STEADYRPC_RUNTIMES (runtimes.ts). `npm test` runs Bun and Deno (a few seconds
 * each; both binaries are devDependencies); Node 22 runs only in `npm run test:runtimes` (`.ci/run`
 * fetches it first with scripts/fetch-node22.sh), which runs all three and fails if a binary is
 * missing.
 *
 * Real time, every wait bounded; timings are printed (console.log) for quoting.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../integration/helpers/cluster.js';
import { driveScenario } from './driveChild.js';
import { selectedRuntimes } from './runtimes.js';

/** One child run: start (~0.1-0.3 s), ready (~1 s), the cut and the failback (~3 s), exit. */
const RUN_TIMEOUT_MS = 30_000;
/** Time for the runtime to end by itself once everything of steadyrpc's is closed. */
const EXIT_GRACE_MS = 2_000;

describe.each(selectedRuntimes())('the session scenario under $name', { timeout: RUN_TIMEOUT_MS + 15_000 }, (runtime) => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster({ blockTimeSec: 0.5 });
  }, 30_000);

  afterEach(async () => {
    await cluster.a.proxy.restore();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('keeps the subscription and its heads, answers every call, and fails back, through a cut of the primary', async () => {
    const located = runtime.locate();
    if ('missing' in located) throw new Error(located.missing); // picked, so required: never skipped
    const run = await driveScenario(runtime, located.command, cluster, RUN_TIMEOUT_MS);
    const { report } = run;
    const { timings } = report;
    console.log(
      `${runtime.name} (${report.runtime.name} ${report.runtime.version}, transport ${report.transport} (platform default ${report.defaultTransport}), ${report.webSocket.opened} global WebSockets): ` +
        `wall ${run.wallMs} ms, ready at ${timings.ready} ms, on the backup ${timings.onBackup! - timings.cut!} ms after the cut, ` +
        `failback ${timings.failbackMs} ms after the restore, exit ${run.exitAfterReportMs} ms after the report; ` +
        `${report.heads.length} heads, ${report.calls.length} calls, switches ${report.switches.map((s) => `${s.from ?? '-'}->${s.to} (${s.reason})`).join(', ')}`,
    );

    const story = `${report.failure ?? ''}\n${report.log.join('\n')}`;
    expect(report.failure, story).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.uncaught).toEqual([]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.exitAfterReportMs, 'the child exits by itself once the session, checker and pool are closed').toBeLessThan(EXIT_GRACE_MS);

    // The runtime asked for, on the standard WebSocket (Bun, Deno: by default; Node 22: passed in).
    expect(report.runtime.name).toBe(runtime.reports);
    expect(Number(report.runtime.version.split('.')[0])).toBe(runtime.major);
    expect(report.defaultTransport).toBe(runtime.defaultTransport);
    expect(report.webSocket.global).toBe('function');
    // a, b, a again at least: every upstream socket went through the global WebSocket.
    expect(report.webSocket.opened).toBeGreaterThanOrEqual(3);

    // The subscription is kept: one id on every head, heads in every phase.
    const subscription = report.subscription!;
    expect(subscription).toMatch(/^0x[0-9a-f]+$/);
    expect(new Set(report.heads.map((h) => h.subscription))).toEqual(new Set([subscription]));
    for (const phase of ['before', 'cut', 'after'] as const) {
      expect(report.heads.filter((h) => h.phase === phase).length, `heads in phase '${phase}'`).toBeGreaterThanOrEqual(phase === 'before' ? 1 : 2);
    }
    expect(report.heads.filter((h) => h.phase === 'cut').some((h) => h.node === 'b')).toBe(true);
    expect(report.heads.filter((h) => h.phase === 'after').every((h) => h.node === 'a')).toBe(true);
    expect(report.unsubscribed).toBe(true);

    // Every call answered with a result, never an error; the backup answered during the cut.
    expect(report.calls.length).toBeGreaterThanOrEqual(5);
    expect(report.calls.filter((c) => c.ms === undefined || c.error !== undefined)).toEqual([]);
    const balances = (phase: string) => report.calls.filter((c) => c.phase === phase && c.method === 'eth_getBalance').map((c) => BigInt(c.result as string));
    expect(balances('before')).toEqual([cluster.a.anvil.balanceWei]);
    expect(balances('cut')).toContain(cluster.b.anvil.balanceWei);
    expect(balances('after').length === 0 || balances('after').every((b) => b === cluster.a.anvil.balanceWei)).toBe(true);

    // Failover to b, then failback to a.
    const after = (at: number | undefined) => report.switches.filter((s) => s.at >= at!);
    expect(after(timings.cut).map((s) => s.to)).toContain('b');
    expect(after(timings.restored)).toContainEqual(expect.objectContaining({ from: 'b', to: 'a', reason: 'failback' }));
    expect(report.finalNode).toBe('a');
    expect(timings.failbackMs, story).toBeLessThan(5_000);
  });
});
