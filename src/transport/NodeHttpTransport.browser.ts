import { SteadyRpcError } from '../errors.js';
import type { NodeHttpTransportOptions } from './NodeHttpTransport.js';

/**
 * `NodeHttpTransport` in the browser build (which swaps each `X.ts` for its `X.browser.ts`): it is
 * built on `node:http`, which no browser has. The name stays exported, so code shared with a Node
 * build still loads; constructing it fails at once, saying what to use.
 */
export class NodeHttpTransport {
  constructor(_options: NodeHttpTransportOptions = {}) {
    throw new SteadyRpcError(
      'ERR_CONFIG',
      'NodeHttpTransport needs Node (it is built on node:http) and this is the browser build of steadyrpc: leave the transport out to get FetchHttpTransport, over the global fetch',
    );
  }
}
