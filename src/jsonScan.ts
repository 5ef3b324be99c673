/**
 * Checks, without parsing, that the text a fast path is about to pass on from a node is valid
 * JSON, so that nothing else reaches a client: a frame that fails goes to JSON.parse, which either
 * reads it (it was valid, just unusual) or rejects it (garbage, dropped and counted). On the way it
 * notes where the values of a head's `hash`, `number` and `parentHash` start, which continuity reads
 * next, so that checking costs little more than finding those did.
 *
 * It vouches only for what it has checked: compact JSON as nodes write it (no whitespace between
 * tokens), without escapes, at most {@link MAX_DEPTH} levels deep. Strings are jumped over with
 * `indexOf('"')` (V8 searches with memchr); that they hold no control character is checked for the
 * whole frame at once.
 *
 * {@link checkFrame} answers the same on WebAssembly SIMD where the platform allows it
 * (`jsonScanSimd.ts`), several times faster; elsewhere with the functions here.
 */
import { simdFrameCheck, type SimdFrameCheck } from './jsonScanSimd.js';

const QUOTE = 34;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const COLON = 58;
const UPPER_E = 69;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const LOWER_E = 101;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

/** Deepest nesting checked here (one bit per level of a 32-bit integer); deeper frames are parsed. */
export const MAX_DEPTH = 31;

/**
 * Where the values of `hash`, `number` and `parentHash` start (just after their colon) in the
 * object that opens at `objectAt` of `text`, as the last check ({@link checkFrame} or
 * {@link isCompactValue}) found them; -1 for a key it does not have (the last one counts when a
 * key repeats, as for JSON.parse). One frame at a time, on one thread: no object per frame.
 */
export const headKeys = {
  text: '',
  objectAt: -1,
  hash: -1,
  number: -1,
  parentHash: -1,
  /**
   * Whether the check also read the head's values there, as readHead (resultFields.ts) would: the
   * SIMD check does, as it checks. `parts` says which it could read (1: `hi` and `lo`, the hash's
   * digests; 2: `numberValue`; 4: `parentHi`; 8: `parentLo`).
   */
  read: false,
  parts: 0,
  numberValue: 0,
  hi: 0,
  lo: 0,
  parentHi: 0,
  parentLo: 0,
};

/**
 * Whether `text` has neither a backslash nor a character below U+0020. Then every JSON string in
 * it ends at the next `"` and reads as written, and {@link isCompactValue} may check its structure.
 */
export function isPlainText(text: string): boolean {
  return text.indexOf('\\') < 0 && !hasControlCharacter(text);
}

/** Whether `text` is exactly one JSON value, compact and plain (see {@link isPlainText}): JSON.parse then reads it. */
export function isCompactJson(text: string): boolean {
  return checkFrame(text, 0, text.length);
}

/**
 * The SIMD check, compiled on first use: `null` where WebAssembly is missing or refused. One per
 * process, like a regular expression: it holds no state between calls.
 */
let simd: SimdFrameCheck | null | undefined;

/**
 * `isPlainText(text) && isCompactValue(text, start, end, objectAt)`: whether `text` is plain and
 * from `start` to `end` exactly one compact JSON value, noting the head keys of the object at
 * `objectAt` in {@link headKeys}. On WebAssembly SIMD when it can answer; else in JavaScript.
 * `bytes`, when given, are the UTF-8 bytes `text` was decoded from (see SocketListener.onMessage).
 */
export function checkFrame(text: string, start: number, end: number, objectAt = -1, bytes?: Uint8Array): boolean {
  if (simd === undefined) simd = simdFrameCheck() ?? null;
  if (simd !== null) {
    const ok = simd(text, start, end, objectAt, headKeys, bytes);
    if (ok !== undefined && ok !== null) {
      headKeys.text = objectAt < 0 ? '' : text;
      headKeys.objectAt = objectAt;
      return ok;
    }
  }
  return isPlainText(text) && isCompactValue(text, start, end, objectAt);
}

/**
 * For a frame that may open with `prefix` (as a notification of a known subscription does, see
 * frameShapes.ts): `null` when it does not, else {@link checkFrame} of the rest, from the end of
 * the prefix to `end`, noting the head keys of an object that opens there. `head` is `prefix` as a
 * regular expression (`^` and the prefix), for where it is not compared on WebAssembly.
 */
export function checkPrefixedFrame(text: string, prefix: string, head: RegExp, end: number, bytes?: Uint8Array): boolean | null {
  if (simd === undefined) simd = simdFrameCheck() ?? null;
  const start = prefix.length;
  if (simd !== null) {
    const ok = simd(text, start, end, start, headKeys, bytes, prefix);
    if (ok !== undefined) {
      if (ok !== null) {
        headKeys.text = text;
        headKeys.objectAt = start;
      }
      return ok;
    }
  }
  if (!head.test(text)) return null;
  return isPlainText(text) && isCompactValue(text, start, end, start);
}

/**
 * Whether `text` from `start` to `end` is exactly one JSON value, with no whitespace between
 * tokens and at most {@link MAX_DEPTH} levels deep; `text` must be plain ({@link isPlainText}),
 * which this does not check. True: JSON.parse reads that slice. False says only that this check
 * cannot vouch for it. With `objectAt`, notes the head keys of the object that opens there in
 * {@link headKeys}.
 */
export function isCompactValue(text: string, start: number, end: number, objectAt = -1): boolean {
  // Holds the text only when it notes keys: a large answer checked in passing is not kept alive.
  headKeys.text = objectAt < 0 ? '' : text;
  headKeys.objectAt = objectAt;
  headKeys.hash = headKeys.number = headKeys.parentHash = -1;
  headKeys.read = false;
  let at = start;
  let depth = 0;
  /** Bit d is set when the container at depth d + 1 is an object. */
  let objects = 0;
  /** The depth of the object whose keys are noted, while it is open. */
  let keysDepth = -1;
  value: for (;;) {
    // A value starts at `at` (or, just after `[`, the array may end).
    if (at >= end) return false;
    let code = text.charCodeAt(at);
    if (code === QUOTE) {
      at = text.indexOf('"', at + 1) + 1;
      if (at === 0 || at > end) return false;
    } else if (code === OPEN_BRACE) {
      if (depth === MAX_DEPTH) return false;
      objects |= 1 << depth;
      depth++;
      if (at === objectAt) keysDepth = depth;
      at++;
      if (text.charCodeAt(at) === QUOTE) {
        // The first key.
        const close = text.indexOf('"', at + 1);
        if (close < 0 || close + 1 >= end || text.charCodeAt(close + 1) !== COLON) return false;
        if (depth === keysDepth) noteKey(text, at + 1, close);
        at = close + 2;
        continue value;
      }
      if (text.charCodeAt(at) !== CLOSE_BRACE || at >= end) return false;
      if (depth === keysDepth) keysDepth = -1;
      depth--;
      at++;
    } else if (code === OPEN_BRACKET) {
      if (depth === MAX_DEPTH) return false;
      objects &= ~(1 << depth);
      depth++;
      at++;
      if (text.charCodeAt(at) !== CLOSE_BRACKET) continue value;
      if (at >= end) return false;
      depth--;
      at++;
    } else {
      at = scalarEnd(text, at, code);
      if (at < 0) return false;
    }
    // After a value: closes, then a comma and the next value (or key), or the end.
    for (;;) {
      if (depth === 0) return at === end;
      if (at >= end) return false;
      code = text.charCodeAt(at);
      const inObject = (objects >>> (depth - 1)) & 1;
      if (code === COMMA) {
        at++;
        if (inObject === 0) continue value;
        // The next key.
        if (text.charCodeAt(at) !== QUOTE) return false;
        const close = text.indexOf('"', at + 1);
        if (close < 0 || close + 1 >= end || text.charCodeAt(close + 1) !== COLON) return false;
        if (depth === keysDepth) noteKey(text, at + 1, close);
        at = close + 2;
        continue value;
      }
      if (code !== (inObject === 1 ? CLOSE_BRACE : CLOSE_BRACKET)) return false;
      if (depth === keysDepth) keysDepth = -1;
      depth--;
      at++;
    }
  }
}

/** Notes where the value of the key between `start` and `end` starts, if it is a head key. */
function noteKey(text: string, start: number, end: number): void {
  const length = end - start;
  if (length === 4) {
    if (text.startsWith('hash', start)) headKeys.hash = end + 2;
  } else if (length === 6) {
    if (text.startsWith('number', start)) headKeys.number = end + 2;
  } else if (length === 10 && text.charCodeAt(start) === 112 /* p */ && text.startsWith('parentHash', start)) {
    headKeys.parentHash = end + 2;
  }
}

/** Where the number or literal that starts at `at` (with `code`) ends, or -1 when it is neither. */
function scalarEnd(text: string, at: number, code: number): number {
  if (code === 116 /* t */) return text.startsWith('true', at) ? at + 4 : -1;
  if (code === 102 /* f */) return text.startsWith('false', at) ? at + 5 : -1;
  if (code === 110 /* n */) return text.startsWith('null', at) ? at + 4 : -1;
  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  if (code === MINUS) code = text.charCodeAt(++at);
  if (code === ZERO) at++;
  else if (isDigit(code)) while (isDigit(text.charCodeAt(++at)));
  else return -1;
  if (text.charCodeAt(at) === DOT) {
    if (!isDigit(text.charCodeAt(++at))) return -1;
    while (isDigit(text.charCodeAt(++at)));
  }
  code = text.charCodeAt(at);
  if (code === LOWER_E || code === UPPER_E) {
    code = text.charCodeAt(++at);
    if (code === PLUS || code === MINUS) code = text.charCodeAt(++at);
    if (!isDigit(code)) return -1;
    while (isDigit(text.charCodeAt(++at)));
  }
  return at;
}

function isDigit(code: number): boolean {
  return code >= ZERO && code <= NINE;
}

/**
 * No character below U+0020 from start to end. Irregexp runs a greedy negated class as a tight
 * loop, as fast as reading the text four bytes at a time in JavaScript, and without a copy; a
 * search for the class (`/[\x00-\x1f]/`) tries a match at every position and is twice as slow.
 */
const NO_CONTROL = /^[^\x00-\x1f]*$/;

/**
 * Whether `text` has a character below U+0020: none may appear in a JSON string, and outside
 * strings the scan takes none (whitespace included).
 */
export function hasControlCharacter(text: string): boolean {
  return !NO_CONTROL.test(text);
}
