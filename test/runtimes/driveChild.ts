/**
 * The parent side of the runtimes test: starts the scenario child under one runtime, applies the
 * faults when the child says it is ready for them (cut the preferred node's proxy; restore it),
 * tells the child, and returns its report, exit code and the time each part took. Every wait is
 * bounded: past `timeoutMs` the child is killed and the run rejects with what it printed.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Cluster } from '../integration/helpers/cluster.js';
import { DEV_ACCOUNT } from '../integration/helpers/cluster.js';
import type { ChildLine, ScenarioConfig, ScenarioReport } from './protocol.js';
import { CONFIG_ENV } from './protocol.js';
import type { Runtime } from './runtimes.js';

export interface ChildRun {
  report: ScenarioReport;
  exitCode: number | null;
  /** ms from spawn to the child's exit (the scenario, plus the runtime's start and stop). */
  wallMs: number;
  /** ms from the report to the exit: how long the runtime took to end once steadyrpc was closed. */
  exitAfterReportMs: number;
  stderr: string;
}

const STDERR_TAIL = 4_000;

export async function driveScenario(runtime: Runtime, command: string, cluster: Cluster, timeoutMs: number): Promise<ChildRun> {
  const entry = await runtime.entry();
  const config: ScenarioConfig = {
    nodes: [
      { name: 'a', http: cluster.a.proxy.httpUrl, ws: cluster.a.proxy.wsUrl, balance: cluster.a.anvil.balanceWei.toString() },
      { name: 'b', http: cluster.b.proxy.httpUrl, ws: cluster.b.proxy.wsUrl, balance: cluster.b.anvil.balanceWei.toString() },
    ],
    account: DEV_ACCOUNT,
    transport: runtime.transport,
    deadlineMs: timeoutMs - 3_000,
  };
  const args = runtime.args(entry);
  const started = Date.now();
  const child = spawn(command, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, [CONFIG_ENV]: JSON.stringify(config) },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL)));
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (error) => {
      stderr += `\nspawn failed: ${error.message}`;
      resolve(null);
    });
  });

  let report: ScenarioReport | undefined;
  let reportedAt = 0;
  const noise: string[] = [];
  const lines = createInterface({ input: child.stdout });
  const driving = (async () => {
    for await (const text of lines) {
      let line: ChildLine;
      try {
        line = JSON.parse(text) as ChildLine;
      } catch {
        noise.push(text); // a runtime warning or a stray log line: shown if the run fails
        continue;
      }
      if (line.type === 'report') {
        report = line;
        reportedAt = Date.now();
      } else if (line.step === 'ready') {
        await cluster.a.proxy.cut();
        child.stdin.write('cut\n');
      } else if (line.step === 'on-backup') {
        await cluster.a.proxy.restore();
        child.stdin.write('restored\n');
      }
    }
  })();

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const outcome = await Promise.race([Promise.all([exited, driving]), timedOut]);
  clearTimeout(timer);
  const describe = () => `${runtime.name} (${[command, ...args].join(' ')})\nstdout noise: ${noise.join('\n')}\nstderr: ${stderr}`;
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${runtime.name}: no exit within ${timeoutMs} ms (${report ? 'after its report' : 'no report'}); ${describe()}`);
  }
  if (!report) throw new Error(`${runtime.name}: exited with ${outcome[0]} and no report; ${describe()}`);
  const exitCode = outcome[0];
  return { report, exitCode, wallMs: Date.now() - started, exitAfterReportMs: Date.now() - reportedAt, stderr };
}
