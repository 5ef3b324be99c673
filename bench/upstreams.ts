/** The parent's handle on a mock upstream process (see mockUpstream.ts). */
import { Child } from './ipc.js';
import type { MockOptions, MockStats } from './mockUpstream.js';

export interface UpstreamInfo {
  port: number;
  wsUrl: string;
  httpUrl: string;
}

export class MockUpstream {
  readonly name: string;
  readonly balance: string;
  readonly wsUrl: string;
  readonly httpUrl: string;
  readonly #child: Child<UpstreamInfo>;

  private constructor(options: MockOptions, child: Child<UpstreamInfo>) {
    this.name = options.name;
    this.balance = options.balance;
    this.#child = child;
    this.wsUrl = child.info.wsUrl;
    this.httpUrl = child.info.httpUrl;
  }

  static async start(options: MockOptions): Promise<MockUpstream> {
    const child = await Child.start<UpstreamInfo>(`mock upstream ${options.name}`, './mockUpstream.ts', { args: [JSON.stringify(options)] });
    return new MockUpstream(options, child);
  }

  /** The node as a steadyrpc `NodeConfig`. */
  node(tier: 'primary' | 'backup' = 'primary'): { name: string; ws: string; http: string; tier: 'primary' | 'backup' } {
    return { name: this.name, ws: this.wsUrl, http: this.httpUrl, tier };
  }

  /**
   * Pushes notifications to every subscription as fast as the sockets take them, for `ms`; with
   * `peer`, only to the sockets that connected to `wsUrl` with `?peer=<peer>`.
   */
  push(ms: number, peer?: string): Promise<{ sent: number; ms: number }> {
    return this.#child.request('push', peer === undefined ? { ms } : { ms, peer });
  }

  /** Resets every connection and refuses new ones until {@link restore}. */
  cut(): Promise<void> {
    return this.#child.request('cut');
  }

  /** Keeps connections but answers nothing (new connections hang) until {@link restore}. */
  blackhole(): Promise<void> {
    return this.#child.request('blackhole');
  }

  /** Listens and answers again; resolves once it does. */
  restore(): Promise<void> {
    return this.#child.request('restore');
  }

  stats(): Promise<MockStats> {
    return this.#child.request('stats');
  }

  /** Wall-clock times of the WebSocket connections accepted since the last clear. */
  connectLog(clear = false): Promise<number[]> {
    return this.#child.request('connectLog', { clear });
  }

  async stop(): Promise<void> {
    await this.#child.stop();
  }
}

/** Starts mocks named a, b, …; each answers eth_getBalance with its own value. */
export function startMocks(count: number, backlog?: number): Promise<MockUpstream[]> {
  return Promise.all(
    Array.from({ length: count }, (_, index) =>
      MockUpstream.start({ name: String.fromCharCode(97 + index), balance: `0x${(index + 10).toString(16)}`, ...(backlog === undefined ? {} : { backlog }) }),
    ),
  );
}
