/**
 * The commands of the pool's model-based property test: requests (alone and in batches, some
 * aborted), time, and everything a node does to them — mining, lagging, forking, catching up,
 * failing in each of the HTTP path's ways, slowing down — plus probes for worlds without a health
 * checker. Each command checks the answers so far (see `problemsOf`).
 */
import fc from 'fast-check';
import type { PoolFault, PoolNode, PoolWorld, RequestSpec } from './poolWorld.js';
import { POOL_NODE_NAMES, probe, problemsOf, send } from './poolWorld.js';

type PoolCommand = fc.AsyncCommand<object, PoolWorld>;

abstract class Step implements PoolCommand {
  check(): boolean {
    return true;
  }

  async run(_model: object, world: PoolWorld): Promise<void> {
    world.trace?.(`> ${this.toString()}`);
    await this.apply(world);
    await world.clock.advance(0);
    const problems = problemsOf(world, { allSettled: false });
    if (problems.length > 0) throw new Error(`after ${this.toString()}:\n${problems.join('\n')}`);
  }

  protected abstract apply(world: PoolWorld): Promise<void> | void;
  abstract toString(): string;
}

const nodeOf = (world: PoolWorld, name: string): PoolNode | undefined => world.nodes.find((n) => n.name === name);

class Send extends Step {
  constructor(
    readonly specs: RequestSpec[],
    readonly batch: boolean,
    /** A node not to ask (as a session asking elsewhere names its own). */
    readonly avoid?: string,
  ) {
    super();
  }
  apply(world: PoolWorld): void {
    send(world, this.specs, this.batch, this.avoid !== undefined && nodeOf(world, this.avoid) ? this.avoid : undefined);
  }
  toString(): string {
    return `send${this.batch ? ' batch' : ''} ${this.specs.map((s) => JSON.stringify(s)).join(' ')}${this.avoid === undefined ? '' : ` avoiding ${this.avoid}`}`;
  }
}

class Abort extends Step {
  constructor(readonly pick: number) {
    super();
  }
  apply(world: PoolWorld): void {
    const pending = world.requests.filter((r) => r.settled === 0);
    pending[this.pick % Math.max(1, pending.length)]?.controller.abort(new Error('the caller gave up'));
  }
  toString(): string {
    return `abort #${this.pick}`;
  }
}

class Tick extends Step {
  constructor(readonly ms: number) {
    super();
  }
  async apply(world: PoolWorld): Promise<void> {
    await world.clock.advance(this.ms);
  }
  toString(): string {
    return `tick ${this.ms}`;
  }
}

class Mine extends Step {
  constructor(
    readonly node: string,
    readonly blocks: number,
  ) {
    super();
  }
  apply(world: PoolWorld): void {
    const node = nodeOf(world, this.node);
    // The new head carries a log (a transaction): what `receiptOfLog` reads asks the receipt of.
    if (node && this.blocks > 0) node.fake.advance(this.blocks).emitLog();
  }
  toString(): string {
    return `${this.node} mines ${this.blocks}`;
  }
}

class Follow extends Step {
  constructor(
    readonly node: string,
    readonly other: string,
  ) {
    super();
  }
  apply(world: PoolWorld): void {
    const node = nodeOf(world, this.node);
    const other = nodeOf(world, this.other);
    if (node && other && node !== other) node.fake.follow(other.fake);
  }
  toString(): string {
    return `${this.node} follows ${this.other}`;
  }
}

class Fork extends Step {
  constructor(
    readonly node: string,
    readonly depth: number,
    readonly blocks: number,
  ) {
    super();
  }
  apply(world: PoolWorld): void {
    const node = nodeOf(world, this.node);
    if (!node) return;
    const depth = Math.min(this.depth, node.fake.head - world.chain.genesis);
    node.fake.forkAt(depth, Math.max(0, depth + this.blocks));
  }
  toString(): string {
    return `${this.node} forks ${this.depth} deep, ${this.blocks >= 0 ? '+' : ''}${this.blocks}`;
  }
}

class SetFault extends Step {
  constructor(
    readonly node: string,
    readonly fault: PoolFault,
  ) {
    super();
  }
  apply(world: PoolWorld): void {
    const node = nodeOf(world, this.node);
    if (node) node.fault = this.fault;
  }
  toString(): string {
    return `${this.node} ${this.fault}`;
  }
}

class Latency extends Step {
  constructor(
    readonly node: string,
    readonly ms: number,
  ) {
    super();
  }
  apply(world: PoolWorld): void {
    const node = nodeOf(world, this.node);
    if (node) node.latencyMs = this.ms;
  }
  toString(): string {
    return `${this.node} latency ${this.ms}`;
  }
}

/** A load-balanced endpoint whose backend serving reads lags the one that answers heads. */
class ReadLag extends Step {
  constructor(
    readonly node: string,
    readonly blocks: number,
  ) {
    super();
  }
  apply(world: PoolWorld): void {
    const node = nodeOf(world, this.node);
    if (node) node.fake.readLagBlocks = this.blocks;
  }
  toString(): string {
    return `${this.node} reads lag ${this.blocks}`;
  }
}

class Probe extends Step {
  constructor(readonly node: string) {
    super();
  }
  apply(world: PoolWorld): void {
    const node = nodeOf(world, this.node);
    if (node && !world.health) probe(world, node);
  }
  toString(): string {
    return `probe ${this.node}`;
  }
}

const requestSpec: fc.Arbitrary<RequestSpec> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ type: 'blockNumber' as const }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('blockByNumber' as const), back: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.constant({ type: 'latestBlock' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'balance' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'logs' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'receiptOfLog' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'feeHistoryPending' as const }) },
  { weight: 2, arbitrary: fc.constant({ type: 'write' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'notify' as const }) },
);

const times = <T>(count: number, arbitrary: fc.Arbitrary<T>): Array<fc.Arbitrary<T>> => Array.from({ length: count }, () => arbitrary);

export function poolCommands(nodeCount: number, maxCommands: number, replayPath?: string): fc.Arbitrary<Iterable<PoolCommand>> {
  const node = fc.constantFrom(...POOL_NODE_NAMES.slice(0, nodeCount));
  const fault = fc.constantFrom<PoolFault>('down', 'stall', 'http-error', 'reset', 'rate-limited', 'rpc-error', 'not-this-node', 'rpc-rate-limited', 'repeats', 'ok', 'ok', 'ok');
  const commands: Array<fc.Arbitrary<PoolCommand>> = [
    ...times(5, requestSpec.map((spec) => new Send([spec], false))),
    fc.tuple(requestSpec, node).map(([spec, avoid]) => new Send([spec], false, avoid)),
    ...times(2, fc.array(requestSpec, { minLength: 1, maxLength: 4 }).map((specs) => new Send(specs, true))),
    fc.nat(7).map((pick) => new Abort(pick)),
    ...times(4, fc.constantFrom(0, 50, 100, 250, 1_000, 1_000, 3_000, 10_000).map((ms) => new Tick(ms))),
    ...times(3, fc.tuple(node, fc.integer({ min: 1, max: 3 })).map(([n, blocks]) => new Mine(n, blocks))),
    fc.tuple(node, node).map(([n, other]) => new Follow(n, other)),
    fc.tuple(node, fc.integer({ min: 1, max: 3 }), fc.integer({ min: -1, max: 1 })).map(([n, depth, extra]) => new Fork(n, depth, extra)),
    ...times(3, fc.tuple(node, fault).map(([n, f]) => new SetFault(n, f))),
    fc.tuple(node, fc.constantFrom(0, 0, 20, 200, 3_000)).map(([n, ms]) => new Latency(n, ms)),
    fc.tuple(node, fc.constantFrom(0, 0, 1, 2)).map(([n, blocks]) => new ReadLag(n, blocks)),
    ...times(2, node.map((n) => new Probe(n))),
  ];
  return fc.commands(commands, { maxCommands, size: 'max', ...(replayPath === undefined ? {} : { replayPath }) });
}
