/** `steadyrpc/viem`: a viem transport over a resilient session. Needs the `viem` peer dependency. */
export type {
  ResilientSubscribeArgs,
  ResilientTransport,
  ResilientTransportConfig,
  ResilientTransportOptions,
  ResilientTransportValue,
  ResilientUnsubscribeResponse,
} from './adapters/viem.js';
export { resilientTransport } from './adapters/viem.js';
export type { RequestBatcherOptions } from './adapters/RequestBatcher.js';
export type { AdapterSessionOptions, ResilientNodesOptions, ResilientOptions, ResilientPoolOptions } from './adapters/options.js';
