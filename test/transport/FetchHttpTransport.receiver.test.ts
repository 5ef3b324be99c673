import { afterEach, describe, expect, it, vi } from 'vitest';
import { FetchHttpTransport } from '../../src/index.js';

/**
 * Chromium's fetch throws "Illegal invocation" unless it is called on the global object (a
 * detached `const f = window.fetch; f(url)` fails). This one behaves the same way.
 */
function receiverCheckingFetch(calls: unknown[]): typeof fetch {
  return function (this: unknown, _input: unknown, _init?: unknown) {
    calls.push(this);
    if (this !== globalThis) return Promise.reject(new TypeError("Failed to execute 'fetch' on 'Window': Illegal invocation"));
    return Promise.resolve(new Response('{"jsonrpc":"2.0","id":1,"result":"0x1"}', { status: 200 }));
  } as typeof fetch;
}

const post = (transport: FetchHttpTransport) => transport.post({ url: 'https://node.test/' }, '{}', new AbortController().signal);

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('FetchHttpTransport calls fetch on the global object', () => {
  it('the default (global) fetch is called with globalThis as its receiver, never detached', async () => {
    const calls: unknown[] = [];
    vi.stubGlobal('fetch', receiverCheckingFetch(calls));
    const response = await post(new FetchHttpTransport());
    expect(response).toEqual({ status: 200, body: '{"jsonrpc":"2.0","id":1,"result":"0x1"}' });
    expect(calls).toEqual([globalThis]);
  });

  it('a fetch passed in that needs the global as receiver works too (window.fetch handed over unbound)', async () => {
    const calls: unknown[] = [];
    const response = await post(new FetchHttpTransport(receiverCheckingFetch(calls)));
    expect(response.status).toBe(200);
    expect(calls).toEqual([globalThis]);
  });

  it('a plain or bound fetch passed in keeps working', async () => {
    const seen: string[] = [];
    const plain = (async (input: string) => {
      seen.push(input);
      return new Response('ok', { status: 200 });
    }) as unknown as typeof fetch;
    const owner = { name: 'client', fetch(this: { name: string }, input: string) { seen.push(`${this.name}:${input}`); return Promise.resolve(new Response('ok')); } };
    expect((await post(new FetchHttpTransport(plain))).body).toBe('ok');
    expect((await post(new FetchHttpTransport(owner.fetch.bind(owner) as unknown as typeof fetch))).body).toBe('ok');
    expect(seen).toEqual(['https://node.test/', 'client:https://node.test/']);
  });
});
