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

  it('readSince: an answer that decides is taken only from a read sent at or after `since`', async () => {
    let now = 0;
    const reads = new SharedReads<number>(() => now, 100);
    let sent = 0;
    expect(await reads.read('a', () => Promise.resolve(++sent))).toBe(1); // kept, sent at 0
    now = 10;
    // An answer that does not decide: the kept one will do.
    expect(await reads.readSince('a', () => Promise.resolve(++sent), 5, (v) => v === 99)).toBe(1);
    // One that decides (1 here), kept from before 5: read again.
    expect(await reads.readSince('a', () => Promise.resolve(++sent), 5, (v) => v === 1)).toBe(2);
    // The new read (sent at 10) is recent enough for `since` 10.
    expect(await reads.readSince('a', () => Promise.resolve(++sent), 10, (v) => v === 2)).toBe(2);
    expect(sent).toBe(2);
  });
});
