import fc from 'fast-check';
import type { NodeTier } from '../../src/index.js';
import { SESSION_DEFAULTS } from '../../src/index.js';
import type { ItemSpec, SubKind } from './sessionAnswers.js';
import { CLIENT_IDS, SUB_KINDS } from './sessionAnswers.js';
import type { Command, Env, Fault, NodeEvent } from './sessionCommands.js';
import {
  Advance,
  Burst,
  CatchUp,
  Flap,
  Fork,
  GARBAGE,
  GoOffline,
  GoOnline,
  HideAndShow,
  Hold,
  Import,
  LongHaul,
  MALFORMED,
  ManyLogs,
  MarkNode,
  NodeFault,
  NodeNotifies,
  ReadLag,
  FailReads,
  Reconnect,
  Rejoin,
  Release,
  Send,
  SendBatch,
  SendMalformed,
  SetLatency,
  SetUplinkLatency,
  SlowReads,
  Stretch,
  Tick,
  UpstreamGarbage,
  nodeEvent,
} from './sessionCommands.js';
import { ClientModel } from './sessionModel.js';
import { NODE_NAMES, createWorld, type WorldSettings } from './sessionWorld.js';

export interface RunSettings extends WorldSettings {
  /** Extra time every node takes over reads from the start, in ms (see {@link SlowReads}). */
  slowReads: number;
  /** Heal and settle before `close()` (and check the final state), or close in the middle of it all. */
  settleFirst: boolean;
  /** What the client subscribes to before anything else happens, so that chain events have watchers. */
  initialSubscriptions: SubKind[];
  /**
   * A host listener that closes the session from the `at`-th event of this name, in the middle of
   * whatever the session was doing: every call it owed is still answered once, and nothing outlives
   * close() (the client sends nothing more after it).
   */
  closeFrom: { event: CloseFromEvent; at: number } | undefined;
}

/** The session events a host may act on. */
const CLOSE_FROM_EVENTS = ['message', 'state', 'switch', 'error', 'inflight', 'reconnecting', 'replay', 'behind', 'reorg', 'backfill', 'limit', 'queue'] as const;
type CloseFromEvent = (typeof CLOSE_FROM_EVENTS)[number];

const clientId = fc.constantFrom(...CLIENT_IDS);
/** Blocks every node has when the commands start (see {@link start}). */
const START_BLOCKS = 3;
const subKind = fc.constantFrom<SubKind>(...SUB_KINDS);

const callSpec: fc.Arbitrary<ItemSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constantFrom('blockNumber' as const, 'getBalance' as const), id: clientId }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('feeHistory' as const), id: clientId }) },
  // A read whose answer is too large for the socket (FRAME_TOO_LARGE once it fails a socket it is alone on).
  { weight: 1, arbitrary: fc.record({ type: fc.constant('oversized' as const), id: clientId }) },
  // A block the client has been given, by number: never answered null (invariant 1).
  { weight: 2, arbitrary: fc.record({ type: fc.constant('getBlock' as const), id: clientId, back: fc.nat(3) }) },
  // By hash, the newest head or log's transaction a subscription was given: never null while its block is on every node's chain.
  { weight: 2, arbitrary: fc.record({ type: fc.constant('byHash' as const), id: clientId, target: fc.constantFrom('receipt' as const, 'block' as const) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('sendTransaction' as const), id: clientId }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('subscribe' as const), id: clientId, kind: subKind }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('badSubscribe' as const), id: clientId }) },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('unsubscribe' as const),
      id: clientId,
      pick: fc.oneof({ weight: 2, arbitrary: fc.nat(7) }, { weight: 1, arbitrary: fc.constant('bogus' as const) }),
    }),
  },
);

const oddSpec: fc.Arbitrary<ItemSpec> = fc.oneof(
  fc.constant({ type: 'notification' as const }),
  fc.record({
    type: fc.constant('invalid' as const),
    id: clientId,
    variant: fc.constantFrom('number' as const, 'empty-object' as const, 'wrong-version' as const, 'empty-method' as const, 'bad-params' as const, 'object-id' as const),
  }),
);

const itemSpec = fc.oneof({ weight: 4, arbitrary: callSpec }, { weight: 1, arbitrary: oddSpec });

/** Node names to use in a run of `count` nodes. */
const nodeName = (count: number) => fc.constantFrom(...NODE_NAMES.slice(0, count));

/** `count` copies of `arbitrary` among the commands, to weigh how often it is picked. */
const times = (count: number, arbitrary: fc.Arbitrary<Command>): Array<fc.Arbitrary<Command>> => Array.from({ length: count }, () => arbitrary);

/** `replayPath`: the `replayPath` fast-check printed with a shrunk counterexample, to replay it (with its seed and path). */
export function commandsFor(nodeCount: number, maxCommands: number, replayPath?: string): fc.Arbitrary<Iterable<Command>> {
  const node = nodeName(nodeCount);
  const fault = fc.constantFrom<Fault>('blackhole', 'cut 1006', 'cut 1006', 'cut 4401', 'cut 1012', 'refuse 401', 'restore', 'restore', 'restore');
  const commands: Array<fc.Arbitrary<Command>> = [
    ...times(4, callSpec.map((spec) => new Send(spec))),
    oddSpec.map((spec) => new Send(spec)),
    fc.array(callSpec, { minLength: 2, maxLength: 8 }).map((specs) => new Burst(specs)),
    ...times(2, fc.array(itemSpec, { minLength: 1, maxLength: 4 }).map((items) => new SendBatch(items))),
    fc.nat(MALFORMED.length - 1).map((which) => new SendMalformed(which)),
    ...times(4, fc.tuple(node, fc.constantFrom<NodeEvent>('mine', 'mine', 'log', 'pendingTx')).map(([n, e]) => new NodeNotifies(n, e))),
    // A busy head block (now and then more logs than the session's dedupe window holds).
    fc.tuple(node, fc.oneof({ weight: 19, arbitrary: fc.integer({ min: 2, max: 4 }) }, { weight: 1, arbitrary: fc.constant(300) })).map(([n, count]) => new ManyLogs(n, count)),
    // One network: nodes lag (mine on some only), fork 1–3 blocks deep (to the same height or one
    // above; the new blocks may carry logs), catch up with their branch, and rejoin another node's
    // branch; a node's chain flaps (leaves its top blocks, comes back, leaves them again); every
    // node mines a stretch (rarely past the blocks the session keeps); a node imports a batch (one
    // head for several blocks).
    ...times(2, fc.tuple(node, fc.integer({ min: 1, max: 3 }), fc.nat(1), fc.constantFrom(0, 0, 1)).map(([n, depth, extra, logs]) => new Fork(n, depth, depth + extra, logs))),
    node.map((n) => new CatchUp(n)),
    ...times(2, fc.tuple(node, node).map(([n, other]) => new Rejoin(n, other))),
    fc.tuple(node, fc.integer({ min: 1, max: 3 }), fc.boolean()).map(([n, depth, again]) => new Flap(n, depth, again)),
    fc.oneof(
      { weight: 18, arbitrary: fc.integer({ min: 2, max: 6 }).map((blocks) => new Stretch(blocks)) },
      // Rarely a long haul: a fork a few blocks below the last log (and below a gap in newHeads) at
      // a switch; now and then with subscriptions older than what the session keeps.
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.oneof({ weight: 4, arbitrary: fc.constant(10) }, { weight: 1, arbitrary: fc.constantFrom(70, 260) }), fc.boolean(), fc.boolean())
          .map(([blocks, cut, fresh]) => new LongHaul(blocks, cut, fresh)),
      },
    ),
    fc.tuple(node, fc.integer({ min: 2, max: 3 })).map(([n, blocks]) => new Import(n, blocks)),
    ...times(3, fc.tuple(node, fault).map(([n, f]) => new NodeFault(n, f))),
    fc.tuple(fc.nat(3), fc.nat(GARBAGE.length - 1)).map(([s, w]) => new UpstreamGarbage(s, w)),
    ...times(2, fc.tuple(node, fc.constantFrom(0, 0, 100, 1_500, 4_500)).map(([n, ms]) => new SetLatency(n, ms))),
    ...times(2, fc.tuple(node, fc.constantFrom(0, 300, 3_000, 7_000)).map(([n, ms]) => new SlowReads(n, ms))),
    fc.tuple(node, fc.constantFrom(0, 0, 50, 700)).map(([n, ms]) => new SetUplinkLatency(n, ms)),
    // A load-balanced node's read backend lags its heads by 1–3 blocks, or catches up (0).
    ...times(2, fc.tuple(node, fc.nat(3)).map(([n, blocks]) => new ReadLag(n, blocks))),
    // Its chain reads fail for a while (a check of its chain after a switch fails), or work again.
    fc.tuple(node, fc.boolean()).map(([n, on]) => new FailReads(n, on)),
    ...times(2, node.map((n) => new Hold(n))),
    ...times(2, fc.tuple(node, fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined })).map(([n, c]) => new Release(n, c))),
    ...times(2, fc.tuple(node, fc.constantFrom('healthy' as const, 'healthy' as const, 'unhealthy' as const, 'unknown' as const)).map(([n, s]) => new MarkNode(n, s))),
    ...times(2, fc.oneof(fc.integer({ min: 0, max: 12_000 }), fc.constantFrom(2_000, 4_000, 5_000, 10_000, 12_000)).map((ms) => new Advance(ms))),
    ...times(2, fc.constant(new Tick())),
    fc.constant(new Reconnect()),
    // The device's network comes and goes; the page is hidden and shown again.
    fc.constant(new GoOffline()),
    fc.constant(new GoOnline()),
    fc.constant(new HideAndShow()),
  ];
  return fc.commands(commands, { maxCommands, size: 'max', ...(replayPath === undefined ? {} : { replayPath }) });
}

export const runSettings: fc.Arbitrary<RunSettings> = fc.record({
  tiers: fc.oneof(
    fc.constant<NodeTier[]>(['primary', 'backup']),
    fc.constant<NodeTier[]>(['primary', 'primary']),
    fc.constant<NodeTier[]>(['primary', 'backup', 'backup']),
    fc.constant<NodeTier[]>(['primary', 'primary', 'backup']),
  ),
  seed: fc.integer(),
  queueMaxCount: fc.constantFrom(undefined, 5),
  queueMaxWaitMs: fc.constantFrom(undefined, 4_000),
  requestTimeoutMs: fc.constantFrom(undefined, 3_000),
  maxFrameBytes: fc.constantFrom(undefined, undefined, 400),
  // Small caps in about half the runs, so that the client runs into them (it never reaches the defaults).
  maxInFlight: fc.constantFrom(undefined, undefined, undefined, 2, 5),
  maxSubscriptions: fc.constantFrom(undefined, undefined, undefined, 1, 3),
  removedLogs: fc.constantFrom(true, true, false),
  logsBeforeHead: fc.boolean(),
  // In two runs of three: the way sessions run over ws.
  readsInTasks: fc.constantFrom(true, true, false),
  slowReads: fc.constantFrom(0, 0, 3_000),
  settleFirst: fc.constantFrom(true, true, true, false),
  // Logs alone now and then: a sparse stream, whose forks the session judges by a few log heights.
  initialSubscriptions: fc.constantFrom<SubKind[]>([], ['newHeads'], ['logs'], ['logs'], ['newHeads', 'logs'], ['newHeads', 'logs']),
  // In about one run in six, a listener closes the session from the middle of something.
  closeFrom: fc.oneof(
    { weight: 5, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.record({ event: fc.constantFrom(...CLOSE_FROM_EVENTS), at: fc.integer({ min: 1, max: 12 }) }) },
  ),
});

/**
 * Lets the session connect, makes the client's first subscriptions, and lets it watch the chain
 * grow a few blocks (with a log each) on every node, so a fork later has history below it.
 */
export async function start(env: Env, settings: RunSettings): Promise<void> {
  const { world } = env;
  await world.clock.flush();
  settings.initialSubscriptions.forEach((kind, i) => env.model.sendSingle({ type: 'subscribe', id: 100 + i, kind }));
  await world.clock.flush();
  const [first, ...others] = world.nodes;
  for (let i = 0; i < START_BLOCKS; i++) {
    nodeEvent(env, first!.name, 'mine');
    nodeEvent(env, first!.name, 'log');
  }
  for (const node of others) node.follow(first!);
  for (const node of world.nodes) world.pool.update(node.name, { head: node.head });
  await world.clock.flush();
  env.model.assertNoViolation('at the start');
}

export function createEnv(settings: RunSettings): Env {
  const world = createWorld(settings);
  const limits = { maxInFlight: settings.maxInFlight ?? SESSION_DEFAULTS.maxInFlight, maxSubscriptions: settings.maxSubscriptions ?? SESSION_DEFAULTS.maxSubscriptions };
  // With a small cap, whether a call is over it depends on which call each answer was for: ids are
  // then unique, so that the model always knows (other runs keep colliding ids).
  const uniqueIds = settings.maxInFlight !== undefined || settings.maxSubscriptions !== undefined;
  const env: Env = { world, model: new ClientModel(world, settings.maxFrameBytes, limits, uniqueIds), events: 0, unhandled: [], lossy: false };
  for (const node of world.nodes) world.transport.setSlowReads(node.name, settings.slowReads);
  // No backoff growth while the device is offline: a round of backoff then is a violation.
  world.session.on('reconnecting', ({ attempt }) => {
    if (!world.environment.online()) env.model.violations.push(`backoff round ${attempt} while offline`);
  });
  if (settings.slowReads > 0) env.model.upstreamKeepsOrder = false;
  if (settings.closeFrom) {
    const { event, at } = settings.closeFrom;
    let seen = 0;
    // In one run in two, a host listener of the answers close() gives sends a call while it closes:
    // it is answered too ("Session closed"), and nothing it starts outlives close().
    let closing = false;
    let sentWhileClosing = at % 2 === 0;
    world.session.on('message', () => {
      if (!closing || sentWhileClosing) return;
      sentWhileClosing = true;
      env.model.sendSingle({ type: 'blockNumber', id: 'while-closing' });
    });
    world.session.on(event as 'state', () => {
      if (++seen !== at) return;
      closing = true;
      world.session.close();
      closing = false;
    });
  }
  return env;
}

/**
 * Heals everything and lets the session settle, then checks what must hold at the end: every
 * request answered, the session on the preferred node with one socket carrying exactly the
 * client's subscriptions, each delivering under its original id.
 */
/** Whether a host listener closed the session (see `RunSettings.closeFrom`); a call, so no check narrows it. */
function closedByHost(env: Env): boolean {
  return env.world.session.state === 'closed';
}

export async function settle(env: Env): Promise<void> {
  const { world, model } = env;
  const { clock, pool, session, transport } = world;
  // Closed by a host listener (see `closeFrom`): there is nothing to settle.
  if (closedByHost(env)) return;
  world.environment.goOnline();
  // Every node healthy and on one chain again, at least as high as any block there ever was (so as
  // what the client has seen: a node behind that is not failed back to), with its probes reporting
  // so; the final block is then a new one. Forked nodes rejoin.
  for (const node of world.nodes) {
    transport.setLatency(node.name, 0);
    transport.setSlowReads(node.name, 0);
    transport.setUplinkLatency(node.name, 0);
    transport.release(node.name);
    node.readLagBlocks = 0;
    node.failReads = false;
    node.refuseStatus = undefined;
    node.restore();
  }
  const leader = world.nodes.reduce((best, node) => (node.tip > best.tip ? node : best));
  leader.advance(Math.max(leader.tip, world.chain.height) - leader.head);
  for (const node of world.nodes) {
    if (node !== leader) node.follow(leader);
    pool.update(node.name, { status: 'healthy', head: node.head });
  }
  for (let elapsed = 0; elapsed < 120_000; elapsed += 5_000) await clock.advance(5_000);
  model.assertNoViolation('while settling');
  model.assertAllAnswered();
  // Closed by a host listener while settling: what it owed is answered; there is no live session to judge.
  if (closedByHost(env)) return;
  const problems: string[] = [];
  if (session.state !== 'ready' || session.node !== pool.preferred()) problems.push(`session ${session.state} on ${session.node}, pool prefers ${pool.preferred()}`);
  const stats = session.stats();
  // Everything answered: nothing is owed (a drain would otherwise wait for ever, maxInFlight refuse).
  if (stats.queued !== 0 || stats.inFlight !== 0 || stats.owed !== 0) problems.push(`${stats.queued} queued, ${stats.inFlight} in flight, ${stats.owed} owed`);
  const open = transport.fake.openSockets;
  if (open.length !== 1 || open[0] !== model.activeSocket) problems.push(`open sockets: ${open.map((s) => s.endpoint.url).join(', ')}`);
  const current = session.node === undefined ? undefined : world.nodeByName(session.node);
  // The view is what the client has been given of the chain: never above its highest block (an
  // answer about the pending block, the one after the head, raises nothing).
  if (stats.highestBlock !== undefined && stats.highestBlock > leader.head) problems.push(`the view is at ${stats.highestBlock}, above the chain's highest block ${leader.head}`);
  if (current && !env.lossy && current.subscriptionCount !== model.held.length) {
    problems.push(`node ${current.name} carries ${current.subscriptionCount} subscriptions, the client holds ${model.held.length}`);
  }
  if (problems.length > 0) throw new Error(`after settling:\n  - ${problems.join('\n  - ')}`);
  // Calls made once it has all healed succeed: a result, no error of any kind (the seeds' incident:
  // after a reconnect, every call timed out).
  const afterHeal = new Map<unknown, { result?: unknown; error?: unknown }>();
  const onMessage = (text: string) => {
    const frame = JSON.parse(text) as { id?: unknown; result?: unknown; error?: unknown };
    if (!Array.isArray(frame) && 'id' in frame) afterHeal.set(frame.id, frame);
  };
  session.on('message', onMessage);
  // The model may give the calls ids of its own: they are read back from what it sent.
  const sent = [model.sendSingle({ type: 'blockNumber', id: 'after-heal-1' }), model.sendSingle({ type: 'getBalance', id: 'after-heal-2' })];
  await clock.advance(1_000);
  session.off('message', onMessage);
  if (closedByHost(env)) return;
  for (const text of sent) {
    const { id } = JSON.parse(text) as { id: unknown };
    const answer = afterHeal.get(id);
    if (answer === undefined || !('result' in answer)) problems.push(`${text}: ${answer === undefined ? 'no answer within 1 s' : JSON.stringify(answer)}`);
  }
  if (problems.length > 0) throw new Error(`a call once all had healed:\n  - ${problems.join('\n  - ')}`);
  if (current) {
    model.openWindow();
    for (const event of ['mine', 'log', 'pendingTx'] as const) nodeEvent(env, current.name, event);
    await clock.flush();
    model.assertNoViolation('final notifications');
    if (closedByHost(env)) return; // from one of those notifications
    model.assertWindow(new Set(SUB_KINDS));
    // Logs a blackholed node dropped are lost to any session; otherwise the client holds the chain's.
    if (!world.nodes.some((node) => node.droppedLogs)) model.assertHeldLogs(current, current.announceRemovedLogs);
  }
}

/**
 * Closes the session wherever it is (settled or in the middle of the chaos): whatever it still
 * owed is answered, and it leaves no timer, socket or pool listener behind.
 */
export async function closeAndCheck(env: Env): Promise<void> {
  const { world, model } = env;
  const { clock, pool, session, transport } = world;
  session.close();
  transport.shutdown();
  model.assertNoViolation('on close');
  model.assertAllAnswered();
  const problems: string[] = [];
  if (pool.listenerCount('switch') !== 0) problems.push(`${pool.listenerCount('switch')} pool listeners left`);
  if (pool.listenerCount('health') !== 0) problems.push(`${pool.listenerCount('health')} pool health listeners left`);
  if (world.environment.listenerCount() !== 0) problems.push(`${world.environment.listenerCount()} environment listeners left`);
  pool.close();
  if (clock.pendingTimers !== 0) problems.push(`${clock.pendingTimers} timers left`);
  // Invariant 14, over the whole run: no credential of the nodes' URLs in any event or client message.
  if (world.leaks.length > 0) problems.push(`credentials leaked:\n    ${world.leaks.join('\n    ')}`);
  const notClosed = transport.fake.sockets.filter((s) => s.state !== 'closed');
  if (notClosed.length > 0) problems.push(`sockets not closed: ${notClosed.map((s) => `${s.endpoint.url} ${s.state}`).join(', ')}`);
  if (problems.length > 0) throw new Error(`after close():\n  - ${problems.join('\n  - ')}`);
}

/**
 * Debugging (`PROPS_TRACE=1` with `PROPS_SEED` and `PROPS_PATH`): writes the run as it happens,
 * each command, what the session sends to and gets from each node, what reaches the client, and
 * the session's events, each with the fake clock's time.
 */
export function traceTo(env: Env, write: (line: string) => void): void {
  const { world } = env;
  const at = () => `${String(world.clock.now()).padStart(7)}`;
  env.trace = (line) => {
    const nodes = world.nodes.map((node) => `${node.name}:${node.head}/${node.fork}${node.mode === 'ok' ? '' : ` ${node.mode}`}${node.readLagBlocks === 0 ? '' : ` readLag ${node.readLagBlocks}`}${node.failReads ? " failReads" : ""}`);
    write(`${at()} ${line}   [${nodes.join(' ')}]`);
  };
  const previousSend = world.transport.onUpstreamSend;
  world.transport.onUpstreamSend = (text, socket) => {
    write(`${at()}   → ${world.nodeOfSocket(socket).name}#${world.transport.fake.sockets.indexOf(socket)} ${text}`);
    previousSend?.(text, socket);
  };
  const previousDeliver = world.transport.onDeliver;
  world.transport.onDeliver = (text, socket) => {
    write(`${at()}   ← ${world.nodeOfSocket(socket).name}#${world.transport.fake.sockets.indexOf(socket)} ${text}`);
    previousDeliver?.(text, socket);
  };
  world.session.on('message', (text) => write(`${at()}   ⇐ client ${text}`));
  for (const event of ['state', 'switch', 'reorg', 'error'] as const) {
    world.session.on(event as 'state', (info: unknown) => write(`${at()}   * ${event} ${JSON.stringify(info, (_k, v) => (v instanceof Error ? v.message : v))}`));
  }
}
