import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { head, identify, readHead } from '../../src/session/resultFields.js';
import { hashDigest } from '../../src/consistency/quantity.js';
import { isCompactValue } from '../../src/jsonScan.js';

const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;

describe('reading continuity fields from a result’s text', () => {
  it('finds hash and number of a header wherever the node puts them', () => {
    const header = { parentHash: hash(1), number: '0x2', mixHash: hash(3), hash: hash(2), logsBloom: `0x${'00'.repeat(256)}` };
    expect(identify('newHeads', JSON.stringify(header))).toMatchObject({ hash: hash(2), number: '0x2' });
    const sorted = Object.fromEntries(Object.entries(header).sort(([a], [b]) => a.localeCompare(b)));
    expect(identify('newHeads', JSON.stringify(sorted))).toMatchObject({ hash: hash(2), number: '0x2' });
  });

  it('is not fooled by keys that end like the one it looks for, or by values that spell it', () => {
    const text = JSON.stringify({ extraData: 'hash', note: 'number', blockNumber: '0x9', parentHash: hash(1), number: '0x2', hash: hash(2) });
    expect(identify('newHeads', text)).toMatchObject({ hash: hash(2), number: '0x2' });
  });

  it('finds blockHash, blockNumber, logIndex and removed of a log', () => {
    const log = { address: '0x01', transactionIndex: '0x5', transactionHash: hash(7), blockHash: hash(8), blockNumber: '0x8', logIndex: '0x3', removed: true };
    expect(identify('logs', JSON.stringify(log))).toMatchObject({ blockHash: hash(8), blockNumber: '0x8', logIndex: '0x3', removed: true });
    expect(identify('logs', JSON.stringify({ ...log, removed: false }))).toMatchObject({ removed: false });
    expect(identify('logs', JSON.stringify({ ...log, note: 'removed', removed: false }))).toMatchObject({ removed: false });
  });

  it('reads a string value as JSON.parse would, and gives up (the caller parses) on anything it cannot read exactly', () => {
    expect(identify('newHeads', JSON.stringify({ number: '0x2', hash: 'pending' }))).toMatchObject({ hash: 'pending' });
    expect(identify('newHeads', JSON.stringify({ number: '0x2', hash: 'a"b' }))).toBeUndefined(); // escaped
    expect(identify('newHeads', JSON.stringify({ number: '0x2', hash: 'x'.repeat(67) }))).toBeUndefined(); // too long
    expect(identify('newHeads', JSON.stringify({ number: '0x2' }))).toBeUndefined();
    expect(identify('newHeads', JSON.stringify({ number: 2, hash: hash(2) }))).toBeUndefined();
    expect(identify('logs', JSON.stringify({ blockHash: hash(8), blockNumber: '0x8' }))).toBeUndefined();
    expect(identify('newHeads', '[1,2]')).toBeUndefined();
  });

  it('reads a result in place inside its frame, and nothing outside it', () => {
    const head = { number: '0x2', hash: hash(2) };
    const frame = `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1","result":${JSON.stringify(head)}}}`;
    const start = frame.indexOf('"result":') + 9;
    expect(identify('newHeads', frame, start, 2)).toMatchObject(head);
    const decoy = `{"hash":"${hash(9)}","number":"0x9","result":${JSON.stringify({ number: '0x2' })}}`;
    expect(identify('newHeads', decoy, decoy.indexOf('"result":') + 9, 1)).toBeUndefined();
  });

  it('agrees with JSON.parse on any key order and any decoy keys and values (property)', () => {
    const decoy = fc.constantFrom('hash', 'number', 'mber', 'Hash', 'kHash', 'Index', 'blockHash', 'logIndex', 'hash"', 'xhash', 'moved', 'unremoved', '0x1', '');
    const extra = fc.dictionary(fc.oneof(decoy, fc.string({ maxLength: 8 })), fc.oneof(decoy, fc.string({ maxLength: 8 }), fc.integer()), { maxKeys: 6 });
    fc.assert(
      fc.property(extra, fc.nat({ max: 2 ** 40 }), fc.nat(), fc.boolean(), fc.nat(), (other, block, index, removed, seed) => {
        const fields: Array<[string, unknown]> = [
          ...Object.entries(other).filter(([key]) => !['hash', 'number', 'blockHash', 'blockNumber', 'logIndex', 'removed'].includes(key)),
          ['hash', hash(block)],
          ['number', `0x${block.toString(16)}`],
          ['blockHash', hash(block + 1)],
          ['blockNumber', `0x${(block + 1).toString(16)}`],
          ['logIndex', `0x${index.toString(16)}`],
          ['removed', removed],
        ];
        // A shuffle driven by the seed, so shrinking stays deterministic.
        const order = fields.map((field, i) => ({ field, key: (seed * 7919 + i * 104729) % 1009 })).sort((x, y) => x.key - y.key);
        const text = JSON.stringify(Object.fromEntries(order.map(({ field }) => field)));
        const parsed = JSON.parse(text);
        expect(identify('newHeads', text)).toMatchObject({ hash: parsed.hash, number: parsed.number });
        expect(identify('logs', text)).toMatchObject({ blockHash: parsed.blockHash, blockNumber: parsed.blockNumber, logIndex: parsed.logIndex, removed: parsed.removed });
      }),
      { numRuns: 500 },
    );
  });
});

describe('readHead: number and hash digests of a head, read in place, whatever the key order', () => {
  const h = (n: number, fork: number) => `0x${fork.toString(16).padStart(8, '0')}${n.toString(16).padStart(56, '0')}`;
  const orders = {
    'geth (sorted keys)': `{"baseFeePerGas":"0x7","hash":"${h(10, 1)}","logsBloom":"0x00","number":"0xa","parentHash":"${h(9, 0)}","timestamp":"0x1"}`,
    'parent first, hash last': `{"parentHash":"${h(9, 0)}","logsBloom":"0x00","number":"0xa","timestamp":"0x1","hash":"${h(10, 1)}"}`,
  };
  it.each(Object.entries(orders))('%s', (_order, text) => {
    expect(readHead(text, 0)).toBe(true);
    const [hi, lo] = hashDigest(h(10, 1))!;
    const [parentHi, parentLo] = hashDigest(h(9, 0))!;
    expect({ ...head }).toEqual({ number: 10, hi, lo, parentHi, parentLo });
  });

  it('after the frame check, reads the keys it noted: the head object’s own, not a nested object’s', () => {
    const text = `{"x":{"hash":"${h(99, 9)}","number":"0x63"},"number":"0xa","parentHash":"${h(9, 0)}","hash":"${h(10, 1)}"}`;
    expect(isCompactValue(text, 0, text.length, 0)).toBe(true);
    expect(readHead(text, 0)).toBe(true);
    const [hi, lo] = hashDigest(h(10, 1))!;
    expect({ ...head }).toMatchObject({ number: 10, hi, lo });
    // The same text checked for another object (or not at all): searched as before.
    isCompactValue(text, 0, text.length);
    expect(readHead(text, 0)).toBe(true);
  });

  it.each(Object.entries(orders))('%s, after the frame check', (_order, text) => {
    expect(isCompactValue(text, 0, text.length, 0)).toBe(true);
    expect(readHead(text, 0)).toBe(true);
    const [hi, lo] = hashDigest(h(10, 1))!;
    const [parentHi, parentLo] = hashDigest(h(9, 0))!;
    expect({ ...head }).toEqual({ number: 10, hi, lo, parentHi, parentLo });
  });

  it('a head without a parent hash is read, with no parent to check; one without a hash or number is not', () => {
    expect(readHead(`{"number":"0xa","hash":"${h(10, 1)}"}`, 0)).toBe(true);
    expect(head.parentHi).toBeNaN();
    expect(readHead(`{"number":"0xa"}`, 0)).toBe(false);
    expect(readHead(`{"hash":"${h(10, 1)}"}`, 0)).toBe(false);
    expect(readHead(`{"number":"10","hash":"${h(10, 1)}"}`, 0)).toBe(false);
  });
});
