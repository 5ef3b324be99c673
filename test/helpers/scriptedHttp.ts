import { NodePool, type JsonRpcRequest, type NodePoolOptions } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, type FakeHttpHandler } from '../../src/testing/index.js';

export { hex } from './gethReads.js';

/** A request with an id. */
export const rpc = (id: unknown, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params }) as JsonRpcRequest;
/** A notification: no id. */
export const note = (method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, method, params }) as JsonRpcRequest;

/** One request a scripted node received. */
export interface Received {
  readonly node: string;
  readonly method: string;
  readonly id: unknown;
  readonly at: number;
}

/** What a scripted node answers one request with: `{ result }`, `{ error }`, or `undefined` to leave it out. */
export type Script = (request: JsonRpcRequest) => { result: unknown } | { error: { code: number; message: string; data?: unknown } } | undefined;

/**
 * A node that answers each request (or each item of a batch) per `script`, HTTP 200, logging every
 * request it got into `log`. A notification (no id) gets no answer, as JSON-RPC 2.0 has it (geth
 * does so): a batch of only notifications, or a lone notification, gets an empty body.
 */
export function scripted(node: string, script: Script, log: Received[], clock?: FakeClock): FakeHttpHandler {
  return async (body) => {
    const payload = JSON.parse(body) as JsonRpcRequest | JsonRpcRequest[];
    const one = (r: JsonRpcRequest) => {
      log.push({ node, method: r.method, id: r.id, at: clock?.now() ?? 0 });
      const answer = script(r);
      if (answer === undefined || !('id' in r)) return undefined;
      return { jsonrpc: '2.0', id: r.id, ...answer };
    };
    if (!Array.isArray(payload)) {
      const answer = one(payload);
      return { status: 200, body: answer === undefined ? '' : JSON.stringify(answer) };
    }
    const answers = payload.map(one).filter((a) => a !== undefined);
    return { status: 200, body: answers.length === 0 ? '' : JSON.stringify(answers) };
  };
}

/**
 * A pool over fake HTTP nodes (`handlers`: node name → handler, in order of preference), every
 * node healthy at `heads[name]` (100 by default).
 */
export function httpPool(handlers: Record<string, FakeHttpHandler>, options: Partial<NodePoolOptions> = {}, heads: Record<string, number> = {}, clock = new FakeClock()) {
  const http = new FakeHttpTransport();
  for (const [name, handler] of Object.entries(handlers)) http.route(`http://${name}.test/`, handler);
  const pool = new NodePool({
    nodes: Object.keys(handlers).map((name) => ({ name, http: `http://${name}.test/` })),
    clock,
    httpTransport: http,
    ...options,
  });
  for (const name of Object.keys(handlers)) pool.update(name, { status: 'healthy', head: heads[name] ?? 100 });
  return { clock, http, pool };
}
