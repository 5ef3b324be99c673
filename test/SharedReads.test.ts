import { describe, expect, it } from 'vitest';
import { SharedReads } from '../src/SharedReads.js';

describe('SharedReads', () => {
  it('gives a read under way to whoever asks for its key meanwhile; another key is read on its own', async () => {
    const reads = new SharedReads<number>();
    let sent = 0;
    const send = () => Promise.resolve(++sent);
    const [x, y, z] = [reads.read('a', send), reads.read('a', send), reads.read('b', send)];
    expect(await Promise.all([x, y, z])).toEqual([1, 1, 2]);
    // Settled, and nothing kept (keepMs 0): read again.
    expect(await reads.read('a', send)).toBe(3);
  });

  it('keeps an answer for keepMs after it came, and never a failure', async () => {
    let now = 0;
    const reads = new SharedReads<number>(() => now, 100);
    let sent = 0;
    expect(await reads.read('a', () => Promise.resolve(++sent))).toBe(1);
    now = 99;
    expect(await reads.read('a', () => Promise.resolve(++sent))).toBe(1);
    now = 100;
    expect(await reads.read('a', () => Promise.resolve(++sent))).toBe(2);
    await expect(reads.read('b', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await reads.read('b', () => Promise.resolve(7))).toBe(7);
  });
});
