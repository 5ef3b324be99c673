import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ParsedFrame, ParsedItem } from '../../src/session/ClientFrame.js';
import { parseClientFrame, withIdText } from '../../src/session/ClientFrame.js';
import { rawBatchIdTexts, rawIdText } from '../../src/session/idText.js';

const limits = { maxFrameBytes: 1 << 20, maxBatchSize: 100 };

function items(frame: ParsedFrame): ParsedItem[] {
  if (frame.kind === 'error') throw new Error('expected requests');
  return frame.kind === 'single' ? [frame.item] : frame.items;
}

const idTexts = (text: string) => items(parseClientFrame(text, limits)).map((item) => item.idText);

describe('idText: the id as the client wrote it', () => {
  it('keeps the digits of a number JSON.parse cannot hold', () => {
    expect(idTexts('{"jsonrpc":"2.0","id":9007199254740993,"method":"m"}')).toEqual(['9007199254740993']);
    expect(idTexts('{"jsonrpc":"2.0","id":-9007199254740993,"method":"m"}')).toEqual(['-9007199254740993']);
    expect(idTexts('{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"m"}')).toEqual(['123456789012345678901234567890']);
    expect(idTexts('{"jsonrpc":"2.0","id":1.5e300,"method":"m"}')).toEqual(['1.5e300']);
    expect(idTexts('{"jsonrpc":"2.0","id":0.1000000000000000055511151231257827,"method":"m"}')).toEqual(['0.1000000000000000055511151231257827']);
  });

  it('is JSON.stringify(id) for safe integers, strings and null', () => {
    expect(idTexts('{"jsonrpc":"2.0","id":9007199254740991,"method":"m"}')).toEqual(['9007199254740991']);
    expect(idTexts('{"jsonrpc":"2.0","id":"\\u0041\\n","method":"m"}')).toEqual(['"A\\n"']);
    expect(idTexts('{"jsonrpc":"2.0","id":null,"method":"m"}')).toEqual(['null']);
    expect(idTexts('{"jsonrpc":"2.0","method":"m"}')).toEqual(['null']);
  });

  it('is JSON.stringify(id) for a whole number written with a fraction, an exponent or a minus zero: the same number, in plain digits', () => {
    // Only a scan of the frame could tell 1.0 from 1, and it would then run for every plain id (docs/guides/http.md).
    expect(idTexts('[{"jsonrpc":"2.0","id":1.0,"method":"m"},{"jsonrpc":"2.0","id":1e2,"method":"m"},{"jsonrpc":"2.0","id":-0,"method":"m"},{"jsonrpc":"2.0","id":1.5E1,"method":"m"}]')).toEqual(['1', '100', '0', '15']);
  });

  it('finds the id wherever it is: after nested params, with spaces, an escaped key, a repeated key', () => {
    expect(idTexts('{"jsonrpc":"2.0","params":[{"id":1,"s":"\\"id\\":2"}],"method":"m","id":9007199254740993}')).toEqual(['9007199254740993']);
    expect(idTexts(' \n{ "jsonrpc" : "2.0" ,\t"id" :\r 9007199254740993 , "method":"m" } ')).toEqual(['9007199254740993']);
    expect(idTexts('{"jsonrpc":"2.0","\\u0069d":9007199254740993,"method":"m"}')).toEqual(['9007199254740993']);
    // JSON.parse keeps the last of repeated keys; so does the scanner.
    expect(idTexts('{"jsonrpc":"2.0","id":9007199254740995,"method":"m","id":9007199254740993}')).toEqual(['9007199254740993']);
  });

  it('keeps two distinct big ids in one batch distinct, item by item', () => {
    const text = '[{"jsonrpc":"2.0","id":9007199254740993,"method":"a"}, 1, {"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":9007199254740995,"method":"b"},{"jsonrpc":"1.0","id":9007199254740997,"method":"c"}]';
    expect(idTexts(text)).toEqual(['9007199254740993', 'null', 'null', '9007199254740995', '9007199254740997']);
  });

  it('gives an invalid request with a big id its exact id too', () => {
    const [item] = items(parseClientFrame('{"jsonrpc":"1.0","id":9007199254740993,"method":"m"}', limits));
    expect(item).toMatchObject({ kind: 'invalid', idText: '9007199254740993' });
  });

  it('matches the raw text of any id, in any key order, spacing and nesting (property)', () => {
    const rawNumber = fc
      .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.option(fc.nat(999)), fc.option(fc.integer({ min: -300, max: 300 })))
      .map(([neg, int, frac, exp]) => `${neg ? '-' : ''}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : `e${exp}`}`);
    const space = fc.constantFrom('', ' ', '\n', '\t ', '\r\n');
    const filler = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v));
    const request = fc
      .tuple(rawNumber, filler, space, space, fc.nat(2))
      .map(([id, params, s1, s2, order]) => {
        const members = [`"jsonrpc"${s1}:${s2}"2.0"`, `"method":"m"`, `"params":${params}`];
        members.splice(order, 0, `${s2}"id"${s1}:${s2}${id}${s1}`);
        return { id, text: `${s1}{${s2}${members.join(`${s1},${s2}`)}${s1}}${s2}` };
      });
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 5 }), fc.boolean(), (requests, single) => {
        const text = single ? requests[0]!.text : `[${requests.map((r) => r.text).join(',')}]`;
        const expected = (single ? [requests[0]!] : requests).map((r) => r.id);
        if (single) expect(rawIdText(text)).toBe(expected[0]);
        else expect(rawBatchIdTexts(text)).toEqual(expected);
        // And what a call carries reads back as the same number.
        const parsed = JSON.parse(text);
        for (const [index, item] of items(parseClientFrame(text, limits)).entries()) {
          const id = (single ? parsed : parsed[index]).id;
          if (Number.isFinite(id)) expect(JSON.parse(item.idText) === id).toBe(true); // -0 reads back as 0
          if (Number.isFinite(id) && !Number.isSafeInteger(id)) expect(item.idText).toBe(expected[index]);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('withIdText', () => {
  it('puts the exact id into a serialised answer', () => {
    const text = JSON.stringify({ jsonrpc: '2.0', id: 9007199254740993, result: '0x1' });
    expect(withIdText(text, '9007199254740993')).toBe('{"jsonrpc":"2.0","id":9007199254740993,"result":"0x1"}');
  });

  it('returns the same text when the id already reads so', () => {
    const text = '{"jsonrpc":"2.0","id":"a\\"b","result":1}';
    expect(withIdText(text, '"a\\"b"')).toBe(text);
  });

  it('replaces a string or null id, in an answer of any member order and spacing', () => {
    expect(withIdText('{"jsonrpc":"2.0","id":null,"error":{"code":1,"message":"x"}}', '12345678901234567890')).toBe(
      '{"jsonrpc":"2.0","id":12345678901234567890,"error":{"code":1,"message":"x"}}',
    );
    expect(withIdText('{ "result": {"id": 1}, "id" : "x\\\\", "jsonrpc":"2.0" }', '9007199254740993')).toBe(
      '{ "result": {"id": 1}, "id" : 9007199254740993, "jsonrpc":"2.0" }',
    );
  });

  it('throws on a text with no id member', () => {
    expect(() => withIdText('{"jsonrpc":"2.0","result":1}', '1')).toThrow(TypeError);
    expect(() => withIdText('[]', '1')).toThrow(TypeError);
  });
});
