/**
 * Fuzzing the session with client frames (valid, malformed JSON, wrong types, huge ids, deep
 * nesting, huge batches, oversized frames) and upstream frames (garbage, answers to unknown ids,
 * notifications for unknown subscriptions). For every input: nothing throws, each bad client frame
 * is answered with the right error, nothing unasked reaches the client, and the session still
 * answers a good request afterwards. `FUZZ_RUNS` scales the run (npm run test:fuzz:long: 100,000).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PARAMS_DEPTH } from '../../src/session/ClientFrame.js';
import { expectItem, type Expected } from '../helpers/jsonRpcOracle.js';
import { rpc, sessionHarness, type SessionHarness } from '../helpers/session.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1_500);
const MAX_FRAME_BYTES = 16 * 1024;
const MAX_BATCH = 50;


type ExpectedFrame = { kind: 'single'; item: Expected } | { kind: 'batch'; items: Expected[] } | { kind: 'error'; code: number };

function expectFrame(text: string): ExpectedFrame {
  if (Buffer.byteLength(text) > MAX_FRAME_BYTES) return { kind: 'error', code: -32054 };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'error', code: -32700 };
  }
  if (!Array.isArray(value)) return { kind: 'single', item: expectItem(value) };
  if (value.length === 0 || value.length > MAX_BATCH) return { kind: 'error', code: -32600 };
  return { kind: 'batch', items: value.map(expectItem) };
}

// ---- arbitraries -----------------------------------------------------------------------------

const ids = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 8 }),
  fc.constant(null),
  fc.double(),
  fc.string({ minLength: 2_000, maxLength: 3_000 }), // huge ids
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -1, 0, 1e308, '0x1', ''),
  fc.jsonValue({ maxDepth: 2 }), // wrong types
);
const methods = fc.oneof(
  fc.constantFrom('eth_chainId', 'eth_blockNumber', 'eth_getBalance', 'eth_noSuchMethod', 'eth_unsubscribe', ''),
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
const clientFrame = fc.oneof(
  { weight: 5, arbitrary: item.map((v) => JSON.stringify(v)) },
  { weight: 3, arbitrary: fc.array(item, { minLength: 0, maxLength: MAX_BATCH + 5 }).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: fc.string({ maxLength: 60 }) }, // mostly malformed JSON
  { weight: 1, arbitrary: request.map((v) => JSON.stringify(v).slice(0, -1)) }, // truncated
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((n) => JSON.stringify(rpc(1, 'eth_call', ['x'.repeat(MAX_FRAME_BYTES * n)]))) }, // oversized
  // Nesting thousands deep, built as text: it parses, but serialising it again overflows the stack.
  { weight: 1, arbitrary: fc.tuple(fc.integer(), fc.integer({ min: 1_000, max: 7_000 })).map(([id, d]) => `{"jsonrpc":"2.0","id":${id},"method":"eth_call","params":${'['.repeat(d)}${']'.repeat(d)}}`) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_BATCH + 1, max: MAX_BATCH * 3 }).map((n) => JSON.stringify(Array.from({ length: n }, (_, i) => rpc(i, 'eth_chainId')))) },
);

const upstreamFrame = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.integer({ min: 1_000_000_000, max: 2_000_000_000 }).map((id) => JSON.stringify({ jsonrpc: '2.0', id, result: '0xbad' })),
  fc.string({ maxLength: 10 }).map((id) => JSON.stringify({ jsonrpc: '2.0', id, result: '0xbad' })),
  fc.string({ maxLength: 34 }).map((subscription) => JSON.stringify({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription, result: { x: 1 } } })),
  fc.constant(JSON.stringify({ jsonrpc: '2.0', method: 'eth_subscription' })),
  fc.constant('[1, null, {"id": 5}]'),
);

// ---- checks ----------------------------------------------------------------------------------

let h: SessionHarness;
let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  h = await sessionHarness({ maxFrameBytes: MAX_FRAME_BYTES, maxBatchSize: MAX_BATCH });
});

afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  h.session.close();
});

function checkItem(expected: Expected, actual: any): void {
  if (expected.kind === 'none') throw new Error('an answer arrived for a notification');
  expect(actual.jsonrpc).toBe('2.0');
  expect(actual.id).toEqual(expected.id);
  if (expected.code !== undefined) expect(actual.error?.code).toBe(expected.code);
  else expect('result' in actual || 'error' in actual).toBe(true);
}

/** After any input the session still answers a good request. */
async function stillAnswers(): Promise<void> {
  const from = h.received.length;
  h.send(rpc('probe', 'eth_chainId'));
  await h.settle();
  expect(h.received.slice(from)).toEqual([{ jsonrpc: '2.0', id: 'probe', result: '0x1' }]);
}

describe('fuzzing client frames', () => {
  it(`answers every bad frame with the right error and stays usable (${RUNS} inputs)`, { timeout: 10_000 + RUNS * 3 }, async () => {
    await fc.assert(
      fc.asyncProperty(clientFrame, async (text) => {
        const from = h.received.length;
        expect(() => h.session.send(text)).not.toThrow();
        await h.settle();
        const got = h.received.slice(from);
        const expected = expectFrame(text);
        if (expected.kind === 'error') {
          expect(got).toHaveLength(1);
          expect(got[0]).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: expected.code } });
        } else if (expected.kind === 'single') {
          if (expected.item.kind === 'none') expect(got).toEqual([]);
          else {
            expect(got).toHaveLength(1);
            checkItem(expected.item, got[0]);
          }
        } else {
          const answered = expected.items.filter((e) => e.kind === 'answer');
          if (answered.length === 0) expect(got).toEqual([]);
          else {
            expect(got).toHaveLength(1);
            expect(Array.isArray(got[0])).toBe(true);
            expect(got[0]).toHaveLength(answered.length);
            answered.forEach((e, i) => checkItem(e, got[0][i]));
          }
        }
        expect(h.session.state).toBe('ready');
        await stillAnswers();
      }),
      { numRuns: RUNS },
    );
    expect(unhandled).toEqual([]);
  });
});

describe('fuzzing upstream frames', () => {
  it(`counts and drops garbage, unknown answers and unknown notifications, and stays usable (${RUNS} inputs)`, { timeout: 10_000 + RUNS * 3 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(upstreamFrame, { minLength: 1, maxLength: 5 }), async (frames) => {
        const socket = h.sockets.sockets.find((s) => s.state === 'open')!;
        const from = h.received.length;
        for (const frame of frames) expect(() => socket.receive(frame)).not.toThrow();
        await h.settle();
        expect(h.received.slice(from)).toEqual([]);
        expect(h.session.state).toBe('ready');
        await stillAnswers();
      }),
      { numRuns: RUNS },
    );
    expect(unhandled).toEqual([]);
  });
});
