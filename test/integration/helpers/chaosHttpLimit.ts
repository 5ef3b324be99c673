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
}

export class HttpOutstanding {
  readonly #live = new Set<Outstanding>();

  /** A request is sent. */
  begin(): Outstanding {
    const others = this.#live.size;
    for (const request of this.#live) request.peak = Math.max(request.peak, others);
    const request = { peak: others, ended: false };
    this.#live.add(request);
    return request;
  }

  /** Its answer was read (or it failed): the most others it was ever sent alongside. */
  end(request: Outstanding): number {
    request.ended = true;
    this.#live.delete(request);
    return request.peak;
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
  /** Answered with a result under its id. */
  answered: number;
  /** Refused as documented (see judgeBusy). */
  busy: number;
  /** Refused while fewer than the cap could have been in progress (see HttpOutstanding). */
  unjustifiedBusy: number;
  /** No answer, or one that is neither a result under its id nor the documented refusal. */
  lost: number;
  examples: string[];
}

export class HttpBurstClient {
  readonly counts: HttpBurstCounts = { sent: 0, answered: 0, busy: 0, unjustifiedBusy: 0, lost: 0, examples: [] };
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
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

  /** Opens `count` requests at once; each sends its body `holdMs` later. */
  burst(count: number, holdMs: number): void {
    for (let i = 0; i < count; i++) this.#send(holdMs);
  }

  close(): void {
    this.#agent.destroy();
  }

  #send(holdMs: number): void {
    const id = `http-burst-${this.#next++}`;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_chainId', params: [] });
    this.counts.sent += 1;
    this.#pending += 1;
    const request = this.outstanding.begin();
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      this.#pending -= 1;
      outcome();
    };
    const lose = (why: string) =>
      settle(() => {
        this.outstanding.end(request);
        this.counts.lost += 1;
        this.#example(`${id}: ${why}`);
      });
    const req = http.request(this.url, { method: 'POST', agent: this.#agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 60_000 });
    req.on('timeout', () => req.destroy(new Error('no answer in 60 s')));
    req.on('error', (error) => lose(`no answer: ${error.message}`));
    req.on('response', (res) => {
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
            return;
          }
          const a = answer as { id?: unknown; result?: unknown } | undefined;
          if (res.statusCode === 200 && a?.id === id && typeof a.result === 'string') this.counts.answered += 1;
          else this.#lost(`${id}: ${String(res.statusCode)} ${JSON.stringify(answer).slice(0, 200)}`);
        }),
      );
    });
    // The headers go now: the proxy counts the request in progress until its body arrives.
    req.flushHeaders();
    setTimeout(() => req.end(body), holdMs);
  }

  #lost(why: string): void {
    this.counts.lost += 1;
    this.#example(why);
  }

  #example(text: string): void {
    if (this.counts.examples.length < 5) this.counts.examples.push(text);
  }
}
