import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8ByteLength, utf8Length } from '../src/utf8Length.js';

/** UTF-16 units biased to the boundaries: ASCII, two-byte, the surrogate ranges, anything. */
const units = fc.array(
  fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0x7ff }), fc.integer({ min: 0xd7f0, max: 0xe010 }), fc.integer({ min: 0, max: 0xffff })),
  { maxLength: 64 },
);

describe('utf8Length (the count for platforms without Buffer)', () => {
  it('counts as an encoder writes: 1 to 3 bytes a unit, 4 a surrogate pair, 3 a lone surrogate', () => {
    expect(utf8Length('')).toBe(0);
    expect(utf8Length('abc')).toBe(3);
    expect(utf8Length('é')).toBe(2);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('😀')).toBe(4);
    expect(utf8Length('\ud800')).toBe(3);
    expect(utf8Length('\udc00\ud800')).toBe(6);
    expect(utf8Length('a\ud83d')).toBe(4);
  });

  it('agrees with TextEncoder and Buffer.byteLength on any UTF-16 text, lone and reversed surrogates included', () => {
    fc.assert(
      fc.property(units, (codes) => {
        const text = String.fromCharCode(...codes);
        expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
        expect(utf8Length(text)).toBe(Buffer.byteLength(text, 'utf8'));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('utf8ByteLength', () => {
  it('gives the same count by the native path where Buffer exists', () => {
    fc.assert(
      fc.property(units, (codes) => {
        const text = String.fromCharCode(...codes);
        expect(utf8ByteLength(text)).toBe(utf8Length(text));
      }),
      { numRuns: 500 },
    );
  });
});
