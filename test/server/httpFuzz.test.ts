/**
 * Fuzzing the HTTP path (serveHttp over a NodePool): random and malformed client bodies against a
 * healthy node, valid bodies against nodes that answer with anything (garbage, wrong ids, missing
 * items, bad statuses, deep nesting), and ids above 2^53 as raw text. For every input: nothing
 * throws, every request with an id gets exactly one valid JSON-RPC answer under its id (the same
 * error the WebSocket path gives a bad one), a notification gets none. `FUZZ_RUNS` scales the run.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodePool, serveHttp, type HttpAnswer } from '../../src/index.js';
import { MAX_PARAMS_DEPTH } from '../../src/session/ClientFrame.js';
import { expectItem, type Expected } from '../helpers/jsonRpcOracle.js';
import { FakeClock, FakeHttpTransport, FakeNode, type FakeHttpHandler } from '../../src/testing/index.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1_000);
const LIMITS = { maxBodyBytes: 16 * 1024, maxBatchSize: 50 };

// ---- the oracle: per item from test/helpers/jsonRpcOracle.ts, per body here ----------------------

type ExpectedBody = { kind: 'single'; item: Expected } | { kind: 'batch'; items: Expected[] } | { kind: 'error'; code: number; status: number };

function expectBody(text: string): ExpectedBody {
  if (Buffer.byteLength(text) > LIMITS.maxBodyBytes) return { kind: 'error', code: -32054, status: 413 };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'error', code: -32700, status: 200 };
  }
  if (!Array.isArray(value)) return { kind: 'single', item: expectItem(value) };
  if (value.length === 0 || value.length > LIMITS.maxBatchSize) return { kind: 'error', code: -32600, status: 200 };
  return { kind: 'batch', items: value.map(expectItem) };
}

/** One valid JSON-RPC answer under `expected.id`. */
function checkAnswer(expected: Expected, actual: any): void {
  if (expected.kind === 'none') throw new Error('an answer arrived for a notification');
  expect(actual.jsonrpc).toBe('2.0');
  expect(actual.id).toEqual(expected.id);
  expect('result' in actual !== 'error' in actual).toBe(true);
  if ('error' in actual) {
    expect(Number.isInteger(actual.error.code)).toBe(true);
    expect(typeof actual.error.message).toBe('string');
  }
  if (expected.code !== undefined) expect(actual.error?.code).toBe(expected.code);
}

function checkHttp(text: string, answer: HttpAnswer): void {
  expect(answer.outcome).not.toBe('internal-error');
  const expected = expectBody(text);
  if (expected.kind === 'error') {
    expect(answer.status).toBe(expected.status);
    expect(JSON.parse(answer.body)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: expected.code } });
    return;
  }
  const owed = expected.kind === 'single' ? [expected.item] : expected.items;
  const answered = owed.filter((e) => e.kind === 'answer');
  if (answered.length === 0) {
    expect(answer).toMatchObject({ status: 204, body: '' });
    return;
  }
  expect(answer.status).toBe(200);
  const body = JSON.parse(answer.body);
  if (expected.kind === 'single') return checkAnswer(expected.item, body);
  expect(Array.isArray(body)).toBe(true);
  expect(body).toHaveLength(answered.length);
  answered.forEach((e, i) => checkAnswer(e, body[i]));
}

/**
 * Whether `body` is a JSON-RPC answer to the single request `sent`: one object with the request's
 * id (or `null` with an error), a `result` or an error object (not both), no `method`.
 */
function answers(sent: string, body: string): boolean {
  let value: any;
  try {
    value = JSON.parse(body);
  } catch {
    return false;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('id' in value) || 'method' in value) return false;
  const hasError = 'error' in value;
  if (hasError === 'result' in value) return false;
  if (hasError && !(Number.isInteger(value.error?.code) && typeof value.error?.message === 'string')) return false;
  return value.id === JSON.parse(sent).id || (value.id === null && hasError);
}

// ---- arbitraries -----------------------------------------------------------------------------

const ids = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 8 }),
  fc.constant(null),
  fc.double(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -1, 0, 1e308, '0x1', ''),
  fc.jsonValue({ maxDepth: 2 }),
);
const methods = fc.oneof(
  fc.constantFrom('eth_chainId', 'eth_blockNumber', 'eth_getBalance', 'eth_noSuchMethod', 'eth_sendTransaction', 'evm_mine', ''),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.constant(null),
);
const nested = fc.integer({ min: 1, max: MAX_PARAMS_DEPTH + 40 }).map((d) => JSON.parse(`${'['.repeat(d)}${']'.repeat(d)}`) as unknown);
const params = fc.oneof(fc.constant([]), fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }), nested, fc.jsonValue({ maxDepth: 2 }));
const request = fc.record(
  { jsonrpc: fc.oneof({ weight: 5, arbitrary: fc.constant('2.0') }, fc.constantFrom('1.0', 2, null)), id: ids, method: methods, params },
  { requiredKeys: [] },
);
const item = fc.oneof({ weight: 6, arbitrary: request }, fc.jsonValue({ maxDepth: 3 }));
const body = fc.oneof(
  { weight: 5, arbitrary: item.map((v) => JSON.stringify(v)) },
  { weight: 3, arbitrary: fc.array(item, { minLength: 0, maxLength: LIMITS.maxBatchSize + 5 }).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: request.map((v) => JSON.stringify(v).slice(0, -1)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((n) => JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_call', params: ['x'.repeat(LIMITS.maxBodyBytes * n)] })) },
  { weight: 1, arbitrary: fc.tuple(fc.integer(), fc.integer({ min: 1_000, max: 7_000 })).map(([id, d]) => `{"jsonrpc":"2.0","id":${id},"method":"eth_call","params":${'['.repeat(d)}${']'.repeat(d)}}`) },
);

/** What a misbehaving node may send back: it was asked under ids 0..n-1 (n ≤ 6). */
const UPSTREAM_IDS = [0, 1, 2, 3, 4, 5];
const nodeReply = fc.oneof(
    fc.record({ status: fc.constantFrom(200, 200, 400, 429, 500, 502, 503), body: fc.string({ maxLength: 40 }) }),
    fc.record({ status: fc.constantFrom(200, 500), body: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) }),
    fc.record({
      status: fc.constantFrom(200, 200, 200, 400, 500),
      body: fc
        .array(
          fc.record({
            jsonrpc: fc.constantFrom('2.0', '1.0'),
            id: fc.oneof(fc.constantFrom(...UPSTREAM_IDS, 6, -1), fc.constant(null), fc.string({ maxLength: 3 })),
            result: fc.jsonValue({ maxDepth: 2 }),
            error: fc.oneof(fc.record({ code: fc.integer({ min: -32_768, max: 0 }), message: fc.string({ maxLength: 10 }) }), fc.jsonValue({ maxDepth: 1 })),
          }, { requiredKeys: ['id'] }),
          { maxLength: 8 },
        )
        .chain((answers) => fc.constantFrom(JSON.stringify(answers), JSON.stringify(answers[0] ?? {}))),
    }),
    fc.integer({ min: 5_000, max: 20_000 }).map((d) => ({ status: 200, body: `[{"jsonrpc":"2.0","id":0,"result":${'['.repeat(d)}${']'.repeat(d)}}]` })),
    fc.constant({ status: 200, body: '{"jsonrpc":"2.0","id":0,"result":"0x1"}\n{"leak":"x"}' }),
  );

// ---- harness -----------------------------------------------------------------------------------

let clock: FakeClock;
let pool: NodePool;
/** What the scripted node answers next; undefined: act as a healthy FakeNode. */
let script: FakeHttpHandler | undefined;
/** Bodies holding a write (`eth_sendTransaction`) that reached either node. */
let writesSent = 0;
const countWrite = (text: string) => void (text.includes('"eth_sendTransaction"') && (writesSent += 1));
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

/** Node `a` (scripted, or a healthy FakeNode) and `b` (a healthy FakeNode) in a pool; `a` preferred. */
function makePool(options: { breaker?: false } = {}): NodePool {
  const healthy = new FakeNode({ name: 'a', head: 100, clock });
  const backup = new FakeNode({ name: 'b', head: 100, balance: 2n, clock });
  const http = new FakeHttpTransport()
    .route('http://a.test/', (text, signal, endpoint) => (script ?? healthy.http)(text, signal, endpoint))
    .route('http://b.test/', (text, signal, endpoint) => {
      countWrite(text);
      return backup.http(text, signal, endpoint);
    });
  const made = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }, { name: 'b', http: 'http://b.test/' }], clock, httpTransport: http, http: { attemptTimeoutMs: 1_000 }, ...options });
  made.update('a', { status: 'healthy', head: 100 });
  made.update('b', { status: 'healthy', head: 100 });
  return made;
}

beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
  clock = new FakeClock();
  pool = makePool();
});

afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  pool.close();
});

/** Runs serveHttp to its answer, moving the fake clock while it waits (consistency waits, timeouts). */
async function serve(text: string): Promise<HttpAnswer> {
  let answer: HttpAnswer | undefined;
  let failure: unknown;
  serveHttp(pool, text, LIMITS).then((a) => (answer = a), (e: unknown) => (failure = e));
  for (let i = 0; i < 200 && answer === undefined && failure === undefined; i++) await clock.advance(250);
  if (failure !== undefined) throw failure;
  expect(answer, 'serveHttp answered').toBeDefined();
  return answer!;
}

describe('fuzzing HTTP bodies', () => {
  it(`answers every body as the spec and the socket path say (${RUNS} inputs)`, { timeout: 20_000 + RUNS * 10 }, async () => {
    script = undefined;
    await fc.assert(
      fc.asyncProperty(body, async (text) => checkHttp(text, await serve(text))),
      { numRuns: RUNS },
    );
    expect(unhandled).toEqual([]);
  });

  it(`gives one valid answer per request whatever the node sends back (${RUNS} inputs)`, { timeout: 20_000 + RUNS * 10 }, async () => {
    const calls = fc.array(
      fc.record({ id: fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), method: fc.constantFrom('eth_chainId', 'eth_blockNumber', 'eth_getBalance', 'eth_sendTransaction'), notify: fc.boolean() }),
      { minLength: 1, maxLength: 6 },
    );
    await fc.assert(
      fc.asyncProperty(calls, fc.boolean(), fc.array(nodeReply, { minLength: 1, maxLength: 3 }), async (items, asBatch, replies) => {
        const requests = items.map(({ id, method, notify }) => ({ jsonrpc: '2.0', ...(notify ? {} : { id }), method, params: method === 'eth_getBalance' ? ['0x0', 'latest'] : [] }));
        const text = JSON.stringify(asBatch ? requests : requests[0]);
        let turn = 0;
        /** The first request `a` got, and what it answered. */
        let first: { sent: string; reply: { status: number; body: string } } | undefined;
        script = async (sent) => {
          countWrite(sent);
          const reply = replies[turn++ % replies.length]!;
          first ??= { sent, reply };
          return reply;
        };
        writesSent = 0;
        // Without a breaker, so that `a`, failing on purpose, is always the node asked first.
        const shared = pool;
        pool = makePool({ breaker: false });
        try {
          const answer = await serve(text);
          checkHttp(text, answer);
          // A write goes to one node at most (the first one asked may be `b`: `a`'s breaker opens).
          expect(writesSent).toBeLessThanOrEqual(1);
          // A single write `a` answered 2xx with something that is not the JSON-RPC answer to it: NOT_RESENT.
          const single = asBatch ? undefined : items[0]!;
          if (single?.method === 'eth_sendTransaction' && !single.notify && first !== undefined && first.reply.status === 200 && !answers(first.sent, first.reply.body)) {
            expect(JSON.parse(answer.body)).toMatchObject({ error: { code: -32053, data: { node: 'a', reason: 'bad-answer' } } });
          }
        } finally {
          script = undefined;
          pool.close();
          pool = shared;
        }
      }),
      { numRuns: RUNS },
    );
    expect(unhandled).toEqual([]);
  });

  it(`gives ids above 2^53 back exactly as written (${RUNS} inputs)`, async () => {
    const big = fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).filter((n) => n > 2n ** 53n || n < -(2n ** 53n));
    await fc.assert(
      fc.asyncProperty(fc.array(big, { minLength: 1, maxLength: 5 }), async (numbers) => {
        const text = `[${numbers.map((n) => `{"jsonrpc":"2.0","id":${n},"method":"eth_chainId"}`).join(',')}]`;
        const answer = await serve(text);
        expect(answer.body).toBe(`[${numbers.map((n) => `{"jsonrpc":"2.0","id":${n},"result":"0x1"}`).join(',')}]`);
      }),
      { numRuns: RUNS },
    );
  });
});
