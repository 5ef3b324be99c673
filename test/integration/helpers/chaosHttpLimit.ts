/**
 * The proxy's cap on `POST /` requests in progress (`maxHttpInFlight`), held under the chaos run's
 * faults as the per-client limits are (chaosAbusers.ts):
 * - {@link HttpOutstanding} counts the requests the run's HTTP clients have in progress, as they can
 *   know it: from sending one to reading its answer. When a request arrives, the proxy can only have
 *   fewer of them in progress than the most this count reached, leaving out that request itself,
 *   between sending it and reading its answer. A refusal while that most stayed below the cap is
 *   unjustified.
 * - {@link judgeBusy} checks that a refusal is the documented one: HTTP 503, `Retry-After`, and the
 *   JSON-RPC error `-32005` with `{ limit: 'maxHttpInFlight', max }`.
 * - {@link HttpBurstClient} opens more requests at once than the cap, each sending its headers at
 *   once and its body `holdMs` later, so that the proxy holds them in progress meanwhile and the
 *   cap is met for certain: every request gets exactly one answer, an answer or the refusal.
 */
import http from 'node:http';
import { RpcErrorCode } from '../../../src/jsonrpc.js';

/** One request in progress, and the most other requests the clients had in progress during it. */
export interface Outstanding {
  peak: number;
  ended: boolean;
  /** The burst it belongs to (see HttpOutstanding.markOthers); -1: another client's. */
  burst: number;
}

export class HttpOutstanding {
  readonly #live = new Set<Outstanding>();
  /** The burst under way (see HttpBurstClient): its requests are not "others". */
  #burst = 0;
  /** Requests in progress that are not the burst's under way, and the most since {@link markOthers}. */
  #others = 0;
  #othersPeak = 0;

  /** A request is sent (`burst`: by the client that bursts past the cap, for the burst under way). */
  begin(kind: 'burst' | 'other' = 'other'): Outstanding {
    const others = this.#live.size;
    for (const request of this.#live) request.peak = Math.max(request.peak, others);
    const request: Outstanding = { peak: others, ended: false, burst: kind === 'burst' ? this.#burst : -1 };
    this.#live.add(request);
    if (kind === 'other') this.#othersPeak = Math.max(this.#othersPeak, ++this.#others);
    return request;
  }

  /** Its answer was read (or it failed): the most others it was ever sent alongside. */
  end(request: Outstanding): number {
    if (!request.ended && request.burst !== this.#burst) this.#others -= 1;
    request.ended = true;
    this.#live.delete(request);
    return request.peak;
  }

  /**
   * A burst begins: from now on {@link othersPeak} counts from the requests in progress now (an
   * earlier burst's among them) and those sent after, but for this burst's own.
   */
  markOthers(): void {
    this.#burst += 1;
    this.#others = this.#live.size;
    this.#othersPeak = this.#others;
  }

  /** The most requests in progress at once, but for the burst's own, since {@link markOthers}. */
  othersPeak(): number {
    return this.#othersPeak;
  }
}

/** Why a refusal is not the documented one, or undefined when it is. */
export function judgeBusy(status: number, retryAfter: string | null | undefined, body: unknown, max: number): string | undefined {
  if (status !== 503) return `status ${status}`;
  if (retryAfter == null || !/^[1-9]\d*$/.test(retryAfter)) return `Retry-After ${String(retryAfter)}`;
  const answer = body as { jsonrpc?: unknown; id?: unknown; error?: { code?: unknown; data?: { limit?: unknown; max?: unknown } } } | null;
  const error = answer?.error;
  if (answer?.jsonrpc !== '2.0' || answer.id !== null || error?.code !== RpcErrorCode.LIMIT_EXCEEDED || error.data?.limit !== 'maxHttpInFlight' || error.data.max !== max) {
    return `body ${JSON.stringify(body).slice(0, 200)}`;
  }
  return undefined;
}

export interface HttpBurstCounts {
  sent: number;
  /** Answered under its id: a result, or a JSON-RPC error (the nodes are under faults too). */
  answered: number;
  /** Refused as documented (see judgeBusy). */
  busy: number;
  /** Refused while fewer than the cap could have been in progress (see HttpOutstanding). */
  unjustifiedBusy: number;
  /** No answer, or one that is neither an answer under its id nor the documented refusal. */
  lost: number;
  /** Bursts whose requests the proxy had all taken up before their bodies went (see HttpBurstClient). */
  bursts: number;
  /** Of those, bursts with more requests let in than the cap. */
  overCap: number;
  /** Bursts with a refusal but fewer requests let in than the cap less the other clients' requests in progress. */
  underCap: number;
  examples: string[];
}

interface Burst {
  size: number;
  /** Requests the proxy took up: it sent 100 Continue, or answered. */
  seen: number;
  /** The bodies went after every request was taken up (else after the give-up time: not judged). */
  judged: boolean;
  released: boolean;
  /** Requests settled, and of those let in (answered under their id) and refused. */
  settled: number;
  letIn: number;
  refused: number;
  /** The most requests of the other clients in progress from the burst's start to its release. */
  others: number;
  bodies: Array<() => void>;
}

/**
 * Opens more requests at once than the cap, each with `Expect: 100-continue` and its body held
 * back. The proxy takes each one up (Node sends `100 Continue` just before the proxy's handler
 * runs) and refuses it at once or lets it in, where it stays in progress until its body comes.
 * The bodies go once every request of the burst was taken up: the requests let in (answered under
 * their ids in the end) were then all in progress at once, so they are at most the cap; and when
 * any was refused, at least the cap less the other clients' requests in progress meanwhile.
 */
export class HttpBurstClient {
  readonly counts: HttpBurstCounts = { sent: 0, answered: 0, busy: 0, unjustifiedBusy: 0, lost: 0, bursts: 0, overCap: 0, underCap: 0, examples: [] };
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  readonly #timers = new Set<NodeJS.Timeout>();
  #pending = 0;
  #next = 0;

  constructor(
    readonly url: string,
    readonly max: number,
    readonly outstanding: HttpOutstanding,
  ) {}

  get settled(): boolean {
    return this.#pending === 0;
  }

  /** Opens `count` requests at once; their bodies go once the proxy took them all up (at the latest after `giveUpMs`). */
  burst(count: number, giveUpMs = 5_000): void {
    const burst: Burst = { size: count, seen: 0, judged: false, released: false, settled: 0, letIn: 0, refused: 0, others: 0, bodies: [] };
    this.outstanding.markOthers();
    for (let i = 0; i < count; i++) this.#send(burst);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#release(burst);
    }, giveUpMs);
    this.#timers.add(timer);
  }

  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#agent.destroy();
  }

  #release(burst: Burst): void {
    if (burst.released) return;
    burst.released = true;
    burst.judged = burst.seen === burst.size;
    burst.others = this.outstanding.othersPeak();
    for (const send of burst.bodies.splice(0)) send();
  }

  /** A request of `burst` settled: once all have, a burst released after all were taken up is judged. */
  #settled(burst: Burst, outcome: 'letIn' | 'refused' | 'lost'): void {
    burst.settled += 1;
    if (outcome !== 'lost') burst[outcome] += 1;
    if (burst.settled < burst.size || !burst.judged) return;
    this.counts.bursts += 1;
    if (burst.letIn > this.max) {
      this.counts.overCap += 1;
      this.#example(`a burst had ${burst.letIn} requests let in at once (cap ${this.max})`);
    }
    if (burst.refused > 0 && burst.letIn < this.max - burst.others) {
      this.counts.underCap += 1;
      this.#example(`a burst had ${burst.refused} refused, ${burst.letIn} let in, and at most ${burst.others} others in progress (cap ${this.max})`);
    }
  }

  #send(burst: Burst): void {
    const id = `http-burst-${this.#next++}`;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_chainId', params: [] });
    this.counts.sent += 1;
    this.#pending += 1;
    const request = this.outstanding.begin('burst');
    let seen = false;
    const taken = () => {
      if (seen) return;
      seen = true;
      burst.seen += 1;
      if (burst.seen === burst.size) this.#release(burst);
    };
    let settled = false;
    const settle = (outcome: () => 'letIn' | 'refused' | 'lost') => {
      if (settled) return;
      settled = true;
      this.#pending -= 1;
      this.#settled(burst, outcome());
    };
    const lose = (why: string) =>
      settle(() => {
        this.outstanding.end(request);
        return this.#lost(`${id}: ${why}`);
      });
    const req = http.request(this.url, {
      method: 'POST',
      agent: this.#agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
      timeout: 60_000,
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 60 s')));
    req.on('error', (error) => lose(`no answer: ${error.message}`));
    req.on('continue', taken);
    req.on('response', (res) => {
      taken();
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (error) => lose(`answer cut: ${error.message}`));
      res.on('end', () =>
        settle(() => {
          const peak = this.outstanding.end(request);
          let answer: unknown;
          try {
            answer = JSON.parse(Buffer.concat(chunks).toString());
          } catch {
            answer = undefined;
          }
          if (res.statusCode === 503) {
            const wrong = judgeBusy(503, res.headers['retry-after'] as string | undefined, answer, this.max);
            if (wrong !== undefined) return this.#lost(`${id}: refused, but not as documented: ${wrong}`);
            this.counts.busy += 1;
            if (peak < this.max) {
              this.counts.unjustifiedBusy += 1;
              this.#example(`${id}: refused while at most ${peak} others were in progress (cap ${this.max})`);
            }
            return 'refused';
          }
          // A result, or an error under its id (the nodes are under faults too): an answer.
          const a = answer as { id?: unknown; result?: unknown; error?: unknown } | undefined;
          if (res.statusCode !== 200 || a?.id !== id || (typeof a.result !== 'string' && typeof a.error !== 'object')) {
            return this.#lost(`${id}: ${String(res.statusCode)} ${JSON.stringify(answer).slice(0, 200)}`);
          }
          this.counts.answered += 1;
          return 'letIn';
        }),
      );
    });
    // The headers go now; the body once the proxy has taken up the whole burst.
    req.flushHeaders();
    burst.bodies.push(() => req.end(body));
  }

  #lost(why: string): 'lost' {
    this.counts.lost += 1;
    this.#example(why);
    return 'lost';
  }

  #example(text: string): void {
    if (this.counts.examples.length < 5) this.counts.examples.push(text);
  }
}
