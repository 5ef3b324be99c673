import type { SocketTransport } from './SocketTransport.js';
import type { StandardWebSocketConstructor } from './StandardWebSocketTransport.js';
import { StandardWebSocketTransport } from './StandardWebSocketTransport.js';
import { WsSocketTransport } from './WsSocketTransport.js';

/** What {@link defaultSocketTransport} looks at to tell the platform: `globalThis` unless given. */
export interface SocketPlatform {
  process?: { versions?: { node?: unknown } };
  Bun?: unknown;
  Deno?: unknown;
  WebSocket?: unknown;
}

/**
 * The socket transport a session, health checker or adapter uses when none is given.
 *
 * - **Node** gets {@link WsSocketTransport}: the `ws` package sends headers (credentials that are
 *   not in the URL), can ping (sessions judge liveness by their keepalive call on every
 *   transport, so they do not), reports the HTTP status of a refused upgrade (so 401/403 quarantine
 *   the node), caps frame sizes and writes a turn's frames at once; Node ≥ 22's global
 *   `WebSocket` can do none of that.
 * - **Anywhere else with a global `WebSocket`** (browsers, web workers, Bun, Deno, edge runtimes)
 *   gets {@link StandardWebSocketTransport} over it.
 * - Elsewhere, {@link WsSocketTransport}.
 *
 * The browser build of steadyrpc has its own variant that never loads `ws`.
 */
export function defaultSocketTransport(platform: SocketPlatform = globalThis as SocketPlatform): SocketTransport {
  const isNode = typeof platform.process?.versions?.node === 'string' && platform.Bun === undefined && platform.Deno === undefined;
  if (!isNode && typeof platform.WebSocket === 'function') {
    return new StandardWebSocketTransport({ WebSocket: platform.WebSocket as StandardWebSocketConstructor });
  }
  return new WsSocketTransport();
}
