import { once } from 'node:events';
import WebSocket from 'ws';

export interface Frame {
  jsonrpc: '2.0';
  id?: unknown;
  method?: string;
  result?: any;
  error?: { code: number; message: string };
  params?: { subscription: string; result: any };
}

/** A `ws` socket to `url`, once open (rejects with the error that kept it from opening). */
export async function openWs(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await once(ws, 'open');
  return ws;
}

/** A plain `ws` JSON-RPC client that records every frame it receives, with the time it arrived. */
export class WsClient {
  readonly frames: Array<{ at: number; frame: Frame }> = [];
  readonly #ws: WebSocket;
  #waiters: Array<() => void> = [];
  #nextId = 1_000_000;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      const parsed = JSON.parse(String(data)) as Frame | Frame[];
      for (const frame of Array.isArray(parsed) ? [parsed as unknown as Frame] : [parsed]) this.frames.push({ at: Date.now(), frame });
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  static async connect(url: string): Promise<WsClient> {
    const ws = await openWs(url);
    return new WsClient(ws);
  }

  get closed(): boolean {
    return this.#ws.readyState !== WebSocket.OPEN;
  }

  send(value: unknown): void {
    this.#ws.send(JSON.stringify(value));
  }

  /** Sends a request with `id` (or a fresh one) and waits for the first answer to that id after sending. */
  async call(method: string, params: unknown[] = [], id: unknown = this.#nextId++, timeoutMs = 15_000): Promise<Frame> {
    const from = this.frames.length;
    this.send({ jsonrpc: '2.0', id, method, params });
    return this.waitFor(`answer to ${method} #${String(id)}`, () => this.frames.slice(from).find((f) => f.frame.id === id)?.frame, timeoutMs);
  }

  answers(id: unknown): Frame[] {
    return this.frames.filter((f) => !Array.isArray(f.frame) && f.frame.id === id && f.frame.method === undefined).map((f) => f.frame);
  }

  notifications(subscription?: string): Array<{ at: number; frame: Frame }> {
    return this.frames.filter((f) => f.frame.method === 'eth_subscription' && (subscription === undefined || f.frame.params?.subscription === subscription));
  }

  /** Resolves with `probe()`'s first defined, non-false value; rejects after `timeoutMs`. */
  async waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined && value !== false) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.#ws.close();
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every `everyMs` until it returns a defined, non-false value, or throws after `timeoutMs`. */
export async function poll<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
