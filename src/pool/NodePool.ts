import { EventEmitter } from 'eventemitter3';
import type { Clock, TimerHandle } from '../Clock.js';
import { systemClock } from '../Clock.js';
import { FirstError } from '../FirstError.js';
import { SteadyRpcError, describeError } from '../errors.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../jsonrpc.js';
import type { HttpTransport } from '../transport/HttpTransport.js';
import { defaultHttpTransport } from '../transport/defaultHttpTransport.js';
import { ConnectLimiter } from './ConnectLimiter.js';
import { HttpDispatcher, type HttpRequestOptions } from './HttpDispatcher.js';
import type { NodeInfo } from './NodeConfig.js';
import { redactNodeText, validateNodes } from './NodeConfig.js';
import type { NodeHealth } from './NodeHealth.js';
import { initialHealth } from './NodeHealth.js';
import type { NodeErrorClassifier } from './nodeErrors.js';
import { classifyNodeError } from './nodeErrors.js';
import { hedgeSettings } from './HedgePolicy.js';
import type { RateLimitEvent } from './PassiveHealth.js';
import { PassiveHealth } from './PassiveHealth.js';
import { NodeChoice } from './NodeChoice.js';
import { preferFirstHealthy } from './selection.js';
import { consistencySettings } from '../consistency/settings.js';
import { isRepeatable as defaultIsRepeatable } from '../session/repeatable.js';
import type { NodePoolEvents, NodePoolOptions, PoolSnapshot } from './NodePoolTypes.js';

export type { HealthEvent, NodePoolEvents, NodePoolOptions, NodeSnapshot, PoolSnapshot, SwitchEvent, SwitchReason } from './NodePoolTypes.js';

/**
 * The configured nodes, their health records and the choice of the node to use now (made by a
 * {@link NodeChoice}). Does no I/O itself: health is written in by the HealthChecker (and sessions),
 * and `request()` is carried out by an {@link HttpDispatcher}.
 */
export class NodePool extends EventEmitter<NodePoolEvents> {
  readonly clock: Clock;
  readonly httpTransport: HttpTransport;
  readonly #nodes: readonly NodeInfo[];
  readonly #byName: Map<string, NodeInfo>;
  readonly #health = new Map<string, NodeHealth>();
  readonly #choice: NodeChoice;
  readonly #dispatcher: HttpDispatcher;
  readonly #passive: PassiveHealth;
  readonly #connects: ConnectLimiter;
  /** What a node's JSON-RPC error means (see `NodePoolOptions.classifyError`). */
  readonly classifyError: NodeErrorClassifier;
  #quarantineTimer: TimerHandle | undefined;
  #closed = false;
  /** The default transport, made here: closed with the pool (a transport given is the caller's). */
  readonly #ownsTransport: boolean;
  /** Nodes that answered with a rate limit, not (yet) told of an answer since (see `answered()`). */
  readonly #rateLimitedSinceAnswer = new Set<string>();

  constructor(options: NodePoolOptions) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw new SteadyRpcError('ERR_CONFIG', 'Expected NodePool options to be an object');
    }
    const {
      nodes,
      clock = systemClock,
      httpTransport = defaultHttpTransport(),
      selector = preferFirstHealthy,
      http = {},
      failbackCatchUp = true,
      isRepeatable = defaultIsRepeatable,
      classifyError = classifyNodeError,
    } = options;
    if (typeof isRepeatable !== 'function') {
      throw new SteadyRpcError('ERR_CONFIG', `Expected isRepeatable to be a function, got ${typeof isRepeatable}`);
    }
    if (typeof classifyError !== 'function') {
      throw new SteadyRpcError('ERR_CONFIG', `Expected classifyError to be a function, got ${typeof classifyError}`);
    }
    this.classifyError = classifyError;
    if (typeof failbackCatchUp !== 'boolean') {
      throw new SteadyRpcError('ERR_CONFIG', `Expected failbackCatchUp to be a boolean, got ${String(failbackCatchUp)}`);
    }
    this.#nodes = Object.freeze(validateNodes(nodes));
    this.#byName = new Map(this.#nodes.map((n) => [n.name, n]));
    for (const node of this.#nodes) this.#health.set(node.name, initialHealth());
    this.clock = clock;
    this.httpTransport = httpTransport;
    this.#ownsTransport = options.httpTransport === undefined;
    this.#choice = new NodeChoice(this.#nodes, this.#health, (name) => this.#passive.available(name), { selector, failbackCatchUp });
    this.#passive = new PassiveHealth(this.#nodes.map((n) => n.name), { breaker: options.breaker, rateLimit: options.rateLimit }, {
      now: () => this.clock.now(),
      write: (name, patch) => {
        if (!this.#closed) this.update(name, patch);
      },
      rateLimited: (event) => {
        this.#rateLimitedSinceAnswer.add(event.name);
        this.emit('rateLimited', event);
      },
      circuit: (event) => this.emit('circuit', event),
    });
    this.#dispatcher = new HttpDispatcher(this, this.#passive, http, {
      consistency: consistencySettings(options.consistency),
      isRepeatable,
      classify: classifyError,
      hedge: hedgeSettings(options.hedge),
    });
    this.#connects = new ConnectLimiter(clock, options.connectLimit);
  }

  /** The nodes in preference order. */
  get nodes(): readonly NodeInfo[] {
    return this.#nodes;
  }

  get closed(): boolean {
    return this.#closed;
  }

  node(name: string): NodeInfo {
    const node = this.#byName.get(name);
    if (!node) throw new SteadyRpcError('ERR_CONFIG', `Unknown node "${name}"`);
    return node;
  }

  health(name: string): Readonly<NodeHealth> {
    this.node(name);
    return { ...this.#health.get(name)! };
  }

  /** The node's head as last probed (`health(name).head`, without copying the record); `undefined` if never read. */
  headOf(name: string): number | undefined {
    return this.#health.get(name)?.head;
  }

  /** When a probe last read the node's head (`health(name).headAt`, without copying the record); `undefined` if never told. */
  headAtOf(name: string): number | undefined {
    return this.#health.get(name)?.headAt;
  }

  /** The node to use now, or `undefined` when none is usable. */
  preferred(): string | undefined {
    return this.#choice.preferred;
  }

  /** Usable nodes in preference order, the chosen one first. */
  usable(): string[] {
    return this.#choice.usable(this.clock.now());
  }

  /**
   * Nodes worth trying, best first: the usable ones; or, when none is usable (before the first
   * health round, or when every node is down), every node that is neither quarantined nor known to
   * be on another chain (`wrongChain`) — trying beats failing without a try, but another chain's
   * answers are never served. Nodes cooling down after a rate limit or with their circuit open come
   * last (`request()` passes them over; a session opens one only when nothing else is left).
   */
  candidates(): string[] {
    return this.#choice.candidates(this.usable(), this.clock.now());
  }

  /**
   * Whether `name` takes new requests now: not cooling down after a rate limit, circuit not open,
   * and no trial request after either under way (the first request after a cool-down, or through a
   * half-open circuit, goes alone).
   */
  available(name: string): boolean {
    this.node(name);
    return this.#passive.available(name);
  }

  /**
   * Writes into a node's health record and re-evaluates the choice. Events follow once the pool
   * is consistent: `health`, then `switch` if the choice changed.
   */
  update(name: string, patch: Partial<NodeHealth>): void {
    this.#assertOpen();
    const node = this.node(name);
    const record = this.#health.get(name)!;
    const previous = record.status;
    const { lastError } = patch;
    const scrubbed = lastError === undefined || lastError === record.lastError ? lastError : redactNodeText(node, lastError);
    Object.assign(record, patch, lastError === undefined ? {} : { lastError: scrubbed });
    // The probes brought it back: what the requests held against it before is over.
    const closed = previous !== 'healthy' && record.status === 'healthy' ? this.#passive.recovered(name) : undefined;
    if (closed) Object.assign(record, { circuit: closed.to, circuitOpenUntil: closed.openUntil });
    const change = this.#choice.reselect(this.clock.now());
    // Each is told though a listener of one before it throws (its error is thrown after): sessions
    // follow `switch`, and the choice is made already, so a switch not told now never would be.
    allOf(
      () => this.emit('health', { name, previous, health: { ...record } }),
      () => closed && this.emit('circuit', closed),
      // Unless a listener changed the choice since (an update of its own told its switch) or closed the pool.
      () => change && !this.#closed && this.#choice.preferred === change.to && this.emit('switch', change),
    );
  }

  /**
   * Keeps a node away from new requests after it answered with a rate limit: for `retryAfterMs`
   * (capped by `rateLimit.maxCooldownMs`), or the backoff's next step when it named no wait.
   * `request()` does it by itself; sessions do it for rate-limit errors on their sockets. Neither
   * the node's status nor the preferred node changes: it only goes last in `candidates()`.
   * `sentAt` (on this pool's clock; unknown: now) is when the limited request was sent: a limit of
   * a request sent before the node's latest cool-down ended names nothing new (the node said so
   * once already), so it is no further strike, whether it arrives during the cool-down or after it.
   */
  coolDown(name: string, retryAfterMs?: number, source: RateLimitEvent['source'] = 'rpc-error', sentAt?: number): void {
    this.#assertOpen();
    this.node(name);
    if (retryAfterMs !== undefined && (!Number.isFinite(retryAfterMs) || retryAfterMs < 0)) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected retryAfterMs to be a finite number >= 0, got ${retryAfterMs}`);
    }
    if (sentAt !== undefined && !Number.isFinite(sentAt)) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected sentAt to be a finite number, got ${sentAt}`);
    }
    this.#passive.rateLimited(name, retryAfterMs, source, sentAt);
  }

  /**
   * `name` answered without a rate limit (a health probe, a session's call): once its cool-down is
   * over, its rate-limit backoff starts over, so the next rate limit naming no wait cools it down
   * for `rateLimit.cooldownMs` again. `request()` does it by itself. The node's status stays as it
   * is, and so does its circuit (a closed one's count of failed requests starts over, as after a
   * request's answer). Cheap: for a node with no rate limit since its last answer, a lookup.
   * `sentAt`: when the answered call was sent, on the pool's clock (unknown: now); a call sent
   * before the cool-down ended proves nothing new, and leaves the trial after it under way.
   */
  answered(name: string, sentAt?: number): void {
    this.node(name);
    if (sentAt !== undefined && !Number.isFinite(sentAt)) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected sentAt to be a finite number, got ${sentAt}`);
    }
    if (this.#closed || !this.#rateLimitedSinceAnswer.has(name)) return;
    const record = this.#health.get(name)!;
    // Cooling down still: the backoff goes on. A circuit not closed is left to the requests (an
    // answer would close it), so the backoff starts over with their next answer.
    const until = record.rateLimitedUntil ?? -Infinity;
    if (until > this.clock.now() || record.circuit !== 'closed') return;
    // A call sent before the cool-down ended proves nothing new.
    if (sentAt !== undefined && sentAt < until) return;
    this.#rateLimitedSinceAnswer.delete(name);
    this.#passive.answered(name, sentAt);
  }

  /**
   * Keeps a node out of use for `ms` (an auth or policy refusal: retrying it in a loop is
   * pointless). The HealthChecker's results still update it; it becomes usable again when the time
   * is up and it is healthy.
   */
  quarantine(name: string, ms: number, error?: unknown): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected quarantine ms to be a finite number >= 0, got ${ms}`);
    }
    this.update(name, {
      quarantinedUntil: this.clock.now() + ms,
      ...(error === undefined ? {} : { lastError: describeError(error) }),
    });
    if (!this.#closed) this.#scheduleQuarantineEnd(); // a listener may have closed the pool
  }

  /** Resolves when a new socket to `name` may be opened (see `connectLimit`). */
  connectPermit(name: string): Promise<void> {
    this.node(name);
    return this.#connects.acquire(name);
  }

  /**
   * Sends a JSON-RPC request (or batch) over HTTP to the best node, failing over on transport
   * errors; one not safe to send twice only when the node provably never got it (else `NOT_RESENT`).
   */
  request(payload: JsonRpcRequest, options?: HttpRequestOptions): Promise<JsonRpcResponse>;
  request(payload: JsonRpcRequest[], options?: HttpRequestOptions): Promise<JsonRpcResponse[]>;
  request(
    payload: JsonRpcRequest | JsonRpcRequest[],
    options?: HttpRequestOptions,
  ): Promise<JsonRpcResponse | JsonRpcResponse[]> {
    if (this.#closed) return Promise.reject(new SteadyRpcError('ERR_CLOSED', 'NodePool is closed'));
    return this.#dispatcher.request(payload, options);
  }

  snapshot(): PoolSnapshot {
    const nodes = this.#choice.snapshots(this.clock.now());
    const heads = nodes.map((n) => n.head).filter((h): h is number => h !== undefined);
    return Object.freeze({
      preferred: this.#choice.preferred,
      bestHead: heads.length > 0 ? Math.max(...heads) : undefined,
      nodes: Object.freeze(nodes),
    });
  }

  /** Stops the quarantine timer and rejects further use. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#dispatcher.close();
    if (this.#quarantineTimer !== undefined) this.clock.clearTimeout(this.#quarantineTimer);
    this.#quarantineTimer = undefined;
    this.#connects.close();
    if (this.#ownsTransport) this.httpTransport.close?.();
    this.emit('closed');
    this.removeAllListeners();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  #scheduleQuarantineEnd(): void {
    if (this.#quarantineTimer !== undefined) this.clock.clearTimeout(this.#quarantineTimer);
    this.#quarantineTimer = undefined;
    const now = this.clock.now();
    const ends = [...this.#health.values()]
      .map((h) => h.quarantinedUntil)
      .filter((t): t is number => t !== undefined && t > now);
    if (ends.length === 0) return;
    this.#quarantineTimer = this.clock.setTimeout(() => {
      this.#quarantineTimer = undefined;
      if (this.#closed) return;
      const change = this.#choice.reselect(this.clock.now());
      allOf(
        () => change && this.emit('switch', change),
        () => !this.#closed && this.#scheduleQuarantineEnd(),
      );
    }, Math.min(...ends) - now);
  }

  #assertOpen(): void {
    if (this.#closed) throw new SteadyRpcError('ERR_CLOSED', 'NodePool is closed');
  }
}

/** Runs every step though one throws; then throws the first error, if any. */
function allOf(...steps: Array<() => unknown>): void {
  const errors = new FirstError();
  for (const step of steps) errors.run(step);
  errors.rethrow();
}
