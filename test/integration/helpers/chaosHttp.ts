/**
 * HTTP clients of the chaos run: each POSTs to the reference proxy's `POST /` (so `pool.request()`,
 * one pool view shared by every HTTP client) a steady stream of `eth_blockNumber`, the newest block
 * it was given by number, the balance of `TICKS` at `latest` (the number of the block whose state
 * answered: see stateReads.ts), and the three in one batch, and checks every answer against what
 * it had been given when it asked (invariants 10 and 17 over HTTP, under the same faults as the
 * sockets): every request answered once under its ids, no lower block number, no `null` or other
 * block for a block it was given, no state older than it. Errors (`BEHIND`,
 * `UPSTREAM_UNAVAILABLE`) are answers.
 */
import { judgeBusy, type HttpOutstanding } from './chaosHttpLimit.js';
import { TICKS, type HeadChange } from './sharedChain.js';
import { StateReads, emptyStateCounts, seconds, type StateCounts } from './stateReads.js';

export interface HttpChaosCounts extends StateCounts {
  requests: number;
  /** Answers (a batch's count one each) and error answers among them, by code. */
  answers: number;
  errorAnswers: Record<string, number>;
  /** No response, a response that is not JSON-RPC, or an id left unanswered. */
  lost: number;
  /** Answers under an id the request did not have, or twice under one. */
  wrongId: number;
  /** Requests refused with the proxy's documented `maxHttpInFlight` answer (see chaosHttpLimit.ts). */
  busy: number;
  /** Refused while fewer than the cap could have been in progress. */
  busyUnjustified: number;
  blockNumberChecked: number;
  blockNumberWentBack: number;
  blockReadsChecked: number;
  blockReadNull: number;
  blockReadWrong: number;
  /** The first violations seen. */
  examples: string[];
}

interface Item {
  id: number;
  method: 'eth_blockNumber' | 'eth_getBlockByNumber' | 'eth_getBalance';
  /** The client's view when it asked (and, for a block read, the block it asked for). */
  view: number;
}

const emptyCounts = (): HttpChaosCounts => ({
  ...emptyStateCounts(),
  requests: 0,
  answers: 0,
  errorAnswers: {},
  lost: 0,
  wrongId: 0,
  busy: 0,
  busyUnjustified: 0,
  blockNumberChecked: 0,
  blockNumberWentBack: 0,
  blockReadsChecked: 0,
  blockReadNull: 0,
  blockReadWrong: 0,
  examples: [],
});

export class HttpChaosClient {
  readonly counts = emptyCounts();
  /** The highest block number an answer gave this client. */
  #view = 0;
  #nextId = 1;
  #pending = 0;
  readonly #stateReads = new StateReads(this.counts, (text, at) => this.#example(`${seconds(at)} ${text}`));

  /**
   * `now`: the run's clock (ms), for the times the state reads' examples name. `limit`: the proxy's
   * `maxHttpInFlight`, and the count of requests in progress every HTTP client of the run keeps.
   */
  constructor(
    readonly url: string,
    readonly random: () => number,
    readonly now: () => number = Date.now,
    readonly limit?: { max: number; outstanding: HttpOutstanding },
  ) {}

  get pending(): number {
    return this.#pending;
  }

  /**
   * One request: a block number (40%), the newest block it was given (25%), state at `latest`
   * (20%), or the three as a batch.
   */
  send(): void {
    const roll = this.random();
    const view = this.#view;
    const item = (method: Item['method']): Item => ({ id: this.#nextId++, method, view });
    const block = (): Item => item(view === 0 ? 'eth_blockNumber' : 'eth_getBlockByNumber');
    const items =
      roll < 0.4 ? [item('eth_blockNumber')] : roll < 0.65 ? [block()] : roll < 0.85 || view === 0 ? [item('eth_getBalance')] : [item('eth_blockNumber'), block(), item('eth_getBalance')];
    for (const i of items) if (i.method === 'eth_getBalance') this.#stateReads.sent(i.id, view, this.now());
    const params = (i: Item) => (i.method === 'eth_getBlockByNumber' ? [`0x${i.view.toString(16)}`, false] : i.method === 'eth_getBalance' ? [TICKS, 'latest'] : []);
    const request = (i: Item) => ({ jsonrpc: '2.0', id: i.id, method: i.method, params: params(i) });
    const body = items.length === 1 ? request(items[0]!) : items.map(request);
    this.counts.requests += 1;
    this.#pending += 1;
    const outstanding = this.limit?.outstanding.begin();
    // Longer than any answer may take: three attempts of 10 s and the view's 5 s wait.
    void fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(60_000) })
      .then(async (res) => ({ status: res.status, retryAfter: res.headers.get('retry-after'), answer: (await res.json()) as unknown }))
      .then(
        ({ status, retryAfter, answer }) => {
          const peak = outstanding === undefined ? 0 : this.limit!.outstanding.end(outstanding);
          if (status === 503 && this.limit !== undefined) this.#busy(items, judgeBusy(status, retryAfter, answer, this.limit.max), peak);
          else this.#check(items, answer);
        },
        (error: unknown) => this.#lose(items.length, `no answer: ${String(error)}`),
      )
      .finally(() => {
        if (outstanding !== undefined && !outstanding.ended) this.limit!.outstanding.end(outstanding);
        this.#pending -= 1;
      });
  }

  /** The proxy refused the request as too many were in progress: an answer, if documented and justified. */
  #busy(items: readonly Item[], wrong: string | undefined, peak: number): void {
    if (wrong !== undefined) return this.#lose(items.length, `refused, but not as documented: ${wrong}`);
    this.counts.busy += 1;
    for (const i of items) if (i.method === 'eth_getBalance') this.#stateReads.answered(i.id, { error: 'busy' }, this.now());
    if (peak < this.limit!.max) {
      this.counts.busyUnjustified += 1;
      this.#example(`refused while at most ${peak} other requests were in progress (cap ${this.limit!.max})`);
    }
  }

  #check(items: readonly Item[], answer: unknown): void {
    const answers = Array.isArray(answer) ? answer : [answer];
    const byId = new Map(items.map((i) => [i.id, i]));
    for (const a of answers as Array<{ id?: unknown; result?: unknown; error?: { code?: unknown } }>) {
      const item = typeof a === 'object' && a !== null ? byId.get(a.id as number) : undefined;
      if (!item) {
        this.counts.wrongId += 1;
        this.#example(`answer under an id it did not ask: ${JSON.stringify(a)}`);
        continue;
      }
      byId.delete(item.id);
      this.counts.answers += 1;
      if (item.method === 'eth_getBalance') this.#stateReads.answered(item.id, a, this.now());
      if (a.error !== undefined) {
        const code = String(a.error.code);
        this.counts.errorAnswers[code] = (this.counts.errorAnswers[code] ?? 0) + 1;
        continue;
      }
      if (item.method === 'eth_getBalance') continue;
      if (item.method === 'eth_blockNumber') {
        this.counts.blockNumberChecked += 1;
        const number = Number(a.result);
        if (!(number >= item.view)) {
          this.counts.blockNumberWentBack += 1;
          this.#example(`eth_blockNumber ${String(a.result)} below ${item.view}`);
        }
        this.#view = Math.max(this.#view, number || 0);
        continue;
      }
      this.counts.blockReadsChecked += 1;
      const block = a.result as { number?: unknown } | null;
      if (block === null) {
        this.counts.blockReadNull += 1;
        this.#example(`null for block ${item.view}, which it had been given`);
      } else if (Number(block.number) !== item.view) {
        this.counts.blockReadWrong += 1;
        this.#example(`block ${String(block.number)} for block ${item.view}`);
      }
    }
    if (byId.size > 0) this.#lose(byId.size, `ids ${[...byId.keys()].join(', ')} left unanswered in ${JSON.stringify(answer).slice(0, 200)}`);
  }

  /** Judges the state reads answered below the view (see stateReads.ts); `origin`: `Date.now()` at this client's time 0. */
  finish(changes: readonly HeadChange[], origin = 0): void {
    this.#stateReads.finish(changes, origin);
  }

  #lose(count: number, why: string): void {
    this.counts.lost += count;
    this.#example(why);
  }

  #example(text: string): void {
    if (this.counts.examples.length < 5) this.counts.examples.push(text);
  }
}

/** The counts of several clients, added up. */
export function sumHttpCounts(clients: readonly HttpChaosClient[]): HttpChaosCounts {
  const total = emptyCounts();
  for (const { counts } of clients) {
    for (const key of ['requests', 'answers', 'lost', 'wrongId', 'busy', 'busyUnjustified', 'blockNumberChecked', 'blockNumberWentBack', 'blockReadsChecked', 'blockReadNull', 'blockReadWrong'] as const) total[key] += counts[key];
    for (const key of Object.keys(emptyStateCounts()) as Array<keyof StateCounts>) total[key] += counts[key];
    for (const [code, n] of Object.entries(counts.errorAnswers)) total.errorAnswers[code] = (total.errorAnswers[code] ?? 0) + n;
    for (const example of counts.examples) if (total.examples.length < 8) total.examples.push(example);
  }
  return total;
}
