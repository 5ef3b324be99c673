import { countReorgs, type ReorgCount } from './reorgCount.js';
import type {
  JsonRpcRequest,
  TimerHandle,
  JsonRpcResponse,
  NodeTier,
  SocketEndpoint,
  SocketListener,
  SocketTransport,
  UpstreamSessionOptions,
  UpstreamSocket,
} from '../../src/index.js';
import { NodePool, UpstreamSession } from '../../src/index.js';
import type { FakeSocket } from '../../src/testing/index.js';
import { FakeChain, FakeClock, FakeEnvironment, FakeHttpTransport, FakeNode, FakeSocketTransport, type FakeSubscriptionIds } from '../../src/testing/index.js';
import { PLANTED, USERINFO, leaksIn, render } from './secrets.js';
import { OVERSIZED_METHOD } from './sessionAnswers.js';

/** Every node's head starts here, so a block number can never be mistaken for a small subscription id. */
export const FIRST_HEAD = 1_000_000;
/** The chain's history starts a few blocks below, so a node can fork as soon as the run starts. */
export const GENESIS = FIRST_HEAD - 8;

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

/**
 * `eth_getBalance` answer of node `index` for a request tagged `tag`, from its state at block
 * `head` (its head when it answered): the head in bits 68.., the node in bits 64..67, the tag below.
 */
export const taggedBalance = (index: number, tag: bigint, head: number) => hex((BigInt(head) << 68n) | (BigInt(index + 1) << 64n) | tag);
/** The parts of a {@link taggedBalance} answer. */
export const balanceParts = (value: bigint) => ({ tag: value & ((1n << 64n) - 1n), head: Number(value >> 68n) });
/** `eth_sendTransaction` answer of node `index` for a request tagged `tag`: a 32-byte hash. */
export const taggedTxHash = (index: number, tag: bigint) => `0x${index.toString(16).padStart(2, '0')}${tag.toString(16).padStart(62, '0')}`;
/** The address a tagged `eth_getBalance` asks about, and the `data` of a tagged transaction. */
export const tagHex = (tag: bigint) => `0x${tag.toString(16).padStart(40, '0')}`;

/**
 * A FakeNode that echoes a per-request tag in its answers to `eth_getBalance` and
 * `eth_sendTransaction` (which it carries out), so a test can tell which request an answer is for
 * even when client ids repeat. Every node of a world is on one shared chain.
 */
export class TaggedNode extends FakeNode {
  readonly index: number;
  /**
   * Whether a blackholed node dropped logs its subscribers were owed: logs lost by the node, which
   * no session can deliver (the final check of what the client holds is then not made).
   */
  droppedLogs = false;

  constructor(
    name: string,
    index: number,
    chain: FakeChain,
    announceRemovedLogs: boolean,
    logsBeforeHead: boolean,
    subscriptionIds: FakeSubscriptionIds,
  ) {
    super({ name, chain, head: FIRST_HEAD, balance: BigInt(index + 1), announceRemovedLogs, logsBeforeHead, subscriptionIds });
    this.index = index;
    this.oversized.add(OVERSIZED_METHOD);
  }

  override notify(kind: string, result: unknown): this {
    if (this.mode === 'stall' && kind === 'logs' && this.subscriptionCount > 0) this.droppedLogs = true;
    return super.notify(kind, result);
  }

  override answer(request: JsonRpcRequest): JsonRpcResponse {
    const params = Array.isArray(request.params) ? request.params : [];
    const id = request.id ?? null;
    if (this.mode === 'ok' && request.method === 'eth_getBalance' && typeof params[0] === 'string') {
      return { jsonrpc: '2.0', id, result: taggedBalance(this.index, BigInt(params[0]), this.head) };
    }
    const tx = params[0] as { data?: unknown } | undefined;
    if (this.mode === 'ok' && request.method === 'eth_sendTransaction' && typeof tx?.data === 'string') {
      return { jsonrpc: '2.0', id, result: taggedTxHash(this.index, BigInt(tx.data)) };
    }
    return super.answer(request);
  }
}

const TAGGED_BALANCE_ANSWER = /"result":"0x[0-9a-f]{18,31}"/;

interface InFlight {
  readonly socket: FakeSocket;
  readonly deliver: () => void;
  /** Clock time it arrives, unless held. */
  readonly at: number;
}

/**
 * Wraps a FakeSocketTransport to see, synchronously, every frame the session writes upstream and
 * which socket delivered the frame the session is handling right now; and plays the network from
 * each node to the session: frames arrive in order, after the node's latency (on the clock), or
 * are held back until released.
 */
export class TracingTransport implements SocketTransport {
  readonly fake = new FakeSocketTransport();
  /** The socket whose frame the session is reading at this moment. */
  delivering: FakeSocket | undefined;
  /**
   * Sockets a session opened for a call sent apart (IsolationLane), not as its link to a node:
   * told by the caller of open(), as nothing a transport is given says what a socket is for.
   */
  readonly apart = new WeakSet<FakeSocket>();
  onUpstreamSend: ((text: string, socket: FakeSocket) => void) | undefined;
  /** Sees every frame as it reaches the session, before the session reads it. */
  onDeliver: ((text: string, socket: FakeSocket) => void) | undefined;
  readonly #clock: FakeClock;
  readonly #latency = new Map<string, number>();
  readonly #holding = new Set<string>();
  /** Frames on the wire from each host, in order. */
  readonly #wire = new Map<string, InFlight[]>();
  readonly #timers = new Map<string, TimerHandle>();
  /** Extra time each host takes over `eth_getBalance`, answered meanwhile out of order, as real nodes do. */
  readonly #slowReads = new Map<string, number>();
  readonly #slowTimers = new Set<TimerHandle>();
  /** How long each host takes to get what the session sends it (it answers from its state then). */
  readonly #uplink = new Map<string, number>();
  /** Frames on the way to each host, in order. */
  readonly #outbound = new Map<string, Array<{ at: number; deliver: () => void }>>();
  readonly #outboundTimers = new Map<string, TimerHandle>();

  /**
   * Whether the session is told that frames come in tasks of their own (SocketTransport.readsInTasks),
   * as over ws: it then holds the messages a frame causes until the end of the task or its next
   * event. (A node's frames come in microtasks here, never within a call of the session's, as
   * FakeSocket answers; each command of the property test starts once all of them have run, as a
   * client's next call over ws comes in a task of its own: see Step.run.)
   */
  readonly readsInTasks: boolean;

  constructor(clock: FakeClock, readsInTasks = false) {
    this.#clock = clock;
    this.readsInTasks = readsInTasks;
  }

  /** Frames from `host` take `ms` to arrive from now on (those on the wire keep their order). */
  setLatency(host: string, ms: number): void {
    this.#latency.set(host, ms);
  }

  /** `host` takes `ms` more over each `eth_getBalance`; other frames overtake its answers. */
  setSlowReads(host: string, ms: number): void {
    this.#slowReads.set(host, ms);
  }

  /**
   * What the session sends `host` takes `ms` to reach it from now on (those on the way keep their
   * order): the node answers from its chain as it is then, after notifications it sent meanwhile.
   */
  setUplinkLatency(host: string, ms: number): void {
    this.#uplink.set(host, ms);
  }

  /** Holds back every frame from `host` until {@link release}; they stay in order. */
  hold(host: string): void {
    this.#holding.add(host);
  }

  /** Delivers up to `count` frames from `host` now; without a count, all, and it stops holding. */
  release(host: string, count = Infinity): void {
    if (count === Infinity) this.#holding.delete(host);
    const wire = this.#wire.get(host) ?? [];
    for (let i = 0; i < count && wire.length > 0; i++) this.#deliver(wire.shift()!);
    this.#pump(host);
  }

  /** Whether frames reach the session as they are sent: no latency, nothing held or on the wire. */
  get quiet(): boolean {
    return (
      [...this.#latency.values(), ...this.#slowReads.values(), ...this.#uplink.values()].every((ms) => ms === 0) &&
      this.#holding.size === 0 &&
      [...this.#wire.values(), ...this.#outbound.values()].every((frames) => frames.length === 0)
    );
  }

  /** The network goes away: frames on the wire are dropped and no timer is left. */
  shutdown(): void {
    for (const timer of [...this.#timers.values(), ...this.#slowTimers, ...this.#outboundTimers.values()]) this.#clock.clearTimeout(timer);
    this.#timers.clear();
    this.#outboundTimers.clear();
    this.#outbound.clear();
    this.#slowTimers.clear();
    this.#wire.clear();
  }

  open(endpoint: SocketEndpoint, listener: SocketListener): UpstreamSocket {
    let socket: FakeSocket | undefined;
    const host = new URL(endpoint.url).hostname.split('.')[0]!;
    const deliver = (text: string) => {
      const previous = this.delivering;
      this.delivering = socket;
      this.onDeliver?.(text, socket!);
      try {
        listener.onMessage(text);
      } finally {
        this.delivering = previous;
      }
    };
    const traced: SocketListener = {
      onOpen: () => listener.onOpen(),
      onMessage: (text) => {
        const slow = this.#slowReads.get(host) ?? 0;
        if (slow > 0 && TAGGED_BALANCE_ANSWER.test(text)) {
          const timer = this.#clock.setTimeout(() => {
            this.#slowTimers.delete(timer);
            this.#send(host, socket!, () => deliver(text));
          }, slow);
          this.#slowTimers.add(timer);
          return;
        }
        this.#send(host, socket!, () => deliver(text));
      },
      onClose: (info) => listener.onClose(info),
      // As `ws` and the platforms do, the error quotes the whole URL, credentials and all: the
      // session must not pass them on (invariant 14).
      onError: (error) => listener.onError(new Error(`${error.message} (${endpoint.url})`, { cause: error })),
      onPong: () => listener.onPong?.(),
    };
    const fake = this.fake.open(endpoint, traced);
    socket = fake;
    if (new Error().stack?.includes('IsolationLane') === true) this.apart.add(fake);
    return {
      send: (text, options) => {
        this.#toHost(host, () => {
          // A frame still on the way when its socket closed is gone with it.
          if (fake.state === 'open') fake.send(text, options);
        });
        this.onUpstreamSend?.(text, fake);
      },
      close: (code, reason) => fake.close(code, reason),
      terminate: () => fake.terminate(),
      ping: () => fake.ping(),
      get bufferedAmount() {
        return fake.bufferedAmount;
      },
    };
  }

  /** Puts a frame for `host` on its way (at once, with no uplink latency and nothing before it). */
  #toHost(host: string, deliver: () => void): void {
    const outbound = this.#outbound.get(host) ?? [];
    const ms = this.#uplink.get(host) ?? 0;
    if (ms === 0 && outbound.length === 0) return deliver();
    this.#outbound.set(host, outbound);
    outbound.push({ at: Math.max(this.#clock.now() + ms, outbound.at(-1)?.at ?? -Infinity), deliver });
    this.#pumpOut(host);
  }

  #pumpOut(host: string): void {
    const timer = this.#outboundTimers.get(host);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    this.#outboundTimers.delete(host);
    const outbound = this.#outbound.get(host) ?? [];
    while (outbound.length > 0 && outbound[0]!.at <= this.#clock.now()) outbound.shift()!.deliver();
    if (outbound.length > 0) this.#outboundTimers.set(host, this.#clock.setTimeout(() => this.#pumpOut(host), outbound[0]!.at - this.#clock.now()));
  }

  /** Puts a frame from `host` on the wire to the session. */
  #send(host: string, socket: FakeSocket, deliver: () => void): void {
    const wire = this.#wire.get(host) ?? [];
    this.#wire.set(host, wire);
    const at = Math.max(this.#clock.now() + (this.#latency.get(host) ?? 0), wire.at(-1)?.at ?? -Infinity);
    wire.push({ socket, deliver, at });
    this.#pump(host);
  }

  #deliver(frame: InFlight): void {
    // A frame still on the wire when its socket closed is gone with it.
    if (frame.socket.state === 'open') frame.deliver();
  }

  /** Delivers what has arrived from `host`, and waits for the next frame on the wire. */
  #pump(host: string): void {
    const timer = this.#timers.get(host);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    this.#timers.delete(host);
    const wire = this.#wire.get(host) ?? [];
    if (this.#holding.has(host)) return;
    while (wire.length > 0 && wire[0]!.at <= this.#clock.now()) this.#deliver(wire.shift()!);
    if (wire.length > 0) this.#timers.set(host, this.#clock.setTimeout(() => this.#pump(host), wire[0]!.at - this.#clock.now()));
  }
}

export interface WorldSettings {
  /** Tiers of nodes a, b (and c). */
  tiers: NodeTier[];
  seed: number;
  queueMaxCount: number | undefined;
  queueMaxWaitMs: number | undefined;
  requestTimeoutMs: number | undefined;
  maxFrameBytes: number | undefined;
  /** Per-session caps; small ones make the client hit them (see the model's `limits`). */
  maxInFlight: number | undefined;
  maxSubscriptions: number | undefined;
  /** Whether nodes announce a reorg's dropped logs with `removed: true` (geth) or not (anvil). */
  removedLogs: boolean;
  /** Whether nodes send a block's logs before its head (geth), or the head first. */
  logsBeforeHead: boolean;
  /** Whether the transport says it reads in tasks of its own (see {@link TracingTransport.readsInTasks}). */
  readsInTasks: boolean;
}

/**
 * What the session could know of each node's head, for the check that state at `latest` is never
 * older than the client's view (invariant 10): when each node's head last went down, each probe's
 * word, and each `eth_blockNumber` answer a socket delivered. Ordered by a sequence of its own
 * (clock time alone does not order the events of one instant).
 */
export class HeadWords {
  #seq = 0;
  /** The sequence number of each node's last head drop (a fork to a shorter branch, a rollback). */
  readonly downAt = new Map<string, number>();
  /** Each node's last probe: its head, and when (sequence, and the clock, which the session compares). */
  readonly probed = new Map<string, HeadWord>();
  /** Each socket's last `eth_blockNumber` answer as it reached the session. */
  readonly asked = new Map<object, HeadWord>();

  next(): number {
    return ++this.#seq;
  }
}

export interface HeadWord {
  readonly head: number;
  readonly seq: number;
  readonly at: number;
}

export interface World {
  clock: FakeClock;
  /** See {@link HeadWords}. */
  headWords: HeadWords;
  /** The network's block tree, which every node shares. */
  chain: FakeChain;
  /**
   * A node of the chain no socket reaches: it keeps a branch a node leaves, so that the node can
   * come back to it (see `Flap`).
   */
  shadow: FakeNode;
  transport: TracingTransport;
  nodes: TaggedNode[];
  pool: NodePool;
  session: UpstreamSession;
  /** The device's network and the page's visibility, as the session hears of them. */
  environment: FakeEnvironment;
  nodeByName(name: string): TaggedNode;
  nodeOfSocket(socket: FakeSocket): TaggedNode;
  /** How many times a node left blocks it had (a reorg): `count` only grows. */
  reorgs: Readonly<ReorgCount>;
  /** Credentials from the nodes' URLs found in what the session and the pool emitted (client messages included). */
  leaks: string[];
  /** The session's queue bound (messages), as configured or by default. */
  queueMaxCount: number;
}

/** Records every planted credential `emitter` lets out in an event (`label.event: secret`). */
function watchForLeaks(emitter: { emit: unknown }, label: string, into: string[]): void {
  type Emit = (event: string, ...args: unknown[]) => boolean;
  const emit = (emitter.emit as Emit).bind(emitter);
  (emitter as { emit: Emit }).emit = (event, ...args) => {
    // Client messages are many and plain text: read as they are; events rendered as a logger would.
    const text = event === 'message' && typeof args[0] === 'string' ? args[0] : render(args);
    for (const secret of leaksIn(text)) if (into.length < 5) into.push(`${label}.${event}: ${secret} in ${text.slice(0, 300)}`);
    return emit(event, ...args);
  };
}

/** A deterministic random source (mulberry32), for jitter and fresh subscription ids. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const NODE_NAMES = ['a', 'b', 'c'] as const;
/** Each node's URL carries credentials of every shape (invariant 14: none may reach an event, an error or the client). */
const url = (name: string) => `ws://${USERINFO}${name}.test/v2/${PLANTED.pathKey}/${PLANTED.shortPathKey}?id=${PLANTED.queryValue}`;

/** Two or three tagged fake nodes of one chain behind a pool (all healthy), and a session over them. */
export function createWorld(settings: WorldSettings): World {
  const clock = new FakeClock();
  const transport = new TracingTransport(clock, settings.readsInTasks);
  const chain = new FakeChain({ genesis: GENESIS });
  const names = NODE_NAMES.slice(0, settings.tiers.length);
  // Random ids (geth, reth, anvil) in two runs of three, the same ids on every socket and node
  // (ids counted per socket) in the third: drawn from the seed, so the schedule is unchanged.
  const subscriptionIds: FakeSubscriptionIds = Math.abs(settings.seed % 3) === 2 ? 'per-socket' : 'random';
  const reorgs: ReorgCount = { count: 0 };
  const headWords = new HeadWords();
  const nodes = names.map((name, index) => countReorgs(watchHeadDrops(new TaggedNode(name, index, chain, settings.removedLogs, settings.logsBeforeHead, subscriptionIds), headWords), reorgs));
  const shadow = new FakeNode({ name: 'shadow', chain, head: FIRST_HEAD });
  for (const node of nodes) transport.fake.route(url(node.name), node.socket);
  const pool = new NodePool({
    nodes: names.map((name, index) => ({ name, tier: settings.tiers[index]!, ws: url(name) })),
    clock,
    httpTransport: new FakeHttpTransport(),
  });
  watchProbes(pool, clock, headWords);
  for (const name of names) pool.update(name, { status: 'healthy', head: FIRST_HEAD });
  const queue: NonNullable<UpstreamSessionOptions['queue']> = {};
  if (settings.queueMaxCount !== undefined) queue.maxCount = settings.queueMaxCount;
  if (settings.queueMaxWaitMs !== undefined) queue.maxWaitMs = settings.queueMaxWaitMs;
  const environment = new FakeEnvironment();
  const session = new UpstreamSession({
    pool,
    transport,
    clock,
    environment,
    random: seededRandom(settings.seed),
    queue,
    ...(settings.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: settings.requestTimeoutMs }),
    ...(settings.maxFrameBytes === undefined ? {} : { maxFrameBytes: settings.maxFrameBytes }),
    ...(settings.maxInFlight === undefined ? {} : { maxInFlight: settings.maxInFlight }),
    ...(settings.maxSubscriptions === undefined ? {} : { maxSubscriptions: settings.maxSubscriptions }),
  });
  const leaks: string[] = [];
  watchForLeaks(session, 'session', leaks);
  watchForLeaks(pool, 'pool', leaks);
  const nodeByName = (name: string) => {
    const node = nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  };
  return {
    clock,
    headWords,
    chain,
    shadow,
    transport,
    nodes,
    pool,
    session,
    environment,
    nodeByName,
    nodeOfSocket: (socket) => nodeByName(new URL(socket.endpoint.url).hostname.split('.')[0]!),
    reorgs,
    leaks,
    queueMaxCount: settings.queueMaxCount ?? QUEUE_DEFAULT_MAX_COUNT,
  };
}

/** `MessageQueue`'s default `maxCount`. */
const QUEUE_DEFAULT_MAX_COUNT = 1_000;

/** Notes in `words` each time `node`'s head goes down (`forkAt` to a shorter branch, `follow` to a lower head). */
function watchHeadDrops<T extends FakeNode>(node: T, words: HeadWords): T {
  for (const name of ['forkAt', 'follow'] as const) {
    const move = (node[name] as (...args: unknown[]) => T).bind(node);
    Object.defineProperty(node, name, {
      value: (...args: unknown[]): T => {
        const head = node.head;
        move(...args);
        if (node.head < head) words.downAt.set(node.name, words.next());
        return node;
      },
      configurable: true,
    });
  }
  return node;
}

/** A head given to the pool is a probe's word: dated (`headAt`) as the health checker dates it, and noted in `words`. */
function watchProbes(pool: NodePool, clock: FakeClock, words: HeadWords): void {
  const update = pool.update.bind(pool);
  pool.update = (name, patch) => {
    if (patch.head === undefined) return update(name, patch);
    const at = clock.now();
    words.probed.set(name, { head: patch.head, seq: words.next(), at });
    update(name, { headAt: at, ...patch });
  };
}
