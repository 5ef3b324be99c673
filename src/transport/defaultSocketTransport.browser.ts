import type { SocketPlatform } from './defaultSocketTransport.js';
import type { SocketTransport } from './SocketTransport.js';
import type { StandardWebSocketConstructor } from './StandardWebSocketTransport.js';
import { StandardWebSocketTransport } from './StandardWebSocketTransport.js';

/**
 * `defaultSocketTransport` in the browser build (the `browser` condition of the package's
 * exports): always {@link StandardWebSocketTransport} over the platform's `WebSocket`. Unlike the
 * Node build's, it never refers to `WsSocketTransport`, so no bundle of it holds `ws`. A platform
 * without a `WebSocket` gets StandardWebSocketTransport's `ERR_CONFIG`, which says to pass one.
 */
export function defaultSocketTransport(platform: SocketPlatform = globalThis as SocketPlatform): SocketTransport {
  // Never `undefined`: the transport would take the global scope's WebSocket for it, not this platform's.
  return new StandardWebSocketTransport({ WebSocket: (platform.WebSocket ?? null) as StandardWebSocketConstructor });
}
