import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { depth } from './helpers/jsonRpcOracle.js';
import { MAX_DEPTH, checkFrame, hasControlCharacter, headKeys, isCompactJson, isCompactValue, isPlainText } from '../src/jsonScan.js';
import { simdFrameCheck, type HeadKeySlots } from '../src/jsonScanSimd.js';
import { JSON_SCAN_WASM } from '../src/jsonScanSimdBytes.js';
import { head, readHead } from '../src/session/resultFields.js';
import { fileURLToPath } from 'node:url';

const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};


/** Text this check must accept: JSON exactly as JSON.stringify writes it, with no escape, not too deep. */
function inSubset(text: string): boolean {
  if (text.includes('\\') || !parses(text)) return false;
  const value: unknown = JSON.parse(text);
  return JSON.stringify(value) === text && depth(value) <= MAX_DEPTH;
}

// ---- arbitraries -----------------------------------------------------------------------------

const hexString = (constraints: { minLength?: number; maxLength?: number } = {}) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), ...constraints });
const NASTY = ['"', '\\', '{', '}', '[', ']', ',', ':', ' ', '\n', '\t', '\u0000', '\u0001', '\u001f', '\u007f', '0', '-', '.', 'e', 'E', '+', 't', 'f', 'n', 'x', 'é', '\u2028', '\ud800', '😀'];
const nasty = fc.constantFrom(...NASTY);
const nodeLike = fc.record({
  jsonrpc: fc.constant('2.0'),
  id: fc.nat(),
  result: fc.oneof(
    hexString().map((h) => `0x${h}`),
    fc.dictionary(fc.constantFrom('hash', 'number', 'parentHash', 'logsBloom', 'topics', 'removed', 'x'), fc.oneof(hexString().map((h) => `0x${h}`), fc.boolean(), fc.constant(null), fc.array(hexString()))),
  ),
});
const validJson = fc.oneof(
  fc.json(),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v, null, 1)), // whitespace between tokens
  fc.string({ unit: 'binary' }).map((s) => JSON.stringify(s)), // escapes, control characters, lone surrogates
  fc.double().map((d) => JSON.stringify(d)),
  fc.integer({ min: 1, max: MAX_DEPTH + 8 }).map((d) => `${'['.repeat(d)}${']'.repeat(d)}`),
  fc.integer({ min: 1, max: MAX_DEPTH + 8 }).map((d) => `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`),
  nodeLike.map((v) => JSON.stringify(v)),
);
type Mutation = { kind: 'insert' | 'replace'; at: number; text: string } | { kind: 'delete'; at: number } | { kind: 'cut'; at: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(nasty, fc.string({ unit: 'binary', maxLength: 3 })) }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: nasty }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
);
function mutate(text: string, mutations: Mutation[]): string {
  for (const m of mutations) {
    const at = text.length === 0 ? 0 : m.at % (text.length + 1);
    if (m.kind === 'insert') text = text.slice(0, at) + m.text + text.slice(at);
    else if (m.kind === 'replace') text = text.slice(0, at) + m.text + text.slice(at + 1);
    else if (m.kind === 'delete') text = text.slice(0, at) + text.slice(at + 1);
    else text = text.slice(0, at);
  }
  return text;
}
const jsonish = fc.oneof(
  { weight: 3, arbitrary: validJson },
  { weight: 4, arbitrary: fc.tuple(validJson, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([t, ms]) => mutate(t, ms)) },
  { weight: 2, arbitrary: fc.tuple(validJson, validJson).map(([a, b]) => a + b) }, // two values: trailing garbage
  { weight: 1, arbitrary: fc.tuple(validJson, fc.string({ unit: 'binary', maxLength: 4 })).map(([a, b]) => a + b) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.array(nasty, { maxLength: 12 }).map((cs) => cs.join('')) },
);

// ---- properties ------------------------------------------------------------------------------

describe('isCompactJson agrees with JSON.parse', () => {
  it('never vouches for a text JSON.parse rejects, and accepts every compact one without escapes', () => {
    fc.assert(
      fc.property(jsonish, (text) => {
        const ok = isCompactJson(text);
        if (ok) expect(parses(text)).toBe(true);
        if (inSubset(text)) expect(ok).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });

  it('checks a slice of a larger text as one value, never reading past its end', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), jsonish, fc.oneof(jsonish, fc.string({ maxLength: 6 })), (before, value, after) => {
        const text = before + value + after;
        const ok = isPlainText(text) && isCompactValue(text, before.length, before.length + value.length);
        if (ok) expect(parses(value)).toBe(true);
        // A number or literal that runs on into what follows is refused: no frame has one there.
        if (inSubset(value) && isPlainText(text) && !/^[\w.+-]/.test(after)) expect(ok).toBe(true);
      }),
      { numRuns: 10_000 },
    );
  });

  it('notes the head keys of the object it is pointed at, and only of that one', () => {
    const hex = hexString({ minLength: 1, maxLength: 70 }).map((h) => `0x${h}`);
    const head = fc.record(
      { hash: hex, number: hex, parentHash: hex, nested: fc.record({ hash: hex, number: hex, parentHash: hex }, { requiredKeys: [] }), other: fc.jsonValue({ maxDepth: 2 }) },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(head, fc.string({ maxLength: 5 }).filter((s) => !s.includes('\\') && !hasControlCharacter(s)), (value, prefix) => {
        const body = JSON.stringify(value);
        fc.pre(!body.includes('\\'));
        const text = `${prefix}${body}`;
        expect(isCompactValue(text, prefix.length, text.length, prefix.length)).toBe(true);
        for (const key of ['hash', 'number', 'parentHash'] as const) {
          const at = headKeys[key];
          if (value[key] === undefined) expect(at).toBe(-1);
          else expect(text.startsWith(`${JSON.stringify(value[key])}`, at) && text.slice(0, at).endsWith(`"${key}":`)).toBe(true);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('isCompactJson on the frames that matter', () => {
  it.each([
    ['trailing garbage after an answer', '{"jsonrpc":"2.0","id":1,"result":"0x1"}{"leak":"x"}'],
    ['a second value', '{"a":1} {"b":2}'],
    ['an unclosed string', '{"a":"x}'],
    ['an unclosed object', '{"a":1'],
    ['a close too many', '{"a":1}}'],
    ['mismatched closes', '{"a":[1}]'],
    ['a raw control character in a string', '{"a":"x\u0001y"}'],
    ['a raw newline in a string', '{"a":"x\ny"}'],
    ['a trailing comma', '{"a":1,}'],
    ['an array trailing comma', '[1,]'],
    ['a leading zero', '[01]'],
    ['a bare minus', '[-]'],
    ['a dangling fraction', '[1.]'],
    ['a dangling exponent', '[1e]'],
    ['a truncated literal', '[tru]'],
    ['a literal run on', '[truex]'],
    ['a key without a value', '{"a"}'],
    ['a non-string key', '{1:2}'],
    ['a lone comma', ','],
    ['nothing', ''],
  ])('rejects %s', (_name, text) => {
    expect(isCompactJson(text)).toBe(false);
    expect(isPlainText(text) && isCompactValue(text, 0, text.length)).toBe(false);
  });

  it.each([
    ['a notification', '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1","result":{"number":"0x1","hash":"0xab"}}}'],
    ['scalars', '[0,-0,1.5,-2e-3,1E+9,true,false,null,"",{},[]]'],
    ['unicode', '{"é":"😀\u2028"}'],
    ['a top-level string', '"x"'],
  ])('accepts %s', (_name, text) => {
    expect(isCompactJson(text)).toBe(true);
  });

  it('leaves whitespace, escapes and deep nesting to JSON.parse', () => {
    expect(isCompactJson('{"a": 1}')).toBe(false);
    expect(isCompactJson('{"a":"\\"quoted\\""}')).toBe(false);
    expect(isCompactJson(`${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}`)).toBe(true);
    expect(isCompactJson(`${'['.repeat(MAX_DEPTH + 1)}${']'.repeat(MAX_DEPTH + 1)}`)).toBe(false);
  });

  it('takes the last of repeated head keys, as JSON.parse does', () => {
    const text = '{"hash":"0x1","hash":"0x2"}';
    expect(isCompactValue(text, 0, text.length, 0)).toBe(true);
    expect(text.slice(headKeys.hash, headKeys.hash + 5)).toBe('"0x2"');
  });

  it('finds control characters anywhere', () => {
    for (let code = 0; code < 0x20; code++) expect(hasControlCharacter(`${'a'.repeat(code)}${String.fromCharCode(code)}b`)).toBe(true);
    expect(hasControlCharacter('plain \u007f\u0080\u2028 text😀')).toBe(false);
    expect(hasControlCharacter(`${'a'.repeat(100_000)}\u0000`)).toBe(true);
  });
});

describe('the check on WebAssembly SIMD', () => {
  const simd = simdFrameCheck();
  const slots = (): HeadKeySlots => ({ hash: 0, number: 0, parentHash: 0, read: false, parts: 0, numberValue: 0, hi: 0, lo: 0, parentHi: 0, parentLo: 0 });
  const keysOf = (keys: { hash: number; number: number; parentHash: number }) => ({ hash: keys.hash, number: keys.number, parentHash: keys.parentHash });
  /** The JavaScript check's answer and the head keys it noted. */
  const inJs = (text: string, start: number, end: number, objectAt: number) => {
    const ok = isPlainText(text) && isCompactValue(text, start, end, objectAt);
    return { ok, keys: keysOf(headKeys) };
  };
  const ascii = (text: string) => /^[\x00-\x7f]*$/.test(text);

  it('is there on Node (WebAssembly with SIMD)', () => {
    expect(simd).toBeTypeOf('function');
  });

  it('answers as the JavaScript check, with the same head keys, or leaves a text beyond ASCII to it', () => {
    const keys = slots();
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 6 }), fc.constant('')), jsonish, fc.oneof(jsonish, fc.string({ maxLength: 6 })), fc.boolean(), (before, value, after, noteKeys) => {
        const text = before + value + after;
        const start = before.length;
        const end = start + value.length;
        const objectAt = noteKeys ? start : -1;
        const answer = simd!(text, start, end, objectAt, keys);
        if (!ascii(text)) {
          expect(answer).toBeUndefined();
        } else {
          const js = inJs(text, start, end, objectAt);
          expect(answer).toBe(js.ok);
          // The keys matter only where the check passes (a frame that fails is parsed instead).
          if (js.ok) expect(keysOf(keys)).toEqual(js.keys);
        }
      }),
      { numRuns: 20_000 },
    );
  });

  it('given the bytes a text was decoded from (as ws hands them over), answers as the JavaScript check on the text', () => {
    const keys = slots();
    // Bytes that are not valid UTF-8 too: a binary frame is decoded without ws's validation, and a
    // byte that does not decode becomes U+FFFD, one character for one byte.
    const stray = fc.uint8Array({ maxLength: 4 }).map((b) => Buffer.from(b));
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), jsonish, fc.oneof(jsonish, fc.string({ maxLength: 6 })), stray, fc.nat(), fc.boolean(), (before, value, after, junk, junkAt, noteKeys) => {
        const clean = Buffer.from(before + value + after);
        const at = junkAt % (clean.length + 1);
        const bytes = Buffer.concat([clean.subarray(0, at), junk, clean.subarray(at)]);
        const text = bytes.toString('utf8');
        const start = Math.min(Buffer.from(before).length, text.length);
        const end = Math.max(start, text.length - Buffer.from(after).length);
        const objectAt = noteKeys ? start : -1;
        const answer = simd!(text, start, end, objectAt, keys, bytes);
        if (answer === undefined) {
          expect(bytes.length).not.toBe(text.length); // left to the text's own path
          return;
        }
        const js = inJs(text, start, end, objectAt);
        expect(answer).toBe(js.ok);
        if (js.ok) expect(keysOf(keys)).toEqual(js.keys);
      }),
      { numRuns: 20_000 },
    );
    // Bytes beyond ASCII that decode to fewer characters: encoded again from the text.
    const text = `{"x":"é","hash":"0x${'ab'.repeat(32)}"}`;
    expect(simd!(text, 0, text.length, 0, keys, Buffer.from(text))).toBeUndefined();
    expect(checkFrame(text, 0, text.length, 0, Buffer.from(text))).toBe(true);
    expect(text.startsWith('"0xab', headKeys.hash)).toBe(true);
  });

  it('notes the head keys of the object it is pointed at, as the JavaScript check does', () => {
    const hex = hexString({ minLength: 1, maxLength: 70 }).map((h) => `0x${h}`);
    const head = fc.record(
      { hash: hex, number: hex, parentHash: hex, nested: fc.record({ hash: hex, number: hex, parentHash: hex }, { requiredKeys: [] }), logsBloom: hexString({ maxLength: 600 }), other: fc.jsonValue({ maxDepth: 2 }) },
      { requiredKeys: [] },
    );
    const keys = slots();
    fc.assert(
      fc.property(head, fc.string({ unit: fc.constantFrom(...'{"abc:,'), maxLength: 8 }), (value, prefix) => {
        const body = JSON.stringify(value);
        const text = `${prefix}${body}}}`;
        fc.pre(ascii(text));
        const answer = simd!(text, prefix.length, prefix.length + body.length, prefix.length, keys);
        const js = inJs(text, prefix.length, prefix.length + body.length, prefix.length);
        expect(answer).toBe(js.ok);
        if (js.ok) expect(keysOf(keys)).toEqual(js.keys);
      }),
      { numRuns: 2_000 },
    );
  });

  it('rejects a control character or backslash anywhere in the text, in or out of the part it checks', () => {
    const keys = slots();
    const value = `{"a":"${'x'.repeat(40)}"}`;
    for (const bad of ['\u0000', '\u0001', '\n', '\u001f', '\\']) {
      for (let at = 0; at <= 60; at++) {
        const text = `${'p'.repeat(20)}${value}${'s'.repeat(20)}`;
        const spoiled = text.slice(0, at) + bad + text.slice(at + 1);
        expect(simd!(spoiled, 20, 20 + value.length, -1, keys)).toBe(false);
      }
    }
    expect(simd!(`${'p'.repeat(20)}${value}${'s'.repeat(20)}`, 20, 20 + value.length, -1, keys)).toBe(true);
  });

  it('refuses a text that is not plain with the head keys noted before its first backslash or control byte, as a scan byte by byte notes them', () => {
    const keys = slots();
    const hex = hexString({ minLength: 1, maxLength: 66 }).map((h) => `"0x${h}"`);
    const member = fc.tuple(fc.constantFrom('hash', 'number', 'parentHash', 'logsBloom', 'x'), hex).map(([k, v]) => `"${k}":${v}`);
    fc.assert(
      fc.property(fc.array(member, { maxLength: 8 }), fc.constantFrom('\\', '\n', '\u0000', '\u001f'), fc.nat(), (members, bad, badAt) => {
        const prefix = '{"result":';
        const clean = `${prefix}{${members.join(',')}}}`;
        const at = badAt % clean.length;
        const text = clean.slice(0, at) + bad + clean.slice(at + 1);
        const end = text.length - 1;
        expect(simd!(text, prefix.length, end, prefix.length, keys)).toBe(false);
        const bads = [...text].map((c, i) => (c === '\\' || c < ' ' ? i : -1)).filter((i) => i >= 0);
        const outside = bads.some((i) => i < prefix.length || i >= end);
        if (outside) {
          expect(keysOf(keys)).toEqual({ hash: -1, number: -1, parentHash: -1 });
        } else {
          isCompactValue(text, prefix.length, bads[0]!, prefix.length);
          expect(keysOf(keys)).toEqual(keysOf(headKeys));
        }
      }),
      { numRuns: 3_000 },
    );
  });

  it('finds where strings end across the 64-byte blocks of its map of quotes: long, empty or back to back, at any offset', () => {
    const keys = slots();
    const strings = fc.array(fc.nat({ max: 200 }).map((n) => 'a'.repeat(n)), { maxLength: 10 });
    fc.assert(
      fc.property(fc.nat({ max: 63 }), strings, fc.boolean(), fc.option(fc.nat()), (pad, values, asObject, dropAt) => {
        const names = ['hash', 'number', 'parentHash'];
        const value = asObject ? `{${values.map((v, i) => `"${names[i % 4] ?? `k${'k'.repeat(i * 7)}`}":"${v}"`).join(',')}}` : JSON.stringify(values);
        let text = `${' '.repeat(pad)}${value}`;
        // Without one of its characters (a quote, often): it must then fail where JavaScript fails.
        if (dropAt !== null) text = text.slice(0, pad + (dropAt % value.length)) + text.slice(pad + (dropAt % value.length) + 1);
        for (const end of [text.length, text.length - 1]) {
          const js = inJs(text, pad, end, pad);
          expect(simd!(text, pad, end, pad, keys)).toBe(js.ok);
          if (js.ok) expect(keysOf(keys)).toEqual(js.keys);
        }
      }),
      { numRuns: 3_000 },
    );
  });

  it.each([['{"hash":'], ['{"hash":"'], ['{"a":"b",'], ['{"a":"b","'], ['["a","'], ['"'], ['""'], ['{"a":""}']])('checks %s to the last byte, as in JavaScript', (text) => {
    const keys = slots();
    expect(simd!(text, 0, text.length, 0, keys)).toBe(inJs(text, 0, text.length, 0).ok);
    expect(simd!(`${text}}`, 0, text.length, 0, keys)).toBe(inJs(`${text}}`, 0, text.length, 0).ok);
  });

  it('stops at the end of a text that leaves a string open, whatever its length (in a memory that holds nothing else)', () => {
    for (let length = 0; length < 200; length++) {
      for (const text of [`"${'a'.repeat(length)}`, `{"${'k'.repeat(length)}":`, `{"a":"b","${'k'.repeat(length)}`]) {
        const fresh = simdFrameCheck()!;
        expect(fresh(text, 0, text.length, 0, slots())).toBe(false);
      }
    }
  });

  it('checks a text that takes nearly all the memory it may have, its map of quotes included', () => {
    const keys = slots();
    const text = JSON.stringify(Array.from({ length: 9_000 }, (_, i) => `0x${i.toString(16).padStart(96, '0')}`));
    expect(text.length).toBeGreaterThan(900_000);
    expect(simd!(text, 0, text.length, -1, keys)).toBe(true);
    expect(simd!(text.replace('",', ','), 0, text.length - 1, -1, keys)).toBe(false);
  });

  it('checks large texts (its memory grows) and leaves the largest to the JavaScript check', () => {
    const keys = slots();
    const big = JSON.stringify({ result: Array.from({ length: 5_000 }, (_, i) => ({ hash: `0x${i.toString(16).padStart(64, '0')}`, n: i })) });
    expect(simd!(big, 0, big.length, -1, keys)).toBe(true);
    expect(simd!(`${big.slice(0, -1)}\n}`, 0, big.length + 1, -1, keys)).toBe(false);
    const huge = `["${'a'.repeat(2 * 1024 * 1024)}"]`;
    expect(simd!(huge, 0, huge.length, -1, keys)).toBeUndefined();
    expect(checkFrame(huge, 0, huge.length)).toBe(true);
    expect(checkFrame(`${huge.slice(0, -1)}x`, 0, huge.length)).toBe(false);
  });

  it('does not exist where WebAssembly is missing or refuses the module, as under a CSP without wasm-unsafe-eval', () => {
    expect(simdFrameCheck(null)).toBeUndefined();
    const refusing = {
      ...WebAssembly,
      Module: function Module() {
        throw new WebAssembly.CompileError("WebAssembly.Module(): Refused to compile or instantiate WebAssembly module because 'unsafe-eval' is not an allowed source of script");
      },
    } as unknown as typeof WebAssembly;
    expect(simdFrameCheck(refusing)).toBeUndefined();
    expect(simdFrameCheck(WebAssembly, null)).toBeUndefined();
  });

  it('checkFrame answers texts beyond ASCII in JavaScript, with the head keys at their character positions', () => {
    const text = `{"x":"é😀","hash":"0x${'ab'.repeat(32)}","number":"0x1"}`;
    expect(checkFrame(text, 0, text.length, 0)).toBe(true);
    expect(text.startsWith('"0x1"', headKeys.number)).toBe(true);
    expect(text.startsWith('"0xab', headKeys.hash)).toBe(true);
    expect(checkFrame(`{"x":"é\u0001"}`, 0, 11)).toBe(false);
  });
});

describe('the browser build', () => {
  it('carries no WebAssembly and checks in JavaScript', async () => {
    const { build } = await import('esbuild');
    const { browserVariants } = await import('../scripts/browserVariants.mjs');
    const result = await build({
      entryPoints: [fileURLToPath(new URL('../src/jsonScan.ts', import.meta.url))],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'cjs',
      plugins: [browserVariants],
      logLevel: 'silent',
    });
    const text = result.outputFiles[0]!.text;
    expect(text).not.toContain(JSON_SCAN_WASM.slice(0, 40));
    const module = { exports: {} as { checkFrame: typeof checkFrame } };
    new Function('module', 'exports', text)(module, module.exports);
    expect(module.exports.checkFrame('{"a":[1,"x"]}', 0, 13)).toBe(true);
    expect(module.exports.checkFrame('{"a":[1,"x\u0001"]}', 0, 14)).toBe(false);
  });
});

describe('the head the SIMD check reads as it checks', () => {
  const hexChars = (constraints: { minLength?: number; maxLength?: number }) => fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), ...constraints });
  const spoiled = (text: string, at: number, by: string) => text.slice(0, at % (text.length + 1)) + by + text.slice((at % (text.length + 1)) + 1);
  const hash = hexChars({ minLength: 64, maxLength: 64 }).map((h) => `0x${h}`);
  const hashLike = fc.oneof(
    { weight: 4, arbitrary: hash },
    { weight: 2, arbitrary: fc.tuple(hash, fc.nat(), fc.constantFrom('x', 'g', 'G', '/', ':', '@', '`', ' ')).map(([h, at, by]) => spoiled(h, at, by)) },
    { weight: 1, arbitrary: hexChars({ minLength: 60, maxLength: 68 }).map((h) => `0x${h}`) },
    { weight: 1, arbitrary: hexChars({ maxLength: 3 }) },
  );
  const numberLike = fc.oneof(
    fc.nat().map((n) => `0x${n.toString(16)}`),
    fc.bigInt({ min: 0n, max: 2n ** 70n }).map((n) => `0x${n.toString(16)}`),
    fc.constantFrom('0x', '0x1fffffffffffff', '0x20000000000000', '0X1', '1', '0x-1'),
    hexChars({ maxLength: 12 }).map((h) => `0x${h}`),
    fc.tuple(hexChars({ minLength: 1, maxLength: 12 }), fc.nat(), fc.constantFrom('x', 'g', '/', ':', '"')).map(([h, at, by]) => `0x${spoiled(h, at, by)}`),
  );
  const headLike = fc.record({ parentHash: hashLike, number: fc.oneof(numberLike, fc.constant(7)), hash: hashLike, logsBloom: hexChars({ maxLength: 40 }) }, { requiredKeys: [] });

  it('is what readHead reads from the text', () => {
    let read = 0;
    fc.assert(
      fc.property(headLike, fc.constantFrom('', '{"result":'), (value, prefix) => {
        const body = JSON.stringify(value);
        const text = `${prefix}${body}${prefix ? '}' : ''}`;
        const at = prefix.length;
        // In JavaScript: the keys noted, the values read from the text.
        const ok = isPlainText(text) && isCompactValue(text, at, at + body.length, at);
        const fromText = ok && readHead(text, at) ? { ...head } : undefined;
        head.number = -1;
        expect(checkFrame(text, at, at + body.length, at)).toBe(ok);
        if (!ok) return;
        expect(headKeys.read).toBe(true);
        expect(readHead(text, at) ? { ...head } : undefined).toEqual(fromText);
        if (fromText) read += 1;
      }),
      { numRuns: 5_000 },
    );
    // Enough of them are heads it can read (about one in ten).
    expect(read).toBeGreaterThan(250);
  });
});
