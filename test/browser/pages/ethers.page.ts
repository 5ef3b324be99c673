/**
 * A browser page using ethers v6 over steadyrpc: `ResilientProvider` with `on('block')` (over
 * `eth_subscribe`) and `getBalance` calls.
 */
import { pageError, publish, readConfig, recordBlock, start, watchSession } from './pageKit.js';
import { Network } from 'ethers';
import { ResilientProvider } from 'steadyrpc/ethers';

start(() => {
  const config = readConfig();
  // cacheTimeout -1: no result cache in ethers, so each balance shows the node that answered.
  const provider = new ResilientProvider({ nodes: config.nodes, health: config.health, session: config.session }, Network.from(31337), {
    cacheTimeout: -1,
  });
  watchSession(provider.session);
  provider.on('error', (error: unknown) => pageError('provider error', error)).catch((error: unknown) => pageError('on(error)', error));
  provider.on('block', recordBlock).catch((error: unknown) => pageError("on('block')", error));
  publish({
    pool: provider.pool,
    session: provider.session,
    balance: () => provider.getBalance(config.account),
    close: () => provider.destroy(),
  });
});
