import type { HttpTransport } from './HttpTransport.js';
import { FetchHttpTransport } from './HttpTransport.js';
import { NodeHttpTransport } from './NodeHttpTransport.js';

/** What {@link defaultHttpTransport} looks at to tell the platform: `globalThis` unless given. */
export interface HttpPlatform {
  process?: { versions?: { node?: unknown } };
  Bun?: unknown;
  Deno?: unknown;
  fetch?: unknown;
}

/**
 * The HTTP transport a pool uses when none is given.
 *
 * - **Node** gets {@link NodeHttpTransport}: `node:http` with keep-alive agents costs less CPU per
 *   request than Node's `fetch` (undici), which the pool pays on every attempt.
 * - **Anywhere else** (browsers, web workers, Bun, Deno, edge runtimes) gets
 *   {@link FetchHttpTransport} over the platform's `fetch`: their `node:http` is a compatibility
 *   layer, and their `fetch` is native.
 *
 * The browser build of steadyrpc has its own variant that never loads `node:http`.
 */
export function defaultHttpTransport(platform: HttpPlatform = globalThis as HttpPlatform): HttpTransport {
  const isNode = typeof platform.process?.versions?.node === 'string' && platform.Bun === undefined && platform.Deno === undefined;
  if (isNode) return new NodeHttpTransport();
  return new FetchHttpTransport(platform.fetch as typeof fetch);
}
