/**
 * Profiles one hot path with V8's sampling profiler.
 *
 *   tsx bench/profile.ts [--case session] [--duration 5000]
 *     runs itself again under `node --cpu-prof --import tsx`, writes
 *     bench/results/profiles/<case>-<timestamp>.cpuprofile and prints its top frames;
 *   node --import tsx --cpu-prof bench/profile.ts --case session
 *     just runs the load in this (profiled) process.
 *
 * Cases: every request client of run.ts (raw-ws, session, viem, viem-resilient, ethers,
 * ethers-resilient, …), `proxy` (raw ws → reference proxy in this process → mock),
 * `notifications` (pushed newHeads through a session; `notifications-plain`: with continuity off;
 * `notifications-raw`: to a raw ws client, for comparison) and `scale` (`--sessions` idle sessions, `--shared` on one SharedSocketTransport,
 * then the cut and the replay storm; needs `--expose-gc` when run by hand; `--replay-only`: profile only from the cut to the last subscription replayed). The mock upstreams are
 * other processes and are not profiled.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startProxyServer } from '../examples/proxy-server.js';
import { BUILT_ENV, ensureBuilt } from './built.js';
import { CLIENT_LABELS, isUnavailable, openClient, openRawWs, openSession, type ClientKind } from './clients.js';
import { REPO_ROOT, sleep } from './ipc.js';
import { closedLoop } from './load.js';
import { renderSummary, summarizeProfile } from './profile-summary.js';
import { startMocks } from './upstreams.js';

const { values } = parseArgs({
  options: {
    case: { type: 'string', default: 'session' },
    duration: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '64' },
    sessions: { type: 'string', default: '10000' },
    shared: { type: 'boolean', default: false },
    'replay-only': { type: 'boolean', default: false },
  },
});
const name = values.case;
const durationMs = Number(values.duration);
const concurrency = Number(values.concurrency);
const CASES = [...Object.keys(CLIENT_LABELS), 'proxy', 'notifications', 'notifications-plain', 'notifications-raw', 'scale'];
if (!CASES.includes(name)) throw new Error(`--case must be one of ${CASES.join(', ')}; got ${name}`);

const profiling = process.execArgv.some((arg) => arg.startsWith('--cpu-prof')) || process.env.STEADYRPC_PROFILE_CHILD === '1';

/**
 * `--replay-only` (scale): the process runs without `--cpu-prof` and profiles itself, through the
 * inspector, from the cut to the last subscription replayed, into `REPLAY_PROFILE`.
 */
let inspector: import('node:inspector/promises').Session | undefined;
async function replayWindow(phase: 'cut' | 'replayed'): Promise<void> {
  if (phase === 'cut') {
    const { Session } = await import('node:inspector/promises');
    inspector = new Session();
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.start');
    return;
  }
  const { profile } = await inspector!.post('Profiler.stop');
  inspector!.disconnect();
  const { writeFile } = await import('node:fs/promises');
  await writeFile(process.env.REPLAY_PROFILE!, JSON.stringify(profile));
}

async function runLoad(): Promise<unknown> {
  if (name === 'scale') {
    const { scaleCase } = await import('./cases/scale.js');
    const { connect: _windows, ...result } = await scaleCase({
      sessions: Number(values.sessions),
      timeoutMs: 60_000,
      transport: values.shared ? 'shared' : 'own',
      ...(values['replay-only'] ? { aroundReplay: replayWindow } : {}),
    });
    return result;
  }
  const [mock] = await startMocks(1);
  const load = { concurrency, durationMs, warmupMs: 500 };
  try {
    if (name === 'proxy') {
      const proxy = await startProxyServer({ listen: { host: '127.0.0.1', port: 0 }, upstreams: [{ name: 'a', ws: mock!.wsUrl, http: mock!.httpUrl }] });
      const client = await openRawWs(proxy.wsUrl);
      try {
        return await closedLoop(() => client.peer.call('eth_blockNumber'), load);
      } finally {
        await client.close();
        await proxy.close();
      }
    }
    if (name.startsWith('notifications')) {
      const { peer, close } =
        name === 'notifications-raw'
          ? await openRawWs(mock!.wsUrl)
          : await openSession([mock!.node()], name === 'notifications-plain' ? { continuity: { newHeads: false, logs: false } } : {});
      let delivered = 0;
      peer.onNotification = () => void (delivered += 1);
      await peer.call('eth_subscribe', '["newHeads"]');
      const started = performance.now();
      const { sent } = await mock!.push(durationMs);
      while (delivered < sent && performance.now() - started < durationMs + 10_000) await sleep(50);
      await close();
      return { sent, delivered, perSec: delivered / ((performance.now() - started) / 1000) };
    }
    const client = await openClient(name as ClientKind, { name: 'a', wsUrl: mock!.wsUrl, httpUrl: mock!.httpUrl });
    if (isUnavailable(client)) return client;
    try {
      return await closedLoop(() => client.call(), load);
    } finally {
      await client.close();
    }
  } finally {
    await mock!.stop();
  }
}

if (profiling) {
  const result = await runLoad();
  process.stderr.write(`${name}: ${JSON.stringify(result)}\n`);
} else {
  const dir = fileURLToPath(new URL('./results/profiles/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const file = `${name}-${new Date().toISOString().replace(/:/g, '-')}.cpuprofile`;
  // The profiled run loads the built package, as the bench does (bench/built.ts).
  ensureBuilt();
  const replayOnly = values['replay-only'] && name === 'scale';
  const profileFlags = replayOnly ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${file}`];
  const child = spawn(process.execPath, ['--expose-gc', ...profileFlags, '--import', import.meta.resolve('tsx'), fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
    env: { ...process.env, ...BUILT_ENV, ...(replayOnly ? { REPLAY_PROFILE: `${dir}${file}`, STEADYRPC_PROFILE_CHILD: '1' } : {}) },
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`profiled run exited with ${String(code)}`);
  const summary = summarizeProfile(JSON.parse(await readFile(`${dir}${file}`, 'utf8')));
  process.stdout.write(`bench/results/profiles/${file}\n${renderSummary(summary)}\n`);
}
