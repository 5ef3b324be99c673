import { describe, expect, it } from 'vitest';
import type { CircuitEvent, HttpResponse } from '../../../src/index.js';
import { FakeNode, type FakeHttpHandler } from '../../../src/testing/index.js';
import { httpPool } from '../../helpers/scriptedHttp.js';

/**
 * Audit of docs/guides/http.md:198 (`breaker.failures`) and docs/reference.md:25: "failed attempts in
 * a row open the circuit: ..., an HTTP 5xx, a reply that is not JSON-RPC. Any answer (a JSON-RPC
 * error, a 4xx with one) starts the count over". The code (src/pool/NodeAttempts.ts:133, 138-139)
 * counts a 5xx against the node even when its body is the node's own JSON-RPC error, and a 2xx body
 * that is no JSON-RPC answer against it too. test/pool/httpBreaker.test.ts uses FakeNode's
 * `http-error` mode (a 500 with no JSON-RPC body) and no garbage 2xx: neither case below is pinned.
 */

const read = (id: number) => ({ jsonrpc: '2.0' as const, id, method: 'eth_getBalance', params: ['0x0', 'latest'] });
const nodeError = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'internal error' } });

/** Node a answers every request with `reply`, node b is a FakeNode; both healthy. */
function rig(reply: HttpResponse) {
  const b = new FakeNode({ name: 'b', balance: 2n, head: 100 });
  const a: FakeHttpHandler = async () => reply;
  const { pool, http } = httpPool({ a, b: b.http }, { consistency: { monotonic: false } });
  const circuits: CircuitEvent[] = [];
  pool.on('circuit', (event) => circuits.push(event));
  return { pool, http, circuits };
}

describe('audit http.md:198: what counts against a node’s circuit', () => {
  it('an HTTP 500 whose body is the node’s own JSON-RPC error counts against it: 3 in a row open its circuit', async () => {
    const { pool, http, circuits } = rig({ status: 500, body: nodeError });
    for (let id = 1; id <= 3; id++) expect(await pool.request(read(id))).toEqual({ jsonrpc: '2.0', id, result: '0x2' });
    expect(circuits.map((c) => `${c.name}:${c.to}`)).toEqual(['a:open']);
    // A fourth read goes to b alone.
    http.requests.length = 0;
    await pool.request(read(4));
    expect(http.requests.map((r) => r.url)).toEqual(['http://b.test/']);
  });

  it('contrast: the same body with HTTP 400 is an answer: the circuit stays closed', async () => {
    const { pool, circuits } = rig({ status: 400, body: nodeError });
    for (let id = 1; id <= 5; id++) await pool.request(read(id));
    expect(circuits).toEqual([]);
  });

  it('an HTTP 200 whose body is no JSON-RPC answer counts against the node: 3 in a row open its circuit', async () => {
    const { pool, circuits } = rig({ status: 200, body: '<html>maintenance</html>' });
    for (let id = 1; id <= 3; id++) expect(await pool.request(read(id))).toMatchObject({ result: '0x2' });
    expect(circuits.map((c) => `${c.name}:${c.to}`)).toEqual(['a:open']);
  });
});
