/**
 * Child processes of the benchmark (mock upstreams, the proxy hop, one worker per case) and the
 * small request/reply protocol the parent speaks with them over Node's IPC channel.
 *
 * Every child runs TypeScript through tsx's loader (`--import tsx`), from the repository root, with
 * bench/tsconfig.run.json (`BUILT_ENV`): `steadyrpc` is the built package, as a user has it
 * (bench/built.ts). Children exit when the channel closes, so no child outlives the run, even when
 * the parent crashes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BUILT_ENV } from './built.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');

type Message =
  | { type: 'ready'; info: unknown }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };

type Command = { id: number; cmd: string; args: unknown };

export interface ChildOptions {
  /** Arguments passed to the script. */
  args?: string[];
  /** Extra node flags, e.g. `--expose-gc`. */
  nodeFlags?: string[];
  /** How long to wait for the child's `ready` message, in ms. @default 30_000 */
  readyTimeoutMs?: number;
}

/** A child process started with {@link Child.start}: send it commands, stop it. */
export class Child<Info = unknown> {
  readonly name: string;
  readonly info: Info;
  readonly #proc: ChildProcess;
  readonly #waiters = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  readonly #exited: Promise<number | null>;
  #nextId = 1;
  #exitCode: number | null | undefined;

  private constructor(name: string, proc: ChildProcess, info: Info, exited: Promise<number | null>) {
    this.name = name;
    this.#proc = proc;
    this.info = info;
    this.#exited = exited.then((code) => {
      this.#exitCode = code;
      for (const waiter of this.#waiters.values()) waiter.reject(new Error(`${name} exited (code ${String(code)}) before answering`));
      this.#waiters.clear();
      return code;
    });
    proc.on('message', (message: Message) => {
      if (message.type !== 'reply') return;
      const waiter = this.#waiters.get(message.id);
      if (!waiter) return;
      this.#waiters.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new Error(`${name}: ${message.error}`));
    });
  }

  /** Forks `script` (a path relative to bench/) and waits for its `ready` message. */
  static async start<Info>(name: string, script: string, options: ChildOptions = {}): Promise<Child<Info>> {
    const { args = [], nodeFlags = [], readyTimeoutMs = 30_000 } = options;
    const proc = fork(fileURLToPath(new URL(script, import.meta.url)), args, {
      cwd: REPO_ROOT,
      execArgv: [...nodeFlags, '--import', TSX_LOADER],
      env: { ...process.env, ...BUILT_ENV },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const info = await new Promise<Info>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`${name} did not start within ${readyTimeoutMs} ms`));
      }, readyTimeoutMs);
      proc.on('message', (message: Message) => {
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        resolve(message.info as Info);
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (code ${String(code)}) before it was ready`));
      });
    });
    return new Child(name, proc, info, exited);
  }

  get exited(): boolean {
    return this.#exitCode !== undefined;
  }

  /** Sends a command and resolves with the child's answer. */
  request<T>(cmd: string, args: unknown = {}, timeoutMs = 120_000): Promise<T> {
    if (this.exited || !this.#proc.connected) return Promise.reject(new Error(`${this.name} is not running`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(id);
        reject(new Error(`${this.name}: no answer to ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#proc.send({ id, cmd, args } satisfies Command);
    });
  }

  /**
   * Closes the channel (the child then finishes and exits) and waits for the exit; a child still
   * running after `timeoutMs` is killed. Resolves with whether it exited on its own.
   */
  async stop(timeoutMs = 5_000): Promise<{ clean: boolean; code: number | null }> {
    if (this.#proc.connected) this.#proc.disconnect();
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      this.#exited,
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (code !== 'timeout') return { clean: true, code };
    this.#proc.kill('SIGKILL');
    return { clean: false, code: await this.#exited };
  }
}

export type Handlers = Record<string, (args: any) => unknown>;

/**
 * The child side: answers the parent's commands with `handlers`, announces `info` as ready, and
 * calls `onDisconnect` when the parent closes the channel (or dies).
 */
export function serve(handlers: Handlers, info: unknown, onDisconnect: () => void): void {
  if (!process.send) throw new Error('This script runs as a child of bench/run.ts (it needs an IPC channel)');
  const send = (message: Message) => {
    if (process.connected) process.send!(message);
  };
  process.on('message', (message: Command) => {
    const handler = handlers[message.cmd];
    if (!handler) return send({ type: 'reply', id: message.id, ok: false, error: `unknown command ${message.cmd}` });
    Promise.resolve()
      .then(() => handler(message.args))
      .then(
        (value) => send({ type: 'reply', id: message.id, ok: true, value: value ?? null }),
        (error: unknown) => send({ type: 'reply', id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      );
  });
  process.once('disconnect', onDisconnect);
  send({ type: 'ready', info });
}

/** Wall-clock time in ms with sub-ms precision, comparable between the processes of one run. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for `promise`, or `ms` at most; leaves no timer behind either way. */
export async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([promise.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  clearTimeout(timer);
  return done;
}
