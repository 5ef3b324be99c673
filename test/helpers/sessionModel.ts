import type { JsonRpcId } from '../../src/index.js';
import { RpcErrorCode } from '../../src/index.js';
import { CONTINUITY_DEFAULTS } from '../../src/session/ContinuitySettings.js';
import type { FakeNode, FakeSocket } from '../../src/testing/index.js';
import type { Category, InvalidVariant, ItemSpec, LimitName, Req, ReqType, SubKind } from './sessionAnswers.js';
import { OVERSIZED_METHOD } from './sessionAnswers.js';
import { batchFits, categorize, isCall, isRead, isSubscribe, notificationSource, show } from './sessionAnswers.js';
import { DeliveredChain } from './sessionChain.js';
import { GENESIS, tagHex, type HeadWord, type World } from './sessionWorld.js';

interface Held {
  /** Kinds the subscribe it answered may have asked for (one, unless client ids collided). */
  candidates: Set<SubKind>;
  /** The kind its notifications have shown. */
  kind: SubKind | undefined;
  /** Notifications delivered (heads and pending transactions: logs are judged by `chain`). */
  seen: Set<string>;
  /** newHeads and logs: what the client was shown of the chain (invariant 11). */
  chain?: DeliveredChain;
  /** The chain's height when the subscription was answered: every log above it is the client's. */
  since: number;
  /**
   * A backfill after a switch was skipped (a gap over `maxBackfillBlocks`) or failed: the session
   * said it could not give the client everything, so what it holds is not judged at the end.
   */
  unchecked: boolean;
  /** The newest head, or log (its transaction), it was given and not retracted since: what a `byHash` read asks for. */
  newest?: { hash: string; blockHash: string; number: number };
  /**
   * An unsubscribe of it was sent: a session knows what a subscription delivered only while it is
   * open (docs/guides/consistency.md), so no `byHash` read asks for it from then on.
   */
  ending?: boolean;
}

/** A hash no node has: a `byHash` read of it is answered `null`. */
const UNKNOWN_HASH = `0x${'ee'.repeat(32)}`;

/** Blocks from the newest a head or log must be for a fork reaching it to be `deep` (see {@link DeliveredChain.justifiesDeep}). */
const DEEP_SLACK = 8;
/** Retained logs cost at least this many bytes each (their text, twice, and more): more than the budget holds justify a `deep` fork. */
const MIN_LOG_BYTES = 400;

/** The session's caps on what one client holds (see `UpstreamSessionOptions`). */
export interface ClientLimits {
  readonly maxInFlight: number;
  readonly maxSubscriptions: number;
}

/** What the items of a frame built so far add to the counts the caps judge (they are judged in order). */
interface FrameCounts {
  calls: number;
  subscriptions: number;
  /** Subscriptions unsubscribed by earlier items. */
  readonly removing: Set<string>;
}

const newFrame = (): FrameCounts => ({ calls: 0, subscriptions: 0, removing: new Set() });

/**
 * Which of the outstanding requests of one id an answer is for: of those it fits, the one that
 * had seen the most (the highest `viewAt`), so the others stay free for answers that fit them
 * only (an older block number fits a request sent earlier, never one sent after a newer block).
 */
function bestMatch(list: readonly Req[], matches: (req: Req) => boolean): number {
  let best = -1;
  list.forEach((req, i) => {
    if (matches(req) && (best < 0 || req.viewAt > list[best]!.viewAt)) best = i;
  });
  return best;
}

/**
 * The client's side of the contract: records what the client sent, reads everything the session
 * emits, and notes every broken rule (never throwing from inside the session's call stack).
 */
export class ClientModel {
  readonly violations: string[] = [];
  /**
   * Whether every node answers in the order it was asked. Only then must queued requests be
   * answered in the order they were sent: the session sends them in order, it does not reorder
   * the node's answers.
   */
  upstreamKeepsOrder = true;
  readonly #world: World;
  #seq = 0;
  /** The highest block the client has been given (block numbers, heads): invariant 10 is judged against it. */
  #view = 0;
  #episode = 0;
  /**
   * The upstream ids of the `eth_blockNumber` calls the session sent, per socket, and when (in
   * HeadWords' sequence): their answers are the node's word of its head, made after that.
   */
  readonly #blockNumberIds = new Map<FakeSocket, Map<number, number>>();
  /** The words of its node's head the session had when each `eth_getBalance` (by tag) was last sent upstream. */
  readonly #wordsAtSend = new Map<bigint, { socket: FakeSocket; probed: HeadWord | undefined; asked: HeadWord | undefined; heads: number }>();
  /** The heads each socket showed the session (notifications), with when: they raise its word of the node's head. */
  readonly #socketHeads = new Map<FakeSocket, Array<{ n: number; at: number }>>();
  /** Unanswered single requests by answer id (JSON). */
  readonly #outstanding = new Map<string, Req[]>();
  /** Error answers that could belong to any outstanding request of that id, not yet tied to one. */
  readonly #generic = new Map<string, number>();
  /** Of those, the errors that say the request never left (see {@link #checkFeasible}). */
  readonly #unsent = new Map<string, number>();
  readonly #notResent = new Map<string, number>();
  /** `BEHIND` errors, which could belong to any outstanding read of that id. */
  readonly #behind = new Map<string, number>();
  /**
   * By-hash reads a `null` was put down to, per id: which of several of one id the null was for is
   * not known, so a later answer that fits one of them moves the null to another read still
   * outstanding that could have got it (see `#takeBackNull`).
   */
  readonly #nulled = new Map<string, Req[]>();
  /**
   * Answers that fit more than one request of their id, by id: block reads (by number or by hash)
   * answered with a block. The request
   * the answer was put down to, what else that answer fits, and the last request sent before it
   * came (see #takeBackBlock).
   */
  readonly #blockAnswered = new Map<string, Array<{ req: Req; matches: (req: Req) => boolean; sentBefore: number }>>();
  /** Every batch sent that is owed an answer, and every batch answer received. */
  readonly #batches: Array<{ seq: number; items: Req[] }> = [];
  readonly #batchAnswers: Array<{ responses: Array<Record<string, unknown>>; categories: Category[]; closedDuring?: boolean; failedTwice?: ReadonlySet<Req> }> = [];
  /** Indexes (in `#batches`) of the batches answered, as the last matching of answers to batches has it. */
  #answeredBatches = new Set<number>();
  /** Subscribe kinds sent per id, and the ids whose subscribe answers could not be told apart. */
  readonly #subscribeKinds = new Map<string, Set<SubKind>>();
  readonly #ambiguousSubscribes = new Set<string>();
  readonly #held = new Map<string, Held>();
  /** What every newHeads and logs subscription was shown, released ones too (the session may still keep them when it judges a fork). */
  readonly #chains: DeliveredChain[] = [];
  /** Whether what the client held at the last switch was a reason for a deep fork onto that node's chain then. */
  #deepJustifiedAtSwitch = false;
  /** Every subscription id the client was ever given. */
  readonly #given = new Set<string>();
  readonly #released: string[] = [];
  readonly #tagged = new Map<bigint, Req>();
  readonly #sentUpstream = new Set<bigint>();
  #lastSentUpstream = 0n;
  readonly #tagAnswered = new Set<bigint>();
  /** The last request queued while reconnecting answered, per episode and upstream socket. */
  readonly #lastQueuedResult = new Map<string, number>();
  /** The socket the session made active last. */
  #active: FakeSocket | undefined;
  /** Notification payloads that reached the session on the socket it was using at that moment. */
  readonly #fromActive = new Set<string>();
  #window: Map<string, number> | undefined;
  /** The highest block the client had been given when the window opened. */
  #windowFloor = -Infinity;

  readonly #maxFrameBytes: number;
  readonly #limits: ClientLimits;
  /** Whether every request gets an id of its own (see {@link constructor}). */
  readonly #uniqueIds: boolean;
  #nextUnique = 0;
  /** The sockets each `oversized` call was sent on, by its block number (see #onUpstreamSend). */
  readonly #oversizedOn = new Map<unknown, FakeSocket[]>();
  /**
   * Whether a socket an `oversized` call was sent on apart (nothing else of the session's in flight
   * on it) failed on an answer too large for it (any other request: true).
   */
  #failedAlone(req: Req): boolean {
    if (req.type !== 'oversized') return true;
    const on = this.#oversizedOn.get(`0x${req.seq.toString(16)}`) ?? [];
    return on.some((socket) => this.#world.transport.apart.has(socket) && socket.closeInfo?.messageTooBig === true);
  }

  /** Sockets the session left (switched away from) while they were open. */
  readonly #left = new WeakSet<FakeSocket>();

  /**
   * `uniqueIds`: every request gets an id no other has, instead of the colliding ids it was built
   * with. Whether a call is over a cap depends on which calls are answered; with colliding ids an
   * error answer (a timeout) does not tell which one it was for, so runs with small caps need them.
   */
  constructor(world: World, maxFrameBytes = Infinity, limits: ClientLimits = { maxInFlight: Infinity, maxSubscriptions: Infinity }, uniqueIds = false) {
    this.#world = world;
    this.#maxFrameBytes = maxFrameBytes;
    this.#limits = limits;
    this.#uniqueIds = uniqueIds;
    const { session, transport } = world;
    session.on('message', (text) => this.#onMessage(text));
    session.on('state', ({ from, to }) => {
      if ((from === 'ready' || from === 'switching') && to === 'reconnecting') this.#episode++;
    });
    session.on('switch', ({ to }) => {
      this.#deepJustifiedAtSwitch = this.#justifiesDeep(to);
      if (this.#active?.state === 'open') this.#left.add(this.#active);
      this.#active = transport.fake.sockets.filter((socket) => !transport.apart.has(socket)).at(-1);
      if (!this.#active || world.nodeOfSocket(this.#active).name !== to || this.#active.state !== 'open') {
        this.#violate(`switch to ${to}, but the newest socket is ${this.#active?.endpoint.url} (${this.#active?.state})`);
      }
    });
    session.on('error', (error) => {
      if (error.code === 'ERR_INTERNAL') this.#violate(`internal error: ${error.message}`);
    });
    session.on('reorg', ({ ancestor, deep, to }) => {
      if (!deep) return;
      // Deep only when the fork reaches below what the session keeps: something the client holds
      // off the new node's chain is older than the kept blocks (or there were too many logs). The
      // node may have moved since the session checked it: its chain at the switch counts too.
      if (!this.#deepJustifiedAtSwitch && !this.#justifiesDeep(to)) {
        this.#violate(`a reorg onto ${to} reported deep (ancestor ${ancestor}), but every head and log the client holds off ${to}'s chain is within the last ${CONTINUITY_DEFAULTS.reorgDepth - DEEP_SLACK} blocks it was given`);
      }
      for (const held of this.#held.values()) held.chain?.deep(ancestor);
    });
    session.on('backfill', ({ subscription, skipped, error }) => {
      const held = this.#held.get(subscription);
      if (held && (skipped || error)) held.unchecked = true;
    });
    transport.onUpstreamSend = (text, socket) => this.#onUpstreamSend(text, socket);
    transport.onDeliver = (text, socket) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return;
      }
      this.#noteHeadWord(parsed, socket);
      if (socket !== this.#active) return;
      const node = world.nodeOfSocket(socket).name;
      // A socket speaks for its own node (and the chain) only; anything else is garbage and must be dropped.
      const admit = (payload: unknown) => {
        const source = notificationSource(world, payload);
        if (source && (source.node === undefined || source.node === node)) this.#fromActive.add(JSON.stringify(payload));
      };
      for (const frame of (Array.isArray(parsed) ? parsed : [parsed]) as Array<{ method?: string; params?: { result?: unknown }; result?: unknown }>) {
        if (frame?.method === 'eth_subscription') admit(frame.params?.result);
        // Backfill after a switch: heads (eth_getBlockByNumber) and logs (eth_getLogs) the session
        // fetched from the active node reach the client as notifications of that node.
        else if (Array.isArray(frame?.result)) frame.result.forEach(admit);
        else if (frame?.result !== null && typeof frame?.result === 'object') admit(frame.result);
      }
    };
  }

  /** Subscriptions the client holds now. */
  get held(): string[] {
    return [...this.#held.keys()];
  }

  get activeSocket(): FakeSocket | undefined {
    return this.#active;
  }

  // ---- sending -------------------------------------------------------------------------------

  /** Sends one item alone; returns what was sent, for the counterexample. */
  sendSingle(spec: ItemSpec): string {
    // Closed by a host listener: the client sends nothing more (and is owed nothing for it).
    if (this.#world.session.state === 'closed') return '(closed)';
    const { value, req } = this.#build(spec, false, newFrame());
    return this.#sendFrame(JSON.stringify(value), req ? [req] : [], () => {
      if (req) this.#push(req);
    });
  }

  sendBatch(specs: readonly ItemSpec[]): string {
    if (this.#world.session.state === 'closed') return '(closed)';
    const frame = newFrame();
    const built = specs.map((spec) => this.#build(spec, true, frame));
    const items = built.flatMap((b) => (b.req ? [b.req] : []));
    return this.#sendFrame(JSON.stringify(built.map((b) => b.value)), items, () => {
      if (items.length > 0) this.#batches.push({ seq: ++this.#seq, items });
    });
  }

  /** Sends a frame whose requests are `reqs`; a frame over the size limit gets one error instead. */
  #sendFrame(text: string, reqs: readonly Req[], owe: () => void): string {
    if (Buffer.byteLength(text) > this.#maxFrameBytes) {
      this.#push(this.#req('tooLarge', null, false));
      return this.#send(text);
    }
    for (const req of reqs) {
      // The client stops holding what it unsubscribes the moment it sends the frame.
      if (req.type === 'unsubscribe' && req.expectUnsub && !req.limited && this.#held.delete(req.target!)) this.#released.unshift(req.target!);
    }
    owe();
    return this.#send(text);
  }

  /** A frame that is not JSON-RPC at all; `code` is the error it must get, under id null. */
  sendRaw(text: string, code: typeof RpcErrorCode.PARSE_ERROR | typeof RpcErrorCode.INVALID_REQUEST): string {
    if (this.#world.session.state === 'closed') return '(closed)';
    this.#push(this.#req(code === RpcErrorCode.PARSE_ERROR ? 'parse' : 'invalid', null, false));
    return this.#send(text);
  }

  #send(text: string): string {
    try {
      this.#world.session.send(text);
    } catch (error) {
      this.#violate(`send(${text}) threw ${String(error)}`);
    }
    return text;
  }

  #req(type: ReqType, replyId: JsonRpcId | null, inBatch: boolean, extra: Partial<Req> = {}): Req {
    const state = this.#world.session.state;
    const queued = !inBatch && state !== 'ready' && state !== 'switching';
    const gated = isRead({ type }) && this.#world.session.stats().highestBlock !== undefined;
    return { seq: ++this.#seq, type, replyId, queued, episode: this.#episode, viewAt: this.#view, gated, ...extra };
  }

  #push(req: Req): void {
    const key = show(req.replyId);
    const list = this.#outstanding.get(key) ?? [];
    list.push(req);
    this.#outstanding.set(key, list);
  }

  /**
   * Counts a call of `type` into `frame`, or says which cap it is over: the calls the client awaits
   * answers to first, then (for a subscribe) the subscriptions it holds or awaits.
   */
  #limit(type: ReqType | 'notification', frame: FrameCounts): LimitName | undefined {
    if (type === 'notification' || type === 'invalid' || type === 'parse' || type === 'tooLarge') return undefined;
    const now = this.#counts();
    const subscribe = type === 'subscribe' || type === 'badSubscribe';
    if (now.calls + frame.calls >= this.#limits.maxInFlight) return 'maxInFlight';
    if (subscribe && now.subscriptions + frame.subscriptions >= this.#limits.maxSubscriptions) return 'maxSubscriptions';
    frame.calls += 1;
    if (subscribe) frame.subscriptions += 1;
    return undefined;
  }

  /**
   * What the caps judge now: calls sent and not yet answered (a batch's until its answer), and
   * subscriptions held plus subscribes not yet answered. Exact when ids are unique.
   */
  #counts(): { calls: number; subscriptions: number } {
    let calls = 0;
    let subscriptions = this.#held.size;
    for (const [key, list] of this.#outstanding) {
      const owed = list.filter(isCall);
      const generic = this.#generic.get(key) ?? 0;
      calls += owed.length - generic - (this.#notResent.get(key) ?? 0) - (this.#behind.get(key) ?? 0);
      subscriptions += Math.max(0, owed.filter(isSubscribe).length - generic);
    }
    this.#batches.forEach((batch, index) => {
      if (this.#answeredBatches.has(index)) return;
      const owed = batch.items.filter(isCall);
      calls += owed.length;
      subscriptions += owed.filter(isSubscribe).length;
    });
    return { calls, subscriptions };
  }

  #uniqueId(): JsonRpcId {
    const n = this.#nextUnique++;
    return n % 2 === 0 ? 1_000 + n : `u${n}`;
  }

  /** The JSON of one item and the request it makes; `frame`: what earlier items of its frame did. */
  #build(original: ItemSpec, inBatch: boolean, frame: FrameCounts): { value: unknown; req: Req | undefined } {
    const spec = this.#uniqueIds && 'id' in original ? { ...original, id: this.#uniqueId() } : original;
    const call = (id: JsonRpcId, method: string, params: unknown[]) => ({ jsonrpc: '2.0', id, method, params });
    const limited = this.#limit(spec.type, frame);
    const extra = limited === undefined ? {} : { limited };
    const removing = frame.removing;
    switch (spec.type) {
      case 'notification':
        return { value: { jsonrpc: '2.0', method: 'eth_blockNumber', params: [] }, req: undefined };
      case 'blockNumber': {
        return { value: call(spec.id, 'eth_blockNumber', []), req: this.#req('blockNumber', spec.id, inBatch, extra) };
      }
      case 'feeHistory':
        return { value: call(spec.id, 'eth_feeHistory', ['0x2', 'pending', []]), req: this.#req('feeHistory', spec.id, inBatch, extra) };
      case 'getBlock': {
        // A block the client has been given (invariant 1); genesis, which every node has, while it has none.
        const number = this.#view === 0 ? GENESIS : Math.max(GENESIS, this.#view - spec.back);
        return { value: call(spec.id, 'eth_getBlockByNumber', [`0x${number.toString(16)}`, false]), req: this.#req('getBlock', spec.id, inBatch, { number, ...extra }) };
      }
      case 'byHash': {
        // The newest of its kind a held subscription was given; a hash never given when none was.
        const kind = spec.target === 'receipt' ? 'logs' : 'newHeads';
        let newest: Held['newest'];
        for (const held of this.#held.values()) if (held.kind === kind && !held.ending && held.newest && (!newest || held.newest.number > newest.number)) newest = held.newest;
        const { hash, blockHash, number } = newest ?? { hash: UNKNOWN_HASH, blockHash: UNKNOWN_HASH, number: -1 };
        const value = spec.target === 'receipt' ? call(spec.id, 'eth_getTransactionReceipt', [hash]) : call(spec.id, 'eth_getBlockByHash', [hash, false]);
        return { value, req: this.#req('byHash', spec.id, inBatch, { hash, blockHash, number, reorgsAt: this.#world.reorgs.count, ...extra }) };
      }
      case 'getBalance':
      case 'sendTransaction': {
        const req = this.#req(spec.type, spec.id, inBatch, extra);
        const tag = BigInt(req.seq);
        const tagged = { ...req, tag };
        this.#tagged.set(tag, tagged);
        const params = spec.type === 'getBalance' ? [tagHex(tag), 'latest'] : [{ from: tagHex(1n), data: tagHex(tag) }];
        return { value: call(spec.id, spec.type === 'getBalance' ? 'eth_getBalance' : 'eth_sendTransaction', params), req: tagged };
      }
      case 'subscribe': {
        const key = show(spec.id);
        const kinds = this.#subscribeKinds.get(key) ?? new Set();
        kinds.add(spec.kind);
        this.#subscribeKinds.set(key, kinds);
        const params = spec.kind === 'logs' ? ['logs', {}] : [spec.kind];
        return { value: call(spec.id, 'eth_subscribe', params), req: this.#req('subscribe', spec.id, inBatch, { kind: spec.kind, ...extra }) };
      }
      case 'badSubscribe':
        return { value: call(spec.id, 'eth_subscribe', ['nonsense']), req: this.#req('badSubscribe', spec.id, inBatch, extra) };
      case 'oversized': {
        // Its own block number: the frames that carry it upstream are told apart (see #onUpstreamSend).
        const req = this.#req('oversized', spec.id, inBatch, extra);
        return { value: call(spec.id, OVERSIZED_METHOD, [`0x${req.seq.toString(16)}`, {}]), req };
      }
      case 'unsubscribe': {
        const held = this.held;
        const target = spec.pick !== 'bogus' && held.length > 0 ? held[spec.pick % held.length]! : (this.#released[0] ?? '0xdead');
        const expectUnsub = this.#held.has(target) && !removing.has(target);
        // A refused unsubscribe leaves the subscription where it was.
        if (!limited) removing.add(target);
        if (!limited && this.#held.has(target)) this.#held.get(target)!.ending = true;
        if (!limited && expectUnsub) frame.subscriptions -= 1;
        return { value: call(spec.id, 'eth_unsubscribe', [target]), req: this.#req('unsubscribe', spec.id, inBatch, { target, expectUnsub, ...extra }) };
      }
      case 'invalid': {
        const { id } = spec;
        const values: Record<InvalidVariant, [unknown, JsonRpcId | null]> = {
          number: [7, null],
          'empty-object': [{}, null],
          'wrong-version': [{ jsonrpc: '1.0', id, method: 'eth_blockNumber' }, id],
          'empty-method': [{ jsonrpc: '2.0', id, method: '' }, id],
          'bad-params': [{ jsonrpc: '2.0', id, method: 'eth_blockNumber', params: 5 }, id],
          'object-id': [{ jsonrpc: '2.0', id: { x: 1 }, method: 'eth_blockNumber' }, null],
        };
        const [value, replyId] = values[spec.variant];
        return { value, req: this.#req('invalid', replyId, inBatch) };
      }
    }
  }

  // ---- what the session emits ------------------------------------------------------------------

  #onMessage(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return this.#violate(`the client got a frame that is not JSON: ${text}`);
    }
    if (Array.isArray(message)) return this.#onBatchAnswer(message, text);
    if (typeof message !== 'object' || message === null) return this.#violate(`the client got ${text}`);
    const m = message as Record<string, unknown>;
    if (m.method === 'eth_subscription') return this.#onNotification(m, text);
    // Invariants 5 and 13: QUEUE_FULL only for a message the full queue refused (answered as it is
    // refused: a batch's answer comes later, when the queue may have moved), and never more owed
    // than maxInFlight.
    const { queued, owed } = this.#world.session.stats();
    if ((m.error as { code?: unknown } | undefined)?.code === RpcErrorCode.QUEUE_FULL && queued < this.#world.queueMaxCount) {
      this.#violate(`QUEUE_FULL with ${queued} of ${this.#world.queueMaxCount} messages queued: ${text}`);
    }
    if (owed > this.#limits.maxInFlight) this.#violate(`${owed} calls owed, over maxInFlight ${this.#limits.maxInFlight}`);
    this.#onSingleAnswer(m, text);
  }

  #isResponse(m: Record<string, unknown>, text: string): boolean {
    const ok = m.jsonrpc === '2.0' && 'id' in m && ('result' in m) !== ('error' in m);
    if (!ok) this.#violate(`not a JSON-RPC response: ${text}`);
    const error = m.error as { code?: unknown; data?: { limit?: LimitName; max?: unknown } } | undefined;
    if (ok && error?.code === RpcErrorCode.LIMIT_EXCEEDED && error.data?.max !== this.#limits[error.data?.limit ?? 'maxInFlight']) {
      this.#violate(`LIMIT_EXCEEDED with the wrong data (the caps are ${show(this.#limits)}): ${text}`);
    }
    return ok;
  }

  #onSingleAnswer(m: Record<string, unknown>, text: string): void {
    if (!this.#isResponse(m, text)) return;
    const key = show(m.id);
    const list = this.#outstanding.get(key) ?? [];
    const category = categorize(m);
    if (list.length === 0) return this.#violate(`an answer for id ${key}, which has no request outstanding: ${text}`);
    switch (category.type) {
      case 'unexpected':
        return this.#violate(`unexpected answer (${category.what}) for id ${key}: ${text}`);
      case 'generic':
        this.#generic.set(key, (this.#generic.get(key) ?? 0) + 1);
        if (category.unsent) this.#unsent.set(key, (this.#unsent.get(key) ?? 0) + 1);
        break;
      case 'notResent':
        this.#notResent.set(key, (this.#notResent.get(key) ?? 0) + 1);
        break;
      case 'behind':
        this.#behind.set(key, (this.#behind.get(key) ?? 0) + 1);
        break;
      case 'null': {
        // A read by hash whose null may be true: of a hash never given, or of a block a reorg may
        // have taken away (a node's chain lacks it, or some node reorged since it was sent).
        // One of a hash never given first: that read can get nothing but null (or an error), while
        // a read of a block a node lacks may still get its block.
        // Of several, the likeliest first: a hash never given, then a block some node lacks now,
        // then one a reorg since it was sent may have taken (it may still get its answer).
        const gone = (r: Req) => r.type === 'byHash' && r.limited === undefined && this.#mayBeGone(r);
        const never = list.findIndex((r) => gone(r) && r.hash === UNKNOWN_HASH);
        const lacking = list.findIndex((r) => gone(r) && this.#lackedNow(r));
        let index = never >= 0 ? never : lacking >= 0 ? lacking : list.findIndex(gone);
        if (index < 0 && this.#takeBackBlock(key, list, gone)) index = list.length - 1;
        if (index < 0) return this.#answeredNull(list, text);
        const [nulled] = list.splice(index, 1);
        this.#nulled.set(key, [...(this.#nulled.get(key) ?? []), nulled!]);
        break;
      }
      case 'specific': {
        let index = category.preferred === undefined ? -1 : bestMatch(list, (r) => category.matches(r) && category.preferred!(r) && this.#failedAlone(r));
        // FRAME_TOO_LARGE for an oversized call only once a socket it was alone on failed on an
        // answer too large for it: not after one it shared (the calls beside it may be the one).
        if (index < 0 && category.preferred !== undefined && list.some((r) => category.matches(r) && category.preferred!(r) && r.type === 'oversized')) {
          return this.#violate(`FRAME_TOO_LARGE for an oversized call of id ${key} before a socket it was alone on failed on it: ${text}`);
        }
        if (index < 0) index = bestMatch(list, category.matches);
        if (index < 0 && (this.#takeBackNull(key, list, category.matches) || this.#takeBackBlock(key, list, category.matches))) index = list.length - 1;
        if (index < 0) {
          const owner = category.tag === undefined ? undefined : this.#tagged.get(category.tag);
          const hint = owner ? ` (that request has id ${show(owner.replyId)}${this.#tagAnswered.has(category.tag!) ? ' and was answered already' : ''})` : '';
          return this.#violate(`${category.what} came for id ${key}, which has no such request outstanding${hint}: ${text}`);
        }
        const [req] = list.splice(index, 1);
        let candidates: Set<SubKind> | undefined;
        if (category.subscription !== undefined) {
          candidates = new Set(list.filter((r) => r.type === 'subscribe').map((r) => r.kind!));
          candidates.add(req!.kind!);
          if (candidates.size > 1) this.#ambiguousSubscribes.add(key);
          if (this.#ambiguousSubscribes.has(key)) for (const kind of this.#subscribeKinds.get(key) ?? []) candidates.add(kind);
        }
        this.#answered(req!, category, candidates ?? new Set());
        if (category.header !== undefined) {
          const answered = this.#blockAnswered.get(key) ?? [];
          answered.push({ req: req!, matches: category.matches, sentBefore: this.#seq });
          this.#blockAnswered.set(key, answered);
        }
      }
    }
    this.#checkFeasible(key);
  }

  /**
   * A `null` result, which only a `getBlock` or a `byHash` of that id could have got: a block (or a
   * transaction in one) the client has been given answered as missing (invariant 1: it must wait
   * for a node that has it, or get BEHIND).
   */
  #answeredNull(candidates: readonly Req[], text: string): void {
    const reads = candidates.filter((r) => (r.type === 'getBlock' || r.type === 'byHash') && r.limited === undefined);
    if (reads.length === 0) return this.#violate(`unexpected answer (result null), which no request of its id could get: ${text}`);
    const which = reads.map((r) =>
      r.type === 'byHash'
        ? `${r.hash} (in block ${r.number}, which every node's chain has; the client's view ${r.viewAt})`
        : r.number! <= r.viewAt
          ? `block ${r.number}, at or below the client's view ${r.viewAt},`
          : `block ${r.number} (genesis, which every node has; the client had no view)`,
    );
    this.#violate(`${[...new Set(which)].join(' or ')} answered null (#${reads.map((r) => r.seq).join('/#')}): ${text}`);
  }

  /**
   * An answer that fits none of the requests outstanding under `key` but fits a by-hash read a
   * `null` was put down to: the null was another's, one still outstanding that could have got it.
   * That one takes the null, and the read is put back in `list` (last) to take this answer.
   */
  #takeBackNull(key: string, list: Req[], matches: (req: Req) => boolean): boolean {
    const nulled = this.#nulled.get(key) ?? [];
    const back = nulled.findIndex(matches);
    const other = list.findIndex((r) => r.type === 'byHash' && r.limited === undefined && this.#mayBeGone(r));
    if (back < 0 || other < 0) return false;
    const [read] = nulled.splice(back, 1, list.splice(other, 1)[0]!);
    list.push(read!);
    return true;
  }

  /**
   * An answer that fits none of the requests outstanding under `key` but fits a read an earlier
   * block answer was put down to, when that block also fits a read still outstanding that was sent
   * before it came (a block by number and the same block by hash, under one id): the block was the
   * other's. That one takes it, and the read is put back in `list` (last) to take this answer.
   */
  #takeBackBlock(key: string, list: Req[], matches: (req: Req) => boolean): boolean {
    const answered = this.#blockAnswered.get(key) ?? [];
    for (const [i, earlier] of answered.entries()) {
      if (!matches(earlier.req)) continue;
      const other = bestMatch(list, (r) => r.seq <= earlier.sentBefore && earlier.matches(r));
      if (other < 0) continue;
      answered[i] = { ...earlier, req: list.splice(other, 1)[0]! };
      list.push(earlier.req);
      return true;
    }
    return false;
  }

  /**
   * Whether a `byHash` read's `null` may be true: its hash was never given, a node reorged since it
   * was sent, or some node's chain lacks its block now.
   */
  #mayBeGone(req: Req): boolean {
    return req.hash === UNKNOWN_HASH || req.reorgsAt !== this.#world.reorgs.count || this.#lackedNow(req);
  }

  /** Whether some node's chain lacks the block of a `byHash` read's hash now. */
  #lackedNow(req: Req): boolean {
    const n = req.number!;
    if (req.hash === UNKNOWN_HASH) return false;
    return this.#world.nodes.some((node) => node.tip < n || node.block(n).hash !== req.blockHash);
  }

  /** Answers not yet tied to a request must still fit the requests left: never two for one. */
  #checkFeasible(key: string): void {
    const list = this.#outstanding.get(key) ?? [];
    const generic = this.#generic.get(key) ?? 0;
    const notResent = this.#notResent.get(key) ?? 0;
    const behind = this.#behind.get(key) ?? 0;
    const eligible = list.filter(isCall).length;
    const sends = list.filter((r) => r.type === 'sendTransaction').length;
    const reads = list.filter(isRead).length;
    if (notResent > sends || behind > reads || generic + notResent + behind > eligible) {
      this.#violate(`id ${key} got more answers than requests: ${generic} generic, ${notResent} NOT_RESENT and ${behind} BEHIND errors for ${eligible} requests (${sends} eth_sendTransaction, ${reads} reads) left`);
    }
    // A write the session sent upstream may have been carried out: it is never answered as if it
    // had never left (UPSTREAM_UNAVAILABLE, QUEUE_FULL), or a client would send it again.
    const unsent = this.#unsent.get(key) ?? 0;
    const out = list.filter((r) => isCall(r) && this.#wentUpstream(r)).length;
    if (unsent > eligible - out) {
      this.#violate(`id ${key} got ${unsent} error(s) saying a request never left, but ${out} of its ${eligible} requests left are eth_sendTransaction sent upstream`);
    }
  }

  #answered(req: Req, category: Extract<Category, { type: 'specific' }>, candidates: Set<SubKind>): void {
    if (category.block !== undefined) this.#view = Math.max(this.#view, category.block);
    if (category.header !== undefined && notificationSource(this.#world, category.header)?.kind !== 'newHeads') {
      this.#violate(`block ${category.block} answered with a header no branch of the chain has: ${show(category.header)}`);
    }
    if (category.subscription !== undefined) {
      // Never the same id twice: a late or repeated unsubscribe of the old one would end the new one.
      if (this.#given.has(category.subscription)) {
        this.#violate(`subscribe answered with ${category.subscription}, an id the client was given before`);
      }
      this.#given.add(category.subscription);
      this.#held.set(category.subscription, { candidates, kind: undefined, seen: new Set(), since: this.#world.chain.height, unchecked: false });
      const released = this.#released.indexOf(category.subscription);
      if (released >= 0) this.#released.splice(released, 1);
    }
    if (category.stateAt !== undefined && req.gated) {
      const problem = this.#stateProblem(req, category.stateAt);
      if (problem) this.#violate(problem);
    }
    if (category.tag !== undefined) {
      this.#tagAnswered.add(category.tag);
      // A read the view gate may hold is answered when its node proves to be caught up, not in turn.
      // Queue order holds per socket: a call not safe to repeat stays on the socket a switch leaves
      // (invariant 12) and may be answered there after the reads that moved on were answered.
      if (req.queued && this.upstreamKeepsOrder && !req.gated) {
        const via = this.#world.transport.delivering;
        const key = `${req.episode}:${via === undefined ? '-' : this.#world.transport.fake.sockets.indexOf(via)}`;
        const last = this.#lastQueuedResult.get(key) ?? 0;
        if (req.seq < last) this.#violate(`request #${req.seq}, queued while reconnecting, was answered after request #${last}, queued after it, on the same socket`);
        else this.#lastQueuedResult.set(key, req.seq);
      }
    }
  }

  #onBatchAnswer(answers: unknown[], text: string): void {
    if (answers.length === 0) return this.#violate('the client got an empty batch answer');
    if (!answers.every((a) => typeof a === 'object' && a !== null && !Array.isArray(a) && this.#isResponse(a as Record<string, unknown>, text))) return;
    const responses = answers as Array<Record<string, unknown>>;
    // Closed by now, as it answered: a host listener closed it while it took the batch (see `closeFrom`).
    // A null may be the true answer of a read by hash (see #mayBeGone): it then fits such a read only.
    const categories = responses.map(categorize).map(
      (category): Category =>
        category.type === 'null' ? { type: 'specific', matches: (r) => r.type === 'byHash' && r.limited === undefined && this.#mayBeGone(r), what: 'null' } : category,
    );
    // Whether each oversized call of a batch had failed a socket alone is judged as the answer
    // comes: sockets failing later do not make an early FRAME_TOO_LARGE right (see batchFits).
    const failedAlone = new Set(this.#batches.flatMap((batch) => batch.items.filter((r) => r.type === 'oversized' && this.#failedAlone(r))));
    const answer = { responses, categories, closedDuring: this.#world.session.state === 'closed', failedAlone };
    const nulls = categories.flatMap((category, i) => (category.type === 'specific' && category.what === 'null' ? [i] : []));
    const atIndex = (i: number) =>
      this.#batches.flatMap((batch) => (batch.items.length === responses.length && show(batch.items[i]!.replyId) === show(responses[i]!.id) ? [batch.items[i]!] : []));
    const wrongNulls = nulls.filter((i) => !atIndex(i).some((r) => categories[i]!.type === 'specific' && (categories[i] as { matches: (r: Req) => boolean }).matches(r)));
    if (wrongNulls.length > 0) {
      // Which batch it is for is not known: every getBlock or byHash of that id at that place may be it.
      return this.#answeredNull(wrongNulls.flatMap(atIndex), text);
    }
    // Batches of the same shape cannot be told apart by a generic error: any of them may be its batch.
    const fitting = this.#batches.filter((batch) => batchFits(answer, batch.items, this.#wentUpstream));
    if (fitting.length === 0) return this.#violate(`a batch answer that fits no batch the client sent: ${text}`);
    this.#batchAnswers.push(answer);
    if (!this.#batchesMatch()) return this.#violate(`one batch answer too many (no batch is left for it): ${text}`);
    answer.categories.forEach((category, i) => {
      if (category.type !== 'specific') return;
      const candidates = new Set(fitting.map((batch) => batch.items[i]!.kind!));
      this.#answered(fitting[0]!.items[i]!, category, candidates);
    });
  }

  /** Whether every batch answer can be the answer of a batch of its own (bipartite matching). */
  #batchesMatch(): boolean {
    const owner = new Map<number, number>(); // batch index → answer index
    const tryAssign = (a: number, seen: Set<number>): boolean => {
      for (const [b, batch] of this.#batches.entries()) {
        if (seen.has(b) || !batchFits(this.#batchAnswers[a]!, batch.items, this.#wentUpstream)) continue;
        seen.add(b);
        const current = owner.get(b);
        if (current === undefined || tryAssign(current, seen)) {
          owner.set(b, a);
          return true;
        }
      }
      return false;
    };
    const matched = this.#batchAnswers.every((_, a) => tryAssign(a, new Set()));
    if (matched) this.#answeredBatches = new Set(owner.keys());
    return matched;
  }

  #onNotification(m: Record<string, unknown>, text: string): void {
    const params = m.params as { subscription?: unknown; result?: unknown } | undefined;
    const subscription = params?.subscription;
    const held = typeof subscription === 'string' ? this.#held.get(subscription) : undefined;
    if (m.jsonrpc !== '2.0' || 'id' in m || !held) {
      return this.#violate(`a notification for a subscription the client does not hold (${this.held.join(', ') || 'none'}): ${text}`);
    }
    const source = notificationSource(this.#world, params!.result);
    if (!source) return this.#violate(`a notification with a payload no node sent: ${text}`);
    const result = params!.result as Record<string, unknown>;
    const key = JSON.stringify(result);
    const retraction = source.kind === 'logs' && result.removed === true;
    const passedOn = this.#fromActive.has(key);
    // Single writer: it reached the session on the socket it used then (the client may get it
    // later, e.g. after the batch answer that tells it the subscription id). The session's own
    // retractions after a switch are the exception: the model judges them below.
    if (!passedOn && !retraction) {
      const via = this.#world.transport.delivering;
      this.#violate(`a notification from ${source.node ?? 'the chain'} that never reached the session on its active socket (now ${this.#active?.endpoint.url}, delivered while reading ${via?.endpoint.url ?? 'nothing'}): ${text}`);
    }
    if (held.kind === undefined) {
      if (!held.candidates.has(source.kind)) this.#violate(`${source.kind} notification for ${subscription}, a subscription to ${[...held.candidates].join('/')}`);
      held.kind = source.kind;
    } else if (held.kind !== source.kind) {
      this.#violate(`${source.kind} notification for ${subscription}, which carried ${held.kind} so far`);
    }
    if (source.kind === 'logs') {
      const n = Number.parseInt(result.blockNumber as string, 16);
      if (!retraction) this.#view = Math.max(this.#view, n);
      if (!retraction && (!held.newest || n >= held.newest.number)) held.newest = { hash: result.transactionHash as string, blockHash: result.blockHash as string, number: n };
      // A retraction of its block: the newest log given is off the chain (what the client holds
      // of the subscription may be older logs: none is asked for until a new log comes).
      if (retraction && held.newest?.blockHash === result.blockHash) held.newest = undefined;
      const problem = this.#chainOf(held).log(n, result.blockHash as string, result.logIndex as string, retraction, passedOn);
      if (problem) this.#violate(problem, `, for ${subscription}: ${text}`);
    } else {
      if (source.kind === 'newHeads') {
        const n = Number.parseInt(result.number as string, 16);
        this.#view = Math.max(this.#view, n);
        // The newest head (a reorg's head at or below it replaces it: the chain ends there now).
        held.newest = { hash: result.hash as string, blockHash: result.hash as string, number: n };
        // A head at or below others delivered is a reorg (the node's own, or one a switch
        // announces): the heads it replaces may come back later, when the chain goes back to them.
        const problem = this.#chainOf(held).head(n, result.hash as string, result.parentHash as string, key, (k) => held.seen.delete(k));
        if (problem) this.#violate(`${problem}, for ${subscription}: ${text}`);
      }
      if (held.seen.has(key)) this.#violate(`the same notification twice for ${subscription}: ${text}`);
      held.seen.add(key);
    }
    // A log subscription's repairs of the past (a retraction, a log of a block at or below what
    // the client had: a fork the final log showed, on a node that does not announce its reorgs)
    // are judged by the chain above and by assertHeldLogs, not counted as news.
    const repair = source.kind === 'logs' && (retraction || Number.parseInt(result.blockNumber as string, 16) <= this.#windowFloor);
    if (this.#window && !repair) this.#window.set(subscription as string, (this.#window.get(subscription as string) ?? 0) + 1);
  }

  /** Whether something the client holds makes a fork onto `name`'s chain (as it is now) too deep for the session's kept history. */
  #justifiesDeep(name: string): boolean {
    const node = this.#world.nodes.find((n) => n.name === name);
    if (!node) return true;
    const hashAt = (n: number) => (n <= node.head && n >= GENESIS ? node.block(n).hash : undefined);
    const { reorgDepth, maxRetainedBytes } = CONTINUITY_DEFAULTS;
    return this.#chains.some((chain) => chain.justifiesDeep(hashAt, reorgDepth, DEEP_SLACK, maxRetainedBytes / MIN_LOG_BYTES));
  }

  #chainOf(held: Held): DeliveredChain {
    if (!held.chain) {
      held.chain = new DeliveredChain();
      this.#chains.push(held.chain);
    }
    return held.chain;
  }

  /** Whether `req` is an `eth_sendTransaction` the session has sent upstream. */
  readonly #wentUpstream = (req: Req): boolean => req.type === 'sendTransaction' && req.tag !== undefined && this.#sentUpstream.has(req.tag);

  #onUpstreamSend(text: string, socket: FakeSocket): void {
    let frame: { id?: unknown; method?: unknown; params?: unknown };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      return this.#violate(`the session sent upstream a frame that is not JSON: ${text}`);
    }
    for (const item of (Array.isArray(frame) ? frame : [frame]) as Array<typeof frame>) {
      // A call whose answer is too large for the socket, once a socket it was in flight on failed
      // on such an answer, is sent only apart (on a socket with nothing else of the session's in
      // flight): it never fails a socket under other calls again. (Apart, it may be sent more than
      // once: the FRAME_TOO_LARGE of a socket it was alone on is lost with the session's socket, if
      // that closed first, as any answer is.) A socket the session had left when it failed does
      // not count: the calls of a node left as unhealthy move to the new socket at once.
      if (item.method === OVERSIZED_METHOD && Array.isArray(item.params)) {
        const on = this.#oversizedOn.get(item.params[0]) ?? [];
        const failed = on.filter((s) => s.closeInfo?.messageTooBig === true && !this.#left.has(s)).length;
        if (failed > 0 && !this.#world.transport.apart.has(socket)) {
          this.#violate(`${OVERSIZED_METHOD}(${String(item.params[0])}) sent again on a socket shared with other calls after ${failed} sockets it was in flight on failed on an answer too large for them`);
        }
        this.#oversizedOn.set(item.params[0], [...on, socket]);
      }
      if (item.method === 'eth_blockNumber' && typeof item.id === 'number') {
        let ids = this.#blockNumberIds.get(socket);
        if (ids === undefined) this.#blockNumberIds.set(socket, (ids = new Map()));
        ids.set(item.id, this.#world.headWords.next());
      }
    }
    const params = Array.isArray(frame.params) ? frame.params : [];
    let tagText: unknown;
    if (frame.method === 'eth_getBalance') tagText = params[0];
    else if (frame.method === 'eth_sendTransaction') tagText = (params[0] as { data?: unknown } | undefined)?.data;
    else return;
    if (typeof tagText !== 'string') return;
    const tag = BigInt(tagText);
    const req = this.#tagged.get(tag);
    if (!req) return this.#violate(`the session sent upstream a request the client never made: ${text}`);
    if (this.#tagAnswered.has(tag)) this.#violate(`request #${tag} was sent upstream again after its answer was delivered`);
    // The words the session holds the answer to (see #stateProblem), at each send.
    const { headWords } = this.#world;
    if (req.type === 'getBalance') {
      this.#wordsAtSend.set(tag, { socket, probed: headWords.probed.get(this.#world.nodeOfSocket(socket).name), asked: headWords.asked.get(socket), heads: this.#socketHeads.get(socket)?.length ?? 0 });
    }
    if (this.#sentUpstream.has(tag)) {
      if (req.type === 'sendTransaction') this.#violate(`eth_sendTransaction #${tag} was sent upstream twice`);
      return;
    }
    if (tag < this.#lastSentUpstream) this.#violate(`request #${tag} went upstream after request #${this.#lastSentUpstream}, which the client sent later`);
    this.#sentUpstream.add(tag);
    if (tag > this.#lastSentUpstream) this.#lastSentUpstream = tag;
  }

  /** An `eth_blockNumber` answer to the session, as it reaches it: the node's latest word of its head. */
  #noteHeadWord(parsed: unknown, socket: FakeSocket): void {
    for (const frame of (Array.isArray(parsed) ? parsed : [parsed]) as Array<{ method?: unknown; params?: { result?: { number?: unknown; parentHash?: unknown } } }>) {
      const head = frame?.method === 'eth_subscription' ? frame.params?.result : undefined;
      if (typeof head?.number !== 'string' || typeof head.parentHash !== 'string') continue;
      let heads = this.#socketHeads.get(socket);
      if (heads === undefined) this.#socketHeads.set(socket, (heads = []));
      heads.push({ n: Number.parseInt(head.number, 16), at: this.#world.clock.now() });
    }
    const ids = this.#blockNumberIds.get(socket);
    if (ids === undefined) return;
    for (const frame of (Array.isArray(parsed) ? parsed : [parsed]) as Array<{ id?: unknown; result?: unknown }>) {
      const sent = typeof frame?.id === 'number' ? ids.get(frame.id) : undefined;
      if (sent === undefined) continue;
      ids.delete(frame.id as number);
      if (typeof frame.result !== 'string' || !/^0x[0-9a-f]{1,13}$/.test(frame.result)) continue;
      // Made after it was asked for: a drop of the node's head since then may be in it or not.
      this.#world.headWords.asked.set(socket, { head: Number.parseInt(frame.result, 16), seq: sent, at: this.#world.clock.now() });
    }
  }

  /**
   * State at `latest` (an `eth_getBalance` answer, from its node's head `stateAt`) never older than
   * what the client had been given when it asked (invariant 10), as far as the session could know:
   * by the latest word of the node's head it had when it last sent the request (the node's last
   * `eth_blockNumber` answer on that socket, or a probe read after it), if the node's head has not
   * gone down since that word was asked for. A node that went down since it last said its head
   * nobody can see; and a word that came after the send cannot vouch for the answer.
   */
  #stateProblem(req: Req, stateAt: number): string | undefined {
    const sent = req.tag === undefined ? undefined : this.#wordsAtSend.get(req.tag);
    if (stateAt >= req.viewAt || sent === undefined) return undefined;
    // The socket it was last sent on answered it (a batch's answer goes out with its last item's, maybe from another).
    const { socket, asked, probed, heads } = sent;
    const node = this.#world.nodeOfSocket(socket).name;
    // The later word; of one instant, the socket's (as the session takes them).
    const word = probed !== undefined && (asked === undefined || probed.at > asked.at) ? probed : asked;
    if (word === undefined || word.head >= req.viewAt || (this.#world.headWords.downAt.get(node) ?? 0) > word.seq) return undefined;
    // A head the socket showed since that word may have raised it (the session's word is the
    // highest its socket showed since it was last asked): where one reached the view, no check.
    if (this.#socketHeads.get(socket)?.slice(0, heads).some((h) => h.n >= req.viewAt && h.at >= word.at)) return undefined;
    return `request #${req.tag} (eth_getBalance at latest) answered from ${node}'s state at block ${stateAt}, below the client's view ${req.viewAt}, though ${node} had said its head was ${word.head}`;
  }

  /** Notes a broken rule. */
  #violate(message: string, context = ''): void {
    this.violations.push(message + context);
  }

  // ---- checks --------------------------------------------------------------------------------

  /** Throws with every rule broken so far. */
  assertNoViolation(when: string): void {
    for (const chain of this.#chains) for (const problem of chain.takeMixed()) this.#violate(problem);
    if (this.violations.length === 0) return;
    const shown = this.violations.slice(0, 12);
    if (this.violations.length > shown.length) shown.push(`… and ${this.violations.length - shown.length} more`);
    throw new Error(`${when}:\n  - ${shown.join('\n  - ')}`);
  }

  /** Every request has had its one answer; none is owed any more. */
  assertAllAnswered(): void {
    const owed: string[] = [];
    for (const [key, list] of this.#outstanding) {
      const generic = this.#generic.get(key) ?? 0;
      const unattributed = generic + (this.#notResent.get(key) ?? 0) + (this.#behind.get(key) ?? 0);
      if (list.length !== unattributed || list.some((r) => !isCall(r))) {
        owed.push(`id ${key}: ${list.length} requests (${list.map((r) => `#${r.seq} ${r.type}`).join(', ')}) for ${unattributed} unattributed errors`);
      }
    }
    if (this.#batchAnswers.length !== this.#batches.length) owed.push(`${this.#batches.length} batches sent, ${this.#batchAnswers.length} batch answers`);
    if (owed.length > 0) throw new Error(`requests never answered:\n  - ${owed.join('\n  - ')}`);
  }

  /**
   * What each `logs` subscription holds after replaying its stream (retractions taken out) is the
   * log set of `node`'s chain, the chain every node is on now: it holds every log of a block above
   * the chain's height when it was answered, and (`whole`: nodes announce removed logs, so the
   * session can know of every one that left) no log off that chain. Heights at or below a deep
   * fork, and subscriptions whose backfill was skipped or failed, are not judged.
   */
  assertHeldLogs(node: FakeNode, whole: boolean): void {
    const onChain = new Map<string, number>();
    for (const log of node.logs) onChain.set(`${log.blockHash}:${log.logIndex}`, Number.parseInt(log.blockNumber, 16));
    const wrong: string[] = [];
    for (const [subscription, held] of this.#held) {
      const logs = held.kind === 'logs' || (held.kind === undefined && held.candidates.size === 1 && held.candidates.has('logs'));
      if (!logs || held.unchecked) continue;
      const floor = held.chain?.floor ?? -Infinity;
      const live = held.chain?.liveLogs ?? new Map<string, { block: number; blockHash: string }>();
      const missing = [...onChain].filter(([id, n]) => n > Math.max(held.since, floor) && !live.has(id)).map(([id, n]) => ({ id, n }));
      const extra = whole ? [...live].filter(([id, { block }]) => block > floor && !onChain.has(id)).map(([id, { block }]) => ({ id, n: block })) : [];
      const show = (hits: Array<{ id: string; n: number }>, of: string) => `${hits.length} log(s) ${of} ${node.name}'s chain: ${hits.slice(0, 4).map(({ id, n }) => `${n}/${id}`).join(', ')}`;
      if (missing.length > 0) wrong.push(`${subscription} (answered at height ${held.since}) lacks ${show(missing, 'of')}`);
      if (extra.length > 0) wrong.push(`${subscription} holds, never retracted, ${show(extra, 'off')}`);
    }
    if (wrong.length > 0) throw new Error(`what the client holds after replaying its logs (removed ones taken out) is not the node's chain:\n  - ${wrong.join('\n  - ')}`);
  }

  /** Counts notifications per subscription from now on. */
  openWindow(): void {
    this.#window = new Map();
    this.#windowFloor = this.#view;
  }

  /** Each held subscription got exactly one notification in the window, of its kind. */
  assertWindow(expected: ReadonlySet<SubKind>): void {
    const window = this.#window ?? new Map<string, number>();
    this.#window = undefined;
    const wrong: string[] = [];
    for (const [subscription, held] of this.#held) {
      const count = window.get(subscription) ?? 0;
      const kinds = held.kind ? [held.kind] : [...held.candidates];
      if (kinds.some((k) => expected.has(k)) && count !== 1) wrong.push(`${subscription} (${kinds.join('/')}) got ${count} notifications`);
    }
    if (wrong.length > 0) throw new Error(`after the final events, subscriptions did not deliver exactly once:\n  - ${wrong.join('\n  - ')}`);
  }
}
