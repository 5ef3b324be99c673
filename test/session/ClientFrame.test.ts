import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonRpcFailure } from '../../src/jsonrpc.js';
import { RpcErrorCode } from '../../src/jsonrpc.js';
import type { ParsedFrame, ParsedItem } from '../../src/session/ClientFrame.js';
import { frameByteLength, parseClientFrame } from '../../src/session/ClientFrame.js';

const limits = { maxFrameBytes: 1_024, maxBatchSize: 3 };
const parse = (text: string) => parseClientFrame(text, limits);

function single(frame: ParsedFrame): ParsedItem {
  if (frame.kind !== 'single') throw new Error(`expected a single frame, got ${frame.kind}`);
  return frame.item;
}

function frameError(frame: ParsedFrame): JsonRpcFailure {
  if (frame.kind !== 'error') throw new Error(`expected an error frame, got ${frame.kind}`);
  return frame.response;
}

function invalidResponse(item: ParsedItem): JsonRpcFailure {
  if (item.kind !== 'invalid') throw new Error(`expected an invalid item, got ${item.kind}`);
  return item.response;
}

function isWellFormedFailure(response: JsonRpcFailure): boolean {
  const { id, error } = response;
  const idOk = id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
  return (
    response.jsonrpc === '2.0' &&
    idOk &&
    Number.isInteger(error.code) &&
    typeof error.message === 'string' &&
    error.message.length > 0 &&
    // It must survive the trip to the client.
    JSON.stringify(JSON.parse(JSON.stringify(response))) === JSON.stringify(response)
  );
}

describe('parseClientFrame: single requests', () => {
  it('a valid request becomes a call with exactly the JSON-RPC fields', () => {
    const item = single(parse('{"jsonrpc":"2.0","id":7,"method":"eth_chainId","params":[],"extra":1,"auth":"x"}'));
    expect(item).toEqual({
      kind: 'call',
      request: { jsonrpc: '2.0', id: 7, method: 'eth_chainId', params: [] },
      hasId: true,
      idText: '7',
    });
    expect(Object.keys(item.kind === 'call' ? item.request : {})).toEqual(['jsonrpc', 'id', 'method', 'params']);
  });

  it('a request without an id key is a notification, and its request has no id key', () => {
    const item = single(parse('{"jsonrpc":"2.0","method":"eth_subscribe","params":["newHeads"]}'));
    expect(item).toEqual({ kind: 'call', request: { jsonrpc: '2.0', method: 'eth_subscribe', params: ['newHeads'] }, hasId: false, idText: 'null' });
    expect(item.kind === 'call' && 'id' in item.request).toBe(false);
  });

  it('an id of null is kept and is not a notification', () => {
    expect(single(parse('{"jsonrpc":"2.0","id":null,"method":"m"}'))).toEqual({
      kind: 'call',
      request: { jsonrpc: '2.0', id: null, method: 'm' },
      hasId: true,
      idText: 'null',
    });
  });

  it('string ids and object params are accepted, and absent params stay absent', () => {
    expect(single(parse('{"jsonrpc":"2.0","id":"a","method":"m","params":{"x":1}}'))).toEqual({
      kind: 'call',
      request: { jsonrpc: '2.0', id: 'a', method: 'm', params: { x: 1 } },
      hasId: true,
      idText: '"a"',
    });
    const item = single(parse('{"method":"m","id":1,"jsonrpc":"2.0"}'));
    expect(item.kind === 'call' && 'params' in item.request).toBe(false);
  });
});

describe('parseClientFrame: invalid requests', () => {
  it.each([
    ['a missing jsonrpc', '{"id":1,"method":"m"}', 1],
    ['a wrong jsonrpc version', '{"jsonrpc":"1.0","id":"a","method":"m"}', 'a'],
    ['a missing method', '{"jsonrpc":"2.0","id":2}', 2],
    ['an empty method', '{"jsonrpc":"2.0","id":3,"method":""}', 3],
    ['a non-string method', '{"jsonrpc":"2.0","id":4,"method":5}', 4],
    ['null params', '{"jsonrpc":"2.0","id":5,"method":"m","params":null}', 5],
    ['string params', '{"jsonrpc":"2.0","id":6,"method":"m","params":"x"}', 6],
    ['number params', '{"jsonrpc":"2.0","id":7,"method":"m","params":1}', 7],
  ])('%s is answered with -32600 carrying the valid id', (_name, text, id) => {
    const response = invalidResponse(single(parse(text)));
    expect(response.id).toBe(id);
    expect(response.error.code).toBe(RpcErrorCode.INVALID_REQUEST);
    expect(isWellFormedFailure(response)).toBe(true);
  });

  it.each([
    ['an object id', '{"jsonrpc":"2.0","id":{"a":1},"method":"m"}'],
    ['an array id', '{"jsonrpc":"2.0","id":[1],"method":"m"}'],
    ['a boolean id', '{"jsonrpc":"2.0","id":true,"method":"m"}'],
    ['an id that overflows to Infinity', '{"jsonrpc":"2.0","id":1e400,"method":"m"}'],
    ['an invalid id with another fault', '{"jsonrpc":"1","id":false}'],
  ])('%s is answered with -32600 and id null', (_name, text) => {
    const response = invalidResponse(single(parse(text)));
    expect(response).toMatchObject({ id: null, error: { code: RpcErrorCode.INVALID_REQUEST } });
  });

  it.each(['1', '"eth_chainId"', 'null', 'true'])(
    'a JSON value that is not an object (%s) is answered with -32600 and id null',
    (text) => {
      expect(invalidResponse(single(parse(text)))).toMatchObject({ id: null, error: { code: RpcErrorCode.INVALID_REQUEST } });
    },
  );
});

describe('parseClientFrame: unreadable frames', () => {
  it.each(['', '{', '{"jsonrpc":"2.0",}', 'undefined', "{'a':1}", '\u0000'])(
    'invalid JSON (%j) is answered with -32700 and id null',
    (text) => {
      expect(frameError(parse(text))).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: { code: RpcErrorCode.PARSE_ERROR, message: expect.any(String) },
      });
    },
  );

  it('a frame over maxFrameBytes is answered with FRAME_TOO_LARGE naming the limit', () => {
    const text = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'm', params: ['x'.repeat(2_000)] });
    const response = frameError(parse(text));
    expect(response.id).toBeNull();
    expect(response.error.code).toBe(RpcErrorCode.FRAME_TOO_LARGE);
    expect(response.error.message).toContain('1024');
  });

  it('the size limit counts UTF-8 bytes, not string length', () => {
    const body = (pad: string) => `{"jsonrpc":"2.0","id":1,"method":"m","params":["${pad}"]}`;
    const limit = frameByteLength(body(''));
    const small = { maxFrameBytes: limit + 4, maxBatchSize: 1 };
    expect(parseClientFrame(body('€'), small).kind).toBe('single'); // 1 unit, 3 bytes
    expect(parseClientFrame(body('€€'), small).kind).toBe('error'); // 2 units, 6 bytes
    expect(parseClientFrame(body('😀'), small).kind).toBe('single'); // 2 units, 4 bytes
    expect(parseClientFrame(body('😀a'), small).kind).toBe('error'); // 3 units, 5 bytes
  });

  it('a frame of exactly maxFrameBytes is accepted', () => {
    const text = '{"jsonrpc":"2.0","id":1,"method":"m"}';
    expect(parseClientFrame(text, { maxFrameBytes: frameByteLength(text), maxBatchSize: 1 }).kind).toBe('single');
    expect(parseClientFrame(text, { maxFrameBytes: frameByteLength(text) - 1, maxBatchSize: 1 }).kind).toBe('error');
  });

  it('an empty batch is answered with -32600 and id null', () => {
    expect(frameError(parse('[]'))).toMatchObject({ id: null, error: { code: RpcErrorCode.INVALID_REQUEST } });
  });

  it('a batch longer than maxBatchSize is answered with -32600 naming the limit', () => {
    const batch = JSON.stringify([1, 2, 3, 4].map((id) => ({ jsonrpc: '2.0', id, method: 'm' })));
    const response = frameError(parse(batch));
    expect(response).toMatchObject({ id: null, error: { code: RpcErrorCode.INVALID_REQUEST } });
    expect(response.error.message).toContain('limit of 3');
  });
});

describe('parseClientFrame: batches', () => {
  it('a batch is parsed item by item, in order, each call or invalid on its own', () => {
    const frame = parse('[{"jsonrpc":"2.0","id":1,"method":"a"},1,{"jsonrpc":"2.0","method":"b","id":"x","params":7}]');
    expect(frame.kind).toBe('batch');
    if (frame.kind !== 'batch') return;
    expect(frame.items).toEqual([
      { kind: 'call', request: { jsonrpc: '2.0', id: 1, method: 'a' }, hasId: true, idText: '1' },
      { kind: 'invalid', response: { jsonrpc: '2.0', id: null, error: { code: -32600, message: expect.any(String) } }, idText: 'null' },
      { kind: 'invalid', response: { jsonrpc: '2.0', id: 'x', error: { code: -32600, message: expect.any(String) } }, idText: '"x"' },
    ]);
  });

  it('a nested array inside a batch is an invalid item with id null', () => {
    const frame = parse('[[{"jsonrpc":"2.0","id":1,"method":"a"}]]');
    expect(frame.kind === 'batch' && frame.items).toEqual([
      { kind: 'invalid', response: { jsonrpc: '2.0', id: null, error: { code: -32600, message: expect.any(String) } }, idText: 'null' },
    ]);
  });

  it('a batch of exactly maxBatchSize is accepted, notifications included', () => {
    const frame = parse('[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"},{"jsonrpc":"2.0","id":0,"method":"c"}]');
    expect(frame.kind === 'batch' && frame.items.map((i) => i.kind === 'call' && i.hasId)).toEqual([false, false, true]);
  });
});

describe('parseClientFrame: any input', () => {
  const anyText = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.json(),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc
      .array(
        fc.record(
          {
            jsonrpc: fc.oneof(fc.constant('2.0'), fc.jsonValue()),
            id: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.jsonValue()),
            method: fc.oneof(fc.string(), fc.jsonValue()),
            params: fc.oneof(fc.array(fc.jsonValue()), fc.jsonValue()),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 5 },
      )
      .chain((items) => fc.constantFrom(JSON.stringify(items), JSON.stringify(items[0] ?? {}))),
  );

  it('never throws, and every error response is well formed', () => {
    fc.assert(
      fc.property(anyText, fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 6 }), (text, maxFrameBytes, maxBatchSize) => {
        const frame = parseClientFrame(text, { maxFrameBytes, maxBatchSize });
        const items = frame.kind === 'batch' ? frame.items : frame.kind === 'single' ? [frame.item] : [];
        const failures = frame.kind === 'error' ? [frame.response] : items.flatMap((i) => (i.kind === 'invalid' ? [i.response] : []));
        for (const failure of failures) expect(isWellFormedFailure(failure)).toBe(true);
        for (const item of items) {
          if (item.kind !== 'call') continue;
          expect(item.request.jsonrpc).toBe('2.0');
          expect(typeof item.request.method === 'string' && item.request.method.length > 0).toBe(true);
          expect(Object.keys(item.request).every((k) => ['jsonrpc', 'id', 'method', 'params'].includes(k))).toBe(true);
          expect(item.hasId).toBe('id' in item.request);
        }
        if (frame.kind === 'batch') expect(frame.items.length).toBeLessThanOrEqual(maxBatchSize);
        if (frameByteLength(text) > maxFrameBytes) expect(frame.kind === 'error' && frame.response.error.code).toBe(RpcErrorCode.FRAME_TOO_LARGE);
      }),
      { numRuns: 500 },
    );
  });
});

describe('frameByteLength', () => {
  it('counts UTF-8 bytes', () => {
    expect(frameByteLength('abc')).toBe(3);
    expect(frameByteLength('€')).toBe(3);
    expect(frameByteLength('😀')).toBe(4);
    expect(frameByteLength('\ud800')).toBe(3);
  });
});

describe('deeply nested params', () => {
  const limits = { maxFrameBytes: 5 * 1024 * 1024, maxBatchSize: 1_000 };
  it('are refused with -32600 under the request id, before they can overflow a serialiser', () => {
    const depth = 10_000;
    const text = `{"jsonrpc":"2.0","id":7,"method":"eth_call","params":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const parsed = parseClientFrame(text, limits);
    expect(parsed).toMatchObject({ kind: 'single', item: { kind: 'invalid', response: { id: 7, error: { code: -32600, message: expect.stringMatching(/deeper than 64/) } } } });
  });

  it('are accepted up to the limit', () => {
    const params = `[${'{"a":'.repeat(62)}1${'}'.repeat(62)}]`; // 63 levels
    const parsed = parseClientFrame(`{"jsonrpc":"2.0","id":1,"method":"eth_call","params":${params}}`, limits);
    expect(parsed).toMatchObject({ kind: 'single', item: { kind: 'call' } });
  });
});
