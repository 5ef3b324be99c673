/**
 * Case 4: failover, failback and blackhole detection of one session between two mocks (a, b),
 * under a steady load of eth_getBalance calls (each mock answers its own balance, so every answer
 * says which node served it) and with one newHeads subscription (replayed on every switch).
 */
import { HealthChecker, NodePool, SESSION_DEFAULTS, type HealthCheckerOptions, type UpstreamSession } from 'steadyrpc';
import { openSession } from '../clients.js';
import { sleep, waitAtMost } from '../ipc.js';
import type { RpcPeer } from '../rpc.js';
import { startMocks, type MockUpstream } from '../upstreams.js';

const BALANCE_PARAMS = '["0x00000000000000000000000000000000000000aa","latest"]';

/** Times of answers, by the balance (node) that answered. */
class AnswerWatch {
  readonly #waiters: Array<{ balance: string; resolve(at: number): void }> = [];
  answers = 0;
  errors = 0;

  note(balance: unknown): void {
    this.answers += 1;
    const now = performance.now();
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      if (this.#waiters[i]!.balance !== balance) continue;
      this.#waiters[i]!.resolve(now);
      this.#waiters.splice(i, 1);
    }
  }

  /** When the next answer from the node with `balance` arrives. */
  next(balance: string, timeoutMs: number, what: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(new Error(`no answer from the node with balance ${balance} within ${timeoutMs} ms (${what})`));
      }, timeoutMs);
      const waiter = {
        balance,
        resolve: (at: number) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
      this.#waiters.push(waiter);
    });
  }
}

/** `concurrency` eth_getBalance calls always in flight until `stop()`. */
function steadyLoad(peer: RpcPeer, watch: AnswerWatch, concurrency: number): { stop(): Promise<void> } {
  let stopping = false;
  const worker = async () => {
    while (!stopping) {
      try {
        watch.note(await peer.call('eth_getBalance', BALANCE_PARAMS));
      } catch {
        watch.errors += 1;
        await sleep(1);
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    async stop() {
      stopping = true;
      await waitAtMost(Promise.all(workers), 5_000);
    },
  };
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

const LOAD_CONCURRENCY = 8;

export interface CutMeasurement {
  cuts: number;
  concurrency: number;
  /** From the upstream socket's close (the session's `upstreamClose`) to the first answer from the other node. */
  closeToFirstAnswerMs: number[];
  /** From sending the cut command to the first answer from the other node. */
  cutToFirstAnswerMs: number[];
  errors: number;
}

/** Cuts the node in use `cuts` times (a, b, a, …); no health checker, the session alone fails over. */
export async function cutCase({ cuts }: { cuts: number }): Promise<CutMeasurement> {
  const mocks = await startMocks(2);
  const byName = new Map(mocks.map((m) => [m.name, m]));
  const opened = await openSession(mocks.map((m) => m.node()));
  const watch = new AnswerWatch();
  const load = steadyLoad(opened.peer, watch, LOAD_CONCURRENCY);
  const result: CutMeasurement = { cuts, concurrency: LOAD_CONCURRENCY, closeToFirstAnswerMs: [], cutToFirstAnswerMs: [], errors: 0 };
  try {
    await opened.peer.call('eth_subscribe', '["newHeads"]');
    for (let i = 0; i < cuts; i++) {
      const from = byName.get(opened.session.node!)!;
      const to = mocks.find((m) => m !== from)!;
      await watch.next(from.balance, 5_000, `traffic on ${from.name} before cut ${i + 1}`);
      let closedAt: number | undefined;
      const onClose = () => (closedAt ??= performance.now());
      opened.session.on('upstreamClose', onClose);
      const firstFromTo = watch.next(to.balance, 10_000, `failover ${from.name} -> ${to.name}`);
      const cutAt = performance.now();
      await from.cut();
      const firstAt = await firstFromTo;
      opened.session.off('upstreamClose', onClose);
      result.cutToFirstAnswerMs.push(firstAt - cutAt);
      result.closeToFirstAnswerMs.push(firstAt - (closedAt ?? cutAt));
      await from.restore();
      await sleep(30);
    }
  } finally {
    await load.stop();
    result.errors = watch.errors;
    opened.close();
    await Promise.all(mocks.map((m) => m.stop()));
  }
  return result;
}

export interface FailbackMeasurement {
  iterations: number;
  health: HealthCheckerOptions;
  /** From the primary answering again (restored and listening) to the first answer from it. */
  restoreToTrafficMs: number[];
  /** From the restore to the pool choosing the primary again (health hysteresis). */
  restoreToPoolSwitchMs: number[];
  errors: number;
}

/**
 * Cuts the primary (a), waits until the checker marks it down (traffic is on b), restores it and
 * times until traffic is back on a: the checker's hysteresis, then make-before-break.
 */
export async function failbackCase({ iterations, health }: { iterations: number; health: HealthCheckerOptions }): Promise<FailbackMeasurement> {
  const [a, b] = (await startMocks(2)) as [MockUpstream, MockUpstream];
  const pool = new NodePool({ nodes: [a.node(), b.node()] });
  const checker = new HealthChecker(pool, health);
  checker.start();
  const result: FailbackMeasurement = { iterations, health, restoreToTrafficMs: [], restoreToPoolSwitchMs: [], errors: 0 };
  let opened: Awaited<ReturnType<typeof openSession>> | undefined;
  let load: { stop(): Promise<void> } | undefined;
  const watch = new AnswerWatch();
  try {
    await until('the checker to prefer a', () => pool.preferred() === 'a', 15_000);
    opened = await openSession([], { pool });
    const { session, peer } = opened;
    await until('the session to use a', () => session.node === 'a', 10_000);
    await peer.call('eth_subscribe', '["newHeads"]');
    load = steadyLoad(peer, watch, LOAD_CONCURRENCY);
    for (let i = 0; i < iterations; i++) {
      await watch.next(a.balance, 5_000, 'traffic on a');
      await a.cut();
      await until('a to be marked down and traffic to move to b', () => pool.health('a').status === 'unhealthy' && session.node === 'b', 20_000);
      await watch.next(b.balance, 5_000, 'traffic on b');
      const backOnA = watch.next(a.balance, 20_000, 'failback to a');
      let poolSwitchAt: number | undefined;
      const onSwitch = ({ to }: { to: string | undefined }) => {
        if (to === 'a') poolSwitchAt ??= performance.now();
      };
      pool.on('switch', onSwitch);
      // At a random phase of the probe rounds, so the runs sample the whole range.
      await sleep(Math.random() * (health.intervalMs ?? 1_000));
      await a.restore();
      const restoredAt = performance.now();
      const backAt = await backOnA;
      pool.off('switch', onSwitch);
      result.restoreToTrafficMs.push(backAt - restoredAt);
      result.restoreToPoolSwitchMs.push((poolSwitchAt ?? backAt) - restoredAt);
    }
  } finally {
    await load?.stop();
    result.errors = watch.errors;
    opened?.close();
    checker.close();
    pool.close();
    await Promise.all([a.stop(), b.stop()]);
  }
  return result;
}

export interface BlackholeMeasurement {
  iterations: number;
  keepaliveIntervalMs: number;
  keepaliveTimeoutMs: number;
  /** The documented worst case: interval × 2 + timeout. */
  deadlineMs: number;
  /** From the blackhole to the session giving the socket up. */
  detectMs: number[];
  /** From the blackhole to the first answer from the other node (stuck calls are resent there). */
  firstAnswerMs: number[];
  errors: number;
}

/** Blackholes the node in use; the session (default keepalive, no health checker) must notice. */
export async function blackholeCase({ iterations }: { iterations: number }): Promise<BlackholeMeasurement> {
  const mocks = await startMocks(2);
  const byName = new Map(mocks.map((m) => [m.name, m]));
  const opened = await openSession(mocks.map((m) => m.node()));
  const session: UpstreamSession = opened.session;
  const watch = new AnswerWatch();
  const load = steadyLoad(opened.peer, watch, 4);
  const { keepaliveIntervalMs, keepaliveTimeoutMs } = SESSION_DEFAULTS;
  const result: BlackholeMeasurement = {
    iterations,
    keepaliveIntervalMs,
    keepaliveTimeoutMs,
    deadlineMs: keepaliveIntervalMs + keepaliveTimeoutMs, // from the last frame: the keepalive wakes when the socket has been idle a whole interval
    detectMs: [],
    firstAnswerMs: [],
    errors: 0,
  };
  try {
    await opened.peer.call('eth_subscribe', '["newHeads"]');
    for (let i = 0; i < iterations; i++) {
      const from = byName.get(session.node!)!;
      const to = mocks.find((m) => m !== from)!;
      await watch.next(from.balance, 5_000, `traffic on ${from.name}`);
      // At a random phase of the keepalive timer, so the runs sample its whole range.
      await sleep(Math.random() * keepaliveIntervalMs);
      let detectedAt: number | undefined;
      const onState = ({ to: state }: { to: string }) => {
        if (state === 'reconnecting') detectedAt ??= performance.now();
      };
      session.on('state', onState);
      const firstFromTo = watch.next(to.balance, result.deadlineMs + 10_000, `answer from ${to.name} after blackholing ${from.name}`);
      const blackholedAt = performance.now();
      await from.blackhole();
      const firstAt = await firstFromTo;
      session.off('state', onState);
      result.detectMs.push((detectedAt ?? firstAt) - blackholedAt);
      result.firstAnswerMs.push(firstAt - blackholedAt);
      await from.restore();
      await sleep(30);
    }
  } finally {
    await load.stop();
    result.errors = watch.errors;
    opened.close();
    await Promise.all(mocks.map((m) => m.stop()));
  }
  return result;
}
