import { describe, expect, it } from 'vitest';
import { RecentHeads } from '../../src/session/RecentHeads.js';

describe('what RecentHeads finds above its tip', () => {
  it('a head above every head added is not kept, whatever its slot held before', () => {
    const heads = new RecentHeads(8);
    for (let n = 1; n <= 20; n++) heads.add(n, n, -n);
    // Slot 21 % 8 holds 13: a lookup of 21 reads as not kept.
    expect(heads.holds(21)).toBe(false);
    expect(heads.has(21, 13, -13)).toBe(false);
    expect(heads.differsAt(21, 0, 0)).toBe(false);
    expect(heads.digestAt(21)).toBeUndefined();
    expect(heads.differsAt(20, 0, 0)).toBe(true);
    expect(heads.digestAt(20)).toEqual([20, -20]);
  });

  it('a rewind within the ring forgets every head above it', () => {
    const heads = new RecentHeads(8);
    for (let n = 1; n <= 20; n++) heads.add(n, n, -n);
    heads.add(17, 7, 7);
    for (const n of [18, 19, 20]) expect(heads.holds(n)).toBe(false);
    expect(heads.has(17, 7, 7)).toBe(true);
    heads.add(18, 8, 8);
    expect(heads.has(18, 8, 8)).toBe(true);
    expect(heads.holds(19)).toBe(false);
  });

  it('a rewind deeper than the ring clears the heights it reaches, and keeps the others it held', () => {
    const heads = new RecentHeads(8);
    for (let n = 1; n <= 5; n++) heads.add(n, n, -n);
    heads.add(100, 100, -100); // a jump: slot 4 gives up head 4
    heads.add(2, 2, 2); // clears 93–100 only
    expect(heads.tip).toBe(2);
    expect(heads.holds(100)).toBe(false);
    expect(heads.has(3, 3, -3)).toBe(true);
    expect(heads.has(5, 5, -5)).toBe(true);
    expect(heads.differsAt(5, 0, 0)).toBe(true);
    heads.add(3, 3, 3);
    expect(heads.has(5, 5, -5)).toBe(true);
  });
});

describe('RecentHeads across 2^31', () => {
  // Slots are computed on integers below 2^31 and on doubles above: a chain whose numbers cross
  // that line keeps its heads where lookups find them.
  it('keeps and finds heads on both sides of 2^31, and above 2^32', () => {
    for (const start of [2 ** 31 - 6, 2 ** 32 - 6, 2 ** 53 - 20]) {
      const heads = new RecentHeads(8);
      for (let n = start; n < start + 12; n++) heads.add(n, n % 1000, 1);
      for (let n = start + 4; n < start + 12; n++) {
        expect(heads.has(n, n % 1000, 1)).toBe(true);
        expect(heads.differsAt(n, 0, 0)).toBe(true);
      }
      expect(heads.holds(start + 3)).toBe(false);
      expect(heads.tip).toBe(start + 11);
    }
  });
});
