import { RpcErrorCode } from '../../jsonrpc.js';
import { ANSWER_HEAD, ID_AT } from '../../frameShapes.js';
import { checkFrame } from '../../jsonScan.js';
import type { SharedSubscription } from './SharedSubscriptions.js';
import type { VirtualSocket } from './VirtualSocket.js';

/**
 * A request as a session writes it: `{"jsonrpc":"2.0","id":N,"method":"m"…`; group 1 is N, group 2
 * the method. Such a request is re-addressed by splicing a new id in, not by parsing it.
 */
export const REQUEST_HEAD = /^\{"jsonrpc":"2\.0","id":(\d{1,15}),"method":"([A-Za-z0-9_]+)"/;

/**
 * A user's call on the real socket: whose, and under which id it sent it (`idText`: the id's JSON
 * text as the user wrote it, see `idTextOf`, so an id past 2^53 comes back with all its digits).
 */
export type CallOrigin = { kind: 'call'; user: VirtualSocket; idText: string; chainId?: true };

/**
 * Who sent a request now on the real socket, under which id: a user's call, a shared subscribe,
 * or one of the connection's own (an unsubscribe; `chainId`: the `eth_chainId` that checks the node
 * is there before newcomers are let on).
 */
export type Origin = CallOrigin | { kind: 'subscribe'; shared: SharedSubscription } | { kind: 'own'; chainId?: true };

/**
 * The answer a user gets, under its own id (`idText`: its JSON text), with the JSON-RPC members of the node's `frame` and
 * nothing else: `error` when it has one (as a session reads an answer with both), else `result`.
 * Written by JSON.stringify, so the frame is exactly `{"jsonrpc":"2.0","id":…,"result":R}` (or
 * `"error"`) with R one JSON value: what a session takes for granted of a `framesChecked` transport.
 */
export function answerFrame(idText: string, frame: { result?: unknown; error?: unknown }): string {
  const head = `{"jsonrpc":"2.0","id":${idText}`;
  if ('error' in frame) return `${head},"error":${JSON.stringify(frame.error) ?? 'null'}}`;
  if ('result' in frame) return `${head},"result":${JSON.stringify(frame.result) ?? 'null'}}`;
  return `${head}}`;
}

/** The real socket, as the ids see it. */
export interface RequestWriter {
  /** Whether the real socket is open (requests of the connection's own are sent only then). */
  readonly isOpen: boolean;
  /** Writes a frame on the real socket; throws, as the socket does, when it cannot take it. */
  write(text: string): void;
}

/**
 * The ids on one real socket: every request written on it goes under an id unique on that socket,
 * and this table says whose it was, so that each answer is given back under the id its sender used.
 * The sessions' ids may repeat and collide across sessions; these never do. It owns the id counter
 * and the table (user calls, shared subscribes, the connection's own unsubscribes) and re-addresses
 * answers in place on the fast path; it does not decide what is sent (the connection and the shared
 * subscriptions do), nor hold anything of the subscriptions but the subscribe in flight.
 */
export class IdAddressing {
  readonly #writer: RequestWriter;
  readonly #calls = new Map<number, Origin>();
  #nextId = 1;

  constructor(writer: RequestWriter) {
    this.#writer = writer;
  }

  /** Sends a user's call under a fresh id; nothing is recorded when the real socket refuses it. */
  call(user: VirtualSocket, origin: CallOrigin, frame: (id: number) => string): void {
    const id = this.#nextId++;
    this.#writer.write(frame(id));
    this.#calls.set(id, origin);
    user.calls.add(id);
  }

  /**
   * Sends the `eth_subscribe` of `shared` (`rest`: the frame after its method) under a fresh id, its
   * answer to go to the shared subscriptions; nothing is recorded when the real socket refuses it.
   */
  subscribe(shared: SharedSubscription, rest: string): void {
    const id = this.#nextId++;
    this.#writer.write(`{"jsonrpc":"2.0","id":${id},"method":"eth_subscribe"${rest}`);
    this.#calls.set(id, { kind: 'subscribe', shared });
  }

  /** An `eth_unsubscribe` of the connection's own: not sent if the socket is going away. */
  unsubscribe(upstreamId: string): void {
    if (!this.#writer.isOpen) return;
    const id = this.#nextId++;
    try {
      this.#writer.write(`{"jsonrpc":"2.0","id":${id},"method":"eth_unsubscribe","params":[${JSON.stringify(upstreamId)}]}`);
      this.#calls.set(id, { kind: 'own' });
    } catch {
      // The socket is closing: its subscriptions go with it.
    }
  }

  /**
   * The connection's own `eth_chainId`, asking the node whether it is there: its answer (any frame,
   * in fact) lets on the users waiting to join, and the answers waiting for the node go out.
   * Throws, as the socket does, when it cannot take it.
   */
  probe(): void {
    const id = this.#nextId++;
    this.#writer.write(`{"jsonrpc":"2.0","id":${id},"method":"eth_chainId","params":[]}`);
    this.#calls.set(id, { kind: 'own', chainId: true });
  }

  /**
   * An answer re-addressed in place: only when the frame is exactly
   * `{"jsonrpc":"2.0","id":N,"result":R}` (or `"error"`) with R one JSON value, checked without
   * parsing, so that nothing a node adds to a frame reaches a session.
   */
  fastAnswer(text: string, bytes?: Uint8Array): boolean {
    const head = ANSWER_HEAD.exec(text);
    if (!head || text.charCodeAt(text.length - 1) !== 125 /* } */) return false;
    const id = Number(head[1]);
    const origin = this.#calls.get(id);
    if (origin?.kind !== 'call') return false;
    if (origin.chainId) return false; // read in full, to remember the value
    if (!checkFrame(text, head[0].length, text.length - 1, -1, bytes)) return false;
    this.#calls.delete(id);
    origin.user.calls.delete(id);
    origin.user.deliver(`{"jsonrpc":"2.0","id":${origin.idText}${text.slice(ID_AT + head[1]!.length)}`);
    return true;
  }

  /**
   * A frame that is not JSON but starts as the answer to a user's call (say, an answer with
   * something stuck after it): the user gets an error answer now rather than waiting for its
   * deadline.
   */
  failMalformed(text: string): void {
    const head = ANSWER_HEAD.exec(text);
    if (head) this.fail(Number(head[1]), 'the node sent a malformed answer');
  }

  /** An answer with id `id` that cannot be passed on: the user whose call it is gets an internal error, `what` saying why. */
  fail(id: unknown, what: string): void {
    const origin = typeof id === 'number' ? this.#calls.get(id) : undefined;
    if (origin?.kind !== 'call') return;
    this.#calls.delete(id as number);
    origin.user.calls.delete(id as number);
    const error = { code: RpcErrorCode.INTERNAL_ERROR, message: `Internal error: ${what}` };
    origin.user.deliver(answerFrame(origin.idText, { error }));
  }

  /** The origin of the answer with id `id`, forgotten (with the user's record of it): it is answered now. */
  take(id: number): Origin | undefined {
    const origin = this.#calls.get(id);
    if (!origin) return undefined;
    this.#calls.delete(id);
    if (origin.kind === 'call') origin.user.calls.delete(id);
    return origin;
  }

  /** `user` left: the answers it waited for are forgotten (they will be unroutable). */
  forget(user: VirtualSocket): void {
    for (const id of user.calls) this.#calls.delete(id);
    user.calls.clear();
  }

  /** The ids (as numbers) `user` sent its calls now in flight here under. */
  sentIdsOf(user: VirtualSocket): number[] {
    const ids: number[] = [];
    for (const id of user.calls) {
      const origin = this.#calls.get(id);
      if (origin?.kind === 'call' && /^\d+$/.test(origin.idText)) ids.push(Number(origin.idText));
    }
    return ids;
  }

  /** The real socket is gone: every id is forgotten. */
  clear(): void {
    this.#calls.clear();
  }
}
