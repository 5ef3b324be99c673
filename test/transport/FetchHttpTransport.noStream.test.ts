import { describe, expect, it } from 'vitest';
import { FetchHttpTransport } from '../../src/index.js';

// Review: FetchHttpTransport read the answer only through `response.body.getReader()`. A fetch
// whose Response has no body stream (React Native's whatwg-fetch, node-fetch 2's Node stream,
// hand-made test doubles) gave every answer as '' (or failed it), where `text()` had read it.
const answer = '{"jsonrpc":"2.0","id":1,"result":"0x1"}';
const post = (transport: FetchHttpTransport) => transport.post({ url: 'https://node.test/' }, '{}', new AbortController().signal);

/** A Response as a fetch without streams gives it: `text()`, no `body` stream. */
const streamless = (text: string, body: unknown = undefined) =>
  (async () => ({ status: 200, ok: true, headers: new Headers({ 'content-type': 'application/json' }), body, text: async () => text })) as unknown as typeof fetch;

describe('FetchHttpTransport over a fetch without body streams', () => {
  it('reads the answer with text()', async () => {
    expect(await post(new FetchHttpTransport(streamless(answer)))).toEqual({ status: 200, body: answer });
  });
  it('a body that is not a WHATWG stream (node-fetch 2) is read with text() too', async () => {
    expect(await post(new FetchHttpTransport(streamless(answer, { pipe() {} })))).toEqual({ status: 200, body: answer });
  });
  it('still holds to maxResponseBytes', async () => {
    await expect(post(new FetchHttpTransport(streamless(answer), { maxResponseBytes: 10 }))).rejects.toMatchObject({ code: 'ERR_BAD_RESPONSE' });
  });
});
