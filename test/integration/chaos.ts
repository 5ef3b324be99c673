/**
 * The chaos run: two real anvil nodes of ONE network (SharedChain: byte-identical history, each behind
 * a FaultProxy), a miner that mines a block with a log or two every 0.5–1 s, the reference proxy, many
 * `ws` clients and a seeded fault schedule. Each client subscribes to `newHeads` and to the logger's
 * `logs`, and sends a steady stream of requests with colliding ids (`eth_blockNumber`, the newest
 * block it was given by number, the receipt of the newest log's transaction, and state at `latest`:
 * `eth_getBalance` of SharedChain's TICKS, whose balance is the number of the block whose state
 * answered, see stateReads.ts). Returns exact counts; the caller asserts them.
 *
 * The schedule runs in rounds of four steps, shuffled: a fork, a lag and two transport faults (cut,
 * blackhole, slow, flap or restore), so even the short run has each kind. Transport faults hit one
 * node at a time (the other is always restored first); chain faults too, one node at a time: `lag`
 * (the node gets no blocks for 1.5–4.5 s, then catches up; often the node serving is cut meanwhile,
 * so the sessions fail over to the lagging one while it is a block or two behind; in 40% of them
 * `read-lag` instead: the node's heads go on, but its block reads (by number, and receipts,
 * transactions and blocks by hash) answer `null` for the newest block or two, as a load-balanced
 * endpoint's lagging read backend does) and `fork` (the
 * node leaves the canonical chain 1–3 blocks down with 1–4 blocks of its own, keeps mining its own
 * branch, and rejoins 3–8 s later; the sessions fail back or over onto it). A lagging or forked node
 * still serves (a forked one is a valid chain, just another branch), so service is always possible;
 * a lagging node may make reads wait or fail with BEHIND (-32055), an allowed answer.
 *
 * Where forks happen, and why. anvil announces its own reorgs unlike geth: it re-emits the new
 * branch's heads but never sends `removed: true` for the dropped blocks' logs (see sharedChain.ts).
 * So most forks (and their rejoins, which are reorgs of the node too) are made while the node is CUT,
 * so that no session is on it: a fork "on the node serving" is a node that drops out and comes back
 * on another branch (cut, its sessions fail over; fork; restore 1.6–2.6 s later, 70%: they fail back
 * onto the new branch, else it stays cut until the next step), and a fork on the other node is met when
 * the sessions fail over to it (often made to at once: the other is cut). Every branch change a
 * client sees then crosses a switch, where the library must announce it (invariant 11) whatever
 * anvil does, so every violation counted is the library's.
 * The rest (`liveForks`, default a quarter; `fork a live` in the fault list) are made under the
 * sessions on the node, like a real node's reorg. With no switch the library sees such a reorg only
 * on the client's `newHeads` subscription (a head again at a height it had given), and since it
 * retracts the logs subscriptions' logs from there itself (anvil does not), every client here
 * (subscribed to both) must still read one node's reorg: those are counted the same. Replay a
 * failing seed with CHAOS_LIVE_FORKS=0 to tell whether only the live forks break it (a client with
 * only a `logs` subscription could not be helped: the library has nothing to see the reorg by).
 *
 * HTTP clients run along too (`httpClients`, 4 by default, see chaosHttp.ts): `POST /` through the
 * pool, a block number, the newest block each was given, and both in a batch, checked the same way
 * (no lower number, no `null` for a block given, every request answered once under its ids).
 *
 * Four abusers run along (`abusers`, on by default; the proxy then has small limits,
 * CHAOS_LIMITS): a client that sends bursts past `maxInFlight` (every call answered exactly once,
 * LIMIT_EXCEEDED only past the cap), one that stops reading while asking for every log (closed
 * as a slow reader, counted in /metrics), an HTTP client that holds more `POST /` requests in
 * progress than `maxHttpInFlight` (every request answered once, a result or the documented 503,
 * and that only when the cap could have been met: chaosHttpLimit.ts; the other HTTP clients are
 * judged the same way), and a client whose `eth_call` every few seconds has an answer past the
 * upstream sockets' `maxPayload` (1 MiB here), beside small calls on its socket (sent only alone in
 * flight once a socket it was on failed so, FRAME_TOO_LARGE naming the method once one it was alone
 * on failed too, the calls beside it answered: chaosOversized.ts), so the limits are held under faults, not only in the
 * adversarial probes.
 */
import { SharedSocketTransport } from '../../src/index.js';
import { BurstClient, SlowReader, type BurstCounts } from './helpers/chaosAbusers.js';
import { HttpBurstClient, HttpOutstanding, type HttpBurstCounts } from './helpers/chaosHttpLimit.js';
import { OversizedClient, TAG_PATTERN, checkBigCall, type OversizedCounts } from './helpers/chaosOversized.js';
import { cappedUpstreams, metricSum, startProxyOverChain } from './helpers/chaosProxy.js';
import { seededRandom as chaosRandom } from '../helpers/sessionWorld.js';
import { HttpChaosClient, sumHttpCounts, type HttpChaosCounts } from './helpers/chaosHttp.js';
import { ChaosWatch, emptyWatchCounts, type WatchCounts } from './helpers/chaosWatch.js';
import { LOG_TOPIC, SharedChain, TICKS } from './helpers/sharedChain.js';
import { SocketLedger } from './helpers/socketLedger.js';
import { WsClient, poll, sleep } from './helpers/wsClient.js';

export interface ChaosOptions {
  /** The proxy puts every client session on one SharedSocketTransport. */
  shareUpstreams?: boolean;
  seconds: number;
  clients: number;
  seed: number;
  /** Requests per second per client. */
  rate: number;
  /** Share of forks (and their rejoins) made under the sessions on the node, not while it is cut. @default 0.25 */
  liveForks?: number;
  /**
   * Also run a client that bursts past the proxy's per-client cap on calls in flight, one that
   * stops reading (see chaosAbusers.ts), an HTTP one past `maxHttpInFlight` (chaosHttpLimit.ts) and
   * one whose answers are too large for the upstream sockets (chaosOversized.ts); the proxy runs
   * with small limits for them. @default true
   */
  abusers?: boolean;
  /** How often the oversized-answer client sends its call, in ms. @default CHAOS_LIMITS.oversizedEveryMs */
  oversizedEveryMs?: number;
  /** Clients of the proxy's `POST /` (see chaosHttp.ts), each at `rate`. @default 4 */
  httpClients?: number;
  log?: (line: string) => void;
}

export interface ChaosCounts extends WatchCounts {
  seed: number;
  faults: string[];
  /** Faults (and heals: catch-up, rejoin) by kind. */
  faultsByKind: Record<string, number>;
  /** Canonical blocks mined, and blocks mined on a forked node's own branch. */
  blocks: number;
  forkBlocks: number;
  requests: number;
  answers: number;
  errorAnswers: Record<string, number>;
  /** When error answers of each code arrived, first and last (seconds into the run). */
  errorTimes: Record<string, [number, number]>;
  /** Answers with error BEHIND (-32055). */
  behindErrors: number;
  lostAnswers: number;
  duplicatedAnswers: number;
  wrongIdAnswers: number;
  leakedReplayAnswers: number;
  /** Two per client: newHeads and logs. */
  subscriptions: number;
  subscriptionsDeliveringWithOriginalId: number;
  switches: number;
  /** From the proxy's /metrics: steadyrpc_session_reorgs_total, and those marked deep. */
  reorgsAnnounced: number;
  deepReorgs: number;
  /** From /metrics: steadyrpc_session_behind_reads_total by outcome. */
  behindReads: { held: number; failed: number };
  /** The first violations seen, with the client and the time. */
  examples: string[];
  /** The client bursting past `maxInFlight` (undefined without abusers). */
  burst?: BurstCounts;
  /** The HTTP client bursting past the proxy's `maxHttpInFlight` (undefined without abusers). */
  httpBurst?: HttpBurstCounts;
  /** The client whose answers are past the upstream sockets' `maxPayload` (undefined without abusers). */
  oversized?: OversizedCounts;
  /** With shared upstream sockets: the calls the transport sent on sockets of their own, and those answered FRAME_TOO_LARGE there. */
  isolation?: { isolated: number; isolatedTooLarge: number };
  /** From /metrics: clients closed as slow readers, and closes by cause. */
  slowReaderCloses: number;
  /** The HTTP clients' counts, added up. */
  http: HttpChaosCounts;
  /** Calls made once all had healed (two per socket client, one per HTTP client), and those not answered with a result. */
  afterHeal: { asked: number; failed: string[] };
  /** From /metrics: backfills after a switch that skipped a gap or failed (each may leave a gap in a newHeads stream). */
  backfillSkipped: number;
}

/** The per-client limits the proxy gets in a run with abusers: small, so they are met. */
export const CHAOS_LIMITS = Object.freeze({
  maxInFlight: 64,
  maxBufferedBytes: 256 * 1024,
  burst: 80,
  /** The proxy's cap on `POST /` in progress; the HTTP burst opens more every `httpEveryMs` (chaosHttpLimit.ts). */
  maxHttpInFlight: 48,
  httpBurst: 64,
  httpEveryMs: 2_000,
  /**
   * The largest message the proxy's upstream sockets take (WsSocketTransport's `maxPayload`). The
   * run's other answers stay far below it in a run of minutes (the largest, the slow reader's reads
   * of every log, grow with the chain); the oversized call's is 3 MiB. Its request is about 250
   * bytes, far below the proxy's client frame limit (`maxFrameBytes`, 5 MiB by default, which also
   * caps the HTTP body).
   */
  upstreamMaxPayload: 1024 * 1024,
  /**
   * How often the oversized call goes (when the last one is answered), in both variants. With
   * shared upstream sockets each one closes the socket every session is on, once: the calls then in
   * flight are sent again on sockets of their own (IsolationLane), so no other client's call gets
   * FRAME_TOO_LARGE (before, from 90 to 923 did in four 90 s runs, every 15 s). Such closes once
   * kept every session's reconnect backoff at its cap (seeds 20261301 and 20261303); they no longer
   * count as the node failing.
   */
  oversizedEveryMs: 4_000,
});

const ID_POOL = [0, 1, 2, 'x', 'y']; // small on purpose: ids repeat and collide
const SUBSCRIBE_IDS = new Set<unknown>(['sub', 'logs']);
type Name = 'a' | 'b';
const otherOf = (name: Name): Name => (name === 'a' ? 'b' : 'a');

interface Client {
  ws: WsClient;
  watch: ChaosWatch;
  /** id -> methods sent, in order */
  sent: Map<unknown, string[]>;
  /** Frames of `ws.frames` already fed to the watch. */
  absorbed: number;
}

/**
 * Feeds the watch every frame the client received since the last call (they are in arrival order),
 * with when each arrived (`origin`: `Date.now()` at the watch's time 0).
 */
function absorb(client: Client, origin: number): void {
  const frames = client.ws.frames;
  for (let i = client.absorbed; i < frames.length; i++) client.watch.receive(frames[i]!.frame, frames[i]!.at - origin);
  client.absorbed = frames.length;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosCounts> {
  const { seconds, clients: clientCount, seed, rate, liveForks = 0.25, abusers = true, httpClients: httpClientCount = 4, log = () => {} } = options;
  // Separate streams, so the schedule replays from the seed whatever the miner and clients draw.
  const random = chaosRandom(seed);
  const minerRandom = chaosRandom(seed ^ 0x5bd1e995);
  const clientRandom = chaosRandom(seed ^ 0x27d4eb2f);
  // With ticks: a state read's answer tells which block's state it is (see stateReads.ts).
  const chain = await SharedChain.start({ names: ['a', 'b'], readLag: true, ticks: true });
  const clients: Client[] = [];
  const httpClients: HttpChaosClient[] = [];
  const faults: string[] = [];
  const faultsByKind: Record<string, number> = {};
  const timers: NodeJS.Timeout[] = [];
  let started = Date.now();
  let mining = true;
  let miner: Promise<void> = Promise.resolve();
  let minerError: unknown;
  let blocks = 0;
  let forkBlocks = 0;
  /** The one node under a chain fault, if any; a fork's `until` is when it is due to rejoin. */
  let chainFault: { kind: 'lag' | 'read-lag' | 'fork'; node: Name; until: number; live?: boolean } | undefined;
  const transport = (name: Name) => chain.nodes[name]!.proxy;
  /**
   * Ends a node's transport fault. A blackhole here discards the bytes it holds (a zombie), which TCP
   * never does on a connection that lives on: its connections are reset first, as when a partition
   * that lost data ends (passing bytes again on them would leave calls whose bytes were dropped to
   * wait out their 30 s timeout, and heads missing with no switch to backfill them).
   */
  const heal = async (name: Name) => {
    if (transport(name).mode === 'blackhole') await transport(name).cut();
    await transport(name).restore();
  };
  const note = (kind: string, text: string) => {
    const line = `${((Date.now() - started) / 1_000).toFixed(1)}s ${kind} ${text}`;
    faults.push(line);
    faultsByKind[kind] = (faultsByKind[kind] ?? 0) + 1;
    log(line);
  };
  let proxy: Awaited<ReturnType<typeof startProxyOverChain>> | undefined;
  let burster: BurstClient | undefined;
  let slowReader: SlowReader | undefined;
  let httpBurster: HttpBurstClient | undefined;
  let oversized: OversizedClient | undefined;
  /** Every HTTP client's requests in progress, to judge the proxy's refusals by (chaosHttpLimit.ts). */
  const outstanding = new HttpOutstanding();
  try {
    // A few blocks at once, so a fork of depth 3 is possible from the start.
    for (let i = 0; i < 4; i++) await chain.mine({ logs: 1 });
    const shareUpstreams = options.shareUpstreams ?? false;
    if (abusers) await checkBigCall(chain.nodes.a!.anvil.httpUrl, CHAOS_LIMITS.upstreamMaxPayload);
    // What the sessions do with their sockets, for judging the oversized client's calls.
    const upstreams = abusers ? cappedUpstreams(CHAOS_LIMITS.upstreamMaxPayload, shareUpstreams) : undefined;
    const ledger = upstreams ? new SocketLedger(upstreams, TAG_PATTERN) : undefined;
    proxy = await startProxyOverChain(chain, {
      shareUpstreams,
      ...(abusers
        ? {
            maxBufferedBytes: CHAOS_LIMITS.maxBufferedBytes,
            maxHttpInFlight: CHAOS_LIMITS.maxHttpInFlight,
            session: { maxInFlight: CHAOS_LIMITS.maxInFlight, transport: ledger },
          }
        : {}),
    });
    const px = proxy;
    const sessionsOn = (name: Name) => metricSum(px.metrics.render(), 'steadyrpc_sessions', { node: name });

    // The miner: a canonical block (one or two logs) on the nodes in sync, and one on a forked node's
    // own branch, every 0.5–1 s. A forked node keeps pace, so it stays a live, healthy branch.
    miner = (async () => {
      while (mining) {
        try {
          const logs = minerRandom() < 0.5 ? 1 : 2;
          await chain.mine({ logs });
          blocks += 1;
          const fault = chainFault;
          if (fault?.kind === 'fork') {
            await chain.fork(fault.node, 0, { blocks: 1, logs });
            forkBlocks += 1;
          }
        } catch (error) {
          minerError ??= error;
        }
        await sleep(500 + minerRandom() * 500);
      }
    })();

    await poll('proxy prefers a', async () => px.pool.preferred() === 'a', 15_000);
    for (let i = 0; i < clientCount; i++) {
      const ws = await WsClient.connect(px.wsUrl);
      clients.push({ ws, watch: new ChaosWatch(() => Date.now() - started), sent: new Map(), absorbed: 0 });
    }
    // Every client subscribes to newHeads and to the logger's logs (their ids outside the pool).
    for (const client of clients) {
      const heads = await client.ws.call('eth_subscribe', ['newHeads'], 'sub');
      const logs = await client.ws.call('eth_subscribe', ['logs', { address: chain.logger, topics: [LOG_TOPIC] }], 'logs');
      client.watch.heads = typeof heads.result === 'string' ? heads.result : undefined;
      client.watch.logs = typeof logs.result === 'string' ? logs.result : undefined;
      client.sent.set('sub', ['eth_subscribe']);
      client.sent.set('logs', ['eth_subscribe']);
    }
    let requests = 0;
    started = Date.now();
    if (abusers) {
      burster = await BurstClient.connect(px.wsUrl, CHAOS_LIMITS.maxInFlight);
      const b = burster;
      timers.push(setInterval(() => b.burst(CHAOS_LIMITS.burst), 1_500));
      slowReader = await SlowReader.connect(px.wsUrl);
      slowReader.start(100, 10);
      httpBurster = new HttpBurstClient(`${px.url}/`, CHAOS_LIMITS.maxHttpInFlight, outstanding);
      const h = httpBurster;
      timers.push(setInterval(() => h.burst(CHAOS_LIMITS.httpBurst), CHAOS_LIMITS.httpEveryMs));
      oversized = await OversizedClient.connect(px.wsUrl);
      oversized.start(options.oversizedEveryMs ?? CHAOS_LIMITS.oversizedEveryMs);
    }

    // A steady stream of requests with repeated ids.
    const send = (client: Client) => {
      absorb(client, started); // the client's view when it sends
      const next = client.watch.next(clientRandom, ID_POOL);
      if (!next) return;
      const { id, method } = next;
      const block = client.watch.high;
      const tx = client.watch.newestTransaction;
      const params =
        method === 'eth_getBalance' ? [TICKS, 'latest'] : method === 'eth_getBlockByNumber' ? [`0x${block.toString(16)}`, false] : method === 'eth_getTransactionReceipt' ? [tx] : [];
      client.ws.send({ jsonrpc: '2.0', id, method, params });
      client.watch.sent(id, method, block, tx);
      client.sent.set(id, [...(client.sent.get(id) ?? []), method]);
      requests += 1;
    };
    for (const client of clients) {
      timers.push(
        setInterval(() => {
          if (!client.ws.closed) send(client);
        }, 1_000 / rate),
      );
    }
    const httpRandom = chaosRandom(seed ^ 0x165667b1);
    for (let i = 0; i < httpClientCount; i++) {
      const limit = abusers ? { max: CHAOS_LIMITS.maxHttpInFlight, outstanding } : undefined;
      const client = new HttpChaosClient(`${px.url}/`, httpRandom, () => Date.now() - started, limit);
      httpClients.push(client);
      timers.push(setInterval(() => client.send(), 1_000 / rate));
    }

    /** Ends the chain fault: a lagging node catches up; a forked one rejoins while cut (see the top). */
    const healChain = async () => {
      const fault = chainFault;
      if (!fault) return;
      if (fault.kind === 'lag') {
        chainFault = undefined;
        await chain.catchUp(fault.node);
        return note('catch-up', fault.node);
      }
      if (fault.kind === 'read-lag') {
        chainFault = undefined;
        chain.nodes[fault.node]!.reads!.nullBlocksAbove(undefined);
        return note('reads-catch-up', fault.node);
      }
      if (fault.live) {
        const serving = sessionsOn(fault.node);
        const rejoined = chain.rejoin(fault.node);
        chainFault = undefined; // no more blocks on its branch
        await rejoined;
        return note('rejoin', `${fault.node} live (${serving} sessions on it)`);
      }
      await heal(otherOf(fault.node));
      await transport(fault.node).cut();
      const rejoined = chain.rejoin(fault.node);
      chainFault = undefined; // no more blocks on its branch
      await rejoined;
      await heal(fault.node);
      note('rejoin', fault.node);
    };
    /** Sleeps `ms`, ending a lag when it is due. */
    const pause = async (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        await sleep(Math.min(200, until - Date.now()));
        if ((chainFault?.kind === 'lag' || chainFault?.kind === 'read-lag') && Date.now() >= chainFault.until) await healChain();
      }
    };

    // The fault schedule: one node at a time under a transport fault (the other is restored first),
    // one node at a time under a chain fault.
    const end = Date.now() + seconds * 1_000;
    /** Steps left in this round: each round of four has a fork, a lag and two transport faults, shuffled. */
    const round: Array<'fork' | 'lag' | 'transport'> = [];
    while (Date.now() < end) {
      if (chainFault?.kind === 'fork' && Date.now() >= chainFault.until) await healChain();
      if (round.length === 0) {
        round.push('fork', 'lag', 'transport', 'transport');
        for (let i = round.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [round[i], round[j]] = [round[j]!, round[i]!];
        }
      }
      const step = round.shift()!;
      const victim: Name = random() < 0.6 ? 'a' : 'b';
      const other = otherOf(victim);
      await heal(other);
      if (step === 'transport') {
        const roll = random();
        if (roll < 0.3) {
          note('cut', victim);
          await transport(victim).cut();
        } else if (roll < 0.5) {
          note('blackhole', victim);
          await transport(victim).blackhole({ discard: true });
        } else if (roll < 0.7) {
          const ms = 300 + Math.floor(random() * 2_700);
          note('slow', `${victim} ${ms}ms`);
          if (transport(victim).mode === 'blackhole') await transport(victim).cut(); // see heal()
          await transport(victim).slow(ms);
        } else if (roll < 0.85) {
          note('flap', victim);
          for (let i = 0; i < 3; i++) {
            await transport(victim).cut();
            await sleep(150 + random() * 300);
            await heal(victim);
            await sleep(150 + random() * 300);
          }
        } else {
          note('restore', victim);
          await heal(victim);
        }
      } else if (step === 'lag') {
        const ms = 1_500 + Math.floor(random() * 3_000);
        const failover = random() < 0.6;
        const after = 600 + Math.floor(random() * 900);
        const readsOnly = random() < 0.4;
        await healChain();
        if (readsOnly) {
          // The node's heads go on, but its block reads lag them by a block or two (a load-balanced
          // endpoint's read backend): `null` for a block its own heads showed.
          const behindBy = 1 + Math.floor(random() * 2);
          chain.nodes[victim]!.reads!.nullBlocksAbove(chain.canonical().number - behindBy);
          chainFault = { kind: 'read-lag', node: victim, until: Date.now() + ms };
          note('read-lag', `${victim} ${ms}ms, blocks above ${chain.canonical().number - behindBy} read as null`);
        } else {
          chain.lag(victim);
          chainFault = { kind: 'lag', node: victim, until: Date.now() + ms };
          note('lag', `${victim} ${ms}ms`);
        }
        // Often the sessions are then made to fail over to the lagging node while it is a block or
        // two behind what they were given (within maxLagBlocks): reads must wait or get BEHIND.
        if (failover && px.pool.preferred() === other) {
          await sleep(after);
          await heal(victim);
          note('cut', `${other} (failover to lagging ${victim})`);
          await transport(other).cut();
        }
      } else {
        const depth = 1 + Math.floor(random() * 3);
        const forkBlocksNow = Math.max(1, depth - 1 + Math.floor(random() * 3));
        const back = random() < 0.7;
        const failover = random() < 0.7;
        const after = 300 + Math.floor(random() * 500);
        const rejoinIn = 3_000 + Math.floor(random() * 5_000);
        const live = random() < liveForks;
        const downMs = 1_600 + Math.floor(random() * 1_000);
        await healChain();
        const serving = sessionsOn(victim);
        if (live) {
          await chain.fork(victim, depth, { blocks: forkBlocksNow, logs: 1 });
          chainFault = { kind: 'fork', node: victim, until: Date.now() + rejoinIn, live };
          note('fork', `${victim} live depth ${depth} blocks ${forkBlocksNow} (${serving} sessions on it)`);
        } else {
          await transport(victim).cut();
          await chain.fork(victim, depth, { blocks: forkBlocksNow, logs: 1 });
          chainFault = { kind: 'fork', node: victim, until: Date.now() + rejoinIn };
          note('fork', `${victim} depth ${depth} blocks ${forkBlocksNow} (${serving} sessions were on it; ${back ? `down ${downMs}ms` : 'stays cut'})`);
          // Down long enough for the pool to mark it down, so the sessions fail back once it is up.
          if (back) {
            await sleep(downMs);
            await heal(victim);
          }
        }
        // The preferred node fails back onto its new branch by itself; for the other one, the
        // sessions are often made to fail over to it.
        if ((back || live) && failover && px.pool.preferred() === other) {
          await sleep(after);
          note('cut', `${other} (failover to forked ${victim})`);
          await transport(other).cut();
        }
      }
      await pause(800 + random() * 2_700);
    }

    // Heal, stop sending, let every answer arrive (the miner goes on: subscriptions must still deliver).
    await heal('a');
    await heal('b');
    await healChain();
    for (const timer of timers) clearInterval(timer);
    oversized?.stop();
    await poll('proxy back on a', async () => px.pool.preferred() === 'a', 20_000);
    const sentCount = (client: Client, id: unknown) => client.sent.get(id)?.length ?? 0;
    slowReader?.close();
    await poll(
      'every answer',
      async () => (burster?.settled ?? true) && (httpBurster?.settled ?? true) && (oversized?.settled ?? true) && httpClients.every((c) => c.pending === 0) && clients.every((c) => [...c.sent.keys()].every((id) => c.ws.answers(id).length >= sentCount(c, id))),
      30_000,
      200,
    ).catch(() => undefined);
    await sleep(1_000); // room for a duplicate to show up

    // Once all has healed, calls succeed: each client asks over its socket and each HTTP client
    // once more, and every answer must be a result (the seeds' incident: after a reconnect, every
    // call timed out, which an error-tolerant count would not notice).
    const afterHeal: { asked: number; failed: string[] } = { asked: 0, failed: [] };
    const askAfterHeal = async (what: string, ask: () => Promise<{ result?: unknown; error?: unknown }>) => {
      afterHeal.asked += 1;
      const answer = await ask().catch((error: unknown) => ({ error: String(error) }));
      if (!('result' in answer) || answer.error !== undefined) afterHeal.failed.push(`${what}: ${JSON.stringify(answer).slice(0, 200)}`);
    };
    await Promise.all([
      ...clients.flatMap((client, index) =>
        (['eth_blockNumber', 'eth_getBalance'] as const).map((method) => {
          const id = `after-heal-${method}`;
          const params = method === 'eth_getBalance' ? [TICKS, 'latest'] : [];
          client.sent.set(id, [method]);
          client.watch.sent(id, method, client.watch.high);
          return askAfterHeal(`client ${index} ${method}`, () => client.ws.call(method, params, id, 10_000));
        }),
      ),
      ...httpClients.map((_, index) =>
        askAfterHeal(`HTTP ${index} eth_blockNumber`, async () =>
          (await fetch(`${px.url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}', signal: AbortSignal.timeout(10_000) })).json() as Promise<{ result?: unknown; error?: unknown }>,
        ),
      ),
    ]);

    // Every subscription still delivers, under its original id.
    const settledAt = Date.now();
    await sleep(2_500);
    mining = false;
    await miner;
    if (minerError) throw minerError;
    const metrics = await (await fetch(`${px.url}/metrics`)).text();

    for (const client of httpClients) client.finish(chain.headChanges, started);
    const counts: ChaosCounts = {
      ...emptyWatchCounts(),
      seed,
      faults,
      faultsByKind,
      blocks,
      forkBlocks,
      requests,
      answers: 0,
      errorAnswers: {},
      errorTimes: {},
      behindErrors: 0,
      lostAnswers: 0,
      duplicatedAnswers: 0,
      wrongIdAnswers: 0,
      leakedReplayAnswers: 0,
      subscriptions: clients.length * 2,
      subscriptionsDeliveringWithOriginalId: 0,
      switches: metricSum(metrics, 'steadyrpc_session_switches_total'),
      reorgsAnnounced: metricSum(metrics, 'steadyrpc_session_reorgs_total'),
      deepReorgs: metricSum(metrics, 'steadyrpc_session_reorgs_total', { deep: 'true' }),
      behindReads: { held: metricSum(metrics, 'steadyrpc_session_behind_reads_total', { outcome: 'held' }), failed: metricSum(metrics, 'steadyrpc_session_behind_reads_total', { outcome: 'failed' }) },
      examples: [],
      ...(burster ? { burst: burster.counts() } : {}),
      ...(httpBurster ? { httpBurst: httpBurster.counts } : {}),
      ...(oversized ? { oversized: oversized.counts(ledger!.events, { a: chain.nodes.a!.reads!, b: chain.nodes.b!.reads! }) } : {}),
      ...(upstreams instanceof SharedSocketTransport ? { isolation: upstreams.stats() } : {}),
      slowReaderCloses: metricSum(metrics, 'steadyrpc_client_slow_reader_closes_total'),
      afterHeal,
      backfillSkipped: metricSum(metrics, 'steadyrpc_session_backfill_total', { outcome: 'skipped' }) + metricSum(metrics, 'steadyrpc_session_backfill_total', { outcome: 'failed' }),
      http: sumHttpCounts(httpClients),
    };
    // Still on its way after the wait for every answer: lost.
    counts.http.lost += httpClients.reduce((n, c) => n + c.pending, 0);
    clients.forEach((client, index) => {
      absorb(client, started);
      const { ws, watch, sent } = client;
      watch.finish((n) => (n < chain.canonical().number + 1 ? chain.canonical(n).hash : undefined), { changes: chain.headChanges, origin: started });
      for (const key of Object.keys(watch.counts) as Array<keyof WatchCounts>) counts[key] += watch.counts[key];
      for (const example of watch.examples) if (counts.examples.length < 12) counts.examples.push(`client ${index}: ${example}`);
      for (const { frame, at } of ws.frames) {
        if (frame.method === 'eth_subscription') continue;
        if (Array.isArray(frame) || !sent.has(frame.id)) {
          counts.wrongIdAnswers += 1;
          continue;
        }
        counts.answers += 1;
        if (frame.error) {
          const code = frame.error.code;
          counts.errorAnswers[code] = (counts.errorAnswers[code] ?? 0) + 1;
          const t = Math.round((at - started) / 100) / 10;
          const [first, last] = counts.errorTimes[code] ?? [t, t];
          counts.errorTimes[code] = [Math.min(first, t), Math.max(last, t)];
        }
        // A subscription id as the answer to anything but the client's own subscribes is a leaked replay.
        if (!SUBSCRIBE_IDS.has(frame.id) && typeof frame.result === 'string' && frame.result.length === 34) counts.leakedReplayAnswers += 1;
      }
      for (const [id, list] of sent) {
        const got = ws.answers(id).length;
        if (got < list.length) counts.lostAnswers += list.length - got;
        if (got > list.length) counts.duplicatedAnswers += got - list.length;
      }
      const notifications = ws.notifications();
      const own = [watch.heads, watch.logs];
      const allOwn = notifications.every((n) => own.includes(n.frame.params!.subscription));
      for (const subscription of own) {
        if (subscription !== undefined && allOwn && notifications.some((n) => n.at > settledAt && n.frame.params!.subscription === subscription)) {
          counts.subscriptionsDeliveringWithOriginalId += 1;
        }
      }
    });
    counts.behindErrors = counts.errorAnswers['-32055'] ?? 0;
    return counts;
  } finally {
    mining = false;
    for (const timer of timers) clearInterval(timer);
    for (const client of clients) client.ws.close();
    burster?.close();
    httpBurster?.close();
    slowReader?.close();
    oversized?.close();
    await miner.catch(() => undefined);
    await proxy?.close();
    await chain.stop();
  }
}
