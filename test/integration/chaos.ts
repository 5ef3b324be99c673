/**
 * The chaos run: real anvil nodes behind fault proxies, the reference proxy, many `ws` clients
 * with subscriptions and a steady request stream (with repeated ids), and a seeded fault schedule
 * that cuts, blackholes, slows, flaps and restores nodes — one node at a time, so service is always
 * possible. Returns exact counts; the caller asserts them.
 */
import { seededRandom } from '../helpers/sessionWorld.js';
import { DEV_ACCOUNT, startCluster, startProxyOver } from './helpers/cluster.js';
import type { FaultProxy } from './helpers/FaultProxy.js';
import { WsClient, poll, sleep } from './helpers/wsClient.js';

export interface ChaosOptions {
  /** The proxy puts every client session on one SharedSocketTransport. */
  shareUpstreams?: boolean;
  seconds: number;
  clients: number;
  seed: number;
  /** Requests per second per client. */
  rate: number;
  log?: (line: string) => void;
}

export interface ChaosCounts {
  seed: number;
  faults: string[];
  requests: number;
  answers: number;
  errorAnswers: Record<string, number>;
  lostAnswers: number;
  duplicatedAnswers: number;
  wrongIdAnswers: number;
  leakedReplayAnswers: number;
  subscriptions: number;
  subscriptionsDeliveringWithOriginalId: number;
  newHeadsDuplicates: number;
  switches: number;
}

const ID_POOL = [0, 1, 2, 'x', 'y']; // small on purpose: ids repeat and collide

export async function runChaos(options: ChaosOptions): Promise<ChaosCounts> {
  const { seconds, clients: clientCount, seed, rate, log = () => {} } = options;
  const random = seededRandom(seed); // so a failing schedule can be replayed with its seed
  const cluster = await startCluster();
  const proxy = await startProxyOver(cluster, { shareUpstreams: options.shareUpstreams ?? false });
  const clients: WsClient[] = [];
  const faults: string[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    await poll('proxy prefers a', async () => proxy.pool.preferred() === 'a', 15_000);
    for (let i = 0; i < clientCount; i++) clients.push(await WsClient.connect(proxy.wsUrl));

    // Every client subscribes to newHeads; the subscribe uses an id from the pool too.
    const subscriptions = new Map<WsClient, string>();
    for (const client of clients) subscriptions.set(client, (await client.call('eth_subscribe', ['newHeads'], 'sub')).result as string);
    const sent = new Map<WsClient, Map<unknown, string[]>>(); // id -> methods sent, in order
    for (const client of clients) sent.set(client, new Map([['sub', ['eth_subscribe']]]));
    let requests = 0;

    // A steady stream of requests with repeated ids.
    const send = (client: WsClient) => {
      const id = ID_POOL[Math.floor(random() * ID_POOL.length)]!;
      const method = random() < 0.5 ? 'eth_blockNumber' : 'eth_getBalance';
      client.send({ jsonrpc: '2.0', id, method, params: method === 'eth_getBalance' ? [DEV_ACCOUNT, 'latest'] : [] });
      const methods = sent.get(client)!;
      methods.set(id, [...(methods.get(id) ?? []), method]);
      requests += 1;
    };
    for (const client of clients) {
      timers.push(setInterval(() => {
        if (!client.closed) send(client);
      }, 1_000 / rate));
    }

    // The fault schedule: one node at a time; the other is always restored first.
    const nodes: Record<'a' | 'b', FaultProxy> = { a: cluster.a.proxy, b: cluster.b.proxy };
    const end = Date.now() + seconds * 1_000;
    while (Date.now() < end) {
      const victim = random() < 0.65 ? 'a' : 'b';
      const other = victim === 'a' ? 'b' : 'a';
      await nodes[other].restore();
      const roll = random();
      const t = ((Date.now() - (end - seconds * 1_000)) / 1_000).toFixed(1);
      if (roll < 0.3) {
        faults.push(`${t}s cut ${victim}`);
        await nodes[victim].cut();
      } else if (roll < 0.5) {
        faults.push(`${t}s blackhole ${victim}`);
        await nodes[victim].blackhole({ discard: true });
      } else if (roll < 0.65) {
        const ms = 300 + Math.floor(random() * 2_700);
        faults.push(`${t}s slow ${victim} ${ms}ms`);
        await nodes[victim].slow(ms);
      } else if (roll < 0.8) {
        faults.push(`${t}s flap ${victim}`);
        for (let i = 0; i < 3; i++) {
          await nodes[victim].cut();
          await sleep(150 + random() * 300);
          await nodes[victim].restore();
          await sleep(150 + random() * 300);
        }
      } else {
        faults.push(`${t}s restore ${victim}`);
        await nodes[victim].restore();
      }
      log(faults.at(-1)!);
      await sleep(1_000 + random() * 3_000);
    }

    // Heal, stop sending, let every answer arrive.
    await nodes.a.restore();
    await nodes.b.restore();
    for (const timer of timers) clearInterval(timer);
    await poll('proxy back on a', async () => proxy.pool.preferred() === 'a', 20_000);
    const sentCount = (client: WsClient, id: unknown) => sent.get(client)!.get(id)?.length ?? 0;
    await poll('every answer', async () => clients.every((c) => [...sent.get(c)!.keys()].every((id) => c.answers(id).length >= sentCount(c, id))), 30_000, 200).catch(() => undefined);
    await sleep(1_000); // room for a duplicate to show up

    // Every subscription still delivers, under its original id.
    const settledAt = Date.now();
    await sleep(2_500);

    const counts: ChaosCounts = {
      seed,
      faults,
      requests,
      answers: 0,
      errorAnswers: {},
      lostAnswers: 0,
      duplicatedAnswers: 0,
      wrongIdAnswers: 0,
      leakedReplayAnswers: 0,
      subscriptions: subscriptions.size,
      subscriptionsDeliveringWithOriginalId: 0,
      newHeadsDuplicates: 0,
      switches: 0,
    };
    for (const client of clients) {
      const methods = sent.get(client)!;
      const subscription = subscriptions.get(client)!;
      for (const { frame } of client.frames) {
        if (frame.method === 'eth_subscription') continue;
        if (Array.isArray(frame) || !methods.has(frame.id)) {
          counts.wrongIdAnswers += 1;
          continue;
        }
        counts.answers += 1;
        if (frame.error) counts.errorAnswers[frame.error.code] = (counts.errorAnswers[frame.error.code] ?? 0) + 1;
        // A subscription id as the answer to anything but the client's own subscribe is a leaked replay.
        if (frame.id !== 'sub' && typeof frame.result === 'string' && frame.result.length === 34) counts.leakedReplayAnswers += 1;
      }
      for (const [id, list] of methods) {
        const got = client.answers(id).length;
        if (got < list.length) counts.lostAnswers += list.length - got;
        if (got > list.length) counts.duplicatedAnswers += got - list.length;
      }
      const notifications = client.notifications();
      if (notifications.some((n) => n.at > settledAt && n.frame.params!.subscription === subscription) && notifications.every((n) => n.frame.params!.subscription === subscription)) {
        counts.subscriptionsDeliveringWithOriginalId += 1;
      }
      const hashes = notifications.map((n) => n.frame.params!.result.hash as string);
      counts.newHeadsDuplicates += hashes.length - new Set(hashes).size;
    }
    const switchesLine = proxy.metrics.render().split('\n').filter((l) => l.startsWith('steadyrpc_session_switches_total{'));
    counts.switches = switchesLine.reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    return counts;
  } finally {
    for (const timer of timers) clearInterval(timer);
    for (const client of clients) client.close();
    await proxy.close();
    await cluster.stop();
  }
}
