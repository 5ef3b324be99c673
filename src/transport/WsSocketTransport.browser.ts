import { SteadyRpcError } from '../errors.js';
import type { WsSocketTransportOptions } from './WsSocketTransport.js';

/**
 * `WsSocketTransport` in the browser build (the `browser` condition of the package's exports,
 * which swaps each `X.ts` for its `X.browser.ts`): the `ws` package needs Node, and its browser
 * stub only throws once a socket connects, long after the mistake. The name stays exported, so
 * code shared with a Node build still loads; constructing it fails at once, saying what to use.
 */
export class WsSocketTransport {
  constructor(_options: WsSocketTransportOptions = {}) {
    throw new SteadyRpcError(
      'ERR_CONFIG',
      'WsSocketTransport needs Node (it is built on the ws package) and this is the browser build of steadyrpc: leave the transport out to get StandardWebSocketTransport, over the global WebSocket',
    );
  }
}
