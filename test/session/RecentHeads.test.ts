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
