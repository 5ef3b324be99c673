/**
 * The hex quantity whose value starts at `at` in `text` (`"0x…"`, `at` at the opening quote) as a
 * safe integer, read in place; `undefined` if it is not one.
 */
export function quantityAt(text: string, at: number): number | undefined {
  if (text.charCodeAt(at) !== 34 /* " */ || text.charCodeAt(at + 1) !== 48 /* 0 */ || text.charCodeAt(at + 2) !== 120 /* x */) return undefined;
  let n = 0;
  let i = at + 3;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) break;
    const lower = c | 32;
    const digit = c >= 48 && c <= 57 ? c - 48 : lower >= 97 && lower <= 102 ? lower - 87 : -1;
    if (digit < 0) return undefined;
    n = n * 16 + digit;
  }
  return i > at + 3 && i < text.length && Number.isSafeInteger(n) ? n : undefined;
}

/**
 * A hex quantity (`0x` and hex digits) as a safe integer, else `undefined`. A loop over the
 * characters: a regular expression and parseInt cost about 150 ns per notification.
 */
export function quantity(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.length < 3 || value.charCodeAt(0) !== 48 /* 0 */ || value.charCodeAt(1) !== 120 /* x */) return undefined;
  let n = 0;
  for (let i = 2; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const lower = c | 32;
    const digit = c >= 48 && c <= 57 ? c - 48 : lower >= 97 && lower <= 102 ? lower - 87 : -1;
    if (digit < 0) return undefined;
    n = n * 16 + digit;
  }
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Hex digits of a hash read into its digest: the first {@link DIGEST_HI_DIGITS} and the last
 * {@link DIGEST_LO_DIGITS}, 52 bits in all. Real hashes are random throughout; made-up ones (test
 * chains, mocks) tend to differ at one end, which the two parts cover.
 */
export const DIGEST_HI_DIGITS = 8;
export const DIGEST_LO_DIGITS = 5;

/**
 * `count` hex digits of `text` from `from` (or `undefined` if a character is not hex): a number
 * that stands for part of a hash in comparisons, without keeping the string.
 */
export function hexDigits(text: string, from: number, count: number): number | undefined {
  let n = 0;
  for (let i = from; i < from + count && i < text.length; i++) {
    const c = text.charCodeAt(i);
    const lower = c | 32;
    const digit = c >= 48 && c <= 57 ? c - 48 : lower >= 97 && lower <= 102 ? lower - 87 : -1;
    if (digit < 0) return undefined;
    n = n * 16 + digit;
  }
  return n;
}

/** Where the last digits of a 32-byte hash start, from its opening `0x`. */
export const DIGEST_LO_AT = 66 - DIGEST_LO_DIGITS;

/**
 * A 32-byte hash (`0x` and 64 hex digits) as two numbers, its first 32 and last 20 bits. Two hashes
 * of one block height that share both are taken as the same block (a chance of 2⁻⁵² for real
 * hashes).
 */
export function hashDigest(hash: unknown): [hi: number, lo: number] | undefined {
  if (typeof hash !== 'string' || hash.length !== 66) return undefined;
  const hi = hexDigits(hash, 2, DIGEST_HI_DIGITS);
  const lo = hexDigits(hash, DIGEST_LO_AT, DIGEST_LO_DIGITS);
  return hi === undefined || lo === undefined ? undefined : [hi, lo];
}

/** A hash's {@link hashDigest} as one number (52 bits): a key for maps of hashes that keep no strings. */
export function hashKey(hash: unknown): number | undefined {
  const digest = hashDigest(hash);
  return digest === undefined ? undefined : digest[0] * DIGEST_LO_SPAN + digest[1];
}

/** A {@link hashKey}'s digest parts again: `[hi, lo]`. */
export function keyDigest(key: number): [hi: number, lo: number] {
  return [Math.floor(key / DIGEST_LO_SPAN), key % DIGEST_LO_SPAN];
}

/** How many values a digest's `lo` part takes (16 ** {@link DIGEST_LO_DIGITS}). */
const DIGEST_LO_SPAN = 16 ** DIGEST_LO_DIGITS;
