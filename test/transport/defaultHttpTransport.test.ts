import { describe, expect, it } from 'vitest';
import { FetchHttpTransport, NodeHttpTransport, NodePool } from '../../src/index.js';
import { defaultHttpTransport } from '../../src/transport/defaultHttpTransport.js';
import { defaultHttpTransport as browserDefaultHttpTransport } from '../../src/transport/defaultHttpTransport.browser.js';
import { NodeHttpTransport as BrowserNodeHttpTransport } from '../../src/transport/NodeHttpTransport.browser.js';

const fetchImpl = (() => Promise.resolve(new Response('{}'))) as unknown as typeof fetch;
const node = { process: { versions: { node: '20.0.0' } }, fetch: fetchImpl };

describe('defaultHttpTransport', () => {
  it('gives Node the node:http transport', () => {
    const transport = defaultHttpTransport(node);
    expect(transport).toBeInstanceOf(NodeHttpTransport);
    (transport as NodeHttpTransport).close();
  });

  it('gives Bun, Deno and browsers their fetch (Bun and Deno also set process.versions.node)', async () => {
    for (const platform of [{ ...node, Bun: {} }, { ...node, Deno: {} }, { fetch: fetchImpl }]) {
      const transport = defaultHttpTransport(platform);
      expect(transport).toBeInstanceOf(FetchHttpTransport);
      // Over the platform's own fetch.
      await expect(transport.post({ url: 'https://node.test/' }, '{}', new AbortController().signal)).resolves.toEqual({ status: 200, body: '{}' });
    }
  });

  it('is what a pool uses when given no transport (this test runs in Node)', () => {
    const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://127.0.0.1:1/' }] });
    expect(pool.httpTransport).toBeInstanceOf(NodeHttpTransport);
    pool.close();
    (pool.httpTransport as NodeHttpTransport).close();
  });

  it('in the browser build, is always fetch, and NodeHttpTransport says what to use instead', () => {
    expect(browserDefaultHttpTransport(node)).toBeInstanceOf(FetchHttpTransport);
    expect(() => new BrowserNodeHttpTransport()).toThrow(/NodeHttpTransport needs Node .* leave the transport out to get FetchHttpTransport/);
  });
});
