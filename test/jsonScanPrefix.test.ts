/**
 * The frame check on WebAssembly (jsonScanSimd.ts) tells a known subscription's notification by
 * its opening in the same call that checks the rest (checkPrefixedFrame): it must answer exactly
 * as what it replaces, a regular expression and then checkFrame.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkFrame, checkPrefixedFrame, headKeys } from '../src/jsonScan.js';
import { simdFrameCheck, type HeadKeySlots } from '../src/jsonScanSimd.js';
import { knownSubscription, mayBeNotificationOf } from '../src/frameShapes.js';

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

describe('mayBeNotificationOf, the sieve before the full comparison', () => {
  const known = knownSubscription(ID);

  it("lets a known subscription's notification through, and an answer or a notification whose id ends otherwise not", () => {
    expect(mayBeNotificationOf(frameOf(ID, HEAD), known)).toBe(true);
    expect(mayBeNotificationOf(`{"jsonrpc":"2.0","id":7,"result":${HEAD}}`, known)).toBe(false);
    expect(mayBeNotificationOf(frameOf(`${ID.slice(0, -1)}2`, HEAD), known)).toBe(false);
    expect(mayBeNotificationOf(frameOf(`${ID}1`, HEAD), known)).toBe(false);
    expect(mayBeNotificationOf('', known)).toBe(false);
  });

  it('is only a sieve: an id that differs elsewhere passes it, and the comparison in full tells it apart', () => {
    const other = frameOf(`0xe${ID.slice(3)}`, HEAD);
    expect(mayBeNotificationOf(other, known)).toBe(true);
    expect(checkPrefixedFrame(other, known.prefix, known.head, other.length - 2)).toBeNull();
  });
});
