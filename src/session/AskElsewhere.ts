import type { JsonRpcResponse } from '../jsonrpc.js';
import { RpcErrorCode } from '../jsonrpc.js';
import { verdictOf } from '../pool/nodeErrors.js';
import type { PendingCall } from './PendingCall.js';
import type { SessionContext } from './SessionContext.js';
import type { UpstreamLink } from './UpstreamLink.js';

/**
 * Reads the session's node answered with an error that means "not this node" (the pool's
 * `classifyError` says `retry`: header not found, missing trie node, pruned history, method not
 * supported …), asked of the other nodes over HTTP, as `pool.request()` asks them: the client gets
 * the first real answer, or its own node's error when no node does better. Only reads safe to
 * repeat (`isRepeatable`) go: a write gets its node's error as it is, never a second send. Nor do
 * reads whose answer is right only from a node at the client's view of the chain (state at
 * `latest` once the client has seen blocks): the view gate waits for the session's node instead.
 * The socket stays where it is; the pool's rules (rate limits, breakers, its monotonic view) apply.
 */
export class AskElsewhere {
  readonly #ctx: SessionContext;
  /** Calls asked elsewhere, each with the abort of its request (a session closing owes them an answer). */
  #asked: Map<PendingCall, AbortController> | undefined;
  /** Reads answered by another node after their own could not serve them. */
  answered = 0;

  constructor(ctx: SessionContext) {
    this.#ctx = ctx;
  }

  /** Whether `call`'s error answer from `link` is taken over: its answer then comes from another node. */
  take(link: UpstreamLink, call: PendingCall, response: JsonRpcResponse): boolean {
    const { pool, isRepeatable } = this.#ctx;
    if (!('error' in response) || call.answered || call.oneWay || pool.closed || this.#asked?.has(call)) return false;
    if (call.method === 'eth_subscribe' || call.unsubscribed !== undefined || !isRepeatable(call.method)) return false;
    if (verdictOf(pool.classifyError, response.error, call.method) !== 'retry') return false;
    // A read at the head (`latest`, `pending`) after the client has seen blocks is right only from a
    // node that has got that far: the view gate judges it, on the session's own node.
    const { gate } = this.#ctx;
    const demand = gate.enabled ? gate.view.demand(call.method, call.params, call.viewAt) : undefined;
    if (demand !== undefined && !demand.onlyIfMissing) return false;
    if (!pool.candidates().some((name) => name !== link.node && pool.node(name).http !== undefined)) return false;
    const controller = new AbortController();
    // Made with the first such read: a session that never needs it keeps none.
    const asked = (this.#asked ??= new Map());
    asked.set(call, controller);
    const request = { jsonrpc: '2.0' as const, id: 1, method: call.method, ...(call.params === undefined ? {} : { params: call.params }) };
    pool.request(request, { signal: controller.signal, avoid: [link.node] }).then(
      (answer) => {
        if (!asked.delete(call)) return; // the session closed meanwhile
        // A result (one that is there, for a block the client has seen), or an error that is a real
        // answer (a revert at a block only an archive node has) is the client's; else the node's own
        // error goes the way it would have gone (the gate holds it if that node is behind).
        const better =
          'error' in answer ? verdictOf(pool.classifyError, answer.error, call.method) !== 'retry' : demand === undefined || (answer as { result?: unknown }).result != null;
        if (!better) return gate.deliver(link, call, response);
        this.answered += 1;
        gate.answerFrom(call, answer);
      },
      () => {
        if (asked.delete(call)) gate.deliver(link, call, response);
      },
    );
    return true;
  }

  /** Calls still waiting for another node. */
  get size(): number {
    return this.#asked?.size ?? 0;
  }

  /** The session is closing: every call asked elsewhere is answered now, and its request aborted. */
  clear(): void {
    const asked = [...(this.#asked ?? [])];
    this.#asked?.clear();
    for (const [call, controller] of asked) {
      controller.abort();
      this.#ctx.fail(call, RpcErrorCode.UPSTREAM_UNAVAILABLE, 'Session closed');
    }
  }
}
