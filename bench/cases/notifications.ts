/**
 * Case 3: the mock pushes newHeads notifications (about 1.2 KB each) as fast as the socket takes
 * them; counts what reaches the consumer, through a session or straight from a raw ws socket. Every
 * consumer JSON.parses every frame (RpcPeer), as any client must.
 *
 * The consumers take turns in one process, in short alternating slices (raw, session, plain, then
 * plain, session, raw, …), each on its own socket to the one mock, which pushes to one of them at a
 * time: what a busy or throttled machine does to the rate, it does to all of them alike. (Run as
 * separate jobs seconds apart, the same code gave per-round ratios from 0.80× to 1.21× on the
 * 2-core VM, as the machine's speed changed between jobs by up to half.)
 */
import { openRawWs, openSession } from '../clients.js';
import { sleep } from '../ipc.js';
import { median } from '../load.js';
import type { RpcPeer } from '../rpc.js';
import { startMocks, type MockUpstream } from '../upstreams.js';

/**
 * `session`: a session with its defaults, continuity on (every head read for its hash and number,
 * duplicates dropped); `session-plain`: continuity off, the bare re-addressing cost.
 */
export type NotificationConsumer = 'raw-ws' | 'session' | 'session-plain';

export const NOTIFICATION_CONSUMERS: readonly NotificationConsumer[] = ['raw-ws', 'session', 'session-plain'];

export interface NotificationsMeasurement {
  consumer: NotificationConsumer;
  /** Over all of the consumer's slices. */
  sent: number;
  delivered: number;
  seconds: number;
  /** The median of its slices' rates. */
  perSec: number;
  /** Each slice's rate, in order. */
  slices: number[];
  /**
   * This process's CPU time (user + system) per notification delivered, in µs, over its slices:
   * what a consumer costs (the others are idle while it runs), steadier than the rate on a machine
   * shared with other work (the rate also depends on how much CPU the mock and the consumer each get).
   */
  cpuUsPerNotification: number;
}

export interface NotificationsRun {
  consumers: Record<NotificationConsumer, NotificationsMeasurement>;
  /**
   * Per cycle (one slice of each consumer, next to each other in time): the consumer's rate over
   * raw ws's.
   */
  ratios: Record<Exclude<NotificationConsumer, 'raw-ws'>, number[]>;
}

/** Slices of each consumer in one run, at most: none shorter than {@link MIN_SLICE_MS} (`--quick`). */
export const NOTIFICATION_SLICES = 10;
const MIN_SLICE_MS = 100;

/** `durationMs`: each consumer's pushing time in all, shared out among its slices. */
export async function notificationsCase({ durationMs, warmupMs }: { durationMs: number; warmupMs: number }): Promise<NotificationsRun> {
  const slices = Math.max(1, Math.min(NOTIFICATION_SLICES, Math.floor(durationMs / MIN_SLICE_MS)));
  const [mock] = await startMocks(1);
  const url = (peer: NotificationConsumer) => `${mock!.wsUrl}/?peer=${peer}`;
  const opened: Partial<Record<NotificationConsumer, { peer: RpcPeer; close(): unknown }>> = {};
  try {
    opened['raw-ws'] = await openRawWs(url('raw-ws'));
    opened.session = await openSession([{ ...mock!.node(), ws: url('session') }]);
    opened['session-plain'] = await openSession([{ ...mock!.node(), ws: url('session-plain') }], { continuity: { newHeads: false, logs: false } });
    for (const consumer of NOTIFICATION_CONSUMERS) {
      const { peer } = opened[consumer]!;
      await peer.call('eth_subscribe', '["newHeads"]');
      await measure(peer, mock!, consumer, warmupMs / NOTIFICATION_CONSUMERS.length);
    }
    const sliceMs = durationMs / slices;
    const runs = new Map(NOTIFICATION_CONSUMERS.map((c) => [c, [] as Slice[]]));
    for (let i = 0; i < slices; i++) {
      const order = i % 2 === 0 ? NOTIFICATION_CONSUMERS : [...NOTIFICATION_CONSUMERS].reverse();
      for (const consumer of order) runs.get(consumer)!.push(await measure(opened[consumer]!.peer, mock!, consumer, sliceMs));
    }
    const raw = runs.get('raw-ws')!;
    const ratiosOf = (consumer: NotificationConsumer) => runs.get(consumer)!.map((s, i) => (raw[i]!.perSec > 0 ? s.perSec / raw[i]!.perSec : 0));
    return {
      consumers: Object.fromEntries(NOTIFICATION_CONSUMERS.map((c) => [c, summarize(c, runs.get(c)!)])) as NotificationsRun['consumers'],
      ratios: { session: ratiosOf('session'), 'session-plain': ratiosOf('session-plain') },
    };
  } finally {
    for (const o of Object.values(opened)) await o.close();
    await mock!.stop();
  }
}

interface Slice {
  sent: number;
  delivered: number;
  seconds: number;
  perSec: number;
  cpuUs: number;
}

function summarize(consumer: NotificationConsumer, slices: Slice[]): NotificationsMeasurement {
  const sum = (key: keyof Slice) => slices.reduce((total, s) => total + s[key], 0);
  const delivered = sum('delivered');
  return {
    consumer,
    sent: sum('sent'),
    delivered,
    seconds: sum('seconds'),
    perSec: median(slices.map((s) => s.perSec)),
    slices: slices.map((s) => s.perSec),
    cpuUsPerNotification: delivered > 0 ? sum('cpuUs') / delivered : 0,
  };
}

/** One slice: the mock pushes to `consumer`'s socket for `ms`; then what it sent is let in. */
async function measure(peer: RpcPeer, mock: MockUpstream, consumer: NotificationConsumer, ms: number): Promise<Slice> {
  let delivered = 0;
  let first = 0;
  let last = 0;
  peer.onNotification = () => {
    const now = performance.now();
    if (delivered === 0) first = now;
    last = now;
    delivered += 1;
  };
  const cpuBefore = process.cpuUsage();
  const { sent } = await mock.push(ms, consumer);
  // Let what is buffered arrive: until all is in, or nothing arrived for 500 ms.
  const deadline = performance.now() + 20_000;
  let seen = delivered;
  let progressAt = performance.now();
  while (delivered < sent && performance.now() - progressAt < 500 && performance.now() < deadline) {
    await sleep(20);
    if (delivered !== seen) {
      seen = delivered;
      progressAt = performance.now();
    }
  }
  peer.onNotification = undefined;
  const cpu = process.cpuUsage(cpuBefore);
  const seconds = (last - first) / 1000;
  return { sent, delivered, seconds, perSec: seconds > 0 ? delivered / seconds : 0, cpuUs: cpu.user + cpu.system };
}
