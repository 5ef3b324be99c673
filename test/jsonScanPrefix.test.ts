/**
 * The two things the frame check on WebAssembly does besides checking (jsonScanSimd.ts): it tells
 * a known subscription's notification by its opening in the same pass (checkPrefixedFrame), and
 * it takes a frame's bytes once, as the transport hands the frame on, telling on the way whether
 * they are all ASCII (stageFrame). Each must answer exactly as what it replaces (a regular
 * expression and checkFrame; Buffer's isAscii) and must never check bytes other than the text's.
 */
import { isAscii } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFrame, checkPrefixedFrame, headKeys, isCompactValue, isPlainText, stageFrame, unstageFrame } from '../src/jsonScan.js';
import { simdFrameCheck, type HeadKeySlots } from '../src/jsonScanSimd.js';
import { knownSubscription } from '../src/frameShapes.js';

const slots = (): HeadKeySlots => ({ hash: 0, number: 0, parentHash: 0, read: false, parts: 0, numberValue: 0, hi: 0, lo: 0, parentHi: 0, parentLo: 0 });
const ID = '0xd31bd78e000000000000000000000001';
const HEAD = `{"hash":"0x${'ab'.repeat(32)}","number":"0x10","parentHash":"0x${'cd'.repeat(32)}"}`;
const frameOf = (id: string, result: string) => `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"${id}","result":${result}}}`;

/** What checkPrefixedFrame replaces: the regular expression, then the check of the rest. */
function before(text: string, prefix: string, head: RegExp, end: number): boolean | null {
  if (!head.test(text)) return null;
  return checkFrame(text, prefix.length, end, prefix.length);
}

describe('checkPrefixedFrame', () => {
  const known = knownSubscription(ID);

  it("tells a known subscription's notification by its opening and checks its result, with the head's keys noted", () => {
    const text = frameOf(ID, HEAD);
    expect(checkPrefixedFrame(text, known.prefix, known.head, text.length - 2, Buffer.from(text))).toBe(true);
    expect(headKeys.text).toBe(text);
    expect(headKeys.objectAt).toBe(known.prefix.length);
    expect(text.slice(headKeys.number, headKeys.number + 6)).toBe('"0x10"');
    const broken = frameOf(ID, HEAD.replace('"number"', '"number":'));
    expect(checkPrefixedFrame(broken, known.prefix, known.head, broken.length - 2)).toBe(false);
  });

  it('answers null for any other opening: another id, another shape, a text shorter than the opening', () => {
    for (const text of [frameOf('0xd31bd78e000000000000000000000002', HEAD), frameOf(`${ID}0`, HEAD), frameOf(ID.slice(0, -1), HEAD), ` ${frameOf(ID, HEAD)}`, known.prefix.slice(0, -1), '', '{}']) {
      expect(checkPrefixedFrame(text, known.prefix, known.head, Math.max(0, text.length - 2))).toBeNull();
    }
  });

  it('answers as the regular expression and checkFrame did, for a change at any byte of a frame, with or without its bytes', () => {
    const text = frameOf(ID, HEAD);
    fc.assert(
      fc.property(fc.nat(text.length - 1), fc.constantFrom('"', '{', '}', ':', ',', '0', 'x', '\\', '\u0000', 'é', ' '), fc.boolean(), (at, put, withBytes) => {
        const changed = `${text.slice(0, at)}${put}${text.slice(at + 1)}`;
        const bytes = withBytes ? Buffer.from(changed) : undefined;
        expect(checkPrefixedFrame(changed, known.prefix, known.head, changed.length - 2, bytes)).toBe(before(changed, known.prefix, known.head, changed.length - 2));
      }),
      { numRuns: 2_000 },
    );
  });

  it('compares openings of every length it keeps (16 to 256 bytes), and leaves the others to the regular expression', () => {
    for (const length of [1, 15, 16, 17, 31, 32, 33, 100, 255, 256, 257, 400]) {
      const id = `0x${'7'.repeat(length)}`;
      const { prefix, head } = knownSubscription(id);
      const text = frameOf(id, HEAD);
      expect(checkPrefixedFrame(text, prefix, head, text.length - 2)).toBe(true);
      const last = `${text.slice(0, prefix.length - 3)}8${text.slice(prefix.length - 2)}`;
      expect(checkPrefixedFrame(last, prefix, head, last.length - 2)).toBeNull();
      const first = `[${text.slice(1)}`;
      expect(checkPrefixedFrame(first, prefix, head, first.length - 2)).toBeNull();
    }
    // A short opening, compared in the module only from 16 bytes.
    const simd = simdFrameCheck()!;
    expect(simd('{"a":1}', 5, 6, -1, slots(), undefined, '{"a":')).toBeUndefined();
    expect(simd('{"a":1}', 5, 6, -1, slots(), undefined, '{"a":'.padEnd(16, ' '))).toBeNull();
  });

  it('keeps one opening at a time: each check compares with its own, taken turn about', () => {
    const [a, b] = [knownSubscription(ID), knownSubscription(`${ID.slice(0, -1)}2`)];
    const [textA, textB] = [frameOf(a.id, HEAD), frameOf(b.id, HEAD)];
    for (let i = 0; i < 3; i++) {
      expect(checkPrefixedFrame(textA, a.prefix, a.head, textA.length - 2)).toBe(true);
      expect(checkPrefixedFrame(textA, b.prefix, b.head, textA.length - 2)).toBeNull();
      expect(checkPrefixedFrame(textB, b.prefix, b.head, textB.length - 2)).toBe(true);
      expect(checkPrefixedFrame(textB, a.prefix, a.head, textB.length - 2)).toBeNull();
    }
  });

  it('leaves an opening beyond ASCII to the regular expression, and then compares the next one in the module again', () => {
    const odd = knownSubscription('0xé0000000000000000000000000000001');
    const text = frameOf(odd.id, HEAD);
    const simd = simdFrameCheck()!;
    expect(simd(text, odd.prefix.length, text.length - 2, odd.prefix.length, slots(), undefined, odd.prefix)).toBeUndefined();
    expect(checkPrefixedFrame(text, odd.prefix, odd.head, text.length - 2)).toBe(true);
    // Writing the odd opening spoiled the one kept: the next opening is written again.
    const plain = frameOf(ID, HEAD);
    expect(simd(plain, known.prefix.length, plain.length - 2, known.prefix.length, slots(), undefined, known.prefix)).toBe(true);
  });
});

describe('stageFrame', () => {
  it("tells whether a frame's bytes are all ASCII, as isAscii does, at every length and position of a byte beyond", () => {
    for (let length = 0; length <= 200; length++) {
      const bytes = Buffer.alloc(length, 0x61);
      expect(stageFrame(bytes)).toBe(true);
      for (const at of new Set([0, length >> 1, length - 1].filter((i) => i >= 0 && i < length))) {
        for (const high of [0x80, 0xc3, 0xff]) {
          bytes[at] = high;
          expect(stageFrame(bytes)).toBe(isAscii(bytes));
          expect(stageFrame(bytes)).toBe(false);
          bytes[at] = 0x7f;
          expect(stageFrame(bytes)).toBe(true);
        }
      }
    }
    unstageFrame();
  });

  it('agrees with isAscii on random bytes, and leaves a frame too large for the module to it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3_000 }), (bytes) => {
        expect(stageFrame(bytes)).toBe(isAscii(bytes));
      }),
      { numRuns: 1_000 },
    );
    expect(stageFrame(new Uint8Array(2 * 1024 * 1024))).toBeUndefined();
    unstageFrame();
  });

  it('lets a check given the bytes staged read them in place, and only until they are unstaged', () => {
    const simd = simdFrameCheck()!;
    const good = Buffer.from('{"a":[1,2,3]}');
    const bad = Buffer.from('{"a":[1,2,3}}');
    // The same array, written again with other bytes while staged: the check reads what was staged
    // (which is why a transport stages a frame only while it hands it on).
    const reused = Buffer.from(good);
    expect(simd.stage(reused)).toBe(true);
    bad.copy(reused);
    expect(simd(reused.toString('latin1'), 0, reused.length, -1, slots(), reused)).toBe(true);
    // Unstaged, the bytes are copied in again.
    simd.unstage();
    expect(simd(reused.toString('latin1'), 0, reused.length, -1, slots(), reused)).toBe(false);
  });

  it('no longer counts bytes as in place once a check wrote others there', () => {
    const simd = simdFrameCheck()!;
    const reused = Buffer.from('{"a":[1,2,3]}');
    expect(simd.stage(reused)).toBe(true);
    // Another text checked meanwhile (another transport's frame, an answer encoded from its text).
    expect(simd('[true,false]', 0, 12, -1, slots())).toBe(true);
    Buffer.from('{"a":[1,2,3}}').copy(reused);
    expect(simd(reused.toString('latin1'), 0, reused.length, -1, slots(), reused)).toBe(false);
    // So too when other bytes were staged.
    const other = Buffer.from('{"b":1}');
    Buffer.from('{"a":[1,2,3]}').copy(reused);
    expect(simd.stage(reused)).toBe(true);
    expect(simd.stage(other)).toBe(true);
    Buffer.from('{"a":[1,2,3}}').copy(reused);
    expect(simd(reused.toString('latin1'), 0, reused.length, -1, slots(), reused)).toBe(false);
    simd.unstage();
  });

  it('checks a text that is not what the staged bytes decode to from the text itself', () => {
    const simd = simdFrameCheck()!;
    const bytes = Buffer.from('{"a":[1,2,3]}');
    expect(simd.stage(bytes)).toBe(true);
    // Other length: the bytes are not the text's; it is encoded again.
    expect(simd('{"a":[1,2,3}}}', 0, 14, -1, slots(), bytes)).toBe(false);
    expect(simd('[1]', 0, 3, -1, slots(), bytes)).toBe(true);
    simd.unstage();
  });

  it('the JavaScript check and the one on WebAssembly still agree on frames checked after staging', () => {
    const simd = simdFrameCheck()!;
    fc.assert(
      fc.property(fc.json({ maxDepth: 3 }), (json) => {
        const text = JSON.stringify(JSON.parse(json));
        const bytes = Buffer.from(text);
        if (simd.stage(bytes) !== true) return;
        const keys = slots();
        expect(simd(text, 0, text.length, -1, keys, bytes)).toBe(isPlainText(text) && isCompactValue(text, 0, text.length, -1));
        simd.unstage();
      }),
      { numRuns: 500 },
    );
  });
});
