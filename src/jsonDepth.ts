/**
 * Deepest nesting passed on from a node, frame included. JSON.parse reads any depth, but what a
 * session or a shared socket passes on it may serialise again, and JSON.stringify recurses: a few
 * thousand levels overflow the stack (about 4,000 on Node). A real answer nests far less; the
 * deepest, a call trace, two levels a call, and the EVM stops calls at 1,024 deep.
 */
export const MAX_UPSTREAM_DEPTH = 2_048;

/** Whether `value` nests deeper than `limit` levels (iterative: deep input cannot overflow it). */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * Whether a value JSON.parse read from `text` nests deeper than {@link MAX_UPSTREAM_DEPTH}: a level
 * takes two characters, so a shorter frame is never walked.
 */
export function tooDeepToPassOn(text: string, value: unknown): boolean {
  return text.length > 2 * MAX_UPSTREAM_DEPTH && nestsDeeperThan(value, MAX_UPSTREAM_DEPTH);
}
