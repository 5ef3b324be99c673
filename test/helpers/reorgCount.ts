import type { FakeNode } from '../../src/testing/index.js';

/** How many times nodes left blocks they had (a reorg): `count` only grows. */
export interface ReorgCount {
  count: number;
}

/**
 * Counts in `reorgs` every chain move of `node` (`forkAt`, `follow`) that left its head block: a
 * read by hash sent before such a move may truly be answered `null` (its block may be gone).
 */
export function countReorgs<T extends FakeNode>(node: T, reorgs: ReorgCount): T {
  for (const name of ['forkAt', 'follow'] as const) {
    const move = (node[name] as (...args: unknown[]) => T).bind(node);
    Object.defineProperty(node, name, {
      value: (...args: unknown[]): T => {
        const at = node.head;
        const hash = node.block(at).hash;
        move(...args);
        if (node.tip < at || node.block(at).hash !== hash) reorgs.count += 1;
        return node;
      },
    });
  }
  return node;
}
