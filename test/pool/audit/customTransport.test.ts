import { describe, expect, it } from 'vitest';
import type { HttpTransport, JsonRpcRequest } from '../../../src/index.js';
import { NodePool, RpcErrorCode, markNotDelivered } from '../../../src/index.js';
import { FakeClock } from '../../../src/testing/index.js';

/**
 * Audit of docs/guides/http.md:88-89: "A custom `HttpTransport` marks its own "never sent" failures
 * with `markNotDelivered(error)`; anything it does not mark counts as possibly delivered."
 * src/pool/NodeAttempts.ts:193-197 calls `httpTransport.post()` inside a try: a transport that
 * THROWS (instead of returning a rejected promise) fails the attempt with its error as it is, so an
 * unmarked throw is "possibly delivered" and a write is answered NOT_RESENT. No test covers a
 * transport that throws synchronously (test/pool/httpDelivery.test.ts:116 rejects), so marking such
 * a throw "not delivered" (which would send a write to a second node) went unnoticed.
 */

const write: JsonRpcRequest = { jsonrpc: '2.0', id: 1, method: 'eth_sendTransaction', params: [{}] };

/** Nodes a and b; a's POST fails as `failA` says, b answers. `posts` logs the nodes asked. */
function rig(failA: () => Promise<never>) {
  const posts: string[] = [];
  const httpTransport: HttpTransport = {
    post({ url }) {
      const node = url.includes('a.test') ? 'a' : 'b';
      posts.push(node);
      if (node === 'a') return failA();
      return Promise.resolve({ status: 200, body: '{"jsonrpc":"2.0","id":1,"result":"0xabc"}' });
    },
  };
  const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }, { name: 'b', http: 'http://b.test/' }], clock: new FakeClock(), httpTransport });
  pool.update('a', { status: 'healthy', head: 100 });
  pool.update('b', { status: 'healthy', head: 100 });
  return { pool, posts };
}

describe('audit http.md:88-89: what a custom HttpTransport does not mark counts as possibly delivered', () => {
  it('a transport whose post() throws synchronously (unmarked): the write is NOT_RESENT by a, b never sees it', async () => {
    const { pool, posts } = rig(() => {
      throw new Error('socket write failed');
    });
    expect(await pool.request(write)).toMatchObject({ id: 1, error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a', reason: 'connection' } } });
    expect(posts).toEqual(['a']);
  });

  it('a transport whose post() rejects with a plain Error (unmarked, no code): the same', async () => {
    const { pool, posts } = rig(() => Promise.reject(new Error('stream reset')));
    expect(await pool.request(write)).toMatchObject({ id: 1, error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a', reason: 'connection' } } });
    expect(posts).toEqual(['a']);
  });

  it('contrast: a throw marked with markNotDelivered sends the write on to b', async () => {
    const { pool, posts } = rig(() => {
      throw markNotDelivered(new Error('no connection made'));
    });
    expect(await pool.request(write)).toEqual({ jsonrpc: '2.0', id: 1, result: '0xabc' });
    expect(posts).toEqual(['a', 'b']);
  });
});
