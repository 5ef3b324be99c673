import type { Clock, TimerHandle } from '../Clock.js';
import { MAX_UPSTREAM_DEPTH, tooDeepToPassOn } from '../jsonDepth.js';
import { RpcErrorCode } from '../jsonrpc.js';
import type { SocketCloseInfo, SocketEndpoint, SocketTransport, UpstreamSocket } from './SocketTransport.js';
import { answerFrame } from './shared/IdAddressing.js';

/** How long a lane's socket may take to open (a session's `connectTimeoutMs`, by default). */
export const LANE_CONNECT_MS = 5_000;
/** How long a call on a lane waits for its answer, by default (a session's `requestTimeoutMs`, by default). */
export const LANE_ANSWER_MS = 30_000;
/** How many sockets a lane keeps at most, each with one call in flight: more calls wait their turn. */
export const LANE_SOCKETS = 4;

/**
 * Whose calls a lane carries: a session's socket (a `VirtualSocket` of a SharedSocketTransport, or a
 * session's link to a node when its transport does not isolate calls itself).
 */
export interface LaneUser {
  /** Where the lane connects for its calls. */
  readonly endpoint: SocketEndpoint;
  /** False once the user left: its calls are not sent, nor waited for. */
  readonly isOpen: boolean;
  /** An answer to one of its calls, under the id it gave. */
  deliver(text: string): void;
  /** The socket its call was in flight on was lost (not as too big): as if its own socket closed so. */
  drop(info: SocketCloseInfo): void;
}

/** What a lane tells its owner. */
export interface LaneOwner {
  /** A call failed the socket it was alone on: the message of its FRAME_TOO_LARGE answer. */
  tooLarge(method: string): string;
  /** The lane has nothing left to do (its owner forgets it). */
  idle(): void;
  /** How long a socket may take to open (default {@link LANE_CONNECT_MS}). */
  readonly connectMs?: number;
}

/** A user's call sent on the lane: `rest` is its request after the id (`,"method":…}`). */
interface LaneCall {
  user: LaneUser;
  idText: string;
  method: string;
  rest: string;
  /** How long it waits for its answer once sent. */
  answerMs: number;
}

/** One of a lane's sockets: at most one call in flight on it. */
interface LaneSocket {
  socket: UpstreamSocket | undefined;
  /** Whether it has opened (a connect that fails is no call's doing). */
  opened: boolean;
  inFlight: (LaneCall & { id: number }) | undefined;
  /** Its deadline: to open, then for the answer in flight. */
  deadline: TimerHandle | undefined;
}

/**
 * The calls to one endpoint whose answer may be too large for a socket, each sent on a real socket
 * with nothing else in flight on it (up to {@link LANE_SOCKETS} such sockets at once).
 *
 * A real socket that a message too big for it closes (past the transport's `maxPayload`:
 * `SocketCloseInfo.messageTooBig`) takes every call in flight on it along, and which one's answer
 * it was cannot be known: its id was never read. Sent again together, the one whose answer is too
 * big would close the next socket under the others too, and nothing would tell them apart.
 *
 * So a session sends each such call again apart (`isolate`, SendOptions) and it comes here: sent on
 * a socket with nothing else in flight, it is answered as usual, or, when that socket too closes on
 * a message too big, known to be the one and answered FRAME_TOO_LARGE by its id. No other call
 * shares a socket with it again. A call not answered within its `answerMs` is answered
 * REQUEST_TIMEOUT (its session may have given up on it sooner).
 *
 * A connect that fails while another of the lane's sockets is open opens no other for a while:
 * the calls wait for the open ones (a node refusing more connections from us is not hammered).
 */
export class IsolationLane {
  readonly #inner: SocketTransport;
  readonly #clock: Clock;
  readonly #tell: LaneOwner;
  readonly #connectMs: number;
  #queue: LaneCall[] = [];
  readonly #sockets = new Set<LaneSocket>();
  /**
   * A socket failed to open since one last did: no more are opened while one is open (the calls
   * wait for it), and one at a time otherwise.
   */
  #connectFailed = false;
  #nextId = 1;

  constructor(inner: SocketTransport, clock: Clock, tell: LaneOwner) {
    this.#inner = inner;
    this.#clock = clock;
    this.#tell = tell;
    this.#connectMs = tell.connectMs ?? LANE_CONNECT_MS;
  }

  /** A user's call, sent as soon as a socket of the lane is free; `answerMs`: how long its answer is waited for. */
  add(user: LaneUser, idText: string, method: string, rest: string, answerMs = LANE_ANSWER_MS): void {
    this.#queue.push({ user, idText, method, rest, answerMs });
    // A call in flight that is nobody's any more (its session left that socket, and sends it
    // again) is not waited for.
    for (const lane of this.#sockets) if (lane.inFlight !== undefined && !lane.inFlight.user.isOpen) this.#lost(lane, { code: 1006, reason: 'steadyrpc: its call was abandoned' });
    this.#pump();
  }

  /** Lets go of everything: every socket is closed, and nothing waiting is sent or told. */
  close(): void {
    this.#queue = [];
    for (const lane of [...this.#sockets]) this.#retire(lane);
  }

  /** Each free socket takes the next call; sockets are opened for the calls left, up to the bound. */
  #pump(): void {
    this.#queue = this.#queue.filter((call) => call.user.isOpen);
    for (const lane of this.#sockets) {
      if (!lane.opened || lane.inFlight !== undefined) continue;
      const next = this.#queue.shift();
      if (next === undefined) this.#retire(lane);
      else this.#send(lane, next);
    }
    let connecting = 0;
    for (const lane of this.#sockets) if (!lane.opened) connecting += 1;
    const most = !this.#connectFailed ? LANE_SOCKETS : this.#sockets.size === 0 ? 1 : 0;
    while (this.#queue.length > connecting && this.#sockets.size < most) {
      if (!this.#connect(this.#queue[0]!.user.endpoint)) return;
      connecting += 1;
    }
    this.#checkIdle();
  }

  /** Opens one more socket; false when the transport threw (those waiting are told the node cannot be reached). */
  #connect(endpoint: SocketEndpoint): boolean {
    const lane: LaneSocket = { socket: undefined, opened: false, inFlight: undefined, deadline: undefined };
    try {
      lane.socket = this.#inner.open(endpoint, {
        onOpen: () => {
          if (!this.#sockets.has(lane)) return;
          this.#clearDeadline(lane);
          lane.opened = true;
          this.#connectFailed = false;
          this.#pump();
        },
        onMessage: (text) => {
          if (this.#sockets.has(lane)) this.#onMessage(lane, text);
        },
        onClose: (info) => {
          if (this.#sockets.has(lane)) this.#onClose(lane, info);
        },
        onError: () => {},
      });
    } catch {
      // A transport that throws instead of reporting: a connect that failed at once (told after
      // the send that brought the call here, as a socket's close always is).
      this.#connectFailed = true;
      if (this.#sockets.size > 0) return false;
      const waiting = this.#queue.splice(0);
      queueMicrotask(() => {
        for (const call of waiting) call.user.drop({ code: 1006, reason: '' });
        this.#checkIdle();
      });
      return false;
    }
    this.#sockets.add(lane);
    this.#armDeadline(lane, this.#connectMs);
    return true;
  }

  #send(lane: LaneSocket, call: LaneCall): void {
    const id = this.#nextId++;
    lane.inFlight = { ...call, id };
    this.#armDeadline(lane, call.answerMs);
    try {
      lane.socket!.send(`{"jsonrpc":"2.0","id":${id}${call.rest}`);
    } catch {
      // The socket is closing: its close, when it comes, says why and what becomes of the call.
    }
  }

  /** A socket that does not open in time is given up as lost; a call not answered in time, as timed out. */
  #armDeadline(lane: LaneSocket, ms: number): void {
    this.#clearDeadline(lane);
    lane.deadline = this.#clock.setTimeout(() => {
      lane.deadline = undefined;
      const call = lane.inFlight;
      if (call === undefined) return this.#lost(lane, { code: 1006, reason: `steadyrpc: no open within ${this.#connectMs} ms` });
      lane.inFlight = undefined;
      this.#retire(lane);
      call.user.deliver(answerFrame(call.idText, { error: { code: RpcErrorCode.REQUEST_TIMEOUT, message: `No answer to ${call.method} within ${call.answerMs} ms on the socket it was sent on apart` } }));
      this.#pump();
    }, ms);
  }

  #clearDeadline(lane: LaneSocket): void {
    if (lane.deadline === undefined) return;
    this.#clock.clearTimeout(lane.deadline);
    lane.deadline = undefined;
  }

  /** The socket is let go of, closed by the lane: nothing of it is looked at again. */
  #retire(lane: LaneSocket): void {
    this.#clearDeadline(lane);
    this.#sockets.delete(lane);
    lane.socket?.close(1000, 'steadyrpc: done');
  }

  /** The socket is let go of as lost (see #onClose). */
  #lost(lane: LaneSocket, info: SocketCloseInfo): void {
    this.#onClose(lane, info);
    lane.socket?.terminate();
  }

  #onMessage(lane: LaneSocket, text: string): void {
    const call = lane.inFlight;
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      frame = undefined;
    }
    const answer = frame as { id?: unknown; result?: unknown; error?: unknown } | undefined;
    if (call === undefined || typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
      if (call !== undefined && frame === undefined && text.startsWith(`{"jsonrpc":"2.0","id":${call.id},`)) this.#fail(lane, call, 'the node sent a malformed answer');
      return;
    }
    if (answer.id !== call.id || !('result' in answer || 'error' in answer)) return;
    // What a user is given is serialised again: nothing goes on that JSON.stringify cannot take.
    if (tooDeepToPassOn(text, answer)) return this.#fail(lane, call, `the node sent an answer that could not be passed on (nested deeper than ${MAX_UPSTREAM_DEPTH} levels)`);
    this.#clearDeadline(lane);
    lane.inFlight = undefined;
    call.user.deliver(answerFrame(call.idText, answer));
    this.#pump();
  }

  #fail(lane: LaneSocket, call: LaneCall, what: string): void {
    this.#clearDeadline(lane);
    lane.inFlight = undefined;
    call.user.deliver(answerFrame(call.idText, { error: { code: RpcErrorCode.INTERNAL_ERROR, message: `Internal error: ${what}` } }));
    this.#pump();
  }

  /**
   * A socket of the lane closed. On a message too big, the call in flight (alone on it) was the
   * one: answered FRAME_TOO_LARGE. On anything else, its user's socket is closed as this one was
   * (its session decides what to send again, as for any socket lost); and when the socket never
   * opened and no other of the lane's is open, every user waiting too, as the node is not to be
   * reached. Those left waiting go on the other sockets, or new ones.
   */
  #onClose(lane: LaneSocket, info: SocketCloseInfo): void {
    const call = lane.inFlight;
    this.#clearDeadline(lane);
    this.#sockets.delete(lane);
    lane.inFlight = undefined;
    const closeInfo: SocketCloseInfo = { code: info.code, reason: info.reason };
    if (!lane.opened) this.#connectFailed = true;
    if (call !== undefined && info.messageTooBig === true) {
      call.user.deliver(answerFrame(call.idText, { error: { code: RpcErrorCode.FRAME_TOO_LARGE, message: this.#tell.tooLarge(call.method) } }));
    } else if (call !== undefined) {
      call.user.drop(closeInfo);
    }
    if (!lane.opened && ![...this.#sockets].some((other) => other.opened)) for (const waiting of this.#queue.splice(0)) waiting.user.drop(closeInfo);
    this.#pump();
  }

  /** A lane with nothing left tells its owner. */
  #checkIdle(): void {
    if (this.#sockets.size === 0 && this.#queue.length === 0) this.#tell.idle();
  }
}
