/**
 * One validation for both paths: each input below goes to an UpstreamSession (WebSocket path, on a
 * FakeNode over FakeSocketTransport) and to serveHttp (HTTP path, on a FakeNode over
 * FakeHttpTransport), and both must give the same answer, byte for byte: no answer on the socket is
 * a 204 over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodePool, UpstreamSession, serveHttp } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';

const LIMITS = { maxFrameBytes: 4_096, maxBatchSize: 20 };

const call = (id: string, method = 'eth_chainId') => `{"jsonrpc":"2.0","id":${id},"method":"${method}"}`;
const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

const INPUTS: Array<[string, string]> = [
  ['not JSON', 'not json'],
  ['an empty body', ''],
  ['truncated JSON', '{"jsonrpc":"2.0","id":1,'],
  ['an empty batch', '[]'],
  ['a batch over the limit', `[${Array.from({ length: LIMITS.maxBatchSize + 1 }, (_, i) => call(String(i))).join(',')}]`],
  ['a body over the limit', call('1', 'x'.repeat(LIMITS.maxFrameBytes))],
  ['a body over the limit in multi-byte characters', `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":["${'é'.repeat(LIMITS.maxFrameBytes / 2)}"]}`],
  ['params nested 100k deep', `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":${deep(1_000)}}`],
  ['params nested 65 deep', `{"jsonrpc":"2.0","id":"d","method":"eth_call","params":${deep(65)}}`],
  ['jsonrpc 1.0', '{"jsonrpc":"1.0","id":1,"method":"eth_chainId"}'],
  ['no jsonrpc', '{"id":1,"method":"eth_chainId"}'],
  ['an object id', '{"jsonrpc":"2.0","id":{},"method":"eth_chainId"}'],
  ['a boolean id and no method', '{"jsonrpc":"2.0","id":true}'],
  ['an empty method', '{"jsonrpc":"2.0","id":1,"method":""}'],
  ['a numeric method', '{"jsonrpc":"2.0","id":1,"method":5}'],
  ['string params', '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":"x"}'],
  ['null params', '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":null}'],
  ['a bare number', '42'],
  ['null', 'null'],
  ['a string', '"eth_chainId"'],
  ['a batch of numbers', '[1,2,3]'],
  ['a batch holding a batch', '[[]]'],
  ['an invalid notification', '{"jsonrpc":"2.0","method":7}'],
  ['a notification', '{"jsonrpc":"2.0","method":"eth_chainId"}'],
  ['a batch of notifications', '[{"jsonrpc":"2.0","method":"eth_chainId"},{"jsonrpc":"2.0","method":"eth_blockNumber"}]'],
  ['a mixed batch', `[${call('1')},{"jsonrpc":"2.0","id":2},{"jsonrpc":"2.0","method":"eth_chainId"},${call('9007199254740993')},"x"]`],
  ['an id above 2^53', call('9007199254740993')],
  ['a negative id beyond doubles', call('-123456789012345678901234567890')],
  ['an exponent id', call('1e2')],
  ['a fractional id', call('1.5')],
  ['minus zero', call('-0')],
  ['a repeated id key', '{"jsonrpc":"2.0","id":1,"id":"two","method":"eth_chainId"}'],
  ['an unknown method', call('"u"', 'eth_noSuchMethod')],
  ['whitespace around', `  \n${call('"w"')}\t `],
  ['an invalid item with an id above 2^53', '{"jsonrpc":"1.0","id":9007199254740993,"method":"eth_chainId"}'],
];

let session: UpstreamSession;
let pool: NodePool;
let clock: FakeClock;
const socketTexts: string[] = [];

beforeAll(async () => {
  clock = new FakeClock();
  const node = new FakeNode({ name: 'a', head: 100 });
  const sockets = new FakeSocketTransport();
  sockets.route('ws://a.test/', node.socket);
  const http = new FakeHttpTransport().route('http://a.test/', node.http);
  pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/', ws: 'ws://a.test/' }], clock, httpTransport: http });
  pool.update('a', { status: 'healthy', head: 100 });
  session = new UpstreamSession({ pool, transport: sockets, clock, random: () => 0.5, ...LIMITS });
  session.on('message', (text) => socketTexts.push(text));
  await clock.flush();
});

afterAll(() => {
  session.close();
  pool.close();
});

describe('HTTP and WebSocket give the same answer to the same input', () => {
  it.each(INPUTS)('%s', async (_name, input) => {
    const from = socketTexts.length;
    session.send(input);
    await clock.flush();
    const overSocket = socketTexts.slice(from);
    const overHttp = await serveHttp(pool, input, { maxBodyBytes: LIMITS.maxFrameBytes, maxBatchSize: LIMITS.maxBatchSize });
    expect(overSocket.length).toBeLessThanOrEqual(1);
    if (overSocket.length === 0) {
      expect(overHttp).toMatchObject({ status: 204, body: '' });
    } else {
      expect(overHttp.body).toBe(overSocket[0]);
      expect(overHttp.status).toBe(/"code":-32054/.test(overHttp.body) ? 413 : 200);
    }
  });
});
