/**
 * The session's rule for an answer too large for its socket (IsolationLane), held under the chaos
 * run's faults: a call whose answer is past the upstream sockets' `maxPayload` (ws refuses it and
 * closes with 1009), once a socket it was in flight on failed so, is sent only on sockets where
 * nothing else is in flight, and is failed with FRAME_TOO_LARGE naming its method once one of those
 * failed on it too; the calls beside it are sent again apart and answered.
 *
 * {@link OversizedClient} sends, every few seconds, an `eth_call` of about 250 bytes whose answer is
 * 1.5 MiB of zero bytes (3 MiB as hex): a state override puts at {@link BIG_RETURN} code that returns
 * that much memory. Beside it on the same socket go small calls (`eth_getBalance` of an unused
 * address, answered `0x0`): three with it, and one every 250 ms all along. Every call carries a tag
 * of its own in its params (the eth_call's data, the balance's address). The proxy's upstream
 * transport is wrapped in a SocketLedger, which tells which socket each call was on when which
 * socket failed, as the session sees it; the nodes' front ends (MisbehavingNode) record each
 * request with the socket it came on and the code each socket was closed with. From both,
 * {@link judgeOversized} tells how often a call was sent and reached a node, and whether the rule held.
 */
import WebSocket from 'ws';
import { RpcErrorCode } from '../../../src/jsonrpc.js';
import type { Received } from './misbehavingNode.js';
import type { LedgerEvent } from './socketLedger.js';
import { openWs } from './wsClient.js';

/** Where the state override puts the code; nothing lives there otherwise. */
export const BIG_RETURN = '0x00000000000000000000000000000000000b16b1';
/** PUSH3 0x180000, PUSH1 0, RETURN: the first 1.5 MiB of (empty) memory. About 4.9 M gas of memory expansion. */
export const BIG_CODE = '0x62180000' + '6000' + 'f3';
/** The bytes that call returns. */
export const BIG_RETURN_BYTES = 0x180000;

/** The session's queue deadline (`queue.maxWaitMs`, the proxy's default): no REQUEST_TIMEOUT comes sooner. */
const QUEUE_WAIT_MS = 10_000;
/** Tags: the eth_call's data, and the balance's address, each with the call's number. */
export const TAG_PATTERN = /0x0b16[0-9a-f]{8}|0x5a11[0-9a-f]{36}/g;
const bigTag = (n: number) => `0x0b16${n.toString(16).padStart(8, '0')}`;
/** The oversized call's params: its tag as the data, the code returning 1.5 MiB put at BIG_RETURN by a state override. */
const bigCallParams = (tag: string) => [{ to: BIG_RETURN, data: tag }, 'latest', { [BIG_RETURN]: { code: BIG_CODE } }];
const smallTag = (n: number) => `0x5a11${n.toString(16).padStart(36, '0')}`;
const TOO_BIG_CLOSE = 1009;

interface Answer {
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string };
}

/** One call of the client: what it was, its tag, when it was sent, and its answers with when each came. */
export interface OversizedCall {
  kind: 'big' | 'small';
  tag: string;
  at: number;
  answers: Array<{ at: number; answer: Answer }>;
}

/** What a node's front end (MisbehavingNode) recorded: the requests it received, and how each client socket closed. */
export interface NodeRecord {
  received: readonly Received[];
  socketCloses: ReadonlyMap<number, number>;
}

export interface OversizedCounts {
  /** Oversized calls sent. */
  sent: number;
  /** Answered FRAME_TOO_LARGE naming eth_call, having failed a node's socket it came alone in flight on. */
  tooLarge: number;
  /** Answered REQUEST_TIMEOUT at least the queue's deadline after it was sent (the faults left it no socket that long). */
  timedOut: number;
  lost: number;
  duplicated: number;
  /** Answers the rule does not allow: a result, another error, FRAME_TOO_LARGE without that proof or not naming eth_call, a timeout too soon. */
  unjustified: number;
  /** How many times the oversized calls were sent upstream (the ledger), reached a node, and reached one on a socket then closed as too big (1009). */
  sends: number;
  reached: number;
  onTooBigSockets: number;
  /**
   * Sends of an oversized call beside other calls in flight (as the session's socket saw it) after
   * a socket it was on had closed as too big: the rule says never.
   */
  sentAgain: number;
  /** Times an oversized call reached a node more often than the ledger saw it sent: the ledger would be blind. */
  unledgered: number;
  /** The small calls beside them: sent, answered `0x0` (FRAME_TOO_LARGE is never theirs: unjustified). */
  besideSent: number;
  besideAnswered: number;
  /** Answered REQUEST_TIMEOUT at least the queue's deadline after it was sent. */
  besideTimedOut: number;
  besideLost: number;
  besideDuplicated: number;
  besideUnjustified: number;
  /** The first violations. */
  examples: string[];
}

export class OversizedClient {
  readonly #ws: WebSocket;
  readonly #sent = new Map<string, OversizedCall>();
  #timers: NodeJS.Timeout[] = [];
  #big = 0;
  #small = 0;
  /** The oversized call unanswered, if any: one at a time, so each socket it fails is its own doing. */
  #bigOpen: string | undefined;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data) => {
      const now = Date.now();
      const frame = JSON.parse(String(data)) as Answer | Answer[];
      for (const answer of Array.isArray(frame) ? frame : [frame]) {
        const sent = typeof answer.id === 'string' ? this.#sent.get(answer.id) : undefined;
        if (!sent) continue;
        sent.answers.push({ at: now, answer });
        if (answer.id === this.#bigOpen) this.#bigOpen = undefined;
      }
    });
  }

  static async connect(url: string): Promise<OversizedClient> {
    const ws = await openWs(url);
    ws.on('error', () => {});
    return new OversizedClient(ws);
  }

  /**
   * An oversized call with three small ones beside it now and every `everyMs` (so a short run has
   * one too), and a small one every 250 ms.
   */
  start(everyMs: number): void {
    const round = () => {
      if (this.#bigOpen === undefined) this.#sendBig();
      for (let i = 0; i < 3; i++) this.#sendSmall();
    };
    round();
    this.#timers.push(setInterval(round, everyMs), setInterval(() => this.#sendSmall(), 250));
  }

  stop(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
  }

  /** Whether every call sent has an answer. */
  get settled(): boolean {
    return [...this.#sent.values()].every((sent) => sent.answers.length > 0);
  }

  /** Judges every call (see {@link judgeOversized}). */
  counts(ledger: readonly LedgerEvent[], nodes: Record<string, NodeRecord>): OversizedCounts {
    return judgeOversized(this.#sent, ledger, nodes);
  }

  #sendBig(): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    const tag = bigTag(this.#big++);
    const id = `big-${tag}`;
    this.#bigOpen = id;
    this.#sent.set(id, { kind: 'big', tag, at: Date.now(), answers: [] });
    this.#ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_call', params: bigCallParams(tag) }));
  }

  #sendSmall(): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    const tag = smallTag(this.#small++);
    const id = `small-${tag}`;
    this.#sent.set(id, { kind: 'small', tag, at: Date.now(), answers: [] });
    this.#ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_getBalance', params: [tag, 'latest'] }));
  }

  close(): void {
    this.stop();
    this.#ws.terminate();
  }
}

/**
 * Asks `url` (a node, straight) the oversized call once: its answer must be the 1.5 MiB of zeros
 * (anvil's gas cap allows the memory, and its answer is past the sessions' `maxPayload` as hex).
 */
export async function checkBigCall(url: string, maxPayload: number): Promise<void> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_call', params: bigCallParams(bigTag(0)) });
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await response.text();
  const { result } = JSON.parse(text) as { result?: unknown };
  if (typeof result !== 'string' || result.length !== 2 + 2 * BIG_RETURN_BYTES || /[^0]/.test(result.slice(2))) {
    throw new Error(`The oversized eth_call answered ${text.slice(0, 200)} instead of ${BIG_RETURN_BYTES} zero bytes`);
  }
  if (Buffer.byteLength(text) <= maxPayload) throw new Error(`The oversized eth_call's answer is ${Buffer.byteLength(text)} bytes, not past maxPayload ${maxPayload}`);
}

/**
 * Judges every call of an OversizedClient by its answers, by what its session did with its sockets
 * (`ledger`: the proxy's upstream transport's SocketLedger) and by what the nodes received (`nodes`:
 * each node's front end, by name).
 *
 * A socket closed as too big counts for a call that was on it then (its last send went there, and
 * the session had not let go of the socket: a socket left for another owes it nothing any more).
 * One the session found closing by a failed send still counts: the answer too big failed it all
 * the same. A socket that failed otherwise (a cut, a keepalive timeout) does not count: the call is
 * sent again, as any read is. Once one has counted, the call is sent only alone in flight (the
 * ledger's `alone`: nothing else unanswered on that socket, or sent with `isolate` to a transport
 * that isolates it): `sentAgain` counts the sends that were not. FRAME_TOO_LARGE only to the
 * oversized call, and only once a node saw a socket it came on alone in flight close with 1009.
 *
 * The nodes' side checks the ledger: a call may reach the nodes at most as often as the ledger saw
 * it sent (`unledgered` counts the times more). `onTooBigSockets`: receipts on a socket the node saw
 * closed with 1009, which is the session's socket failing on a message too big.
 */
export function judgeOversized(calls: ReadonlyMap<string, OversizedCall>, ledger: readonly LedgerEvent[], nodes: Record<string, NodeRecord>): OversizedCounts {
  const examples: string[] = [];
  const counts: OversizedCounts = {
    sent: 0, tooLarge: 0, timedOut: 0, lost: 0, duplicated: 0, unjustified: 0, sends: 0, reached: 0, onTooBigSockets: 0, sentAgain: 0, unledgered: 0,
    besideSent: 0, besideAnswered: 0, besideTimedOut: 0, besideLost: 0, besideDuplicated: 0, besideUnjustified: 0, examples,
  };
  const note = (text: string) => {
    if (examples.length < 6) examples.push(text);
  };
  /** By tag: sends, the sockets closed as too big under it (described), and the socket its last send went to. */
  const rule = new Map<string, { sends: number; counted: string[]; on: number }>();
  /** By socket: the tags whose last send went there, and how it was let go of (or found closing by a send) before it closed. */
  const sockets = new Map<number, { tags: Set<string>; let?: 'left' | 'send-failed' }>();
  const socket = (n: number) => sockets.get(n) ?? sockets.set(n, { tags: new Set() }).get(n)!;
  for (const event of ledger) {
    if (event.kind === 'sent') {
      const state = rule.get(event.tag) ?? { sends: 0, counted: [], on: event.socket };
      rule.set(event.tag, state);
      state.sends += 1;
      if (state.counted.length > 0 && !event.alone && calls.has(`big-${event.tag}`)) {
        counts.sentAgain += 1;
        note(`big-${event.tag} sent on socket ${event.socket} beside other calls after socket(s) ${state.counted.join(' and ')} it was on closed as too big`);
      }
      sockets.get(state.on)?.tags.delete(event.tag);
      state.on = event.socket;
      socket(event.socket).tags.add(event.tag);
    } else if (event.kind === 'left' || event.kind === 'send-failed') {
      socket(event.socket).let ??= event.kind;
    } else {
      const closed = sockets.get(event.socket);
      sockets.delete(event.socket);
      if (!event.tooBig || !closed) continue;
      // A send that failed on it first does not make it another reason: the answer too big did.
      const described = closed.let === 'send-failed' ? `${event.socket} (where a send had failed first)` : String(event.socket);
      if (closed.let !== 'left') for (const tag of closed.tags) rule.get(tag)!.counted.push(described);
    }
  }
  const receipts = new Map<string, { count: number; tooBig: number }>();
  for (const node of Object.values(nodes)) {
    for (const r of node.received) {
      if (r.method !== 'eth_call' || r.tag === undefined || !calls.has(`big-${r.tag}`)) continue;
      const seen = receipts.get(r.tag) ?? { count: 0, tooBig: 0 };
      receipts.set(r.tag, seen);
      seen.count += 1;
      if (r.socket !== undefined && node.socketCloses.get(r.socket) === TOO_BIG_CLOSE) seen.tooBig += 1;
    }
  }
  /**
   * Tags a node received as the last frame on a socket of its, alone in flight (everything before it
   * answered), that then closed with 1009: a call that was in flight on a socket closed as too big
   * goes on a socket with nothing else in flight (IsolationLane), and that socket failing proves
   * the answer was the call's.
   */
  const aloneOnTooBig = new Set<string>();
  for (const node of Object.values(nodes)) {
    const last = new Map<number, Received>();
    for (const r of node.received) if (r.socket !== undefined) last.set(r.socket, r);
    for (const [n, r] of last) if (r.tag !== undefined && r.unansweredBefore === 0 && node.socketCloses.get(n) === TOO_BIG_CLOSE) aloneOnTooBig.add(r.tag);
  }
  for (const [id, call] of calls) {
    const big = call.kind === 'big';
    if (big) {
      const sends = rule.get(call.tag)?.sends ?? 0;
      const seen = receipts.get(call.tag) ?? { count: 0, tooBig: 0 };
      counts.sent += 1;
      counts.sends += sends;
      counts.reached += seen.count;
      counts.onTooBigSockets += seen.tooBig;
      if (seen.count > sends) {
        counts.unledgered += seen.count - sends;
        note(`${id} reached the nodes ${seen.count} times, sent ${sends} times`);
      }
    } else {
      counts.besideSent += 1;
    }
    judgeAnswer(call, big ? 'eth_call' : 'eth_getBalance', big && aloneOnTooBig.has(call.tag), counts, id, note);
  }
  return counts;
}
/** Counts one call's answers. `tooLargeAllowed`: whether a node's socket it came on alone in flight closed with 1009. */
function judgeAnswer(sent: OversizedCall, method: string, tooLargeAllowed: boolean, counts: OversizedCounts, id: string, note: (text: string) => void): void {
  const big = sent.kind === 'big';
  if (sent.answers.length === 0) {
    if (big) counts.lost += 1;
    else counts.besideLost += 1;
    note(`${id} got no answer`);
    return;
  }
  if (sent.answers.length > 1) {
    if (big) counts.duplicated += sent.answers.length - 1;
    else counts.besideDuplicated += sent.answers.length - 1;
    note(`${id} got ${sent.answers.length} answers`);
  }
  const { at, answer } = sent.answers[0]!;
  const error = answer.error;
  const waited = at - sent.at;
  const unjustified = (text: string) => {
    if (big) counts.unjustified += 1;
    else counts.besideUnjustified += 1;
    note(`${id} ${text} (after ${waited} ms): ${JSON.stringify(answer).slice(0, 240)}`);
  };
  if (error?.code === RpcErrorCode.FRAME_TOO_LARGE) {
    if (!error.message.startsWith(`The answer to ${method} `) || !error.message.includes('a socket it was alone in flight on')) {
      return unjustified(`got FRAME_TOO_LARGE not naming ${method} and the socket it was alone on`);
    }
    if (!tooLargeAllowed) return unjustified('got FRAME_TOO_LARGE, but no node saw a socket it came on alone in flight close with 1009');
    counts.tooLarge += 1;
    return;
  }
  if (error?.code === RpcErrorCode.REQUEST_TIMEOUT) {
    if (waited < QUEUE_WAIT_MS) return unjustified('got REQUEST_TIMEOUT sooner than any deadline');
    if (big) counts.timedOut += 1;
    else counts.besideTimedOut += 1;
    return;
  }
  if (big) return unjustified(error ? 'got an error the rule does not give' : 'got a result past the sockets\' maxPayload');
  if (error || answer.result !== '0x0') return unjustified('got something else than its balance 0x0');
  counts.besideAnswered += 1;
}
