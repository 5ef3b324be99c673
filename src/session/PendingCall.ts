import type { KnownBlock } from '../consistency/KnownHashes.js';
import type { JsonRpcErrorObject, JsonRpcId, JsonRpcResponse } from '../jsonrpc.js';
import { RpcErrorCode, isJsonRpcErrorObject as isErrorObject } from '../jsonrpc.js';
import type { BatchCollector } from './BatchCollector.js';

/** Where a call's answer goes when it came in a batch. */
export interface BatchSlot {
  readonly collector: BatchCollector<string>;
  readonly index: number;
}

/** A client call the session owes one answer: queued, or in flight on an upstream socket. */
export interface PendingCall {
  readonly clientId: JsonRpcId | null;
  /** The client's id as it wrote it (see `ClientCall.idText`): what every answer carries. */
  readonly idText: string;
  readonly method: string;
  readonly params: unknown[] | Record<string, unknown> | undefined;
  /** Set for calls that came in a batch. */
  readonly slot: BatchSlot | undefined;
  /** Size of the call as the client sent it, for the queue's byte bound. */
  readonly bytes: number;
  /** For a client `eth_unsubscribe`: the subscription it removed (already gone from the registry). */
  readonly unsubscribed?: string;
  /** The highest block the client had been given when it sent the call (see ChainView). */
  readonly viewAt?: number;
  /** A read by hash of something the client had been given when it sent the call: where it is (see ChainView.given). */
  readonly given?: KnownBlock;
  /** Clock time it was last sent upstream. */
  sentAt: number;
  /**
   * The node's probed head when the call was last sent: a probe that reads a higher head while the
   * answer is on its way cannot vouch for it (the node may have answered from before).
   */
  probedHead: number | undefined;
  /** When that probe read it (`NodePool.headAtOf`). */
  probedAt: number | undefined;
  /**
   * What its socket had said of the node's head when the call was last sent, and when (see
   * `UpstreamLink.head`): a head it shows later cannot vouch for the answer either (a node may
   * write a new head before an answer it made from the one below).
   */
  linkHead: number | undefined;
  linkHeadAt: number | undefined;
  /** Set once the client has its one answer; later answers are dropped. */
  answered: boolean;
  /**
   * Sockets that a message too big for them failed (`SocketCloseInfo.messageTooBig`) while this call
   * was in flight on them, beside others: its answer may be the one, so from the first on it is
   * sent on a socket of its own (SendOptions.isolate), where such a failure is known to be its own.
   * At two (a transport that said it would send it apart did not), it is not sent again.
   */
  tooBig?: number;
  /** Sent on a socket the session opened for it alone (Outbox): not on any link's own socket since. */
  sentApart?: true;
  /** A JSON-RPC notification (no `id`): forwarded, never answered. */
  readonly oneWay: boolean;
}

/**
 * The client's own answer: the upstream's result or error under the client's id. An error that is
 * not a JSON-RPC error object (an integer `code`, a string `message`) becomes INTERNAL_ERROR: the
 * client gets a well-formed answer whatever the node sent.
 */
export function clientAnswer(call: PendingCall, upstream: JsonRpcResponse): JsonRpcResponse {
  return 'error' in upstream && upstream.error !== undefined
    ? { jsonrpc: '2.0', id: call.clientId, error: isErrorObject(upstream.error) ? upstream.error : MALFORMED_ERROR }
    : { jsonrpc: '2.0', id: call.clientId, result: (upstream as { result: unknown }).result };
}

const MALFORMED_ERROR: JsonRpcErrorObject = Object.freeze({ code: RpcErrorCode.INTERNAL_ERROR, message: 'Internal error: the node sent a malformed error' });

