import type { Clock, TimerHandle } from '../../Clock.js';
import { MAX_UPSTREAM_DEPTH, tooDeepToPassOn } from '../../jsonDepth.js';
import { RpcErrorCode } from '../../jsonrpc.js';
import type { SocketCloseInfo, SocketEndpoint, SocketTransport, UpstreamSocket } from '../SocketTransport.js';
import { answerFrame } from './IdAddressing.js';
import type { VirtualSocket } from './VirtualSocket.js';

/** How long the lane's socket may take to open (a session's `connectTimeoutMs`, by default). */
export const LANE_CONNECT_MS = 5_000;
/** How long a call on the lane may wait for its answer (a session's `requestTimeoutMs`, by default). */
export const LANE_ANSWER_MS = 30_000;

/** A user's call sent on the lane: `rest` is its request after the id (`,"method":…}`). */
interface LaneCall {
  user: VirtualSocket;
  idText: string;
  method: string;
  rest: string;
}

/**
 * The calls to one endpoint whose answer may be too large for a socket, each sent on a real socket
 * of its own, one at a time.
 *
 * A real socket that a message too big for it closes (past the inner transport's `maxPayload`:
 * `SocketCloseInfo.messageTooBig`) takes every call in flight on it along, and which one's answer
 * it was cannot be known: its id was never read. Each session counts that socket against its calls
 * and sends them again; on the next shared socket, the one whose answer is too big would close it
 * once more under every session's calls then in flight, and a session fails a call that two such
 * sockets failed under (FRAME_TOO_LARGE, rather than a third send) though its answer was small.
 *
 * So a session sends such a call again with `isolate` (SendOptions), and it comes here instead of
 * going on the shared socket: sent on the lane's own socket with nothing else in flight, it is
 * answered as usual, or, when that socket too closes on a message too big, known to be the one and
 * answered FRAME_TOO_LARGE by its id. The other sessions' calls never share a socket with it again.
 */
export class IsolationLane {
  readonly #inner: SocketTransport;
  readonly #clock: Clock;
  /** `tooLarge`: a call was answered FRAME_TOO_LARGE; `idle`: the lane has nothing left to do (its transport forgets it). */
  readonly #tell: { tooLarge(): void; idle(): void };
  /** The socket's deadline: to open, then for the answer in flight. */
  #deadline: TimerHandle | undefined;
  readonly #queue: LaneCall[] = [];
  #socket: UpstreamSocket | undefined;
  /** Whether the socket now connecting or open has opened (a connect that fails is no call's doing). */
  #opened = false;
  #inFlight: (LaneCall & { id: number }) | undefined;
  #nextId = 1;

  constructor(inner: SocketTransport, clock: Clock, tell: { tooLarge(): void; idle(): void }) {
    this.#inner = inner;
    this.#clock = clock;
    this.#tell = tell;
  }

  /** A user's call, sent from here once those before it are answered. */
  add(user: VirtualSocket, idText: string, method: string, rest: string): void {
    this.#queue.push({ user, idText, method, rest });
    // The call in flight is nobody's any more (its session left that socket, and sends it again):
    // its answer is not waited for.
    if (this.#inFlight !== undefined && !this.#inFlight.user.isOpen) this.#giveUp('steadyrpc: its call was abandoned');
    if (this.#socket === undefined) this.#connect(user.endpoint);
    else if (this.#opened) this.#sendNext();
  }

  #connect(endpoint: SocketEndpoint): void {
    this.#opened = false;
    let socket: UpstreamSocket;
    try {
      socket = this.#openSocket(endpoint);
    } catch {
      // A transport that throws instead of reporting: a connect that failed at once (told after
      // the send that brought the call here, as a socket's close always is).
      const waiting = this.#queue.splice(0);
      queueMicrotask(() => {
        for (const call of waiting) call.user.drop({ code: 1006, reason: '' });
        this.#checkIdle();
      });
      return;
    }
    this.#socket = socket;
    this.#armDeadline(LANE_CONNECT_MS);
  }

  #openSocket(endpoint: SocketEndpoint): UpstreamSocket {
    const socket: UpstreamSocket = this.#inner.open(endpoint, {
      onOpen: () => {
        if (this.#socket !== socket) return;
        this.#clearDeadline();
        this.#opened = true;
        this.#sendNext();
      },
      onMessage: (text) => {
        if (this.#socket === socket) this.#onMessage(text);
      },
      onClose: (info) => {
        if (this.#socket === socket) this.#onClose(info);
      },
      onError: () => {},
    });
    return socket;
  }

  /** A socket that does not open, or a call not answered, in time: the socket is given up as lost. */
  #armDeadline(ms: number): void {
    this.#clearDeadline();
    this.#deadline = this.#clock.setTimeout(() => {
      this.#deadline = undefined;
      this.#giveUp(`steadyrpc: no ${this.#opened ? 'answer' : 'open'} within ${this.#opened ? LANE_ANSWER_MS : LANE_CONNECT_MS} ms`);
    }, ms);
  }

  /** The socket is let go as lost (see #onClose), and those still waiting go on a new one. */
  #giveUp(reason: string): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#onClose({ code: 1006, reason });
    socket.terminate();
  }

  #clearDeadline(): void {
    if (this.#deadline === undefined) return;
    this.#clock.clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  /** The next call whose user is still there, on the open socket; the socket let go once none is left. */
  #sendNext(): void {
    if (this.#inFlight !== undefined) return;
    let next: LaneCall | undefined;
    while ((next = this.#queue.shift()) !== undefined && !next.user.isOpen);
    if (next === undefined) {
      const socket = this.#socket;
      this.#socket = undefined;
      socket?.close(1000, 'steadyrpc: done');
      return this.#checkIdle();
    }
    const id = this.#nextId++;
    this.#inFlight = { ...next, id };
    this.#armDeadline(LANE_ANSWER_MS);
    try {
      this.#socket!.send(`{"jsonrpc":"2.0","id":${id}${next.rest}`);
    } catch {
      // The socket is closing: its close, when it comes, says why and what becomes of the call.
    }
  }

  #onMessage(text: string): void {
    const call = this.#inFlight;
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      frame = undefined;
    }
    const answer = frame as { id?: unknown; result?: unknown; error?: unknown } | undefined;
    if (call === undefined || typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
      if (call !== undefined && frame === undefined && text.startsWith(`{"jsonrpc":"2.0","id":${call.id},`)) this.#fail(call, 'the node sent a malformed answer');
      return;
    }
    if (answer.id !== call.id || !('result' in answer || 'error' in answer)) return;
    this.#clearDeadline();
    // What a user is given is serialised again: nothing goes on that JSON.stringify cannot take.
    if (tooDeepToPassOn(text, answer)) return this.#fail(call, `the node sent an answer that could not be passed on (nested deeper than ${MAX_UPSTREAM_DEPTH} levels)`);
    this.#inFlight = undefined;
    call.user.deliver(answerFrame(call.idText, answer));
    this.#sendNext();
  }

  #fail(call: LaneCall, what: string): void {
    this.#clearDeadline();
    this.#inFlight = undefined;
    call.user.deliver(answerFrame(call.idText, { error: { code: RpcErrorCode.INTERNAL_ERROR, message: `Internal error: ${what}` } }));
    this.#sendNext();
  }

  /**
   * The lane's socket closed. On a message too big, the call in flight (alone on it) was the one:
   * answered FRAME_TOO_LARGE. On anything else, its user's socket is closed as this one was (its
   * session decides what to send again, as for any socket lost); and when the socket never opened,
   * every user waiting too, as the node is not to be reached. Those left waiting go on a new socket.
   */
  #onClose(info: SocketCloseInfo): void {
    const call = this.#inFlight;
    const opened = this.#opened;
    this.#clearDeadline();
    this.#socket = undefined;
    this.#inFlight = undefined;
    const closeInfo: SocketCloseInfo = { code: info.code, reason: info.reason };
    if (call !== undefined && info.messageTooBig === true) {
      this.#tell.tooLarge();
      call.user.deliver(
        answerFrame(call.idText, {
          error: {
            code: RpcErrorCode.FRAME_TOO_LARGE,
            message: `The answer to ${call.method} was larger than the socket takes (the maxPayload of the transport under SharedSocketTransport): it failed a socket it was alone in flight on; not sent again`,
          },
        }),
      );
    } else if (call !== undefined) {
      call.user.drop(closeInfo);
    }
    if (!opened) for (const waiting of this.#queue.splice(0)) waiting.user.drop(closeInfo);
    const next = this.#queue.find((waiting) => waiting.user.isOpen);
    if (next !== undefined) return this.#connect(next.user.endpoint);
    this.#queue.length = 0;
    this.#checkIdle();
  }

  /** A lane with nothing left tells its transport. */
  #checkIdle(): void {
    if (this.#socket === undefined && this.#queue.length === 0) this.#tell.idle();
  }
}
