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
