import type { NodeInfo } from './NodeConfig.js';
import type { NodeHealth } from './NodeHealth.js';
import type { NodeSnapshot, SwitchEvent, SwitchReason } from './NodePoolTypes.js';
import { nodeSnapshot } from './nodeSnapshot.js';
import type { NodeSelector } from './selection.js';
import { isUsable } from './selection.js';

/**
 * The choice of the node to use now and the order of the others: the selector's pick, but (with
 * `failbackCatchUp`) not a node whose head is behind the one in use, the reason each switch gives
 * (a node back from down is a recovery, also when it first had to catch up), and which nodes are
 * worth trying, best first. Reads the pool's health records; writes none.
 */
export class NodeChoice {
  readonly #nodes: readonly NodeInfo[];
  readonly #health: ReadonlyMap<string, Readonly<NodeHealth>>;
  /** Whether a node takes new requests now (not cooling down, circuit not open). */
  readonly #available: (name: string) => boolean;
  readonly #selector: NodeSelector;
  readonly #failbackCatchUp: boolean;
  #preferred: string | undefined;
  #everChosen = false;
  /** Nodes that were unusable because they were down, as of the last selection. */
  #down = new Set<string>();
  /** A node that came back from down and is waiting to catch up: its switch is still a recovery. */
  #recovering: string | undefined;

  constructor(
    nodes: readonly NodeInfo[],
    health: ReadonlyMap<string, Readonly<NodeHealth>>,
    available: (name: string) => boolean,
    settings: { selector: NodeSelector; failbackCatchUp: boolean },
  ) {
    this.#nodes = nodes;
    this.#health = health;
    this.#available = available;
    this.#selector = settings.selector;
    this.#failbackCatchUp = settings.failbackCatchUp;
  }

  /** The node to use now, or `undefined` when none is usable. */
  get preferred(): string | undefined {
    return this.#preferred;
  }

  /** Every node as it is at `now`, in preference order (see {@link nodeSnapshot}). */
  snapshots(now: number): NodeSnapshot[] {
    const preferred = this.#preferred;
    return this.#nodes.map((node) => nodeSnapshot(node, this.#health.get(node.name)!, now, node.name === preferred));
  }

  /** Usable nodes in preference order, the chosen one first. */
  usable(now: number): string[] {
    // Read from the health records, not from snapshots: every session asks on every reconnect,
    // and building frozen snapshots for that cost 40 µs a call (10,000 sessions failing over: 0.4 s).
    const chosen = this.#preferred;
    const names = chosen === undefined ? [] : [chosen];
    for (const node of this.#nodes) {
      if (node.name === chosen) continue;
      const health = this.#health.get(node.name)!;
      if (health.status === 'healthy' && !((health.quarantinedUntil ?? -Infinity) > now)) names.push(node.name);
    }
    return names;
  }

  /**
   * `usable` (see `usable()`) when any; else every node neither quarantined nor on another chain.
   * Nodes not available (cooling down, circuit open) go last (see `NodePool.candidates()`).
   */
  candidates(usable: string[], now: number): string[] {
    const names =
      usable.length > 0
        ? usable
        : this.#nodes
            .filter((n) => {
              const health = this.#health.get(n.name)!;
              return !health.wrongChain && !((health.quarantinedUntil ?? -Infinity) > now);
            })
            .map((n) => n.name);
    // Every request asks: allocate only when some node is held back.
    let later: string[] | undefined;
    for (const name of names) if (!this.#available(name)) (later ??= []).push(name);
    return later === undefined ? names : [...names.filter((name) => !later.includes(name)), ...later];
  }

  /** Chooses again among the nodes as they are at `now`; returns the switch if the choice changed. */
  reselect(now: number): SwitchEvent | undefined {
    const nodes = this.snapshots(now);
    const chosen = this.#selector(nodes);
    let to = chosen !== undefined && this.#isNode(chosen) ? chosen : undefined;
    const from = this.#preferred;
    const wasDown = this.#down;
    this.#down = new Set(nodes.filter((n) => n.status === 'unhealthy' || n.quarantined).map((n) => n.name));
    if (to !== undefined && wasDown.has(to)) this.#recovering = to;
    if (to !== from && this.#behindCurrent(nodes, from, to)) {
      // Not to a node behind the one in use; but to the best one that has caught up, if any.
      to = this.#caughtUpChoice(nodes, from!);
      if (to !== from && wasDown.has(to)) this.#recovering = to;
    }
    if (to === from) return undefined;
    this.#preferred = to;
    let reason: SwitchReason;
    if (from === undefined) reason = this.#everChosen ? 'recovered' : 'initial';
    else if (!isUsable(nodes.find((n) => n.name === from)!)) reason = 'unhealthy';
    else reason = to !== undefined && (wasDown.has(to) || this.#recovering === to) ? 'recovered' : 'better-available';
    this.#recovering = undefined;
    this.#everChosen = true;
    return { from, to, reason };
  }

  /** The selector's choice among `from` and the nodes not behind it (`from` if it chooses none of them). */
  #caughtUpChoice(nodes: readonly NodeSnapshot[], from: string): string {
    const head = nodes.find((n) => n.name === from)!.head;
    const chosen = this.#selector(nodes.filter((n) => n.name === from || head === undefined || n.head === undefined || n.head >= head));
    return chosen !== undefined && this.#isNode(chosen) ? chosen : from;
  }

  /** Whether leaving `from` (still usable) for `to` would go to a node whose head is behind it. */
  #behindCurrent(nodes: readonly NodeSnapshot[], from: string | undefined, to: string | undefined): boolean {
    if (!this.#failbackCatchUp || from === undefined || to === undefined) return false;
    const current = nodes.find((n) => n.name === from)!;
    const next = nodes.find((n) => n.name === to)!;
    return isUsable(current) && current.head !== undefined && next.head !== undefined && next.head < current.head;
  }

  /** A selector's choice of a name that is no configured node counts as none. */
  #isNode(name: string): boolean {
    return this.#health.has(name);
  }
}
