/**
 * Case 5: many idle sessions in one process, each with five subscriptions (newHeads and four logs
 * filters) on mock a. Measures the heap each costs, then cuts a and times until every subscription
 * is replayed on mock b, recording how fast the sessions try to connect (thundering herd or not).
 *
 * Needs `--expose-gc` (the worker has it).
 */
import {
  NodePool,
  SharedSocketTransport,
  UpstreamSession,
  WsSocketTransport,
  type SocketEndpoint,
  type SocketListener,
  type SocketTransport,
  type UpstreamSocket,
} from 'steadyrpc';
import { nextEvent } from '../clients.js';
import { sleep, wallNow } from '../ipc.js';
import { quantile } from '../load.js';
import { startMocks } from '../upstreams.js';

const SUBSCRIBE_FRAMES = [
  '{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}',
  ...[1, 2, 3, 4].map(
    (n) => `{"jsonrpc":"2.0","id":${n + 1},"method":"eth_subscribe","params":["logs",{"address":"0x${String(n).repeat(40)}"}]}`,
  ),
];
const WAVE = 250;
/** Heap samples of the idle sessions (the median is reported), spread over one keepalive interval. */
const HEAP_SAMPLES = 5;
const HEAP_SAMPLE_GAP_MS = 500;
const WINDOW_MS = 100;

/**
 * Records when each session opens a socket, and to where; the real transport opens it: a socket of
 * its own per session, or a virtual one on a SharedSocketTransport.
 */
class ConnectLog {
  readonly inner: SocketTransport;
  attempts: Array<{ at: number; url: string; session: number }> = [];

  constructor(shared: boolean) {
    this.inner = shared ? new SharedSocketTransport() : new WsSocketTransport();
  }
}

/** One per session (a few dozen bytes), so every attempt is known by its session. */
class CountingTransport implements SocketTransport {
  readonly #log: ConnectLog;
  readonly #session: number;

  constructor(log: ConnectLog, session: number) {
    this.#log = log;
    this.#session = session;
  }

  get multiplexed(): boolean | undefined {
    return this.#log.inner.multiplexed;
  }

  open(endpoint: SocketEndpoint, listener: SocketListener): UpstreamSocket {
    this.#log.attempts.push({ at: performance.now(), url: endpoint.url, session: this.#session });
    return this.#log.inner.open(endpoint, listener);
  }
}

export interface ScaleMeasurement {
  /** `own`: a socket per session; `shared`: all sessions on one SharedSocketTransport. */
  transport: 'own' | 'shared';
  sessions: number;
  subscriptions: number;
  setupSeconds: number;
  /** Median of the samples taken over a keepalive interval; the lowest and highest are kept too. */
  heapPerSessionBytes: number;
  heapPerSessionRangeBytes: [number, number];
  externalPerSessionBytes: number;
  rssPerSessionBytes: number;
  /** From sending the cut to the last of all subscriptions replayed on b (null: not all within the timeout). */
  replayAllMs: number | null;
  replayed: number;
  replayFailures: number;
  /** From the cut to the last session active on b. */
  switchAllMs: number | null;
  switched: number;
  /** From the cut to the last session told its socket closed, and to the first subscription replayed on b. */
  phases: { allClosedMs: number; firstReplayMs: number | null };
  timeoutMs: number;
  connect: {
    windowMs: number;
    /** Socket opens by the sessions after the cut (client side: the herd itself). */
    attempts: number;
    attemptsToBackup: number;
    maxAttemptsPerWindow: number;
    /** Attempts per window from the cut on (first windows). */
    attemptWindows: number[];
    /** Upgrades the backup accepted after the cut (server side). */
    accepted: number;
    maxAcceptedPerWindow: number;
    acceptedWindows: number[];
    /** Share of all attempts made in the busiest window. */
    peakShare: number;
    /** Per session: from its own socket closing to its first reconnect attempt, in ms. */
    delayP50Ms: number;
    delayP90Ms: number;
    delayMaxMs: number;
    /** Share of sessions that tried again within 100 ms of losing their socket (no spreading). */
    immediateShare: number;
  };
  backupSubscriptions: number;
}

async function settledHeap(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('scale needs --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(50);
  }
  return process.memoryUsage();
}

function windows(times: number[], from: number): number[] {
  const counts: number[] = [];
  for (const t of times) {
    const index = Math.max(0, Math.floor((t - from) / WINDOW_MS));
    while (counts.length <= index) counts.push(0);
    counts[index]! += 1;
  }
  return counts;
}

export async function scaleCase({
  sessions: count,
  timeoutMs,
  transport = 'own',
  aroundReplay,
}: {
  sessions: number;
  timeoutMs: number;
  transport?: 'own' | 'shared';
  /** Called right before the cut and once every subscription is replayed (bench/profile.ts profiles that window). */
  aroundReplay?: (phase: 'cut' | 'replayed') => Promise<void>;
}): Promise<ScaleMeasurement> {
  const [a, b] = await startMocks(2);
  const pool = new NodePool({ nodes: [a!.node(), b!.node()] });
  const log = new ConnectLog(transport === 'shared');
  const sessions: UpstreamSession[] = [];
  let answers = 0;
  const onMessage = () => void (answers += 1);
  const onError = () => {};
  const open = () => {
    const session = new UpstreamSession({ pool, transport: new CountingTransport(log, sessions.length) });
    session.on('message', onMessage);
    session.on('error', onError);
    return session;
  };
  try {
    // One session first, so code compiled on first use is not counted per session.
    const warm = open();
    await nextEvent(warm, 'switch');
    for (const frame of SUBSCRIBE_FRAMES) warm.send(frame);
    while (answers < SUBSCRIBE_FRAMES.length) await sleep(5);
    warm.close();
    answers = 0;
    await sleep(100);

    const before = await settledHeap();
    const setupStarted = performance.now();
    for (let done = 0; done < count; done += WAVE) {
      const wave: UpstreamSession[] = [];
      for (let i = Math.min(WAVE, count - done); i > 0; i--) {
        const session = open();
        sessions.push(session);
        wave.push(session);
      }
      await Promise.all(wave.map((s) => (s.state === 'ready' ? undefined : nextEvent(s, 'switch'))));
      for (const session of wave) for (const frame of SUBSCRIBE_FRAMES) session.send(frame);
      const expected = (done + wave.length) * SUBSCRIBE_FRAMES.length;
      const deadline = performance.now() + 30_000;
      while (answers < expected) {
        if (performance.now() > deadline) throw new Error(`only ${answers} of ${expected} subscribe answers after 30 s`);
        await sleep(2);
      }
    }
    const setupSeconds = (performance.now() - setupStarted) / 1000;
    // Idle sessions still keep alive (a call every 2 s each): sampled over a whole keepalive
    // interval, so a sample taken while thousands of keepalives are in flight counts as one of five.
    const samples: NodeJS.MemoryUsage[] = [];
    for (let i = 0; i < HEAP_SAMPLES; i++) {
      if (i > 0) await sleep(HEAP_SAMPLE_GAP_MS);
      samples.push(await settledHeap());
    }
    samples.sort((x, y) => x.heapUsed - y.heapUsed);
    const after = samples[Math.floor(HEAP_SAMPLES / 2)]!;
    const subscriptions = count * SUBSCRIBE_FRAMES.length;

    // The cut: every session fails over to b and replays its five subscriptions there.
    let replayed = 0;
    let replayFailures = 0;
    let switched = 0;
    let replayAllAt: number | undefined;
    let firstReplayAt: number | undefined;
    let switchAllAt: number | undefined;
    const onReplay = ({ ok, node }: { ok: boolean; node: string }) => {
      if (!ok) return void (replayFailures += 1);
      if (node !== 'b') return;
      replayed += 1;
      firstReplayAt ??= performance.now();
      if (replayed === subscriptions) replayAllAt = performance.now();
    };
    const onSwitch = ({ to }: { to: string }) => {
      if (to !== 'b') return;
      switched += 1;
      if (switched === count) switchAllAt = performance.now();
    };
    const closedAt = new Float64Array(count).fill(NaN);
    sessions.forEach((session, index) => {
      session.on('replay', onReplay).on('switch', onSwitch);
      session.once('upstreamClose', () => (closedAt[index] = performance.now()));
    });
    log.attempts = [];
    await b!.connectLog(true);
    await aroundReplay?.('cut');
    const cutAt = performance.now();
    const cutWall = wallNow();
    await a!.cut();
    const deadline = cutAt + timeoutMs;
    while ((replayAllAt === undefined || switchAllAt === undefined) && performance.now() < deadline) await sleep(10);
    await aroundReplay?.('replayed');
    await sleep(200); // late attempts still show in the connect counts

    const attempts = log.attempts.map((x) => x.at);
    const firstAttempt = new Float64Array(count).fill(NaN);
    for (const { at, session } of log.attempts) if (Number.isNaN(firstAttempt[session]!)) firstAttempt[session] = at;
    const delays = Float64Array.from(firstAttempt.map((at, i) => at - closedAt[i]!).filter((d) => !Number.isNaN(d))).sort();
    const attemptWindows = windows(attempts, cutAt);
    const acceptedWindows = windows(await b!.connectLog(), cutWall);
    const maxAttemptsPerWindow = Math.max(0, ...attemptWindows);
    return {
      transport,
      sessions: count,
      subscriptions,
      setupSeconds,
      heapPerSessionBytes: (after.heapUsed - before.heapUsed) / count,
      heapPerSessionRangeBytes: [(samples[0]!.heapUsed - before.heapUsed) / count, (samples.at(-1)!.heapUsed - before.heapUsed) / count],
      externalPerSessionBytes: (after.external - before.external) / count,
      rssPerSessionBytes: (after.rss - before.rss) / count,
      replayAllMs: replayAllAt === undefined ? null : replayAllAt - cutAt,
      replayed,
      replayFailures,
      switchAllMs: switchAllAt === undefined ? null : switchAllAt - cutAt,
      switched,
      phases: {
        allClosedMs: Math.max(...closedAt) - cutAt,
        firstReplayMs: firstReplayAt === undefined ? null : firstReplayAt - cutAt,
      },
      timeoutMs,
      connect: {
        windowMs: WINDOW_MS,
        attempts: attempts.length,
        attemptsToBackup: log.attempts.filter((x) => x.url === b!.wsUrl).length,
        maxAttemptsPerWindow,
        attemptWindows: attemptWindows.slice(0, 50),
        accepted: acceptedWindows.reduce((sum, n) => sum + n, 0),
        maxAcceptedPerWindow: Math.max(0, ...acceptedWindows),
        acceptedWindows: acceptedWindows.slice(0, 50),
        peakShare: attempts.length > 0 ? maxAttemptsPerWindow / attempts.length : 0,
        delayP50Ms: quantile(delays, 0.5),
        delayP90Ms: quantile(delays, 0.9),
        delayMaxMs: delays.length > 0 ? delays[delays.length - 1]! : NaN,
        immediateShare: delays.filter((d) => d < 100).length / count,
      },
      backupSubscriptions: (await b!.stats()).subscriptions,
    };
  } finally {
    for (const session of sessions) session.close();
    pool.close();
    await sleep(100);
    await Promise.all([a!.stop(), b!.stop()]);
  }
}
