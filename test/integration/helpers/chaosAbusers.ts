/**
 * Clients that misuse the proxy while the chaos run goes on, to hold the per-client limits under
 * faults as well as in the adversarial probes:
 * - {@link BurstClient} sends bursts past the proxy's `maxInFlight`: every call must still get
 *   exactly one answer, and `LIMIT_EXCEEDED` only for a call sent while the client already had
 *   `maxInFlight` calls unanswered (the proxy can only have seen fewer: answers may be on the way).
 * - {@link SlowReader} subscribes, stops reading and keeps asking for large answers: the proxy must
 *   close it as a slow reader (counted in its metrics) while every other client is served.
 */
import WebSocket from 'ws';
import { RpcErrorCode } from '../../../src/jsonrpc.js';
import { openWs } from './wsClient.js';

interface Answer {
  id?: unknown;
  error?: { code: number; data?: { limit?: string; max?: number } };
}

export interface BurstCounts {
  sent: number;
  answered: number;
  lost: number;
  duplicated: number;
  limitErrors: number;
  /** `LIMIT_EXCEEDED` for a call sent while the client had fewer than the cap unanswered. */
  unjustifiedLimitErrors: number;
  /** Other error answers, by code. */
  otherErrors: Record<string, number>;
}

export class BurstClient {
  readonly #ws: WebSocket;
  readonly #cap: number;
  /** Unanswered calls (as this client counts them) when each was sent, by id. */
  readonly #unansweredAtSend = new Map<string, number>();
  readonly #answers = new Map<string, Answer[]>();
  #received = 0;
  #next = 0;

  private constructor(ws: WebSocket, cap: number) {
    this.#ws = ws;
    this.#cap = cap;
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Answer | Answer[];
      for (const answer of Array.isArray(frame) ? frame : [frame]) {
        if (typeof answer.id !== 'string') continue;
        this.#received += 1;
        this.#answers.set(answer.id, [...(this.#answers.get(answer.id) ?? []), answer]);
      }
    });
  }

  static async connect(url: string, cap: number): Promise<BurstClient> {
    const ws = await openWs(url);
    ws.on('error', () => {});
    return new BurstClient(ws, cap);
  }

  /** Sends `count` calls at once, each with an id of its own. */
  burst(count: number): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    for (let i = 0; i < count; i++) {
      const id = `burst-${this.#next++}`;
      this.#unansweredAtSend.set(id, this.#unansweredAtSend.size - this.#received);
      this.#ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_chainId', params: [] }));
    }
  }

  /** Whether every call sent has an answer. */
  get settled(): boolean {
    return this.#received >= this.#unansweredAtSend.size;
  }

  counts(): BurstCounts {
    const counts: BurstCounts = { sent: this.#unansweredAtSend.size, answered: 0, lost: 0, duplicated: 0, limitErrors: 0, unjustifiedLimitErrors: 0, otherErrors: {} };
    for (const [id, unanswered] of this.#unansweredAtSend) {
      const answers = this.#answers.get(id) ?? [];
      if (answers.length === 0) counts.lost += 1;
      else counts.answered += 1;
      if (answers.length > 1) counts.duplicated += answers.length - 1;
      const error = answers[0]?.error;
      if (error?.code === RpcErrorCode.LIMIT_EXCEEDED) {
        counts.limitErrors += 1;
        if (unanswered < this.#cap || error.data?.limit !== 'maxInFlight' || error.data.max !== this.#cap) counts.unjustifiedLimitErrors += 1;
      } else if (error) {
        counts.otherErrors[error.code] = (counts.otherErrors[error.code] ?? 0) + 1;
      }
    }
    for (const id of this.#answers.keys()) if (!this.#unansweredAtSend.has(id)) counts.duplicated += 1;
    return counts;
  }

  close(): void {
    this.#ws.terminate();
  }
}

/** A client that subscribes to `newHeads`, stops reading, and keeps asking for every log there is. */
export class SlowReader {
  readonly #ws: WebSocket;
  #timer: NodeJS.Timeout | undefined;
  #next = 0;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  static async connect(url: string): Promise<SlowReader> {
    const ws = await openWs(url);
    ws.on('error', () => {});
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'sub', method: 'eth_subscribe', params: ['newHeads'] }));
    // From here on nothing is read: what the proxy sends piles up in the kernel, then in the proxy.
    ws.pause();
    return new SlowReader(ws);
  }

  /** Asks for the logs of every block, `perTick` times every `everyMs`. */
  start(everyMs: number, perTick: number): void {
    this.#timer = setInterval(() => {
      if (this.#ws.readyState !== WebSocket.OPEN) return;
      for (let i = 0; i < perTick; i++) {
        this.#ws.send(JSON.stringify({ jsonrpc: '2.0', id: this.#next++, method: 'eth_getLogs', params: [{ fromBlock: '0x0', toBlock: 'latest' }] }));
      }
    }, everyMs);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#ws.terminate();
  }
}
