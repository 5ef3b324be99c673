/** `steadyrpc/ethers`: an ethers v6 provider over a resilient session. Needs the `ethers` peer dependency. */
export { ResilientProvider } from './adapters/ethers.js';
export type { AdapterSessionOptions, ResilientNodesOptions, ResilientOptions, ResilientPoolOptions } from './adapters/options.js';
