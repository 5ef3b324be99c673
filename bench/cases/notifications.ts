/**
 * Case 3: the mock pushes newHeads notifications (about 1.2 KB each) as fast as the socket takes
 * them; counts what reaches the consumer, through a session or straight from a raw ws socket. Both
 * consumers JSON.parse every frame (RpcPeer), as any client must.
 */
import { openRawWs, openSession } from '../clients.js';
import { sleep } from '../ipc.js';
import type { RpcPeer } from '../rpc.js';
import { startMocks, type MockUpstream } from '../upstreams.js';

/**
 * `session`: a session with its defaults, continuity on (every head read for its hash and number,
 * duplicates dropped); `session-plain`: continuity off, the bare re-addressing cost.
 */
export type NotificationConsumer = 'raw-ws' | 'session' | 'session-plain';

export interface NotificationsMeasurement {
  consumer: NotificationConsumer;
  sent: number;
  delivered: number;
  seconds: number;
  perSec: number;
  /**
   * This process's CPU time (user + system) per notification delivered, in µs: what a consumer
   * costs, steadier than the rate on a machine shared with other work (the rate also depends on
   * how much CPU the mock and the consumer each get).
   */
  cpuUsPerNotification: number;
}

export async function notificationsCase({ consumer, durationMs, warmupMs }: { consumer: NotificationConsumer; durationMs: number; warmupMs: number }): Promise<NotificationsMeasurement> {
  const [mock] = await startMocks(1);
  const opened =
    consumer === 'raw-ws'
      ? await openRawWs(mock!.wsUrl)
      : await openSession([mock!.node()], consumer === 'session-plain' ? { continuity: { newHeads: false, logs: false } } : {});
  try {
    const { peer } = opened;
    await peer.call('eth_subscribe', '["newHeads"]');
    await measure(peer, mock!, warmupMs);
    return { consumer, ...(await measure(peer, mock!, durationMs)) };
  } finally {
    await opened.close();
    await mock!.stop();
  }
}

async function measure(peer: RpcPeer, mock: MockUpstream, ms: number): Promise<Omit<NotificationsMeasurement, 'consumer'>> {
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
  const { sent } = await mock.push(ms);
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
  return { sent, delivered, seconds, perSec: seconds > 0 ? delivered / seconds : 0, cpuUsPerNotification: delivered > 0 ? (cpu.user + cpu.system) / delivered : 0 };
}
