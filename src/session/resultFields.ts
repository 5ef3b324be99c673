import { DIGEST_HI_DIGITS, DIGEST_LO_AT, DIGEST_LO_DIGITS, hexDigits, quantityAt } from '../consistency/quantity.js';
import { headKeys } from '../jsonScan.js';
import { TEXT_OF } from './Continuity.js';

/**
 * Reading the fields continuity needs from a `newHeads` or `logs` result as the node wrote it,
 * without parsing it: V8 reads a slice of a string several times slower than the string, and
 * JSON.parse of a mainnet head costs more than everything else a session does with it.
 */

/** Where a result identified from its text keeps that text (it may wait in a backfill buffer). */
export const TEXT = TEXT_OF;
/** Where it keeps the node's whole frame, when that frame can go to the client as it is. */
export const FRAME = Symbol('frame');

/** The fields continuity reads, taken from a result's text, with the text itself. */
export interface Identified {
  hash?: string;
  number?: string;
  parentHash?: string;
  blockHash?: string;
  blockNumber?: string;
  logIndex?: string;
  removed?: boolean;
  [TEXT]: string;
  [FRAME]: string | undefined;
}

/**
 * A top-level key of a header or a log as nodes write it, and how to find it fast. The marker's
 * leading quote keeps `"hash"` from matching `"parentHash"`. The probe is the end of the key and its
 * closing quote, short (V8 searches patterns under 7 characters with memchr on their first
 * character) and starting with a character hex values never contain: searching for the whole marker
 * (which starts and ends with `"`, the commonest character in JSON) was 4–5× slower.
 */
interface Field {
  readonly marker: string;
  readonly probe: string;
}

const field = (key: string, probe: string): Field => {
  if (!`${key}"`.endsWith(probe) || probe.length > 6) throw new Error(`bad probe ${probe} for ${key}`);
  return { marker: `"${key}":`, probe };
};

const HASH = field('hash', 'hash"');
const NUMBER = field('number', 'mber"');
const PARENT_HASH = field('parentHash', 'tHash"');
const BLOCK_HASH = field('blockHash', 'kHash"');
const BLOCK_NUMBER = field('blockNumber', 'mber"');
const LOG_INDEX = field('logIndex', 'Index"');
const REMOVED = field('removed', 'oved"');

/**
 * Where the value of `"key":` starts in `text` at or after `start` (nodes write no space after the
 * colon), or -1.
 */
function valueAt(text: string, start: number, { marker, probe }: Field): number {
  // The marker is `"` + key + `":`; the probe ends at the key's closing quote.
  const back = marker.length - 1 - probe.length;
  let from = start + back;
  for (;;) {
    const at = text.indexOf(probe, from);
    if (at < 0) return -1;
    const markerAt = at - back;
    if (text.startsWith(marker, markerAt)) return markerAt + marker.length;
    from = at + 1;
  }
}

/**
 * The string value of `"key":"…"` in `text`, when it is short (hashes and quantities are) and has no
 * escapes. A field that is not found sends the result to JSON.parse instead.
 */
function stringField(text: string, from: number, key: Field): string | undefined {
  const start = valueAt(text, from, key) + 1;
  if (start === 0 || text.charCodeAt(start - 1) !== 34 /* " */) return undefined;
  const end = text.indexOf('"', start);
  if (end < 0 || end - start > 66) return undefined;
  const value = text.slice(start, end);
  // Without escapes, the text between the quotes is the value JSON.parse would give.
  return value.includes('\\') ? undefined : value;
}

/** Whether `"key":true` is in `text`. */
function isTrue(text: string, from: number, key: Field): boolean {
  const at = valueAt(text, from, key);
  return at >= 0 && text.startsWith('true', at);
}

/**
 * Reads the fields continuity needs from a result's text, which starts at `from` in `text` and runs
 * to its end but for `tail` characters (the frame around it); `undefined` when one is missing.
 * Reading it in place matters: V8 reads a slice of a string several times slower than the string.
 * `frame` is the node's whole frame when it already reads exactly as the client's notification.
 */
export function identify(kind: 'newHeads' | 'logs', text: string, from = 0, tail = 0, frame?: string): Identified | undefined {
  if (text.charCodeAt(from) !== 123 /* { */) return undefined;
  const resultText = tail === 0 && from === 0 ? text : text.slice(from, text.length - tail);
  if (kind === 'newHeads') {
    const hash = stringField(text, from, HASH);
    const number = stringField(text, from, NUMBER);
    // Only held heads take this path (live ones are read by readHead): the parent is read too, to
    // check that what is delivered after a switch links up.
    const parentHash = stringField(text, from, PARENT_HASH);
    return hash !== undefined && number !== undefined ? { hash, number, ...(parentHash === undefined ? {} : { parentHash }), [TEXT]: resultText, [FRAME]: frame } : undefined;
  }
  const blockHash = stringField(text, from, BLOCK_HASH);
  const blockNumber = stringField(text, from, BLOCK_NUMBER);
  const logIndex = stringField(text, from, LOG_INDEX);
  if (blockHash === undefined || blockNumber === undefined || logIndex === undefined) return undefined;
  return { blockHash, blockNumber, logIndex, removed: isTrue(text, from, REMOVED), [TEXT]: resultText, [FRAME]: frame };
}

/** What {@link readHead} read last (one head at a time, on one thread: no object per notification). */
export const head = { number: 0, hi: 0, lo: 0, parentHi: Number.NaN, parentLo: Number.NaN };

/**
 * Reads a head's number and hash digest from its text at `from` into {@link head}; false when it
 * cannot. Where the frame was just checked (`isCompactValue` noting the keys of this object),
 * the values are where it found them; otherwise they are searched for.
 */
export function readHead(text: string, from: number): boolean {
  if (text.charCodeAt(from) !== 123 /* { */) return false;
  let parentAt: number;
  let numberAt: number;
  let hashAt: number;
  if (headKeys.objectAt === from && headKeys.text === text) {
    if (headKeys.read) return readByCheck();
    parentAt = isHashAt(text, headKeys.parentHash) ? headKeys.parentHash : -1;
    numberAt = headKeys.number;
    hashAt = isHashAt(text, headKeys.hash) ? headKeys.hash : -1;
  } else {
    // Nodes write the three keys in one order or another (geth: hash, number, parentHash; others:
    // parentHash, number, hash): each is looked for after the one before, then from the start.
    parentAt = hashValueAt(text, from, PARENT_HASH);
    numberAt = valueAfter(text, from, parentAt, NUMBER);
    hashAt = hashValueAt(text, numberAt < 0 ? from : numberAt, HASH, from);
  }
  if (hashAt < 0 || numberAt < 0) return false;
  const hi = hexDigits(text, hashAt + 3, DIGEST_HI_DIGITS);
  const lo = hexDigits(text, hashAt + 1 + DIGEST_LO_AT, DIGEST_LO_DIGITS);
  const number = quantityAt(text, numberAt);
  if (hi === undefined || lo === undefined || number === undefined) return false;
  head.number = number;
  head.hi = hi;
  head.lo = lo;
  // The parent, to tell whether the head links to the one delivered below it (NaN: not given).
  head.parentHi = (parentAt < 0 ? undefined : hexDigits(text, parentAt + 3, DIGEST_HI_DIGITS)) ?? Number.NaN;
  head.parentLo = (parentAt < 0 ? undefined : hexDigits(text, parentAt + 1 + DIGEST_LO_AT, DIGEST_LO_DIGITS)) ?? Number.NaN;
  return true;
}

/** The head as the frame check read it while checking (see `headKeys.read`): the same reading as readHead's. */
function readByCheck(): boolean {
  const { parts } = headKeys;
  if ((parts & 3) !== 3) return false;
  head.number = headKeys.numberValue;
  head.hi = headKeys.hi;
  head.lo = headKeys.lo;
  head.parentHi = parts & 4 ? headKeys.parentHi : Number.NaN;
  head.parentLo = parts & 8 ? headKeys.parentLo : Number.NaN;
  return true;
}

/** Where the value of `key` is, looked for after `after` (when found) and else from `from`. */
function valueAfter(text: string, from: number, after: number, key: Field): number {
  const at = after < 0 ? -1 : valueAt(text, after, key);
  return at >= 0 ? at : valueAt(text, from, key);
}

/** Where the quoted 32-byte hash value of `key` opens (its `"`), or -1. */
function hashValueAt(text: string, start: number, key: Field, from = start): number {
  const at = valueAfter(text, from, start === from ? -1 : start, key);
  return isHashAt(text, at) ? at : -1;
}

/** Whether a quoted `0x` and 64 characters open at `at`. */
function isHashAt(text: string, at: number): boolean {
  return at >= 0 && text.charCodeAt(at) === 34 && text.charCodeAt(at + 1) === 48 && text.charCodeAt(at + 2) === 120 && text.charCodeAt(at + 67) === 34;
}
