import type fc from 'fast-check';
import type { JsonRpcId } from '../../src/index.js';
import { RpcErrorCode } from '../../src/index.js';
import type { ItemSpec } from './sessionAnswers.js';
import type { FakeNode } from '../../src/testing/index.js';
import type { ClientModel } from './sessionModel.js';
import type { TaggedNode, World } from './sessionWorld.js';

/** The system under test and the client model watching it. */
export interface Env {
  world: World;
  model: ClientModel;
  /** Counts node events, so every payload is unique. */
  events: number;
  /** Rejections nobody handled while the run was going on. */
  unhandled: unknown[];
  /**
   * Whether a node was blackholed: FakeNode then drops the frames it gets, so an unsubscribe may be
   * lost on a socket that lives on and its subscription stays on the node (the client has its
   * REQUEST_TIMEOUT answer). Only runs without it must end with no extra subscription upstream.
   */
  lossy: boolean;
  /** Debugging: sees each command as it runs. */
  trace?: (line: string) => void;
}

export type Command = fc.AsyncCommand<object, Env>;

/** Runs `act`, then checks every rule that can be checked at any moment. */
abstract class Step implements Command {
  check(): boolean {
    return true;
  }

  async run(_model: object, env: Env): Promise<void> {
    // Over a transport that reads in tasks of its own, a client's next call comes in a task of its
    // own: what the frames handled before caused is out by then (HeldMessages), and the model counts
    // on it. (The world here runs on microtasks: the session's may still be under way.)
    if (env.world.transport.readsInTasks) await env.world.clock.flush();
    await this.act(env);
    env.trace?.(`>> ${this.toString()}`);
    const { session } = env.world;
    if (env.unhandled.length > 0) env.model.violations.push(`unhandled rejection: ${String(env.unhandled[0])}`);
    const accepts = session.state === 'ready' || session.state === 'switching';
    if (accepts !== (session.node !== undefined)) env.model.violations.push(`state ${session.state} with node ${session.node}`);
    env.model.assertNoViolation(`after ${this.toString()}`);
  }

  abstract act(env: Env): void | Promise<void>;
  abstract toString(): string;
}

const showId = (id: JsonRpcId) => JSON.stringify(id);
const showItem = (spec: ItemSpec): string => {
  switch (spec.type) {
    case 'notification':
      return 'notification';
    case 'subscribe':
      return `subscribe(${showId(spec.id)}, ${spec.kind})`;
    case 'badSubscribe':
      return `subscribe(${showId(spec.id)}, nonsense)`;
    case 'unsubscribe':
      return `unsubscribe(${showId(spec.id)}, ${spec.pick === 'bogus' ? 'bogus' : `held#${spec.pick}`})`;
    case 'invalid':
      return `invalid(${showId(spec.id)}, ${spec.variant})`;
    case 'getBlock':
      return `getBlock(${showId(spec.id)}, view-${spec.back})`;
    case 'byHash':
      return `byHash(${showId(spec.id)}, ${spec.target})`;
    default:
      return `${spec.type}(${showId(spec.id)})`;
  }
};

export class Send extends Step {
  #sent = '';
  constructor(readonly spec: ItemSpec) {
    super();
  }
  act(env: Env) {
    this.#sent = env.model.sendSingle(this.spec);
  }
  toString() {
    return `send ${showItem(this.spec)}${this.#sent && (this.spec.type === 'unsubscribe' || this.spec.type === 'getBlock' || this.spec.type === 'byHash') ? ` ${this.#sent}` : ''}`;
  }
}

/** Several requests in one go, each a frame of its own, with no chance for anything to happen between them. */
export class Burst extends Step {
  constructor(readonly specs: ItemSpec[]) {
    super();
  }
  act(env: Env) {
    for (const spec of this.specs) env.model.sendSingle(spec);
  }
  toString() {
    return `burst ${this.specs.map(showItem).join(', ')}`;
  }
}

export class SendBatch extends Step {
  constructor(readonly items: ItemSpec[]) {
    super();
  }
  act(env: Env) {
    env.model.sendBatch(this.items);
  }
  toString() {
    return `batch [${this.items.map(showItem).join(', ')}]`;
  }
}

export const MALFORMED: ReadonlyArray<[string, typeof RpcErrorCode.PARSE_ERROR | typeof RpcErrorCode.INVALID_REQUEST]> = [
  ['{"jsonrpc":"2.0",', RpcErrorCode.PARSE_ERROR],
  ['', RpcErrorCode.PARSE_ERROR],
  ['[]', RpcErrorCode.INVALID_REQUEST],
  ['null', RpcErrorCode.INVALID_REQUEST],
  ['"eth_blockNumber"', RpcErrorCode.INVALID_REQUEST],
];

export class SendMalformed extends Step {
  constructor(readonly which: number) {
    super();
  }
  act(env: Env) {
    const [text, code] = MALFORMED[this.which % MALFORMED.length]!;
    env.model.sendRaw(text, code);
  }
  toString() {
    return `send malformed ${JSON.stringify(MALFORMED[this.which % MALFORMED.length]![0])}`;
  }
}

export type NodeEvent = 'mine' | 'log' | 'pendingTx';

/** The address every log of a run comes from. */
export const LOG_ADDRESS = '0x00000000000000000000000000000000000000aa';

/**
 * What a node does: mines a block (or follows its branch's next one), emits a log in the newest
 * block of its branch (every node that has the block tells its subscribers), or announces a pending
 * transaction (which names the node). Payloads are unique.
 */
export function nodeEvent(env: Env, name: string, event: NodeEvent): void {
  const node = env.world.nodeByName(name);
  env.events += 1;
  if (event === 'mine') node.advance(1);
  else if (event === 'log') emitLogs(env, node, 1);
  else node.notify('newPendingTransactions', `0x${(node.index + 1).toString(16).padStart(2, '0')}${env.events.toString(16).padStart(62, '0')}`);
}

/**
 * `count` logs in the newest block of `node`'s branch: its head block, or (when it lags) the tip
 * others mined, which it gets later (a block's logs come with it or just after its head, never
 * once blocks above it were mined: the shadow node at that tip emits them).
 */
function emitLogs(env: Env, node: TaggedNode, count: number): void {
  let emitter: FakeNode = node;
  if (node.head < node.tip) {
    emitter = env.world.shadow;
    emitter.follow(node, node.tip);
  }
  for (let i = 0; i < count; i++) emitter.emitLog(LOG_ADDRESS, `0x${env.events.toString(16).padStart(8, '0')}${i.toString(16).padStart(4, '0')}`);
}

/**
 * A node's head block gets `count` logs at once: a busy block, now and then more than the 256 logs
 * the session remembers to drop duplicates (a switch backfills from the last block delivered).
 */
export class ManyLogs extends Step {
  constructor(readonly node: string, readonly count: number) {
    super();
  }
  act(env: Env) {
    env.events += 1;
    emitLogs(env, env.world.nodeByName(this.node), this.count);
  }
  toString() {
    return `logs(${this.node}, ${this.count})`;
  }
}

export class NodeNotifies extends Step {
  constructor(readonly node: string, readonly event: NodeEvent) {
    super();
  }
  act(env: Env) {
    nodeEvent(env, this.node, this.event);
  }
  toString() {
    return `${this.event}(${this.node})`;
  }
}

export type Fault = 'blackhole' | 'cut 1006' | 'cut 4401' | 'cut 1012' | 'refuse 401' | 'restore';

export class NodeFault extends Step {
  constructor(readonly node: string, readonly fault: Fault) {
    super();
  }
  act(env: Env) {
    const node = env.world.nodeByName(this.node);
    if (this.fault === 'blackhole') {
      node.blackhole();
      env.lossy = true;
    }
    else if (this.fault === 'refuse 401') node.refuseStatus = 401;
    else if (this.fault === 'restore') {
      node.refuseStatus = undefined;
      node.restore();
    } else node.cut(Number(this.fault.slice(4)));
  }
  toString() {
    return `${this.fault}(${this.node})`;
  }
}

export const GARBAGE = [
  'not json',
  '42',
  '[]',
  '[1,2]',
  '{"jsonrpc":"2.0","id":1000000000,"result":"0x0"}',
  '{"jsonrpc":"2.0","id":"1","result":"0x1"}',
  '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}',
  '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xfeedface","result":{}}}',
  '{"jsonrpc":"2.0","result":true}',
  // Not one JSON value: never passed on; an answer to a call waiting for it fails it (INTERNAL_ERROR).
  '{"jsonrpc":"2.0","id":1,"result":"0x1"}{"leak":"x"}',
  '{"jsonrpc":"2.0","id":2,"result":"0x1"}}',
  '{"jsonrpc":"2.0","id":3,"result":"0x\u0001"}', // a raw control character
  '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1","result":"0x1"}}{"leak":{"x":1}}',
  '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x2","result":{"number":"0x1"]}}',
];

export class UpstreamGarbage extends Step {
  constructor(readonly socket: number, readonly which: number) {
    super();
  }
  act(env: Env) {
    const open = env.world.transport.fake.openSockets;
    if (open.length === 0) return;
    open[this.socket % open.length]!.receive(GARBAGE[this.which % GARBAGE.length]!);
  }
  toString() {
    return `garbage(open socket #${this.socket}, ${JSON.stringify(GARBAGE[this.which % GARBAGE.length])})`;
  }
}

/** The network from a node to the session gets slow: its frames wait, in order, until released. */
export class Hold extends Step {
  constructor(readonly node: string) {
    super();
  }
  act(env: Env) {
    env.world.transport.hold(this.node);
  }
  toString() {
    return `hold(${this.node})`;
  }
}

export class Release extends Step {
  constructor(readonly node: string, readonly count: number | undefined) {
    super();
  }
  act(env: Env) {
    env.world.transport.release(this.node, this.count);
  }
  toString() {
    return `release(${this.node}${this.count === undefined ? '' : `, ${this.count} frames`})`;
  }
}

/**
 * A blackholed node's open sockets drop what it sends: a reorg there would reach its subscribers
 * with a piece missing, the node's fault and not the session's. Chain moves wait for a node that
 * passes its frames (a cut one has no socket to lose them on).
 */
const dropsFrames = (env: Env, name: string) => env.world.nodeByName(name).mode === 'stall';

/**
 * A node's own reorg: it leaves its branch `depth` blocks below its head and mines `blocks` on a
 * new one, each with `logs` logs (a node that sends logs before heads sends them before the head
 * that replaces the one at their height).
 */
export class Fork extends Step {
  constructor(readonly node: string, readonly depth: number, readonly blocks: number, readonly logs = 0) {
    super();
  }
  act(env: Env) {
    if (!dropsFrames(env, this.node)) env.world.nodeByName(this.node).forkAt(this.depth, this.blocks, { logs: this.logs });
  }
  toString() {
    return `fork(${this.node}, depth ${this.depth}, ${this.blocks} blocks${this.logs ? `, ${this.logs} logs each` : ''})`;
  }
}

/**
 * The node's chain flaps: it leaves its top `depth` blocks (their logs removed), comes back to
 * them (the same logs again), and with `again` leaves them once more (removed a second time).
 */
export class Flap extends Step {
  constructor(readonly node: string, readonly depth: number, readonly again: boolean) {
    super();
  }
  act(env: Env) {
    if (dropsFrames(env, this.node)) return;
    const node = env.world.nodeByName(this.node);
    const { shadow } = env.world;
    shadow.follow(node);
    node.forkAt(this.depth, this.depth);
    node.follow(shadow);
    if (this.again) node.forkAt(this.depth, this.depth + 1);
  }
  toString() {
    return `flap(${this.node}, depth ${this.depth}${this.again ? ', and away again' : ''})`;
  }
}

/**
 * The network goes on for `blocks` blocks, now and then more than the session keeps (64 blocks of
 * logs, 256 heads): the node with the highest tip mines them and every other node follows it (a
 * fork is resolved; no node is left on a branch that far below, which would make a fork deeper
 * than any the session can tell apart). Not while a node is blackholed (it would miss the move),
 * and a long stretch only on a quiet network: blocks come in an instant here, and a node whose
 * frames lag would repeat heads older than the session keeps, which real blocks, minutes apart,
 * never do.
 */
export class Stretch extends Step {
  constructor(readonly blocks: number) {
    super();
  }
  act(env: Env) {
    const { nodes } = env.world;
    if (nodes.some((node) => dropsFrames(env, node.name)) || (this.blocks > 32 && !env.world.transport.quiet)) return;
    const leader = nodes.reduce((best, node) => (node.tip > best.tip ? node : best));
    leader.advance(leader.tip - leader.head + this.blocks);
    for (const node of nodes) if (node !== leader) node.follow(leader);
  }
  toString() {
    return `stretch(${this.blocks} blocks)`;
  }
}

/**
 * A long haul: the network goes on for `blocks` blocks (a `Stretch`; with 70 or more, the
 * session's subscriptions grow older than what it keeps: 64 blocks of logs, 256 heads) with a log
 * at the end; then the node the session uses imports two blocks as one batch (a gap in its
 * newHeads), another node forks 3 blocks deep, below that gap, onto a longer branch with a log in
 * each new block, and (`cut`) the session's node goes down, so the session switches to a node
 * whose chain left what it was given a few blocks down: a shallow fork, never a deep one. With
 * `fresh`, the client first subscribes to logs: a young, sparse subscription whose only log is
 * above the fork. Not while a node is blackholed or the network is not quiet (see `Stretch`).
 */
export class LongHaul extends Step {
  constructor(readonly blocks: number, readonly cut: boolean, readonly fresh: boolean) {
    super();
  }
  async act(env: Env) {
    const { clock, nodes, session, transport } = env.world;
    if (nodes.some((node) => dropsFrames(env, node.name)) || !transport.quiet) return;
    if (this.fresh) {
      env.model.sendSingle({ type: 'subscribe', id: 7, kind: 'logs' });
      await clock.flush();
    }
    new Stretch(this.blocks).act(env);
    const leader = nodes.reduce((best, node) => (node.tip > best.tip ? node : best));
    env.events += 1;
    emitLogs(env, leader, 1);
    for (const node of nodes) if (node !== leader) node.follow(leader);
    const importer = nodes.find((node) => node.name === session.node) ?? leader;
    const forker = nodes.find((node) => node !== importer && node.mode === 'ok' && node.refuseStatus === undefined);
    importer.advance(2, { batch: true });
    // Longer than the importer's chain, so that the network settles on it in the end.
    forker?.forkAt(3, 6, { logs: 1 });
    if (this.cut && forker) {
      importer.cut(1006);
      await clock.flush(); // the session moves to the forked node now, before anything else happens
    }
  }
  toString() {
    return `longHaul(${this.fresh ? 'a new logs subscription, ' : ''}${this.blocks} blocks${this.cut ? ', then a cut' : ''})`;
  }
}

/** A node imports `blocks` blocks as one batch: their logs, but only the last head (a gap in newHeads). */
export class Import extends Step {
  constructor(readonly node: string, readonly blocks: number) {
    super();
  }
  act(env: Env) {
    env.world.nodeByName(this.node).advance(this.blocks, { batch: true });
  }
  toString() {
    return `import(${this.node}, ${this.blocks} blocks)`;
  }
}

/** A lagging node catches up with its branch's tip (the blocks others mined there). */
export class CatchUp extends Step {
  constructor(readonly node: string) {
    super();
  }
  act(env: Env) {
    const node = env.world.nodeByName(this.node);
    node.advance(node.tip - node.head);
  }
  toString() {
    return `catchUp(${this.node})`;
  }
}

/** `node` moves to `other`'s branch and head (a forked node rejoining), unless `other` is behind it on its own path. */
export class Rejoin extends Step {
  constructor(readonly node: string, readonly other: string) {
    super();
  }
  act(env: Env) {
    const node = env.world.nodeByName(this.node);
    const other = env.world.nodeByName(this.other);
    const onPath = other.head <= node.head && node.block(other.head).hash === other.block(other.head).hash;
    if (node !== other && !onPath && !dropsFrames(env, this.node)) node.follow(other);
  }
  toString() {
    return `rejoin(${this.node} → ${this.other})`;
  }
}

export class SetLatency extends Step {
  constructor(readonly node: string, readonly ms: number) {
    super();
  }
  act(env: Env) {
    env.world.transport.setLatency(this.node, this.ms);
  }
  toString() {
    return `latency(${this.node}, ${this.ms})`;
  }
}

/** What the session sends the node takes `ms` to reach it: it answers from its chain as it is then. */
export class SetUplinkLatency extends Step {
  constructor(readonly node: string, readonly ms: number) {
    super();
  }
  act(env: Env) {
    env.world.transport.setUplinkLatency(this.node, this.ms);
  }
  toString() {
    return `uplink(${this.node}, ${this.ms})`;
  }
}

/** The node gets slow at reads: its `eth_getBalance` answers come `ms` later, after what follows them. */
export class SlowReads extends Step {
  constructor(readonly node: string, readonly ms: number) {
    super();
  }
  act(env: Env) {
    env.world.transport.setSlowReads(this.node, this.ms);
    if (this.ms > 0) env.model.upstreamKeepsOrder = false;
  }
  toString() {
    return `slowReads(${this.node}, ${this.ms})`;
  }
}

/**
 * The node's block lookups (`eth_getBlockByNumber`, `eth_getBlockByHash`) lag its heads by
 * `blocks`: they answer `null` for its top blocks while `newHeads` and `eth_blockNumber` show them,
 * as a load-balanced endpoint whose read backend lags does. 0: it has caught up.
 */
export class ReadLag extends Step {
  constructor(readonly node: string, readonly blocks: number) {
    super();
  }
  act(env: Env) {
    env.world.nodeByName(this.node).readLagBlocks = this.blocks;
  }
  toString() {
    return `readLag(${this.node}, ${this.blocks})`;
  }
}

/** The node's chain reads fail (an overloaded node: see FakeNode.failReads), or work again. */
export class FailReads extends Step {
  constructor(readonly node: string, readonly on: boolean) {
    super();
  }
  act(env: Env) {
    env.world.nodeByName(this.node).failReads = this.on;
  }
  toString() {
    return `failReads(${this.node}, ${this.on})`;
  }
}

/** The health checker's verdict on a node; a healthy probe reports the node's head too. */
export class MarkNode extends Step {
  constructor(readonly node: string, readonly status: 'healthy' | 'unhealthy' | 'unknown') {
    super();
  }
  act(env: Env) {
    const head = this.status === 'healthy' ? { head: env.world.nodeByName(this.node).head } : {};
    env.world.pool.update(this.node, { status: this.status, ...head });
  }
  toString() {
    return `mark(${this.node}, ${this.status})`;
  }
}

export class Advance extends Step {
  constructor(readonly ms: number) {
    super();
  }
  async act(env: Env) {
    const { clock, environment, session, transport } = env.world;
    await clock.flush(); // what advance() does first: a connect already under way gets its socket
    // Offline, time alone opens no socket: no retry, no failback attempt. (A call sent meanwhile,
    // if the session is connected, may go on a socket of its own: that is no attempt to connect.)
    const idle = !environment.online() && session.state !== 'closed';
    const links = () => transport.fake.sockets.filter((socket) => !transport.apart.has(socket)).length;
    const opened = links();
    await clock.advance(this.ms);
    if (idle && links() !== opened) env.model.violations.push(`offline, ${links() - opened} socket(s) opened as ${this.ms} ms passed`);
  }
  toString() {
    return `advance(${this.ms})`;
  }
}

/** Lets pending callbacks run (answers already on the wire arrive) without moving the clock. */
export class Tick extends Step {
  async act(env: Env) {
    await env.world.clock.flush();
  }
  toString() {
    return 'tick';
  }
}

export class Reconnect extends Step {
  act(env: Env) {
    if (env.world.session.state === 'closed') return; // closed by a host listener (see `closeFrom`)
    try {
      env.world.session.reconnect();
    } catch (error) {
      env.model.violations.push(`reconnect() threw ${String(error)}`);
    }
  }
  toString() {
    return 'reconnect()';
  }
}

/** The device loses its network (the session hears `offline`). */
export class GoOffline extends Step {
  act(env: Env) {
    env.world.environment.goOffline();
  }
  toString() {
    return 'offline';
  }
}

/** The network is back (the session hears `online`). */
export class GoOnline extends Step {
  act(env: Env) {
    env.world.environment.goOnline();
  }
  toString() {
    return 'online';
  }
}

/** The page goes to the background and comes back (the session hears it become visible). */
export class HideAndShow extends Step {
  act(env: Env) {
    env.world.environment.hide();
    env.world.environment.show();
  }
  toString() {
    return 'hide+show';
  }
}
