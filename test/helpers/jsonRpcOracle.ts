/**
 * The fuzz tests' oracle: what a client must get for one request item, written from the JSON-RPC
 * 2.0 spec and DESIGN.md, independent of the parser under test (shared by the WebSocket and the
 * HTTP fuzz tests, which must agree answer for answer).
 */
import { MAX_PARAMS_DEPTH } from '../../src/session/ClientFrame.js';

/** What the client must get for one request item: an answer under `id`, or nothing. */
export type Expected = { kind: 'answer'; id: unknown; code?: number } | { kind: 'none' };

/** Nesting depth of a JSON value, level by level (no recursion: the inputs nest thousands deep). */
export function depth(value: unknown): number {
  let level: unknown[] = [value];
  let levels = 0;
  for (;;) {
    const containers = level.filter((v): v is object => typeof v === 'object' && v !== null);
    if (containers.length === 0) return levels;
    levels += 1;
    level = containers.flatMap((c) => (Array.isArray(c) ? c : Object.values(c)));
  }
}

export const validId = (id: unknown) => id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));

/** The answer one request item must get. */
export function expectItem(value: unknown): Expected {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'answer', id: null, code: -32600 };
  const v = value as Record<string, unknown>;
  const hasId = 'id' in v;
  const replyId = hasId && validId(v.id) ? v.id : null;
  const bad =
    v.jsonrpc !== '2.0' ||
    typeof v.method !== 'string' ||
    v.method === '' ||
    (hasId && !validId(v.id)) ||
    ('params' in v && (typeof v.params !== 'object' || v.params === null)) ||
    ('params' in v && depth(v.params) > MAX_PARAMS_DEPTH);
  if (bad) return { kind: 'answer', id: replyId, code: -32600 };
  return hasId ? { kind: 'answer', id: v.id } : { kind: 'none' };
}
